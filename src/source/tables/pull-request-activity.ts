import type { PullRequestActivity as Activity } from "../../bitbucket/api-types.js";
import { column, defineTable } from "../table.js";

function kind(a: Activity): string | undefined {
  if (a.update) return "update";
  if (a.approval) return "approval";
  if (a.changes_requested) return "changes_requested";
  if (a.comment) return "comment";
  return undefined;
}

function date(a: Activity): string | undefined {
  return a.update?.date ?? a.approval?.date ?? a.changes_requested?.date ?? a.comment?.created_on;
}

function actor(a: Activity) {
  return a.update?.author ?? a.approval?.user ?? a.changes_requested?.user ?? a.comment?.user;
}

export const PullRequestActivity = defineTable<Activity>({
  name: "PullRequestActivity",
  schema: "Repository",
  description:
    "The activity log of every pull request (updates, approvals, change requests, comments), read from the repository-wide activity feed: one list per repository, not one per pull request.",
  level: { kind: "repository" },
  path: "/repositories/{workspace}/{repo_slug}/pullrequests/activity",
  pagination: "cursor",
  maxPageLength: 50,
  bbql: false,
  primaryKey: ["RepositoryUuid", "PullRequestId", "Kind", "Date", "ActorUuid"],
  incremental: { kind: "full", reason: "the feed has no filter; entries are read newest first" },
  columns: [
    column("PullRequestId", "integer", "The pull request.", (a) => a.pull_request?.id, {
      field: "pull_request.id",
    }),
    column("PullRequestTitle", "string", "Its title at the time.", (a) => a.pull_request?.title, {
      field: "pull_request.title",
    }),
    column("Kind", "string", "update, approval, changes_requested or comment.", kind, {
      reads: ["update", "approval", "changes_requested", "comment"],
    }),
    column("Date", "datetime", "When it happened.", date, {
      reads: ["update.date", "approval.date", "changes_requested.date", "comment.created_on"],
    }),
    column("ActorUuid", "string", "Who did it.", (a) => actor(a)?.uuid, {
      reads: ["update.author", "approval.user", "changes_requested.user", "comment.user"],
    }),
    column("ActorDisplayName", "string", "Their display name.", (a) => actor(a)?.display_name, {
      reads: ["update.author", "approval.user", "changes_requested.user", "comment.user"],
    }),
    column("State", "string", "For updates: the pull request's state after it.", (a) => a.update?.state, {
      field: "update.state",
    }),
    column("CommentId", "bigint", "For comments: the comment id.", (a) => a.comment?.id, {
      field: "comment.id",
    }),
  ],
});
