import type { CommitStatus } from "../../bitbucket/api-types.js";
import { column, defineTable } from "../table.js";

export const CommitStatuses = defineTable<CommitStatus>({
  name: "CommitStatuses",
  schema: "Repository",
  description:
    "Build statuses reported on commits (pipelines and external CI). One request per commit: filter on CommitHash or replicate incrementally.",
  level: {
    kind: "child",
    parent: "Commits",
    param: "commit",
    parentColumn: "Hash",
    column: "CommitHash",
    columnType: "string",
    description: "The commit the status belongs to.",
  },
  path: "/repositories/{workspace}/{repo_slug}/commit/{commit}/statuses",
  pagination: "page",
  maxPageLength: 100,
  bbql: true,
  primaryKey: ["RepositoryUuid", "CommitHash", "Key"],
  incremental: { kind: "updated", column: "UpdatedOn" },
  columns: [
    column("Key", "string", "Status key, unique per commit and vendor.", (s) => s.key, {
      field: "key",
      filterable: true,
    }),
    column("Name", "string", "Status name.", (s) => s.name, { field: "name", filterable: true }),
    column("State", "string", "SUCCESSFUL, FAILED, INPROGRESS or STOPPED.", (s) => s.state, {
      field: "state",
      filterable: true,
      sortable: true,
    }),
    column("Description", "string", "Status description.", (s) => s.description, { field: "description" }),
    column("Url", "string", "Link to the build.", (s) => s.url, { field: "url" }),
    column("RefName", "string", "Ref the commit was on when reported.", (s) => s.refname, {
      field: "refname",
      filterable: true,
    }),
    column("CreatedOn", "datetime", "When first reported.", (s) => s.created_on, {
      field: "created_on",
      filterable: true,
      sortable: true,
    }),
    column("UpdatedOn", "datetime", "Last update.", (s) => s.updated_on, {
      field: "updated_on",
      filterable: true,
      sortable: true,
    }),
  ],
});
