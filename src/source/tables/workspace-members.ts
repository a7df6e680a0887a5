import type { WorkspaceMembership } from "../../bitbucket/api-types.js";
import { column, defineTable } from "../table.js";

export const WorkspaceMembers = defineTable<WorkspaceMembership>({
  name: "WorkspaceMembers",
  schema: "Information",
  description: "Members of the workspace. Email addresses only for administrators or workspace tokens.",
  level: { kind: "workspace" },
  path: "/workspaces/{workspace}/members",
  pagination: "page",
  maxPageLength: 100,
  bbql: false,
  hiddenFields: ["values.user.email"],
  primaryKey: ["WorkspaceSlug", "UserUuid"],
  incremental: { kind: "full", reason: "memberships carry no change timestamp" },
  columns: [
    column("UserUuid", "string", "Member's UUID.", (m) => m.user?.uuid, { field: "user.uuid" }),
    column("AccountId", "string", "Member's Atlassian account id.", (m) => m.user?.account_id, {
      field: "user.account_id",
    }),
    column("DisplayName", "string", "Member's display name.", (m) => m.user?.display_name, {
      field: "user.display_name",
    }),
    column("Nickname", "string", "Member's nickname.", (m) => m.user?.nickname, { field: "user.nickname" }),
    column("Email", "string", "Member's email (visible to administrators only).", (m) => m.user?.email, {
      field: "user.email",
    }),
    column(
      "AddedOn",
      "datetime",
      "When the member joined (absent for admin.atlassian.com-managed workspaces).",
      (m) => m.added_on,
      {
        field: "added_on",
      },
    ),
    column(
      "LastAccessed",
      "datetime",
      "Last access (absent for managed workspaces).",
      (m) => m.last_accessed,
      {
        field: "last_accessed",
      },
    ),
  ],
});
