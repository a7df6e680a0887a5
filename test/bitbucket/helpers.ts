/** Shared set-up for the Bitbucket client tests: a simulator, connection strings for it, fake time. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { SimCredentials } from "../../sim/auth/registry.js";
import { type RunningSimulator, type StartOptions, startSimulator } from "../../sim/server.js";
import {
  type ConnectionProperties,
  parseConnectionString,
} from "../../src/bitbucket/connection-properties.js";

export interface TestSim extends RunningSimulator {
  readonly creds: SimCredentials;
  readonly workspace: string;
  readonly repos: string[];
  /** `Url=...;AuthUrl=...` for this simulator. */
  readonly urls: string;
  control(method: string, path: string, body?: unknown): Promise<unknown>;
  stats(): Promise<{ total: number; byEndpoint: Record<string, number>; byStatus: Record<string, number> }>;
}

export async function startTestSim(options: StartOptions = {}): Promise<TestSim> {
  const running = await startSimulator({ scale: "tiny", ...options });
  const creds = running.sim.auth.credentials();
  const ws = running.sim.data.workspaces[0];
  if (!ws) throw new Error("the simulator has no workspace");
  const control = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${running.origin}/_sim${path}`, {
      method,
      ...(body !== undefined && {
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      }),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} /_sim${path}: ${res.status} ${text}`);
    return text === "" ? undefined : (JSON.parse(text) as unknown);
  };
  return Object.assign(running, {
    creds,
    workspace: ws.slug,
    repos: ws.repositories.map((r) => r.slug),
    urls: `Url=${running.apiUrl};AuthUrl=${running.origin}`,
    control,
    stats: async () => (await control("GET", "/stats")) as Awaited<ReturnType<TestSim["stats"]>>,
  });
}

export function apiTokenProps(
  sim: TestSim,
  extra = "",
  which: "full" | "limited" = "full",
): ConnectionProperties {
  const token = sim.creds.apiTokens[which === "full" ? 0 : 1];
  if (!token) throw new Error("no API token");
  return parseConnectionString(
    `AuthScheme=APIToken;User=${token.email};APIToken=${token.token};Workspace=${sim.workspace};${sim.urls};${extra}`,
  );
}

export function clientProps(
  sim: TestSim,
  extra = "",
  which: "full" | "limited" = "full",
): ConnectionProperties {
  const c = sim.creds.oauth.consumers[which === "full" ? 0 : 1];
  if (!c) throw new Error("no consumer");
  return parseConnectionString(
    `AuthScheme=client;OAuthClientId=${c.clientId};OAuthClientSecret=${c.clientSecret};Workspace=${sim.workspace};` +
      `${sim.urls};${extra}`,
  );
}

export function accessTokenProps(
  sim: TestSim,
  type: "workspace" | "project" | "repository",
  extra = "",
): ConnectionProperties {
  const t = sim.creds.accessTokens.find((a) => a.type === type);
  if (!t) throw new Error(`no ${type} access token`);
  return parseConnectionString(
    `AuthScheme=AccessToken;AccessToken=${t.token};Workspace=${t.workspace};${sim.urls};${extra}`,
  );
}

/** Time that only moves when slept on: `sleep` advances `now` (and the simulator's clock when given). */
export function fakeTime(sim?: TestSim) {
  let offset = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => (sim ? sim.sim.clock.now() : 1_800_000_000_000 + offset),
    sleep: async (ms: number) => {
      sleeps.push(ms);
      if (sim) sim.sim.clock.advance(Math.max(0, ms));
      else offset += Math.max(0, ms);
    },
  };
}

/** A throwaway HTTP server answering with `handler`; `url` is its origin plus `/2.0`. */
export async function localServer(
  handler: (req: IncomingMessage, res: ServerResponse, n: number) => void,
): Promise<{ url: string; origin: string; hits: () => number; close: () => Promise<void> }> {
  let n = 0;
  const server: Server = createServer((req, res) => handler(req, res, ++n));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    url: `${origin}/2.0`,
    hits: () => n,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The rejection of `promise`, which must reject. */
export async function rejection(
  promise: Promise<unknown>,
): Promise<Error & { code?: string; details?: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error("expected a rejection");
}
