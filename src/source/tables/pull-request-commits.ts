import type { Commit } from "../../bitbucket/api-types.js";
import { defineTable } from "../table.js";
import { Commits } from "./commits.js";
import { PULL_REQUEST_STATES } from "./pull-requests.js";

const PULL_REQUEST_COMMIT_COLUMNS = [
  "Hash",
  "Date",
  "Message",
  "AuthorRaw",
  "AuthorUuid",
  "AuthorDisplayName",
];

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
  // The same commit objects as the Commits table: reuse its column definitions.
  columns: Commits.columns.filter((c) => PULL_REQUEST_COMMIT_COLUMNS.includes(c.name)),
});
