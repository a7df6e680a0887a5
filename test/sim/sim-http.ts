/**
 * Helpers for the simulator's over-HTTP tests: start it on a free port, call it with fetch, walk `next`.
 * Not a test file itself (vitest only picks up `*.test.ts`).
 */
import type { SimCredentials } from "../../sim/auth/registry.js";
import { type RunningSimulator, type StartOptions, startSimulator } from "../../sim/server.js";

export type Json = Record<string, unknown>;

export interface Sim extends RunningSimulator {
  readonly creds: SimCredentials;
  /** `Authorization` of the owner's full API token. */
  readonly owner: string;
}

export async function startSim(options: StartOptions = {}): Promise<Sim> {
  const running = await startSimulator(options);
  const creds = running.sim.auth.credentials();
  const owner = creds.apiTokens[0]?.authorization;
  if (owner === undefined) throw new Error("the simulator seeded no API token");
  return Object.assign(running, { creds, owner });
}

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The parsed body; undefined when it is not JSON. */
  readonly json: Json | undefined;
}

export interface CallOptions {
  method?: string;
  /** `Authorization` value; defaults to the owner's API token, `null` sends none. */
  auth?: string | null;
  headers?: Record<string, string>;
  body?: string;
}

/** A request to a path (`/2.0/...`, `/_sim/...`) or an absolute URL, answered in full. */
export async function call(sim: Sim, target: string, options: CallOptions = {}): Promise<Reply> {
  const auth = options.auth === undefined ? sim.owner : options.auth;
  const headers: Record<string, string> = { ...options.headers };
  if (auth !== null) headers.authorization = auth;
  const res = await fetch(target.startsWith("http") ? target : `${sim.origin}${target}`, {
    method: options.method ?? "GET",
    headers,
    body: options.body,
    redirect: "manual",
  });
  const text = await res.text();
  let json: Json | undefined;
  try {
    json = JSON.parse(text) as Json;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** GET expecting 200; returns the parsed body. */
export async function getJson(sim: Sim, target: string, auth?: string | null): Promise<Json> {
  const reply = await call(sim, target, { auth });
  if (reply.status !== 200 || reply.json === undefined) {
    throw new Error(`GET ${target}: ${reply.status} ${reply.text.slice(0, 300)}`);
  }
  return reply.json;
}

/** A `/_sim` control call with a JSON body. */
export async function admin(sim: Sim, method: string, path: string, body?: unknown): Promise<Reply> {
  return call(sim, `/_sim${path}`, {
    method,
    auth: null,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Admin call that must succeed (2xx). */
export async function control(sim: Sim, method: string, path: string, body?: unknown): Promise<Json> {
  const reply = await admin(sim, method, path, body);
  if (reply.status < 200 || reply.status > 299) {
    throw new Error(`${method} /_sim${path}: ${reply.status} ${reply.text.slice(0, 300)}`);
  }
  return reply.json ?? {};
}

export interface Walk {
  readonly values: Json[];
  /** Every page's envelope without `values`. */
  readonly pages: Json[];
}

/** Follows `next` verbatim from `first` until the last page. */
export async function walk(sim: Sim, first: string, auth?: string | null, maxPages = 10_000): Promise<Walk> {
  const values: Json[] = [];
  const pages: Json[] = [];
  let url: string | undefined = first;
  while (url !== undefined) {
    if (pages.length >= maxPages) throw new Error(`more than ${maxPages} pages from ${first}`);
    const body = await getJson(sim, url, auth);
    const { values: items, ...envelope } = body;
    values.push(...(items as Json[]));
    pages.push(envelope);
    url = envelope.next as string | undefined;
  }
  return { values, pages };
}

/** The error envelope's message, asserting the body is one. */
export function errorMessage(reply: Reply): string {
  const error = reply.json?.error as Json | undefined;
  if (reply.json?.type !== "error" || typeof error?.message !== "string") {
    throw new Error(`not an error envelope (${reply.status}): ${reply.text.slice(0, 300)}`);
  }
  return error.message;
}

export const enc = encodeURIComponent;

/** A path-safe repository base: `/2.0/repositories/{ws}/{repo}`. */
export function repoPath(workspace: string, repo: string): string {
  return `/2.0/repositories/${enc(workspace)}/${enc(repo)}`;
}
