import type { Entity } from "../data/entity.js";
import { walkCommits } from "../data/git.js";
import type { CommitRecord, RepositoryState } from "../data/model.js";
import { errors } from "../http/errors.js";
import { type ListSpec, type Route, type RouteContext, scopes } from "../http/route-table.js";

const PAGE = (bbql: readonly string[] | false, extra: Partial<ListSpec> = {}): ListSpec => ({
  pagination: "page",
  defaultPagelen: 10,
  maxPagelen: 100,
  bbql,
  ...extra,
});

const REPOSITORY_FIELDS = [
  "uuid",
  "name",
  "slug",
  "full_name",
  "description",
  "is_private",
  "created_on",
  "updated_on",
  "size",
  "language",
  "project",
  "owner",
  "workspace",
  "mainbranch",
  "fork_policy",
  "has_issues",
  "has_wiki",
  "scm",
];
const PR_FIELDS = [
  "id",
  "title",
  "description",
  "state",
  "author",
  "source",
  "destination",
  "created_on",
  "updated_on",
  "comment_count",
  "task_count",
  "close_source_branch",
  "closed_by",
  "merge_commit",
  "reviewers",
  "participants",
  "draft",
  "reason",
];
const COMMENT_FIELDS = [
  "id",
  "created_on",
  "updated_on",
  "content",
  "user",
  "deleted",
  "inline",
  "parent",
  "pending",
];
const REF_FIELDS = ["name", "target"];
const STATUS_FIELDS = ["key", "state", "name", "refname", "url", "description", "created_on", "updated_on"];
const PR_STATES = ["OPEN", "MERGED", "DECLINED", "SUPERSEDED"];

function repo(ctx: RouteContext): RepositoryState {
  if (!ctx.repository) throw new Error("route needs a repository");
  return ctx.repository;
}

function pullRequest(ctx: RouteContext) {
  const id = Number(ctx.params.pull_request_id);
  const pr = Number.isInteger(id) ? repo(ctx).pullRequests.find((p) => p.id === id) : undefined;
  if (!pr) throw errors.notFound(`Pull request ${ctx.params.pull_request_id} not found`);
  return pr;
}

function legacyIssues(ctx: RouteContext) {
  if (!ctx.legacyIssues) {
    throw errors.gone(
      "Issue tracker is no longer available",
      "Bitbucket Cloud retired its issue tracker on 2026-08-20; issue endpoints answer 410 Gone.",
    );
  }
  return repo(ctx).issues;
}

function issue(ctx: RouteContext) {
  const found = legacyIssues(ctx).find((i) => String(i.id) === ctx.params.issue_id);
  if (!found) throw errors.notFound(`Issue ${ctx.params.issue_id} not found`);
  return found;
}

function byKey(items: readonly Entity[], key: string, value: string | undefined, what: string) {
  const found = items.find((e) => String(e.value[key]) === value);
  if (!found) throw errors.notFound(`${what} ${value} not found`);
  return found;
}

/** Repository endpoints; every one of them counts against the hourly repository-data budget. */
export const repositoryRoutes: Route[] = [
  {
    template: "/repositories/{workspace}",
    scopes: scopes.repository,
    list: PAGE(REPOSITORY_FIELDS),
    resolve: (ctx) => {
      const ws = ctx.workspace;
      if (!ws) throw new Error("route needs a workspace");
      const role = ctx.req.url.searchParams.get("role");
      if (role !== null && !["member", "contributor", "admin", "owner"].includes(role)) {
        throw errors.badRequest(
          `Invalid role: ${role}`,
          "role must be one of member, contributor, admin, owner.",
        );
      }
      const binding = ctx.principal.binding;
      const repos = ws.repositories.filter(
        (r) =>
          (!binding?.repository || binding.repository === r.slug) &&
          (!binding?.project || binding.project === r.projectKey),
      );
      return { kind: "list", items: repos.map((r) => r.entity) };
    },
  },
  {
    template: "/repositories/{workspace}/{repo_slug}",
    scopes: scopes.repository,
    resolve: (ctx) => ({ kind: "object", entity: repo(ctx).entity }),
  },
  {
    template: "/repositories/{workspace}/{repo_slug}/pullrequests",
    scopes: scopes.pullrequest,
    list: PAGE(PR_FIELDS, { maxPagelen: 50, hidden: ["participants", "reviewers"] }),
    repeatable: ["state"],
    resolve: (ctx) => {
      const states = ctx.req.url.searchParams.getAll("state").map((s) => s.toUpperCase());
      for (const s of states) {
        if (!PR_STATES.includes(s) && s !== "DRAFT" && s !== "QUEUED") {
          throw errors.badRequest(`Invalid state: ${s}`, `state must be one of ${PR_STATES.join(", ")}.`);
        }
      }
      // Only OPEN pull requests unless a state is asked for, by parameter or by a query naming `state`.
      const q = ctx.req.url.searchParams.get("q") ?? "";
      const wanted = states.length > 0 ? states : /\bstate\b/.test(q) ? PR_STATES : ["OPEN"];
      const items = repo(ctx)
        .pullRequests.filter((p) => wanted.includes(p.entity.value.state as string))
        .map((p) => p.entity);
      return { kind: "list", items };
    },
  },
  {
    template: "/repositories/{workspace}/{repo_slug}/pullrequests/activity",
    scopes: scopes.pullrequest,
    list: { pagination: "cursor", defaultPagelen: 10, maxPagelen: 50, bbql: false },
    resolve: (ctx) => {
      // Cursor keys must survive new activity at the front: name each entry by its pull request and
      // its position counted from that pull request's oldest entry, not by its place in this list.
      const log = repo(ctx).pullRequests.flatMap((p) =>
        p.activity.map((a, i) => ({ ...a, key: `${p.id}:${p.activity.length - i}` })),
      );
      log.sort((a, b) => b.at - a.at);
      const keys = new Map(log.map((a) => [a.entity, a.key]));
      return { kind: "list", items: log.map((a) => a.entity), keyOf: (e) => keys.get(e) ?? "" };
    },
  },
  {
    template: "/repositories/{workspace}/{repo_slug}/pullrequests/{pull_request_id}",
    scopes: scopes.pullrequest,
    resolve: (ctx) => ({ kind: "object", entity: pullRequest(ctx).entity }),
  },
  {
    template: "/repositories/{workspace}/{repo_slug}/pullrequests/{pull_request_id}/activity",
    scopes: scopes.pullrequest,
    list: { pagination: "cursor", defaultPagelen: 10, maxPagelen: 50, bbql: false },
    resolve: (ctx) => {
      const entities = pullRequest(ctx).activity.map((a) => a.entity);
      const keys = new Map(entities.map((e, i) => [e, String(entities.length - i)]));
      return { kind: "list", items: entities, keyOf: (e) => keys.get(e) ?? "" };
    },
  },
  {
    template: "/repositories/{workspace}/{repo_slug}/pullrequests/{pull_request_id}/comments",
    scopes: scopes.pullrequest,
    list: PAGE(COMMENT_FIELDS),
    resolve: (ctx) => ({ kind: "list", items: pullRequest(ctx).comments }),
  },
  {
    template: "/repositories/{workspace}/{repo_slug}/pullrequests/{pull_request_id}/comments/{comment_id}",
    scopes: scopes.pullrequest,
    resolve: (ctx) => ({
      kind: "object",
      entity: byKey(pullRequest(ctx).comments, "id", ctx.params.comment_id, "Comment"),
    }),
  },
  {
    template: "/repositories/{workspace}/{repo_slug}/pullrequests/{pull_request_id}/commits",
    scopes: scopes.pullrequest,
    list: { pagination: "cursor", defaultPagelen: 10, maxPagelen: 100, bbql: false },
    resolve: (ctx) => {
      const pr = pullRequest(ctx);
      const r = repo(ctx);
      // Once the source branch is gone the service can no longer compute the commit range.
      const hashes = pr.sourceBranchDeleted ? [] : pr.commits;
      const records = hashes.flatMap((h) => r.commitsByHash.get(h) ?? []);
      return commitItems(records);
    },
  },
  {
    template: "/repositories/{workspace}/{repo_slug}/commits",
    scopes: scopes.repository,
    list: { pagination: "cursor", defaultPagelen: 30, maxPagelen: 100, bbql: false },
    repeatable: ["include", "exclude"],
    resolve: (ctx) => commitList(ctx, []),
  },
  {
    template: "/repositories/{workspace}/{repo_slug}/commits/{revision}",
    scopes: scopes.repository,
    list: { pagination: "cursor", defaultPagelen: 30, maxPagelen: 100, bbql: false },
    repeatable: ["include", "exclude"],
    resolve: (ctx) => commitList(ctx, [ctx.params.revision as string]),
  },
  {
    template: "/repositories/{workspace}/{repo_slug}/commit/{commit}",
    scopes: scopes.repository,
    resolve: (ctx) => ({ kind: "object", entity: commitByRevision(ctx).entity }),
  },
  {
    template: "/repositories/{workspace}/{repo_slug}/commit/{commit}/statuses",
    scopes: scopes.repository,
    list: PAGE(STATUS_FIELDS),
    resolve: (ctx) => {
      const hash = commitByRevision(ctx).hash;
      const refname = ctx.req.url.searchParams.get("refname");
      const all = repo(ctx).statuses.get(hash) ?? [];
      return { kind: "list", items: refname === null ? all : all.filter((s) => s.value.refname === refname) };
    },
  },
  {
    template: "/repositories/{workspace}/{repo_slug}/commit/{commit}/statuses/build/{key}",
    scopes: scopes.repository,
    resolve: (ctx) => {
      const statuses = repo(ctx).statuses.get(commitByRevision(ctx).hash) ?? [];
      return { kind: "object", entity: byKey(statuses, "key", ctx.params.key, "Commit status") };
    },
  },
  {
    template: "/repositories/{workspace}/{repo_slug}/refs/branches",
    scopes: scopes.repository,
    list: PAGE(REF_FIELDS, { defaultSort: "name" }),
    resolve: (ctx) => ({
      kind: "list",
      items: [...repo(ctx).branches.values()]
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((b) => b.entity),
    }),
  },
  {
    template: "/repositories/{workspace}/{repo_slug}/refs/branches/{name}",
    scopes: scopes.repository,
    resolve: (ctx) => {
      const branch = repo(ctx).branches.get(ctx.params.name as string);
      if (!branch) throw errors.notFound(`Branch "${ctx.params.name}" not found`);
      return { kind: "object", entity: branch.entity };
    },
  },
  {
    template: "/repositories/{workspace}/{repo_slug}/refs/tags",
    scopes: scopes.repository,
    list: PAGE([...REF_FIELDS, "date", "message"]),
    resolve: (ctx) => ({ kind: "list", items: repo(ctx).tags.map((t) => t.entity) }),
  },
  {
    template: "/repositories/{workspace}/{repo_slug}/refs/tags/{name}",
    scopes: scopes.repository,
    resolve: (ctx) => {
      const tag = repo(ctx).tags.find((t) => t.name === ctx.params.name);
      if (!tag) throw errors.notFound(`Tag "${ctx.params.name}" not found`);
      return { kind: "object", entity: tag.entity };
    },
  },
  {
    template: "/repositories/{workspace}/{repo_slug}/deployments",
    scopes: scopes.pipeline,
    list: PAGE(false),
    resolve: (ctx) => ({ kind: "list", items: repo(ctx).deployments }),
  },
  {
    template: "/repositories/{workspace}/{repo_slug}/deployments/{deployment_uuid}",
    scopes: scopes.pipeline,
    resolve: (ctx) => ({
      kind: "object",
      entity: byKey(repo(ctx).deployments, "uuid", ctx.params.deployment_uuid, "Deployment"),
    }),
  },
  {
    template: "/repositories/{workspace}/{repo_slug}/environments",
    scopes: scopes.pipeline,
    list: PAGE(false),
    resolve: (ctx) => ({ kind: "list", items: repo(ctx).environments }),
  },
  {
    template: "/repositories/{workspace}/{repo_slug}/environments/{environment_uuid}",
    scopes: scopes.pipeline,
    resolve: (ctx) => ({
      kind: "object",
      entity: byKey(repo(ctx).environments, "uuid", ctx.params.environment_uuid, "Environment"),
    }),
  },
  {
    template: "/repositories/{workspace}/{repo_slug}/issues",
    scopes: scopes.issue,
    list: PAGE([
      "id",
      "title",
      "state",
      "kind",
      "priority",
      "reporter",
      "assignee",
      "created_on",
      "updated_on",
      "votes",
    ]),
    resolve: (ctx) => ({ kind: "list", items: legacyIssues(ctx).map((i) => i.entity) }),
  },
  {
    template: "/repositories/{workspace}/{repo_slug}/issues/{issue_id}",
    scopes: scopes.issue,
    resolve: (ctx) => ({ kind: "object", entity: issue(ctx).entity }),
  },
  {
    template: "/repositories/{workspace}/{repo_slug}/issues/{issue_id}/comments",
    scopes: scopes.issue,
    list: PAGE(COMMENT_FIELDS),
    resolve: (ctx) => ({ kind: "list", items: issue(ctx).comments }),
  },
  {
    template: "/repositories/{workspace}/{repo_slug}/issues/{issue_id}/comments/{comment_id}",
    scopes: scopes.issue,
    resolve: (ctx) => ({
      kind: "object",
      entity: byKey(issue(ctx).comments, "id", ctx.params.comment_id, "Comment"),
    }),
  },
];

function commitByRevision(ctx: RouteContext) {
  const r = repo(ctx);
  const rev = ctx.params.commit as string;
  const found =
    r.commitsByHash.get(rev) ?? (rev.length >= 7 ? r.commits.find((c) => c.hash.startsWith(rev)) : undefined);
  if (!found) throw errors.notFound(`Commit not found`, `No commit ${rev} in ${r.workspace.slug}/${r.slug}.`);
  return found;
}

function commitList(ctx: RouteContext, fromPath: string[]) {
  const params = ctx.req.url.searchParams;
  const include = [...fromPath, ...params.getAll("include")];
  const walked = walkCommits(repo(ctx), include, params.getAll("exclude"));
  if ("unknown" in walked) throw errors.notFound(`Commit not found`, `Unknown revision: ${walked.unknown}`);
  return commitItems(walked);
}

/**
 * Commit entities do not keep their objects in memory, so cursor keys come from the records. A walk is
 * cached until the next push and paged through many times, so its item list is built once per walk.
 */
const itemsOfWalk = new WeakMap<readonly CommitRecord[], { items: Entity[]; keyOf: (e: Entity) => string }>();

function commitItems(records: readonly CommitRecord[]) {
  let built = itemsOfWalk.get(records);
  if (!built) {
    const hashes = new Map(records.map((c) => [c.entity, c.hash]));
    built = { items: records.map((c) => c.entity), keyOf: (e: Entity) => hashes.get(e) ?? "" };
    itemsOfWalk.set(records, built);
  }
  return { kind: "list" as const, ...built };
}
