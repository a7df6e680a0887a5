import type { Commit } from "../../bitbucket/api-types.js";
import { column, defineTable } from "../table.js";
import { PULL_REQUEST_STATES } from "./pull-requests.js";

export const PullRequestCommits = defineTable<Commit>({
  name: "PullRequestCommits",
  schema: "Repository",
  description:
    "Commits of each pull request. Empty once a pull request's source branch is deleted (Bitbucket can no longer compute it).",
  level: {
    kind: "child",
    parent: "PullRequests",
    param: "pull_request_id",
    parentColumn: "Id",
    column: "PullRequestId",
    columnType: "integer",
    description: "The pull request.",
    parentParams: { state: PULL_REQUEST_STATES },
  },
  path: "/repositories/{workspace}/{repo_slug}/pullrequests/{pull_request_id}/commits",
  pagination: "cursor",
  maxPageLength: 100,
  bbql: false,
  primaryKey: ["RepositoryUuid", "PullRequestId", "Hash"],
  incremental: { kind: "full", reason: "re-read for pull requests that changed" },
  columns: [
    column("Hash", "string", "Commit hash.", (c) => c.hash, { field: "hash" }),
    column("Date", "datetime", "Author date.", (c) => c.date, { field: "date" }),
    column("Message", "string", "Commit message.", (c) => c.message, { field: "message" }),
    column("AuthorRaw", "string", "Author as recorded by git (Name <email>).", (c) => c.author?.raw, {
      field: "author.raw",
    }),
    column(
      "AuthorUuid",
      "string",
      "Bitbucket account of the author, when matched.",
      (c) => c.author?.user?.uuid,
      {
        field: "author.user.uuid",
      },
    ),
  ],
});
