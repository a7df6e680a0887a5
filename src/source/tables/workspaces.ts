import type { WorkspaceAccess } from "../../bitbucket/api-types.js";
import { column, defineTable } from "../table.js";

export const Workspaces = defineTable<WorkspaceAccess>({
  name: "Workspaces",
  schema: "Information",
  description: "Workspaces the connection's account can see (works without a Workspace property).",
  level: { kind: "account" },
  path: "/user/workspaces",
  pagination: "page",
  maxPageLength: 100,
  bbql: true,
  primaryKey: ["Uuid"],
  incremental: { kind: "full", reason: "no timestamps in the listing; a handful of rows" },
  columns: [
    column("Uuid", "string", "Workspace UUID, in braces.", (a) => a.workspace?.uuid, {
      field: "workspace.uuid",
    }),
    column("Slug", "string", "URL-friendly workspace id.", (a) => a.workspace?.slug, {
      field: "workspace.slug",
      filterable: true,
      sortable: true,
    }),
    column("Name", "string", "Display name.", (a) => a.workspace?.name, { field: "workspace.name" }),
    column(
      "IsAdministrator",
      "boolean",
      "Whether the account administers the workspace.",
      (a) => a.administrator,
      {
        field: "administrator",
        filterable: true,
      },
    ),
  ],
  examples: ["SELECT Slug, Name FROM Workspaces WHERE IsAdministrator = TRUE"],
});
