import { Random } from "../random.js";

/** What can go wrong with a response, as probabilities and delays. */
export interface FaultSpec {
  /** Probability of answering 500, 502 or 503 instead of the real response. */
  errorRate?: number;
  /** Which server errors to draw from (default 500, 502, 503). */
  errorStatuses?: number[];
  /** The next N matching requests answer 429. */
  rateLimitBurst?: number;
  /** Added latency in milliseconds before answering. */
  latencyMs?: number;
  /** Probability of cutting the connection half-way through the body. */
  cutRate?: number;
}

export interface FaultConfig {
  global?: FaultSpec;
  /** Keyed by the spec's path template (`/repositories/{workspace}/{repo_slug}/commits`) or a path prefix. */
  endpoints?: Record<string, FaultSpec>;
}

export type FaultDecision =
  | { kind: "none"; latencyMs: number }
  | { kind: "error"; status: number; latencyMs: number }
  | { kind: "rate-limit"; latencyMs: number }
  | { kind: "cut"; latencyMs: number };

/** Burst counter key of the global spec; cannot clash with an endpoint key, which are user strings. */
const GLOBAL = Symbol("global");

/** Draws faults from a seeded generator, so a failing run can be replayed with the same seed. */
export class FaultInjector {
  private config: FaultConfig = {};
  private readonly bursts = new Map<string | symbol, number>();
  private rnd: Random;

  constructor(private readonly seed: number) {
    this.rnd = Random.derive(seed, "faults");
  }

  /** Replaces the configuration; throws RangeError (nothing changes) when `config` is not a valid one. */
  configure(config: FaultConfig): void {
    validateConfig(config);
    this.config = config;
    this.bursts.clear();
    this.rnd = Random.derive(this.seed, "faults");
    if (config.global?.rateLimitBurst) this.bursts.set(GLOBAL, config.global.rateLimitBurst);
    for (const [key, spec] of Object.entries(config.endpoints ?? {})) {
      if (spec.rateLimitBurst) this.bursts.set(key, spec.rateLimitBurst);
    }
  }

  current(): FaultConfig {
    return this.config;
  }

  decide(template: string, path: string): FaultDecision {
    const matches: [string | symbol, FaultSpec][] = [];
    if (this.config.global) matches.push([GLOBAL, this.config.global]);
    for (const [key, spec] of Object.entries(this.config.endpoints ?? {})) {
      // Keys may be written with or without the `/2.0` prefix the API paths carry.
      const bare = key.startsWith("/2.0/") ? key.slice(4) : key;
      if (bare === template || path.startsWith(bare)) matches.push([key, spec]);
    }
    let latencyMs = 0;
    for (const [, spec] of matches) latencyMs = Math.max(latencyMs, spec.latencyMs ?? 0);
    for (const [key] of matches) {
      const left = this.bursts.get(key) ?? 0;
      if (left > 0) {
        this.bursts.set(key, left - 1);
        return { kind: "rate-limit", latencyMs };
      }
    }
    for (const [, spec] of matches) {
      if (spec.errorRate && this.rnd.chance(spec.errorRate)) {
        return { kind: "error", status: this.rnd.pick(spec.errorStatuses ?? [500, 502, 503]), latencyMs };
      }
    }
    for (const [, spec] of matches) {
      if (spec.cutRate && this.rnd.chance(spec.cutRate)) return { kind: "cut", latencyMs };
    }
    return { kind: "none", latencyMs };
  }
}

const SPEC_KEYS = new Set(["errorRate", "errorStatuses", "rateLimitBurst", "latencyMs", "cutRate"]);
/** Longer delays than this would only hold sockets open until the client gives up. */
const MAX_LATENCY_MS = 600_000;

/**
 * The configuration arrives as JSON from `/_sim/faults`: check its shape as well as its values, so a typo
 * (`errorrate`) or a wrong type is a 400 instead of a silently inactive fault.
 */
function validateConfig(config: unknown): asserts config is FaultConfig {
  if (!isObject(config)) throw new RangeError("the fault configuration must be an object");
  for (const key of Object.keys(config)) {
    if (key !== "global" && key !== "endpoints") {
      throw new RangeError(`unknown fault configuration key '${key}' (use global, endpoints)`);
    }
  }
  if (config.global !== undefined) validate(config.global, "global");
  if (config.endpoints !== undefined) {
    if (!isObject(config.endpoints)) throw new RangeError("endpoints must be an object keyed by path");
    for (const [key, spec] of Object.entries(config.endpoints)) {
      if (key === "") throw new RangeError("endpoint keys must not be empty");
      validate(spec, `endpoints['${key}']`);
    }
  }
}

function validate(spec: unknown, where: string): asserts spec is FaultSpec {
  if (!isObject(spec)) throw new RangeError(`${where} must be an object`);
  for (const key of Object.keys(spec)) {
    if (!SPEC_KEYS.has(key)) throw new RangeError(`${where}.${key} is not a fault setting`);
  }
  for (const key of ["errorRate", "cutRate"] as const) {
    const v = spec[key];
    if (v !== undefined && !(typeof v === "number" && v >= 0 && v <= 1)) {
      throw new RangeError(`${where}.${key} must be a probability between 0 and 1`);
    }
  }
  for (const key of ["rateLimitBurst", "latencyMs"] as const) {
    const v = spec[key];
    if (v !== undefined && !(Number.isSafeInteger(v) && (v as number) >= 0)) {
      throw new RangeError(`${where}.${key} must be a whole number >= 0`);
    }
  }
  if (typeof spec.latencyMs === "number" && spec.latencyMs > MAX_LATENCY_MS) {
    throw new RangeError(`${where}.latencyMs must be at most ${MAX_LATENCY_MS}`);
  }
  const statuses = spec.errorStatuses;
  if (statuses !== undefined) {
    // An empty list would leave nothing to draw from when the error rate fires.
    if (!Array.isArray(statuses) || statuses.length === 0) {
      throw new RangeError(`${where}.errorStatuses must be a non-empty list of 5xx codes`);
    }
    for (const status of statuses) {
      if (!Number.isInteger(status) || status < 500 || status > 599) {
        throw new RangeError(`${where}.errorStatuses must hold 5xx codes`);
      }
    }
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
