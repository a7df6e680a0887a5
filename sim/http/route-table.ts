import type { Principal, RequiredScopes } from "../auth/principal.js";
import type { Entity } from "../data/entity.js";
import type { RepositoryState, SimData, WorkspaceState } from "../data/model.js";
import type { SimRequest } from "./types.js";

/** How a list endpoint pages, filters and hides fields: the data the generic list runner needs. */
export interface ListSpec {
  readonly pagination: "page" | "cursor";
  readonly defaultPagelen: number;
  readonly maxPagelen: number;
  /** BBQL `q=`/`sort=` support: the top-level fields a query may name, or false when not accepted. */
  readonly bbql: readonly string[] | false;
  /** Item-relative paths left out unless `fields=` asks for them (e.g. PR `participants`). */
  readonly hidden?: readonly string[];
  /** Applied before BBQL's `sort=`, to give lists a stable default order. */
  readonly defaultSort?: string;
}

export interface RouteContext {
  readonly req: SimRequest;
  readonly data: SimData;
  readonly principal: Principal;
  readonly legacyIssues: boolean;
  readonly params: Readonly<Record<string, string>>;
  readonly workspace?: WorkspaceState;
  readonly repository?: RepositoryState;
}

export type Resolved =
  | { readonly kind: "list"; readonly items: readonly Entity[]; readonly keyOf?: (entity: Entity) => string }
  | { readonly kind: "object"; readonly entity: Entity; readonly hidden?: readonly string[] };

export interface Route {
  /** The spec's path template without the `/2.0` prefix. */
  readonly template: string;
  readonly scopes: RequiredScopes;
  readonly list?: ListSpec;
  /** Query parameters that may repeat (`state`, `include`, `exclude`); all others must appear once. */
  readonly repeatable?: readonly string[];
  readonly resolve: (ctx: RouteContext) => Resolved;
}

export const scopes = {
  account: { classic: ["account"], granular: ["read:user:bitbucket"] },
  workspaceAccount: { classic: ["account"], granular: ["read:workspace:bitbucket"] },
  workspace: { classic: [], granular: ["read:workspace:bitbucket"] },
  project: { classic: ["project"], granular: ["read:project:bitbucket"] },
  repository: { classic: ["repository"], granular: ["read:repository:bitbucket"] },
  pullrequest: { classic: ["pullrequest"], granular: ["read:pullrequest:bitbucket"] },
  pipeline: { classic: ["pipeline"], granular: ["read:pipeline:bitbucket"] },
  issue: { classic: ["issue"], granular: ["read:issue:bitbucket"] },
} as const satisfies Record<string, RequiredScopes>;

/** Compiled template: literal segments and `{param}` captures. */
export interface CompiledRoute {
  readonly route: Route;
  readonly segments: readonly ({ literal: string } | { param: string })[];
  /** Literal segments count; more literals win when two templates match. */
  readonly specificity: number;
}

export function compileRoutes(routes: readonly Route[]): CompiledRoute[] {
  return routes.map((route) => {
    const segments = route.template
      .split("/")
      .filter(Boolean)
      .map((s) => (s.startsWith("{") && s.endsWith("}") ? { param: s.slice(1, -1) } : { literal: s }));
    return { route, segments, specificity: segments.filter((s) => "literal" in s).length };
  });
}

export function matchRoute(
  compiled: readonly CompiledRoute[],
  path: string,
): { route: Route; params: Record<string, string> } | undefined {
  const parts = path.split("/").filter(Boolean);
  let best: { route: Route; params: Record<string, string>; specificity: number } | undefined;
  for (const candidate of compiled) {
    if (candidate.segments.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < parts.length && ok; i++) {
      const segment = candidate.segments[i] as { literal: string } | { param: string };
      const part = parts[i] as string;
      if ("literal" in segment) ok = segment.literal === part;
      else {
        try {
          params[segment.param] = decodeURIComponent(part);
        } catch {
          ok = false;
        }
      }
    }
    if (ok && (!best || candidate.specificity > best.specificity)) {
      best = { route: candidate.route, params, specificity: candidate.specificity };
    }
  }
  return best && { route: best.route, params: best.params };
}
