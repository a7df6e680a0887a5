import type { Issue } from "../../bitbucket/api-types.js";
import { column, defineTable } from "../table.js";

/** Shared with IssueComments. */
export const RETIRED_ISSUE_TRACKER = { on: "2026-08-20", what: "Bitbucket Cloud's issue tracker" } as const;

export const Issues = defineTable<Issue>({
  name: "Issues",
  schema: "Repository",
  description: "Issues of the retired issue tracker (Bitbucket Cloud answers 410 Gone since 2026-08-20).",
  level: { kind: "repository" },
  path: "/repositories/{workspace}/{repo_slug}/issues",
  pagination: "page",
  maxPageLength: 100,
  bbql: true,
  lookup: {
    path: "/repositories/{workspace}/{repo_slug}/issues/{issue_id}",
    param: "issue_id",
    column: "Id",
  },
  primaryKey: ["RepositoryUuid", "Id"],
  incremental: { kind: "updated", column: "UpdatedOn" },
  retired: RETIRED_ISSUE_TRACKER,
  columns: [
    column("Id", "integer", "Issue number.", (i) => i.id, { field: "id", filterable: true, sortable: true }),
    column("Title", "string", "Title.", (i) => i.title, { field: "title", filterable: true }),
    column("ContentRaw", "string", "Body as typed (Markdown).", (i) => i.content?.raw, {
      field: "content.raw",
    }),
    column(
      "State",
      "string",
      "new, open, resolved, on hold, invalid, duplicate, wontfix or closed.",
      (i) => i.state,
      {
        field: "state",
        filterable: true,
      },
    ),
    column("Kind", "string", "bug, enhancement, proposal or task.", (i) => i.kind, {
      field: "kind",
      filterable: true,
    }),
    column("Priority", "string", "trivial to blocker.", (i) => i.priority, {
      field: "priority",
      filterable: true,
    }),
    column("ReporterUuid", "string", "Reporter.", (i) => i.reporter?.uuid, { field: "reporter.uuid" }),
    column("AssigneeUuid", "string", "Assignee.", (i) => i.assignee?.uuid, { field: "assignee.uuid" }),
    column("Votes", "integer", "Votes.", (i) => i.votes, { field: "votes" }),
    column("CreatedOn", "datetime", "When reported.", (i) => i.created_on, {
      field: "created_on",
      filterable: true,
      sortable: true,
    }),
    column("UpdatedOn", "datetime", "Last change.", (i) => i.updated_on, {
      field: "updated_on",
      filterable: true,
      sortable: true,
    }),
    column("EditedOn", "datetime", "Last edit of the text.", (i) => i.edited_on, { field: "edited_on" }),
  ],
  examples: ["SELECT [Title], [ContentRaw] FROM [Issues] WHERE [Id] = 1"],
});
