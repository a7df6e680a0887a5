import type { PullRequest } from "../../bitbucket/api-types.js";
import { column, defineTable } from "../table.js";

export const PULL_REQUEST_STATES = ["OPEN", "MERGED", "DECLINED", "SUPERSEDED"] as const;

export const PullRequests = defineTable<PullRequest>({
  name: "PullRequests",
  schema: "Repository",
  description:
    "Pull requests in every state (the API lists only OPEN ones unless asked), with reviewers and participants.",
  level: { kind: "repository" },
  path: "/repositories/{workspace}/{repo_slug}/pullrequests",
  params: { state: PULL_REQUEST_STATES },
  pagination: "page",
  maxPageLength: 50,
  bbql: true,
  hiddenFields: ["values.reviewers", "values.participants"],
  lookup: {
    path: "/repositories/{workspace}/{repo_slug}/pullrequests/{pull_request_id}",
    param: "pull_request_id",
    column: "Id",
  },
  primaryKey: ["RepositoryUuid", "Id"],
  incremental: { kind: "updated", column: "UpdatedOn" },
  columns: [
    column("Id", "integer", "Pull request number, unique in the repository.", (p) => p.id, {
      field: "id",
      filterable: true,
      sortable: true,
    }),
    column("Title", "string", "Title.", (p) => p.title, { field: "title", filterable: true, sortable: true }),
    column("Description", "string", "Description (Markdown).", (p) => p.description, {
      field: "description",
      filterable: true,
    }),
    column("State", "string", "OPEN, MERGED, DECLINED or SUPERSEDED.", (p) => p.state, {
      field: "state",
      filterable: true,
      sortable: true,
    }),
    column("IsDraft", "boolean", "Draft pull request.", (p) => p.draft, { field: "draft", filterable: true }),
    column("AuthorUuid", "string", "Author's UUID.", (p) => p.author?.uuid, {
      field: "author.uuid",
      filterable: true,
    }),
    column("AuthorDisplayName", "string", "Author's display name.", (p) => p.author?.display_name, {
      field: "author.display_name",
      filterable: true,
    }),
    column("SourceBranch", "string", "Branch the changes come from.", (p) => p.source?.branch?.name, {
      field: "source.branch.name",
      filterable: true,
    }),
    column(
      "SourceCommit",
      "string",
      "Head commit of the source branch (short hash).",
      (p) => p.source?.commit?.hash,
      {
        field: "source.commit.hash",
      },
    ),
    column(
      "SourceRepositoryUuid",
      "string",
      "Repository the changes come from (forks).",
      (p) => p.source?.repository?.uuid,
      {
        field: "source.repository.uuid",
      },
    ),
    column("DestinationBranch", "string", "Branch the changes go to.", (p) => p.destination?.branch?.name, {
      field: "destination.branch.name",
      filterable: true,
    }),
    column(
      "DestinationCommit",
      "string",
      "Destination commit when the PR was last updated.",
      (p) => p.destination?.commit?.hash,
      {
        field: "destination.commit.hash",
      },
    ),
    column("MergeCommit", "string", "Merge commit (short hash), when merged.", (p) => p.merge_commit?.hash, {
      field: "merge_commit.hash",
    }),
    column("CloseSourceBranch", "boolean", "Source branch deleted on merge.", (p) => p.close_source_branch, {
      field: "close_source_branch",
    }),
    column("ClosedByUuid", "string", "Who merged or declined it.", (p) => p.closed_by?.uuid, {
      field: "closed_by.uuid",
    }),
    column("Reason", "string", "Reason given when declined.", (p) => p.reason, { field: "reason" }),
    column("CommentCount", "integer", "Comments, not counting deleted ones.", (p) => p.comment_count, {
      field: "comment_count",
      filterable: true,
      sortable: true,
    }),
    column("TaskCount", "integer", "Open tasks.", (p) => p.task_count, {
      field: "task_count",
      filterable: true,
    }),
    column(
      "ReviewerUuids",
      "json",
      "UUIDs of the reviewers (JSON array).",
      (p) => p.reviewers?.map((r) => r.uuid),
      {
        field: "reviewers",
        reads: ["reviewers.uuid"],
      },
    ),
    column(
      "Participants",
      "json",
      "Participants with role, approval and state (JSON array of {uuid, displayName, role, approved, state}).",
      (p) =>
        p.participants?.map((x) => ({
          uuid: x.user?.uuid,
          displayName: x.user?.display_name,
          role: x.role,
          approved: x.approved,
          state: x.state ?? null,
        })),
      {
        field: "participants",
        // Only what the column keeps: a whole participant (user links, account id...) is four times the size.
        reads: [
          "participants.user.uuid",
          "participants.user.display_name",
          "participants.role",
          "participants.approved",
          "participants.state",
        ],
      },
    ),
    column(
      "ApprovalCount",
      "integer",
      "Participants who approved.",
      (p) => p.participants?.filter((x) => x.approved).length,
      {
        reads: ["participants.approved"],
      },
    ),
    column("CreatedOn", "datetime", "When the pull request was opened.", (p) => p.created_on, {
      field: "created_on",
      filterable: true,
      sortable: true,
    }),
    column(
      "UpdatedOn",
      "datetime",
      "Last change to the pull request (comments, pushes, state).",
      (p) => p.updated_on,
      {
        field: "updated_on",
        filterable: true,
        sortable: true,
      },
    ),
    column("HtmlUrl", "string", "The pull request's page on bitbucket.org.", (p) => p.links?.html?.href, {
      field: "links.html.href",
    }),
  ],
  examples: [
    "SELECT Id, Title, State FROM PullRequests WHERE State = 'OPEN' ORDER BY UpdatedOn DESC",
    "SELECT RepositorySlug, COUNT(*) AS Merged FROM PullRequests WHERE State = 'MERGED' GROUP BY RepositorySlug",
  ],
});
