import type { Environment } from "../../bitbucket/api-types.js";
import { column, defineTable } from "../table.js";

export const Environments = defineTable<Environment>({
  name: "Environments",
  schema: "Repository",
  description: "Deployment environments (Test, Staging, Production...).",
  level: { kind: "repository" },
  path: "/repositories/{workspace}/{repo_slug}/environments",
  pagination: "page",
  maxPageLength: 100,
  bbql: false,
  lookup: {
    path: "/repositories/{workspace}/{repo_slug}/environments/{environment_uuid}",
    param: "environment_uuid",
    column: "Uuid",
  },
  primaryKey: ["RepositoryUuid", "Uuid"],
  incremental: { kind: "full", reason: "environments carry no timestamps" },
  columns: [
    column("Uuid", "string", "Environment UUID.", (e) => e.uuid, { field: "uuid" }),
    column("Name", "string", "Environment name.", (e) => e.name, { field: "name" }),
    column("Slug", "string", "Environment slug.", (e) => e.slug, { field: "slug" }),
    column("Type", "string", "Test, Staging or Production.", (e) => e.environment_type?.name, {
      field: "environment_type.name",
    }),
    column("Rank", "integer", "Order in the deployment dashboard.", (e) => e.rank, { field: "rank" }),
    column("IsHidden", "boolean", "Hidden from the dashboard.", (e) => e.hidden, { field: "hidden" }),
    column("LockState", "string", "OPEN or LOCKED.", (e) => e.lock?.name, { field: "lock.name" }),
  ],
});
