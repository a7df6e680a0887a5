import type { Comment } from "../../bitbucket/api-types.js";
import { column, defineTable } from "../table.js";
import { RETIRED_ISSUE_TRACKER } from "./issues.js";

export const IssueComments = defineTable<Comment>({
  name: "IssueComments",
  schema: "Repository",
  description: "Comments on issues of the retired issue tracker.",
  level: {
    kind: "child",
    parent: "Issues",
    param: "issue_id",
    parentColumn: "Id",
    column: "IssueId",
    columnType: "integer",
    description: "The issue the comment belongs to.",
  },
  path: "/repositories/{workspace}/{repo_slug}/issues/{issue_id}/comments",
  pagination: "page",
  maxPageLength: 100,
  bbql: true,
  primaryKey: ["RepositoryUuid", "IssueId", "Id"],
  incremental: { kind: "updated", column: "UpdatedOn" },
  retired: RETIRED_ISSUE_TRACKER,
  columns: [
    column("Id", "bigint", "Comment id.", (c) => c.id, { field: "id", filterable: true }),
    column("ContentRaw", "string", "Text as typed.", (c) => c.content?.raw, { field: "content.raw" }),
    column("UserUuid", "string", "Author.", (c) => c.user?.uuid, { field: "user.uuid" }),
    column("CreatedOn", "datetime", "When posted.", (c) => c.created_on, {
      field: "created_on",
      filterable: true,
    }),
    column("UpdatedOn", "datetime", "Last edit.", (c) => c.updated_on, {
      field: "updated_on",
      filterable: true,
      sortable: true,
    }),
  ],
});
