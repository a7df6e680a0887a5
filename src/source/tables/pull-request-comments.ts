import type { Comment } from "../../bitbucket/api-types.js";
import { column, defineTable } from "../table.js";
import { PULL_REQUEST_STATES } from "./pull-requests.js";

export const PullRequestComments = defineTable<Comment>({
  name: "PullRequestComments",
  schema: "Repository",
  description:
    "Comments on pull requests, including inline code comments. Deleted comments stay, flagged IsDeleted.",
  level: {
    kind: "child",
    parent: "PullRequests",
    param: "pull_request_id",
    parentColumn: "Id",
    column: "PullRequestId",
    columnType: "integer",
    description: "The pull request the comment belongs to.",
    parentParams: { state: PULL_REQUEST_STATES },
  },
  path: "/repositories/{workspace}/{repo_slug}/pullrequests/{pull_request_id}/comments",
  pagination: "page",
  maxPageLength: 100,
  bbql: true,
  primaryKey: ["RepositoryUuid", "PullRequestId", "Id"],
  incremental: { kind: "updated", column: "UpdatedOn" },
  columns: [
    column("Id", "bigint", "Comment id.", (c) => c.id, { field: "id", filterable: true, sortable: true }),
    column("ContentRaw", "string", "Text as typed (Markdown); empty once deleted.", (c) => c.content?.raw, {
      field: "content.raw",
      filterable: true,
    }),
    column("UserUuid", "string", "Author's UUID.", (c) => c.user?.uuid, {
      field: "user.uuid",
      filterable: true,
    }),
    column("UserDisplayName", "string", "Author's display name.", (c) => c.user?.display_name, {
      field: "user.display_name",
    }),
    column("IsDeleted", "boolean", "Soft-deleted comment.", (c) => c.deleted, {
      field: "deleted",
      filterable: true,
    }),
    column("IsPending", "boolean", "Draft comment not yet published.", (c) => c.pending, {
      field: "pending",
    }),
    column("ParentId", "bigint", "The comment this one replies to.", (c) => c.parent?.id, {
      field: "parent.id",
    }),
    column("InlinePath", "string", "File of an inline comment.", (c) => c.inline?.path, {
      field: "inline.path",
    }),
    column("InlineFrom", "integer", "Line in the old version.", (c) => c.inline?.from, {
      field: "inline.from",
    }),
    column("InlineTo", "integer", "Line in the new version.", (c) => c.inline?.to, { field: "inline.to" }),
    column("ResolvedByUuid", "string", "Who resolved the comment thread.", (c) => c.resolution?.user?.uuid, {
      field: "resolution.user.uuid",
    }),
    column("ResolvedOn", "datetime", "When the thread was resolved.", (c) => c.resolution?.created_on, {
      field: "resolution.created_on",
    }),
    column("CreatedOn", "datetime", "When the comment was posted.", (c) => c.created_on, {
      field: "created_on",
      filterable: true,
      sortable: true,
    }),
    column("UpdatedOn", "datetime", "Last edit (or deletion).", (c) => c.updated_on, {
      field: "updated_on",
      filterable: true,
      sortable: true,
    }),
  ],
});
