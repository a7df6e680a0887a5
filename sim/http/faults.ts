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

/** Draws faults from a seeded generator, so a failing run can be replayed with the same seed. */
export class FaultInjector {
  private config: FaultConfig = {};
  private readonly bursts = new Map<string, number>();
  private rnd: Random;

  constructor(private readonly seed: number) {
    this.rnd = Random.derive(seed, "faults");
  }

  configure(config: FaultConfig): void {
    validate(config.global, "global");
    for (const [key, spec] of Object.entries(config.endpoints ?? {})) validate(spec, key);
    this.config = config;
    this.bursts.clear();
    this.rnd = Random.derive(this.seed, "faults");
    if (config.global?.rateLimitBurst) this.bursts.set("*", config.global.rateLimitBurst);
    for (const [key, spec] of Object.entries(config.endpoints ?? {})) {
      if (spec.rateLimitBurst) this.bursts.set(key, spec.rateLimitBurst);
    }
  }

  current(): FaultConfig {
    return this.config;
  }

  decide(template: string, path: string): FaultDecision {
    const matches: [string, FaultSpec][] = [];
    if (this.config.global) matches.push(["*", this.config.global]);
    for (const [key, spec] of Object.entries(this.config.endpoints ?? {})) {
      if (key === template || path.startsWith(key)) matches.push([key, spec]);
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

function validate(spec: FaultSpec | undefined, where: string): void {
  if (!spec) return;
  for (const key of ["errorRate", "cutRate"] as const) {
    const v = spec[key];
    if (v !== undefined && !(typeof v === "number" && v >= 0 && v <= 1)) {
      throw new RangeError(`${where}.${key} must be a probability between 0 and 1`);
    }
  }
  for (const key of ["rateLimitBurst", "latencyMs"] as const) {
    const v = spec[key];
    if (v !== undefined && !(Number.isInteger(v) && v >= 0)) {
      throw new RangeError(`${where}.${key} must be a whole number >= 0`);
    }
  }
  for (const status of spec.errorStatuses ?? []) {
    if (!Number.isInteger(status) || status < 500 || status > 599) {
      throw new RangeError(`${where}.errorStatuses must hold 5xx codes`);
    }
  }
}
