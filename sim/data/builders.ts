import { bitbucketTimestamp } from "../clock.js";
import type { Random } from "../random.js";
import { Entity, type Json } from "./entity.js";
import type { PullRequestState, RepositoryState, UserRecord } from "./model.js";
import { COMMENT_TEXTS } from "./names.js";
import { type Renderer, rendered } from "./render.js";

/** Object builders shared by the seeded generator and the `/_sim` mutation endpoints. */
export type PullRequestStatus = "OPEN" | "MERGED" | "DECLINED" | "SUPERSEDED";

export interface PullRequestInput {
  id: number;
  title: string;
  description: string;
  state: PullRequestStatus;
  author: UserRecord;
  sourceBranch: string;
  sourceHash: string;
  destinationBranch: string;
  destinationHash: string;
  mergeHash?: string;
  closeSourceBranch: boolean;
  closedBy?: UserRecord;
  createdOn: number;
  updatedOn: number;
  reviewers: { user: UserRecord; approved: boolean; at: number }[];
  participants: { user: UserRecord; at: number }[];
  commentCount: number;
  taskCount: number;
}

export function pullRequestObject(renderer: Renderer, repo: RepositoryState, pr: PullRequestInput): Json {
  const endpoint = (branch: string, hash: string): Json => ({
    branch: { name: branch },
    commit: renderer.commitRef(repo, hash.slice(0, 12)),
    repository: renderer.repositorySummary(repo),
  });
  return {
    comment_count: pr.commentCount,
    task_count: pr.taskCount,
    type: "pullrequest",
    id: pr.id,
    title: pr.title,
    description: pr.description,
    rendered: {
      title: rendered(pr.title),
      description: rendered(pr.description),
      reason: rendered(""),
    },
    state: pr.state,
    draft: false,
    queued: false,
    merge_commit: pr.mergeHash ? { hash: pr.mergeHash.slice(0, 12) } : null,
    close_source_branch: pr.closeSourceBranch,
    closed_by: pr.closedBy ? renderer.account(pr.closedBy) : null,
    author: renderer.account(pr.author),
    reason: "",
    created_on: bitbucketTimestamp(pr.createdOn),
    updated_on: bitbucketTimestamp(pr.updatedOn),
    destination: endpoint(pr.destinationBranch, pr.destinationHash),
    source: endpoint(pr.sourceBranch, pr.sourceHash),
    links: renderer.pullRequestLinks(repo, pr.id),
    summary: rendered(pr.description),
    reviewers: pr.reviewers.map((r) => renderer.account(r.user)),
    participants: [
      ...pr.reviewers.map((r) => ({
        type: "participant",
        user: renderer.account(r.user),
        role: "REVIEWER",
        approved: r.approved,
        state: r.approved ? "approved" : null,
        participated_on: bitbucketTimestamp(r.at),
      })),
      ...pr.participants.map((p) => ({
        type: "participant",
        user: renderer.account(p.user),
        role: "PARTICIPANT",
        approved: false,
        state: null,
        participated_on: bitbucketTimestamp(p.at),
      })),
    ],
  };
}

export interface CommentInput {
  id: number;
  user: UserRecord;
  createdOn: number;
  updatedOn: number;
  text: string;
  deleted: boolean;
  parentId?: number;
  inline?: { path: string; to: number };
  resolvedBy?: { user: UserRecord; at: number };
}

export function pullRequestCommentObject(
  renderer: Renderer,
  repo: RepositoryState,
  pr: { id: number; title: string },
  c: CommentInput,
): Json {
  const base = `/repositories/${repo.workspace.slug}/${repo.slug}/pullrequests/${pr.id}/comments`;
  const html = `/${repo.workspace.slug}/${repo.slug}/pull-requests/${pr.id}/_/diff#comment-${c.id}`;
  const comment: Json = {
    id: c.id,
    created_on: bitbucketTimestamp(c.createdOn),
    updated_on: bitbucketTimestamp(c.updatedOn),
    content: rendered(c.deleted ? "" : c.text),
    user: renderer.account(c.user),
    deleted: c.deleted,
    pending: false,
    type: "pullrequest_comment",
    links: { self: renderer.api(`${base}/${c.id}`), html: renderer.html(html) },
    pullrequest: renderer.pullRequestRef(repo, pr.id, pr.title),
  };
  if (c.parentId !== undefined) {
    comment.parent = { id: c.parentId, links: { self: renderer.api(`${base}/${c.parentId}`) } };
  }
  if (c.inline) comment.inline = { to: c.inline.to, path: c.inline.path };
  if (c.resolvedBy) {
    comment.resolution = {
      type: "comment_resolution",
      user: renderer.account(c.resolvedBy.user),
      created_on: bitbucketTimestamp(c.resolvedBy.at),
    };
  }
  return comment;
}

/** One activity entry; `at` orders the log (newest first) and is not serialised. */
export interface ActivityEntry {
  at: number;
  entity: Entity;
}

export function updateActivity(
  renderer: Renderer,
  repo: RepositoryState,
  pr: Json,
  at: number,
  state: string,
): Entity {
  return Entity.of({
    update: {
      description: pr.description,
      title: pr.title,
      destination: pr.destination,
      reason: "",
      source: pr.source,
      state,
      draft: false,
      author: pr.author,
      date: bitbucketTimestamp(at),
    },
    pull_request: renderer.pullRequestRef(repo, pr.id as number, pr.title as string),
  });
}

export function approvalActivity(
  renderer: Renderer,
  repo: RepositoryState,
  pr: { id: number; title: string },
  user: UserRecord,
  at: number,
  kind: "approval" | "changes_requested",
): Entity {
  const ref = renderer.pullRequestRef(repo, pr.id, pr.title);
  return Entity.of({
    [kind]: { date: bitbucketTimestamp(at), pullrequest: ref, user: renderer.account(user) },
    pull_request: ref,
  });
}

export function commentActivity(
  renderer: Renderer,
  repo: RepositoryState,
  pr: PullRequestState,
  comment: Entity,
) {
  const value = pr.entity.value;
  return Entity.of({
    comment: comment.value,
    pull_request: renderer.pullRequestRef(repo, pr.id, value.title as string),
  });
}

export function commentText(rnd: Random): string {
  return rnd.pick(COMMENT_TEXTS);
}
