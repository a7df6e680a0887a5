import { CLASSIC_READ_SCOPES } from "./auth/scopes.js";
import type { Json } from "./data/entity.js";
import { errors } from "./http/errors.js";
import type { FaultConfig } from "./http/faults.js";
import { jsonResponse, type SimRequest, type SimResponse } from "./http/types.js";
import { Mutations } from "./mutations.js";
import type { Simulator } from "./simulator.js";

/**
 * `/_sim/*`: the simulator's own control surface (a prefix the real API does not use).
 * Bodies are JSON; answers are JSON; errors use the same envelope as the API.
 */
export function handleAdmin(sim: Simulator, req: SimRequest): SimResponse {
  const parts = req.url.pathname.split("/").filter(Boolean).slice(1).map(decodeSegment);
  const body = parseBody(req);
  const m = req.method;
  const mutations = new Mutations(sim);
  const [head, ws, repoSlug, kind, id, sub, subId] = parts;

  if (head === "credentials" && m === "GET") return jsonResponse(200, sim.auth.credentials());
  if (head === "consumers" && m === "POST") {
    // An OAuth consumer whose callback is an app's own address (e.g. bitbridge's /api/oauth/callback).
    const { callbackUrl, name, scopes } = body;
    if (typeof callbackUrl !== "string" || !/^https?:\/\//.test(callbackUrl))
      throw errors.badRequest("callbackUrl must be an http(s) URL");
    if (scopes !== undefined && !(Array.isArray(scopes) && scopes.every((s) => typeof s === "string")))
      throw errors.badRequest("scopes must be an array of scope names");
    return jsonResponse(
      201,
      sim.auth.createConsumer({
        callbackUrl,
        scopes: (scopes as string[] | undefined) ?? CLASSIC_READ_SCOPES,
        ...(typeof name === "string" && { name }),
      }),
    );
  }
  if (head === "stats" && m === "GET") return jsonResponse(200, sim.stats.snapshot());
  if (head === "stats" && m === "DELETE") return done(sim.stats.reset());
  if (head === "reset" && m === "POST") return done(sim.reset());
  if (head === "clock" && m === "GET")
    return jsonResponse(200, { now: new Date(sim.clock.now()).toISOString() });
  if (head === "clock" && m === "POST") {
    const seconds = body.advanceSeconds;
    if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0)
      throw errors.badRequest("advanceSeconds must be a number >= 0");
    // Timestamps are rendered as four-digit years; a clock beyond that would break every response.
    if (sim.clock.now() + seconds * 1000 > LAST_INSTANT)
      throw errors.badRequest("advanceSeconds would move the clock past the year 9999");
    sim.clock.advance(seconds * 1000);
    return jsonResponse(200, { now: new Date(sim.clock.now()).toISOString() });
  }
  if (head === "faults" && m === "GET") return jsonResponse(200, sim.faults.current());
  if (head === "faults" && (m === "PUT" || m === "DELETE")) {
    try {
      sim.faults.configure(m === "DELETE" ? {} : (body as FaultConfig));
    } catch (error) {
      throw errors.badRequest(error instanceof Error ? error.message : String(error));
    }
    return jsonResponse(200, sim.faults.current());
  }
  if (head === "config" && m === "GET") return jsonResponse(200, config(sim));
  if (head === "config" && m === "PUT") {
    // Check everything before changing anything, so a 400 leaves the configuration as it was.
    const { rateLimitPerHour: limit, accessTokenTtlSeconds: ttl, legacyIssues } = body;
    for (const key of Object.keys(body)) {
      if (!CONFIG_KEYS.includes(key))
        throw errors.badRequest(`Unknown setting '${key}'`, `Settings: ${CONFIG_KEYS.join(", ")}.`);
    }
    if (limit !== undefined && !(Number.isSafeInteger(limit) && (limit as number) >= 1))
      throw errors.badRequest("rateLimitPerHour must be a whole number >= 1");
    if (ttl !== undefined && !(Number.isSafeInteger(ttl) && (ttl as number) >= 1))
      throw errors.badRequest("accessTokenTtlSeconds must be a whole number >= 1");
    if (legacyIssues !== undefined && typeof legacyIssues !== "boolean")
      throw errors.badRequest("legacyIssues must be true or false");
    if (limit !== undefined) sim.limiter.limitPerHour = limit as number;
    if (ttl !== undefined) sim.auth.setAccessTokenTtl(ttl as number);
    if (legacyIssues !== undefined) sim.legacyIssues = legacyIssues;
    return jsonResponse(200, config(sim));
  }

  if (head === "repositories" && ws !== undefined) {
    if (repoSlug === undefined) {
      if (m === "POST") return jsonResponse(201, mutations.createRepository(mutations.workspace(ws), body));
    } else if (kind === undefined) {
      if (m === "DELETE") return done(mutations.deleteRepository(mutations.workspace(ws), repoSlug));
    } else {
      const repo = mutations.repository(ws, repoSlug);
      if (kind === "push" && m === "POST") return jsonResponse(201, mutations.push(repo, body));
      if (kind === "branches" && id !== undefined && m === "DELETE")
        return done(mutations.deleteBranch(repo, id));
      if (kind === "pullrequests") {
        if (id === undefined && m === "POST")
          return jsonResponse(201, mutations.createPullRequest(repo, body));
        const prId = Number(id);
        if (sub === undefined && m === "PUT")
          return jsonResponse(200, mutations.updatePullRequest(repo, prId, body));
        if (sub === undefined && m === "DELETE") return done(mutations.deletePullRequest(repo, prId));
        if (sub === "comments" && subId === undefined && m === "POST") {
          return jsonResponse(201, mutations.comment(repo, prId, body));
        }
        if (sub === "comments" && subId !== undefined && m === "PUT") {
          return jsonResponse(200, mutations.comment(repo, prId, body, Number(subId)));
        }
      }
    }
  }
  throw errors.notFound(
    "Unknown simulator control endpoint",
    `${m} ${req.url.pathname}; see docs/simulator.md.`,
  );
}

const CONFIG_KEYS = ["rateLimitPerHour", "accessTokenTtlSeconds", "legacyIssues"];
const LAST_INSTANT = Date.UTC(9999, 11, 31, 23, 59, 59);

function config(sim: Simulator) {
  return {
    seed: sim.seed,
    counts: sim.counts,
    legacyIssues: sim.legacyIssues,
    rateLimitPerHour: sim.limiter.limitPerHour,
    accessTokenTtlSeconds: sim.auth.accessTokenTtl,
  };
}

/** A path segment, percent-decoded; a malformed escape (`%zz`) is the caller's error, not a 500. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw errors.badRequest("Malformed percent-encoding in the path");
  }
}

function done(_: unknown): SimResponse {
  return { status: 204, headers: {}, body: "" };
}

function parseBody(req: SimRequest): Json {
  if (req.body.trim() === "") return {};
  try {
    const value: unknown = JSON.parse(req.body);
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error("not an object");
    return value as Json;
  } catch {
    throw errors.badRequest("The request body must be a JSON object");
  }
}
