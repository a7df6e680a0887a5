import { CredentialRegistry, handleOAuthRequest, requireScopes } from "./auth/index.js";
import type { Principal } from "./auth/principal.js";
import { SimClock } from "./clock.js";
import { generate } from "./data/generate.js";
import type { RepositoryState, SimData, WorkspaceState } from "./data/model.js";
import { Renderer } from "./data/render.js";
import { type Counts, resolveCounts, type ScaleName } from "./data/scale.js";
import { ApiError, errors } from "./http/errors.js";
import { type FaultDecision, FaultInjector } from "./http/faults.js";
import { renderList, renderObject } from "./http/list.js";
import { RateLimiter } from "./http/rate-limit.js";
import { compileRoutes, matchRoute, type Route, type RouteContext } from "./http/route-table.js";
import { RequestStats } from "./http/stats.js";
import { jsonResponse, type SimRequest, type SimResponse, type WireResponse } from "./http/types.js";
import { pipelineRoutes } from "./routes/pipelines.js";
import { repositoryRoutes } from "./routes/repositories.js";
import { visibleWorkspaces, workspaceRoutes } from "./routes/workspaces.js";

export interface SimulatorOptions {
  seed?: number;
  scale?: ScaleName;
  counts?: Partial<Counts>;
  legacyIssues?: boolean;
  /** Requests per credential per rolling hour on `/2.0/repositories/*` (Bitbucket's default 1,000). */
  rateLimitPerHour?: number;
  accessTokenTtlSeconds?: number;
}

export const ALL_ROUTES: readonly Route[] = [...workspaceRoutes, ...repositoryRoutes, ...pipelineRoutes];
const COMPILED = compileRoutes(ALL_ROUTES);
/** Parameters that select a list's content; the service refuses them twice (a rebuilt `next` URL). */
const SINGLE_VALUED = ["page", "pagelen", "q", "sort", "fields"];

/** A handled request: a response, plus what faults asked the transport to do with it. */
export interface Outcome {
  response: WireResponse;
  latencyMs: number;
  cut: boolean;
}

/**
 * The simulator without a socket: routes, auth, budget, faults and state. `sim/server.ts` puts it
 * on HTTP; tests may call `handle` directly.
 */
export class Simulator {
  readonly clock = new SimClock();
  readonly stats = new RequestStats();
  readonly faults: FaultInjector;
  readonly limiter: RateLimiter;
  readonly seed: number;
  readonly counts: Counts;
  legacyIssues: boolean;
  renderer: Renderer;
  data!: SimData;
  auth!: CredentialRegistry;
  private readonly accessTokenTtlSeconds: number;

  constructor(
    readonly origin: string,
    options: SimulatorOptions = {},
  ) {
    this.seed = options.seed ?? 1;
    this.counts = resolveCounts(options.scale ?? "small", options.counts);
    this.legacyIssues = options.legacyIssues ?? false;
    this.limiter = new RateLimiter(options.rateLimitPerHour ?? 1000);
    this.faults = new FaultInjector(this.seed);
    this.accessTokenTtlSeconds = options.accessTokenTtlSeconds ?? 3600;
    this.renderer = new Renderer(origin);
    this.reset();
  }

  /**
   * Back to the seeded state: data, credentials, clock, budgets, faults and counters. Settings
   * (`/_sim/config`: rate limit, token lifetime, legacy issues) stay as they are.
   */
  reset(): void {
    this.clock.reset();
    this.data = generate(this.seed, this.counts, this.renderer);
    // Settings survive a reset like the rate limit does; only state goes back to the seed.
    const ttl = this.auth?.accessTokenTtl ?? this.accessTokenTtlSeconds;
    this.auth = new CredentialRegistry({
      seed: this.seed,
      clock: this.clock,
      accessTokenTtlSeconds: ttl,
      users: this.data.users,
      // The live state, not a copy: access-token bindings must see repositories `/_sim` adds later.
      workspaces: this.data.workspaces,
      baseUrl: this.origin,
    });
    this.limiter.reset();
    this.faults.configure({});
    this.stats.reset();
  }

  /**
   * Serialises every commit now rather than on first request, so even a first full read is served from
   * cached bytes (benchmarks of the connector should not measure the simulator's first serialisation).
   */
  warm(): number {
    let count = 0;
    for (const ws of this.data.workspaces) {
      for (const repo of ws.repositories) {
        for (const commit of repo.commits) {
          commit.entity.bytes();
          count++;
        }
      }
    }
    return count;
  }

  /** Serves one API or OAuth request. `/_sim` administration is routed by the server before this. */
  handle(req: SimRequest): Outcome {
    const path = req.url.pathname;
    if (path.startsWith("/site/oauth2/")) {
      const response = handleOAuthRequest(this.auth, req) ?? jsonResponse(404, errors.noApi().envelope());
      this.stats.record(`${req.method} ${path}`, undefined, response.status);
      return { response, latencyMs: 0, cut: false };
    }
    // Unknown paths share one counter, so scanning cannot grow the stats without bound.
    let endpoint = `${req.method} (no such endpoint)`;
    let principal: Principal | undefined;
    let fault: FaultDecision = { kind: "none", latencyMs: 0 };
    let response: WireResponse;
    try {
      if (!path.startsWith("/2.0/")) throw errors.noApi();
      const apiPath = path.slice(4);
      const matched = matchRoute(COMPILED, apiPath);
      if (!matched) throw errors.noApi();
      const { route, params } = matched;
      endpoint = `${req.method} ${route.template}`;
      if (req.method !== "GET" && req.method !== "HEAD") throw errors.methodNotAllowed();
      checkRepeatedParameters(req.url, route);
      principal = this.auth.authenticate(req);
      if (!principal) throw errors.unauthorized("Unauthorized", "This resource requires authentication.");
      requireScopes(principal, route.scopes);
      const ctx = this.context(req, principal, params);
      const budgeted = apiPath.startsWith("/repositories/");
      let headers: Record<string, string> = {};
      if (budgeted) {
        const left = this.limiter.take(principal.credentialId, this.clock.now());
        if (left < 0) throw errors.rateLimited();
        // The service sends these only to access tokens on scaled endpoints.
        if (principal.kind === "access_token") {
          headers = {
            "X-RateLimit-Limit": String(this.limiter.limitPerHour),
            "X-RateLimit-Resource": "api-repository",
            "X-RateLimit-NearLimit": String(left < this.limiter.limitPerHour * 0.2),
          };
        }
      }
      fault = this.faults.decide(route.template, apiPath);
      if (fault.kind === "rate-limit") throw errors.rateLimited();
      if (fault.kind === "error") throw errors.server(fault.status);
      const resolved = route.resolve(ctx);
      response =
        resolved.kind === "list"
          ? renderList(req.url, route.list ?? missingListSpec(route), resolved.items, resolved.keyOf)
          : renderObject(req.url, resolved.entity, resolved.hidden);
      Object.assign(response.headers, headers);
    } catch (error) {
      response = errorResponse(error);
    }
    this.stats.record(endpoint, principal?.credentialId, response.status);
    return { response, latencyMs: fault.latencyMs, cut: fault.kind === "cut" && response.status === 200 };
  }

  private context(req: SimRequest, principal: Principal, params: Record<string, string>): RouteContext {
    let workspace: WorkspaceState | undefined;
    let repository: RepositoryState | undefined;
    const base = { req, params, data: this.data, principal, legacyIssues: this.legacyIssues };
    if (params.workspace !== undefined) {
      const id = params.workspace;
      const slug = params.repo_slug;
      const notFound = () =>
        slug === undefined
          ? errors.notFound(`No workspace with identifier '${id}'.`)
          : errors.notFound(`Repository ${id}/${slug} not found`);
      // Access tokens are bound by slug; resolve UUIDs first so a token also reaches its own resources
      // by UUID. A refusal names what was asked for, never the slug behind a UUID.
      const named = this.data.workspaces.find((ws) => ws.slug === id || ws.uuid === id);
      const namedRepo =
        slug === undefined ? undefined : named?.repositories.find((r) => r.slug === slug || r.uuid === slug);
      if (
        !this.auth.canAccess(
          principal,
          named?.slug ?? id,
          slug === undefined ? undefined : (namedRepo?.slug ?? slug),
        )
      ) {
        throw notFound();
      }
      workspace = visibleWorkspaces(base).find((ws) => ws === named);
      if (!workspace) throw notFound();
      if (slug !== undefined) {
        repository = namedRepo;
        if (!repository) throw errors.notFound(`Repository ${workspace.slug}/${slug} not found`);
      }
    }
    return { ...base, workspace, repository };
  }
}

function checkRepeatedParameters(url: URL, route: Route): void {
  for (const name of new Set(url.searchParams.keys())) {
    if (
      url.searchParams.getAll(name).length > 1 &&
      (SINGLE_VALUED.includes(name) || !route.repeatable?.includes(name))
    ) {
      throw errors.badRequest(
        `Parameter ${name} was given more than once`,
        "Request `next` exactly as received; do not append the original parameters again.",
      );
    }
  }
}

function missingListSpec(route: Route): never {
  throw new Error(`route ${route.template} returned a list without a list spec`);
}

export function errorResponse(error: unknown): SimResponse {
  if (error instanceof ApiError) return jsonResponse(error.status, error.envelope(), error.headers);
  // A bug in the simulator must still look like the service's 500, never a stack trace.
  process.emitWarning(
    `bitbridge simulator: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  return jsonResponse(500, errors.server(500).envelope());
}
