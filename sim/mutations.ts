import { bitbucketTimestamp } from "./clock.js";
import {
  commentActivity,
  pullRequestCommentObject,
  pullRequestObject,
  updateActivity,
} from "./data/builders.js";
import { Entity, type Json } from "./data/entity.js";
import { emptyRepository, repositoryObject } from "./data/generate.js";
import { addCommit, MAIN_BRANCH, setBranch, walkCommits } from "./data/git.js";
import type { PullRequestState, RepositoryState, UserRecord, WorkspaceState } from "./data/model.js";
import { errors } from "./http/errors.js";
import { Random } from "./random.js";
import type { Simulator } from "./simulator.js";

/** Non-empty, without whitespace or the characters git refuses in ref names. */
const BRANCH_NAME = /^[^\s~^:?*[\\]+$/;

/**
 * Changes over time for `/_sim`: what users and CI do to a real workspace between two syncs.
 * Timestamps come from the simulator clock, so tests control them.
 */
export class Mutations {
  private rnd: Random;

  constructor(private readonly sim: Simulator) {
    this.rnd = Random.derive(sim.seed, `mutations:${sim.clock.now()}`);
  }

  workspace(slug: string): WorkspaceState {
    const ws = this.sim.data.workspaces.find((w) => w.slug === slug);
    if (!ws) throw errors.notFound(`No workspace with identifier '${slug}'.`);
    return ws;
  }

  repository(workspace: string, slug: string): RepositoryState {
    const repo = this.workspace(workspace).repositories.find((r) => r.slug === slug);
    if (!repo) throw errors.notFound(`Repository ${workspace}/${slug} not found`);
    return repo;
  }

  private user(repo: RepositoryState, uuid?: unknown): UserRecord {
    const members = repo.workspace.members.map((m) => m.user);
    if (typeof uuid === "string") {
      const found = members.find((u) => u.uuid === uuid);
      if (!found) throw errors.badRequest(`No member ${uuid} in ${repo.workspace.slug}`);
      return found;
    }
    return members[0] as UserRecord;
  }

  /** Pushes `count` commits to a branch (created from main when new); moves repository `updated_on`. */
  push(repo: RepositoryState, body: Json): Json {
    if (body.branch !== undefined && (typeof body.branch !== "string" || !BRANCH_NAME.test(body.branch)))
      throw errors.badRequest("branch must be a valid branch name");
    const branchName = typeof body.branch === "string" ? body.branch : MAIN_BRANCH;
    const count = body.count === undefined ? 1 : Number(body.count);
    if (!Number.isInteger(count) || count < 1 || count > 10_000)
      throw errors.badRequest("count must be 1..10000");
    const author = this.user(repo, body.author);
    const start = repo.branches.get(branchName) ?? repo.branches.get(MAIN_BRANCH);
    let head = start?.head;
    const hashes: string[] = [];
    for (let i = 0; i < count; i++) {
      const commit = addCommit(repo, this.sim.renderer, this.rnd, {
        date: this.sim.clock.now(),
        author,
        parents: head ? [head] : [],
        message: typeof body.message === "string" ? body.message : undefined,
      });
      head = commit.hash;
      hashes.push(commit.hash);
    }
    setBranch(repo, this.sim.renderer, branchName, head as string);
    this.touch(repo);
    // Open pull requests from this branch now show the new commits, as on the service.
    const now = this.sim.clock.now();
    for (const pr of repo.pullRequests) {
      const value = pr.entity.value as PullRequestShape;
      if (value.state !== "OPEN" || pr.sourceBranchDeleted || value.source.branch.name !== branchName)
        continue;
      pr.commits.length = 0;
      for (const hash of pullRequestCommits(repo, branchName, value.destination.branch.name))
        pr.commits.push(hash);
      pr.entity.replace({
        ...value,
        source: { ...value.source, commit: this.sim.renderer.commitRef(repo, (head as string).slice(0, 12)) },
        updated_on: bitbucketTimestamp(now),
      });
    }
    return { branch: branchName, commits: hashes };
  }

  deleteBranch(repo: RepositoryState, name: string): void {
    if (!repo.branches.delete(name)) throw errors.notFound(`Branch "${name}" not found`);
    for (const pr of repo.pullRequests) {
      if ((pr.entity.value.source as Json & { branch: { name: string } }).branch.name === name) {
        pr.sourceBranchDeleted = true;
      }
    }
    repo.refsChangedOn = this.sim.clock.now();
    this.touch(repo);
  }

  createPullRequest(repo: RepositoryState, body: Json): Json {
    const source = typeof body.source === "string" ? body.source : undefined;
    const branch = source ? repo.branches.get(source) : undefined;
    if (!branch) throw errors.badRequest("source must name an existing branch");
    const destination = repo.branches.get(
      typeof body.destination === "string" ? body.destination : MAIN_BRANCH,
    );
    if (!destination) throw errors.badRequest("destination must name an existing branch");
    if (destination === branch) throw errors.badRequest("source and destination must differ");
    const now = this.sim.clock.now();
    const id = repo.pullRequests.reduce((max, p) => Math.max(max, p.id), 0) + 1;
    const title = typeof body.title === "string" ? body.title : `Pull request ${id}`;
    const value = pullRequestObject(this.sim.renderer, repo, {
      id,
      title,
      description: typeof body.description === "string" ? body.description : "",
      state: "OPEN",
      author: this.user(repo, body.author),
      sourceBranch: branch.name,
      sourceHash: branch.head,
      destinationBranch: destination.name,
      destinationHash: destination.head,
      closeSourceBranch: false,
      createdOn: now,
      updatedOn: now,
      reviewers: [],
      participants: [],
      commentCount: 0,
      taskCount: 0,
    });
    const pr: PullRequestState = {
      id,
      entity: Entity.of(value),
      commits: pullRequestCommits(repo, branch.name, destination.name),
      comments: [],
      activity: [{ at: now, entity: updateActivity(this.sim.renderer, repo, value, now, "OPEN") }],
      sourceBranchDeleted: false,
    };
    repo.pullRequests.push(pr);
    return value;
  }

  /** Title, description or state changes; a state change to MERGED or DECLINED closes the PR. */
  updatePullRequest(repo: RepositoryState, id: number, body: Json): Json {
    const pr = this.pullRequest(repo, id);
    const now = this.sim.clock.now();
    const next: Json = { ...pr.entity.value, updated_on: bitbucketTimestamp(now) };
    for (const key of ["title", "description"] as const)
      if (typeof body[key] === "string") next[key] = body[key];
    if (body.state !== undefined) {
      if (!["OPEN", "MERGED", "DECLINED", "SUPERSEDED"].includes(String(body.state))) {
        throw errors.badRequest("state must be OPEN, MERGED, DECLINED or SUPERSEDED");
      }
      if (body.state === "MERGED" && pr.entity.value.state !== "MERGED") {
        next.merge_commit = this.merge(repo, pr.entity.value as PullRequestShape, body.author);
      }
      next.state = body.state;
      if (body.state !== "OPEN") next.closed_by = this.sim.renderer.account(this.user(repo, body.author));
    }
    pr.entity.replace(next);
    pr.activity.unshift({
      at: now,
      entity: updateActivity(this.sim.renderer, repo, next, now, next.state as string),
    });
    return next;
  }

  /** Merging pushes a merge commit to the destination branch, which moves the repository too. */
  private merge(repo: RepositoryState, pr: PullRequestShape, author: unknown): { hash: string } | null {
    const source = repo.branches.get(pr.source.branch.name);
    const destination = repo.branches.get(pr.destination.branch.name);
    if (!source || !destination) return null;
    const commit = addCommit(repo, this.sim.renderer, this.rnd, {
      date: this.sim.clock.now(),
      author: this.user(repo, author),
      parents: [destination.head, source.head],
      message: `Merged in ${source.name} (pull request #${pr.id})`,
    });
    setBranch(repo, this.sim.renderer, destination.name, commit.hash);
    this.touch(repo);
    return { hash: commit.hash.slice(0, 12) };
  }

  deletePullRequest(repo: RepositoryState, id: number): void {
    const index = repo.pullRequests.findIndex((p) => p.id === id);
    if (index < 0) throw errors.notFound(`Pull request ${id} not found`);
    repo.pullRequests.splice(index, 1);
  }

  /** Adds a comment, or with `commentId` edits or soft-deletes one; the PR's `updated_on` moves too. */
  comment(repo: RepositoryState, id: number, body: Json, commentId?: number): Json {
    const pr = this.pullRequest(repo, id);
    const now = this.sim.clock.now();
    const ref = { id, title: pr.entity.value.title as string };
    let entity: Entity;
    if (commentId === undefined) {
      const value = pullRequestCommentObject(this.sim.renderer, repo, ref, {
        id: repo.nextCommentId++,
        user: this.user(repo, body.author),
        createdOn: now,
        updatedOn: now,
        text: typeof body.text === "string" ? body.text : "",
        deleted: false,
      });
      entity = Entity.of(value);
      pr.comments.push(entity);
      pr.activity.unshift({ at: now, entity: commentActivity(this.sim.renderer, repo, pr, entity) });
    } else {
      const found = pr.comments.find((c) => c.value.id === commentId);
      if (!found) throw errors.notFound(`Comment ${commentId} not found`);
      const next: Json = { ...found.value, updated_on: bitbucketTimestamp(now) };
      if (typeof body.text === "string") next.content = { ...(next.content as Json), raw: body.text };
      if (body.deleted === true) {
        next.deleted = true;
        next.content = { ...(next.content as Json), raw: "", html: "" };
      }
      found.replace(next);
      entity = found;
    }
    pr.entity.replace({
      ...pr.entity.value,
      updated_on: bitbucketTimestamp(now),
      comment_count: pr.comments.filter((c) => !c.value.deleted).length,
    });
    return entity.value;
  }

  createRepository(ws: WorkspaceState, body: Json): Json {
    const slug = typeof body.slug === "string" ? body.slug : "";
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(slug))
      throw errors.badRequest("slug must be lowercase letters, digits, . _ -");
    if (ws.repositories.some((r) => r.slug === slug))
      throw errors.badRequest(`Repository ${ws.slug}/${slug} exists`);
    const projectKey = ws.projects[0]?.key ?? "";
    const repo = emptyRepository(ws, slug, this.rnd.uuid(), projectKey);
    // Past every seeded range (see generate.ts), so comment ids stay unique.
    const highest = this.sim.data.workspaces
      .flatMap((w) => w.repositories)
      .reduce((n, r) => Math.max(n, r.nextCommentId), 0);
    repo.nextCommentId = (Math.floor(highest / 100_000) + 1) * 100_000 + 1;
    const createdOn = this.sim.clock.now();
    const renderer = this.sim.renderer;
    repo.entity = new Entity(() => repositoryObject(renderer, repo, createdOn, {}));
    ws.repositories.push(repo);
    this.push(repo, { message: "Initial commit" });
    return repo.entity.value;
  }

  deleteRepository(ws: WorkspaceState, slug: string): void {
    const index = ws.repositories.findIndex((r) => r.slug === slug);
    if (index < 0) throw errors.notFound(`Repository ${ws.slug}/${slug} not found`);
    ws.repositories.splice(index, 1);
  }

  private pullRequest(repo: RepositoryState, id: number): PullRequestState {
    const pr = repo.pullRequests.find((p) => p.id === id);
    if (!pr) throw errors.notFound(`Pull request ${id} not found`);
    return pr;
  }

  private touch(repo: RepositoryState): void {
    repo.version++;
    repo.entity.invalidate();
  }
}

/** The parts of a pull request object the mutations read. */
interface PullRequestShape extends Json {
  id: number;
  state: string;
  source: Json & { branch: { name: string } };
  destination: Json & { branch: { name: string } };
}

/** Commits on `source` and not on `destination`, newest first: what `/pullrequests/{id}/commits` lists. */
function pullRequestCommits(repo: RepositoryState, source: string, destination: string): string[] {
  const walked = walkCommits(repo, [source], [destination]);
  return "unknown" in walked ? [] : walked.map((c) => c.hash);
}
