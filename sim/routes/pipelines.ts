import { compareByPath } from "../bbql/index.js";
import type { Entity, Json } from "../data/entity.js";
import type { RepositoryState } from "../data/model.js";
import { errors } from "../http/errors.js";
import { type Route, type RouteContext, scopes } from "../http/route-table.js";

function repo(ctx: RouteContext): RepositoryState {
  if (!ctx.repository) throw new Error("route needs a repository");
  return ctx.repository;
}

function pipeline(ctx: RouteContext) {
  const found = repo(ctx).pipelines.find((p) => p.uuid === ctx.params.pipeline_uuid);
  if (!found) throw errors.notFound(`Pipeline ${ctx.params.pipeline_uuid} not found`);
  return found;
}

/** Pipelines take named filter parameters instead of BBQL; `status` is accepted and ignored, as on the service. */
const NAMED_FILTERS: Record<string, (p: Json, value: string) => boolean> = {
  "creator.uuid": (p, v) => (p.creator as Json | undefined)?.uuid === v,
  "target.ref_type": (p, v) => (p.target as Json).ref_type === v,
  "target.ref_name": (p, v) => (p.target as Json).ref_name === v,
  "target.branch": (p, v) => (p.target as Json).ref_type === "branch" && (p.target as Json).ref_name === v,
  "target.commit.hash": (p, v) => ((p.target as Json).commit as Json | undefined)?.hash === v,
  "target.selector.pattern": (p, v) => ((p.target as Json).selector as Json | undefined)?.pattern === v,
  "target.selector.type": (p, v) => ((p.target as Json).selector as Json | undefined)?.type === v,
  trigger_type: (p, v) => ((p.trigger as Json).name as string) === v.toUpperCase(),
  created_on: (p, v) => {
    const at = Date.parse(v);
    if (Number.isNaN(at)) throw errors.badRequest(`Invalid created_on: ${v}`);
    return Date.parse(p.created_on as string) >= at;
  },
  status: () => true,
};

export const pipelineRoutes: Route[] = [
  {
    template: "/repositories/{workspace}/{repo_slug}/pipelines",
    scopes: scopes.pipeline,
    list: { pagination: "page", defaultPagelen: 10, maxPagelen: 100, bbql: false },
    resolve: (ctx) => {
      const params = ctx.req.url.searchParams;
      let items: readonly Entity[] = repo(ctx).pipelines.map((p) => p.entity);
      for (const [name, test] of Object.entries(NAMED_FILTERS)) {
        const value = params.get(name);
        if (value !== null) items = items.filter((e) => test(e.value, value));
      }
      const sort = params.get("sort");
      if (sort !== null) {
        if (sort !== "created_on" && sort !== "-created_on") {
          throw errors.badRequest(
            `Invalid sort: ${sort}`,
            "Pipelines sort only by created_on or -created_on.",
          );
        }
        const compare = compareByPath("created_on", sort.startsWith("-"));
        items = [...items].sort((a, b) => compare(a.value, b.value));
      }
      return { kind: "list", items };
    },
  },
  {
    template: "/repositories/{workspace}/{repo_slug}/pipelines/{pipeline_uuid}",
    scopes: scopes.pipeline,
    resolve: (ctx) => ({ kind: "object", entity: pipeline(ctx).entity }),
  },
  {
    template: "/repositories/{workspace}/{repo_slug}/pipelines/{pipeline_uuid}/steps",
    scopes: scopes.pipeline,
    list: { pagination: "page", defaultPagelen: 10, maxPagelen: 100, bbql: false },
    resolve: (ctx) => ({ kind: "list", items: pipeline(ctx).steps }),
  },
  {
    template: "/repositories/{workspace}/{repo_slug}/pipelines/{pipeline_uuid}/steps/{step_uuid}",
    scopes: scopes.pipeline,
    resolve: (ctx) => {
      const step = pipeline(ctx).steps.find((s) => s.value.uuid === ctx.params.step_uuid);
      if (!step) throw errors.notFound(`Step ${ctx.params.step_uuid} not found`);
      return { kind: "object", entity: step };
    },
  },
];
