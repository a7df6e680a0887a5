import { Entity } from "../data/entity.js";
import { errors } from "../http/errors.js";
import { type Route, type RouteContext, scopes } from "../http/route-table.js";

function workspaceOf(ctx: RouteContext) {
  if (!ctx.workspace) throw new Error("route needs a workspace");
  return ctx.workspace;
}

/** Account and workspace endpoints (the `Information` schema's sources). */
export const workspaceRoutes: Route[] = [
  {
    template: "/user",
    scopes: scopes.account,
    resolve: (ctx) => {
      const entity = ctx.data.userEntities.get(ctx.principal.accountUuid);
      if (entity) return { kind: "object", entity, hidden: ["email"] };
      // Access tokens act as a pseudo-user that exists only for the token.
      return {
        kind: "object",
        entity: Entity.of({
          type: "user",
          uuid: ctx.principal.accountUuid,
          display_name: `${ctx.principal.binding?.repository ?? ctx.principal.binding?.workspace ?? "Access"} token`,
          account_status: "active",
          is_staff: false,
        }),
      };
    },
  },
  {
    template: "/user/workspaces",
    scopes: scopes.workspaceAccount,
    list: {
      pagination: "page",
      defaultPagelen: 10,
      maxPagelen: 100,
      bbql: ["slug", "administrator", "workspace"],
    },
    resolve: (ctx) => {
      const admin = ctx.req.url.searchParams.get("administrator");
      if (admin !== null && admin !== "true" && admin !== "false") {
        throw errors.badRequest(
          "Invalid administrator value",
          "Use administrator=true or administrator=false.",
        );
      }
      const items = visibleWorkspaces(ctx).flatMap((ws) => {
        const member = ws.members.find((m) => m.user.uuid === ctx.principal.accountUuid);
        const administrator = member?.administrator ?? false;
        if (admin !== null && String(administrator) !== admin) return [];
        return [administrator ? ws.access.administrator : ws.access.member];
      });
      return { kind: "list", items };
    },
  },
  {
    template: "/workspaces/{workspace}",
    scopes: scopes.workspace,
    resolve: (ctx) => ({ kind: "object", entity: workspaceOf(ctx).entity }),
  },
  {
    template: "/workspaces/{workspace}/projects",
    scopes: scopes.project,
    list: {
      pagination: "page",
      defaultPagelen: 10,
      maxPagelen: 100,
      bbql: ["key", "name", "uuid", "description", "is_private", "created_on", "updated_on", "owner"],
    },
    resolve: (ctx) => ({ kind: "list", items: workspaceOf(ctx).projects.map((p) => p.entity) }),
  },
  {
    template: "/workspaces/{workspace}/projects/{project_key}",
    scopes: scopes.project,
    resolve: (ctx) => {
      const project = workspaceOf(ctx).projects.find((p) => p.key === ctx.params.project_key);
      if (!project) throw errors.notFound(`Project ${ctx.params.project_key} not found`);
      return { kind: "object", entity: project.entity };
    },
  },
  {
    template: "/workspaces/{workspace}/members",
    scopes: scopes.workspaceAccount,
    // `permission` is kept on the data only so that the workspace's own `owners` link
    // (`?q=permission="owner"`) works; members are not served with it.
    list: {
      pagination: "page",
      defaultPagelen: 50,
      maxPagelen: 100,
      bbql: ["user", "permission"],
      hidden: ["user.email", "permission"],
    },
    resolve: (ctx) => {
      const q = ctx.req.url.searchParams.get("q");
      // The service filters members by `user.email IN (...)` (administrators only) or by permission.
      if (q !== null && !/^\s*(user\.email\s+IN\s*\(|permission\s*=)/i.test(q)) {
        throw errors.badRequest(
          "Invalid query",
          'Members can only be filtered with user.email IN (...) or permission="owner".',
        );
      }
      return { kind: "list", items: workspaceOf(ctx).members.map((m) => m.entity) };
    },
  },
  {
    template: "/workspaces/{workspace}/members/{member}",
    scopes: scopes.workspaceAccount,
    resolve: (ctx) => {
      const id = ctx.params.member;
      const member = workspaceOf(ctx).members.find((m) => m.user.uuid === id || m.user.accountId === id);
      if (!member) throw errors.notFound(`${id} is not a member of this workspace`);
      return { kind: "object", entity: member.entity, hidden: ["user.email", "permission"] };
    },
  },
];

export function visibleWorkspaces(ctx: RouteContext) {
  const binding = ctx.principal.binding;
  if (binding) return ctx.data.workspaces.filter((ws) => ws.slug === binding.workspace);
  return ctx.data.workspaces.filter((ws) =>
    ws.members.some((m) => m.user.uuid === ctx.principal.accountUuid),
  );
}
