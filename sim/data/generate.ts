import { bitbucketTimestamp, gitTimestamp } from "../clock.js";
import { Random } from "../random.js";
import {
  approvalActivity,
  type CommentInput,
  commentActivity,
  commentText,
  type PullRequestInput,
  type PullRequestStatus,
  pullRequestCommentObject,
  pullRequestObject,
  updateActivity,
} from "./builders.js";
import { Entity, type Json } from "./entity.js";
import { addCommit, MAIN_BRANCH, setBranch } from "./git.js";
import { addLegacyIssues } from "./issues.js";
import type { PullRequestState, RepositoryState, SimData, UserRecord, WorkspaceState } from "./model.js";
import {
  BRANCH_TOPICS,
  FIRST_NAMES,
  LANGUAGES,
  LAST_NAMES,
  PROJECT_NAMES,
  REPO_WORDS,
  WORKSPACE_SLUGS,
} from "./names.js";
import { addPipelinesAndDeployments } from "./pipelines.js";
import type { Renderer } from "./render.js";
import type { Counts } from "./scale.js";

/** Generated history ends here, so the same seed always yields the same timestamps. */
export const GENERATED_UNTIL = Date.UTC(2026, 9, 1);
const HISTORY_MS = 2 * 365 * 24 * 3600 * 1000;
const HOUR = 3600 * 1000;

export function generate(seed: number, counts: Counts, renderer: Renderer): SimData {
  const users = makeUsers(seed, counts);
  const owner = users[0] as UserRecord;
  const workspaces: WorkspaceState[] = [];
  for (let w = 0; w < counts.workspaces; w++) {
    workspaces.push(makeWorkspace(seed, w, counts, users, renderer));
  }
  const userEntities = new Map(users.map((u) => [u.uuid, Entity.of(renderer.user(u))]));
  return { users, owner, userEntities, workspaces };
}

function makeUsers(seed: number, counts: Counts): UserRecord[] {
  const rnd = Random.derive(seed, "users");
  const pool = counts.members + (counts.workspaces - 1) * Math.ceil(counts.members / 2);
  const users: UserRecord[] = [];
  for (let i = 0; i < pool; i++) {
    const first = FIRST_NAMES[i % FIRST_NAMES.length] as string;
    const last = LAST_NAMES[Math.floor(i / FIRST_NAMES.length + i) % LAST_NAMES.length] as string;
    const suffix = i < FIRST_NAMES.length ? "" : String(Math.floor(i / FIRST_NAMES.length) + 1);
    const nickname = `${first.toLowerCase()}${suffix}`;
    users.push({
      uuid: rnd.uuid(),
      accountId: `712020:${rnd.uuid().slice(1, -1)}`,
      displayName: `${first} ${last}${suffix ? ` ${suffix}` : ""}`,
      nickname,
      email: `${nickname}.${last.toLowerCase().replace(/[^a-z]/g, "")}@example.com`,
      createdOn: GENERATED_UNTIL - HISTORY_MS - rnd.int(1, 400) * 24 * HOUR,
    });
  }
  return users;
}

function makeWorkspace(
  seed: number,
  w: number,
  counts: Counts,
  users: UserRecord[],
  r: Renderer,
): WorkspaceState {
  const rnd = Random.derive(seed, `workspace:${w}`);
  const base = WORKSPACE_SLUGS[w % WORKSPACE_SLUGS.length] as string;
  const slug = w < WORKSPACE_SLUGS.length ? base : `${base}-${Math.floor(w / WORKSPACE_SLUGS.length) + 1}`;
  const name = `${slug[0]?.toUpperCase()}${slug.slice(1)} Inc.`;
  const createdOn = GENERATED_UNTIL - HISTORY_MS - rnd.int(1, 30) * 24 * HOUR;
  const ws: WorkspaceState = {
    slug,
    uuid: rnd.uuid(),
    name,
    entity: Entity.of({}),
    projects: [],
    members: [],
    repositories: [],
    access: { administrator: Entity.of({}), member: Entity.of({}) },
  };
  for (const administrator of [true, false]) {
    // As the spec's example: no `links` on the access object itself.
    ws.access[administrator ? "administrator" : "member"].replace({
      type: "workspace_access",
      administrator,
      workspace: r.workspaceBase(ws),
    });
  }
  ws.entity.replace(r.workspace(ws, createdOn, createdOn + rnd.int(1, 300) * 24 * HOUR));

  // The owner belongs to every workspace; the rest is a window into the shared pool.
  const start = w * Math.ceil(counts.members / 2);
  const memberUsers = [users[0] as UserRecord];
  for (let i = 0; memberUsers.length < counts.members && start + i < users.length; i++) {
    const user = users[start + i] as UserRecord;
    if (user !== users[0]) memberUsers.push(user);
  }
  for (const [i, user] of memberUsers.entries()) {
    const administrator = i === 0 || rnd.chance(0.1);
    const addedOn = Math.max(createdOn, user.createdOn) + rnd.int(1, 100) * 24 * HOUR;
    ws.members.push({
      user,
      administrator,
      entity: Entity.of({
        type: "workspace_membership",
        // Served by `/workspaces/{workspace}/permissions`, not by the members endpoints, which keep it
        // hidden and use it only for the workspace's `owners` link (`members?q=permission="owner"`).
        permission: administrator ? "owner" : "member",
        user: r.user(user),
        workspace: r.workspaceSummary(ws),
        added_on: bitbucketTimestamp(addedOn),
        last_accessed: bitbucketTimestamp(GENERATED_UNTIL - rnd.int(1, 30 * 24) * HOUR),
        links: { self: r.api(`/workspaces/${slug}/members/${encodeURIComponent(user.uuid)}`) },
      }),
    });
  }

  for (let p = 0; p < counts.projects; p++) {
    const [baseKey, baseName] = PROJECT_NAMES[p % PROJECT_NAMES.length] as readonly [string, string];
    const round = Math.floor(p / PROJECT_NAMES.length);
    const key = round === 0 ? baseKey : `${baseKey}${round + 1}`;
    const projectName = round === 0 ? baseName : `${baseName} ${round + 1}`;
    const uuid = rnd.uuid();
    const projectCreated = createdOn + rnd.int(1, 60) * 24 * HOUR;
    ws.projects.push({
      key,
      uuid,
      entity: Entity.of({
        ...r.projectSummary(ws, key, uuid, projectName),
        owner: r.team(ws),
        description: `${projectName} repositories`,
        is_private: true,
        created_on: bitbucketTimestamp(projectCreated),
        updated_on: bitbucketTimestamp(projectCreated + rnd.int(1, 200) * 24 * HOUR),
        has_publicly_visible_repos: false,
      }),
    });
  }

  for (let i = 0; i < counts.repositories; i++) {
    const word = REPO_WORDS[i % REPO_WORDS.length] as string;
    const repoSlug = i < REPO_WORDS.length ? word : `${word}-${Math.floor(i / REPO_WORDS.length) + 1}`;
    const projectKey = ws.projects.length > 0 ? (ws.projects[i % ws.projects.length]?.key ?? "") : "";
    // Comment ids are unique across the whole simulator, as Bitbucket's are.
    const commentIdBase = (w * 1000 + i) * 100_000;
    ws.repositories.push(makeRepository(seed, ws, repoSlug, projectKey, counts, r, commentIdBase));
  }
  return ws;
}

export function emptyRepository(
  ws: WorkspaceState,
  slug: string,
  uuid: string,
  projectKey: string,
): RepositoryState {
  return {
    workspace: ws,
    slug,
    uuid,
    projectKey,
    entity: Entity.of({}),
    commits: [],
    commitsByHash: new Map(),
    branches: new Map(),
    tags: [],
    pullRequests: [],
    pipelines: [],
    environments: [],
    deployments: [],
    statuses: new Map(),
    issues: [],
    version: 0,
    nextCommentId: 1,
  };
}

/** Repository objects read the latest push time from the commit store, so pushes move `updated_on`. */
export function repositoryObject(r: Renderer, repo: RepositoryState, createdOn: number, extra: Json): Json {
  const ws = repo.workspace;
  const project = ws.projects.find((p) => p.key === repo.projectKey);
  const lastPush = repo.commits.reduce((max, c) => Math.max(max, c.date), repo.refsChangedOn ?? createdOn);
  return {
    type: "repository",
    full_name: `${ws.slug}/${repo.slug}`,
    links: r.repositoryLinks(repo),
    name: repo.slug,
    slug: repo.slug,
    description: extra.description ?? "",
    scm: "git",
    website: null,
    owner: r.team(ws),
    workspace: r.workspaceSummary(ws),
    is_private: true,
    project: project
      ? r.projectSummary(ws, project.key, project.uuid, project.entity.value.name as string)
      : null,
    fork_policy: "no_public_forks",
    created_on: bitbucketTimestamp(createdOn),
    updated_on: bitbucketTimestamp(lastPush),
    size: extra.size ?? 0,
    language: extra.language ?? "",
    uuid: repo.uuid,
    mainbranch: { name: MAIN_BRANCH, type: "branch" },
    has_issues: false,
    has_wiki: false,
  };
}

function makeRepository(
  seed: number,
  ws: WorkspaceState,
  slug: string,
  projectKey: string,
  counts: Counts,
  r: Renderer,
  commentIdBase: number,
): RepositoryState {
  const rnd = Random.derive(seed, `repo:${ws.slug}/${slug}`);
  const repo = emptyRepository(ws, slug, rnd.uuid(), projectKey);
  repo.nextCommentId = commentIdBase + 1;
  const members = ws.members.map((m) => m.user);
  const createdOn = GENERATED_UNTIL - HISTORY_MS + rnd.int(0, 90) * 24 * HOUR;
  buildHistory(repo, rnd, counts, members, createdOn, r);
  const extra = {
    language: rnd.pick(LANGUAGES),
    size: rnd.int(100_000, 90_000_000),
    description: `The ${slug} service`,
  };
  repo.entity = new Entity(() => repositoryObject(r, repo, createdOn, extra));
  addPipelinesAndDeployments(repo, Random.derive(seed, `pipelines:${ws.slug}/${slug}`), counts, members, r);
  addLegacyIssues(repo, Random.derive(seed, `issues:${ws.slug}/${slug}`), counts, members, r);
  return repo;
}

interface PlannedPullRequest {
  state: PullRequestStatus;
  branch: string;
}

/**
 * Lays out a git history: direct commits on main interleaved with one topic branch per pull request.
 * Merged topics end in a merge commit; open topics stay as live branches; declined ones keep their
 * commits, which become unreachable once the branch is gone, as on the real service.
 */
function buildHistory(
  repo: RepositoryState,
  rnd: Random,
  counts: Counts,
  members: UserRecord[],
  createdOn: number,
  r: Renderer,
): void {
  const openCount = Math.min(counts.branches - 1, Math.ceil(counts.pullRequests * 0.15));
  const plans: PlannedPullRequest[] = [];
  for (let i = 0; i < counts.pullRequests; i++) {
    const fromEnd = counts.pullRequests - i;
    const roll = rnd.next();
    const state: PullRequestStatus =
      fromEnd <= openCount ? "OPEN" : roll < 0.78 ? "MERGED" : roll < 0.95 ? "DECLINED" : "SUPERSEDED";
    plans.push({ state, branch: `feature/${rnd.pick(BRANCH_TOPICS)}-${i + 1}` });
  }
  const topicCommits = plans.reduce((n, p) => n + (p.state === "MERGED" ? 2 : 1), 0);
  const perTopic = Math.max(1, Math.min(3, Math.floor((counts.commits - 1) / Math.max(1, topicCommits))));
  const span = GENERATED_UNTIL - createdOn;
  const step = span / Math.max(1, counts.commits);
  let clock = createdOn;
  const tick = () => {
    clock += Math.max(60_000, Math.round(step * (0.5 + rnd.next())));
    return Math.min(clock, GENERATED_UNTIL - 60_000);
  };

  let main = addCommit(repo, r, rnd, {
    date: createdOn,
    author: members[0] as UserRecord,
    parents: [],
    message: "Initial commit",
  });
  let budget = counts.commits - 1;
  const directPerTopic = Math.max(
    0,
    Math.floor((budget - topicCommits * perTopic) / Math.max(1, plans.length + 1)),
  );
  const direct = () => {
    main = addCommit(repo, r, rnd, { date: tick(), author: rnd.pick(members), parents: [main.hash] });
    budget--;
  };

  const prInputs: {
    plan: PlannedPullRequest;
    commits: string[];
    base: string;
    merge?: string;
    opened: number;
  }[] = [];
  for (const plan of plans) {
    for (let d = 0; d < directPerTopic && budget > 1; d++) direct();
    const author = rnd.pick(members);
    const base = main.hash;
    const commits: string[] = [];
    let head = main;
    const opened = tick();
    for (let k = 0; k < perTopic && budget > (plan.state === "MERGED" ? 1 : 0); k++) {
      head = addCommit(repo, r, rnd, { date: k === 0 ? opened : tick(), author, parents: [head.hash] });
      commits.push(head.hash);
      budget--;
    }
    if (commits.length === 0) commits.push(main.hash);
    let merge: string | undefined;
    if (plan.state === "MERGED" && head !== main && budget > 0) {
      main = addCommit(repo, r, rnd, {
        date: tick(),
        author: rnd.pick(members),
        parents: [main.hash, head.hash],
        message: `Merged in ${plan.branch} (pull request #${prInputs.length + 1})`,
      });
      merge = main.hash;
      budget--;
    }
    if (plan.state === "OPEN") setBranch(repo, r, plan.branch, commits[commits.length - 1] as string);
    prInputs.push({ plan, commits, base, merge, opened });
  }
  while (budget > 0) direct();
  setBranch(repo, r, MAIN_BRANCH, main.hash);

  // Remaining branch slots become release branches at points along main.
  const topic = new Set(prInputs.flatMap((p) => p.commits));
  const mainLine = repo.commits.filter((c) => !topic.has(c.hash));
  for (let b = repo.branches.size; b < counts.branches; b++) {
    const at = mainLine[Math.floor(((b + 1) / (counts.branches + 1)) * mainLine.length)] ?? main;
    setBranch(repo, r, `release/1.${b}`, at.hash);
  }
  addTags(repo, rnd, counts, mainLine, members, r);
  for (const [i, input] of prInputs.entries()) {
    repo.pullRequests.push(makePullRequest(repo, rnd, i + 1, input, counts, members, r));
  }
}

function addTags(
  repo: RepositoryState,
  rnd: Random,
  counts: Counts,
  mainLine: { hash: string; date: number }[],
  members: UserRecord[],
  r: Renderer,
): void {
  for (let t = 0; t < counts.tags; t++) {
    const at = mainLine[Math.floor(((t + 1) / (counts.tags + 1)) * mainLine.length)];
    if (!at) continue;
    const name = `v1.${t}.0`;
    const tagger = rnd.pick(members);
    const target = at.hash;
    const entity = new Entity(() => ({
      name,
      target: repo.commitsByHash.get(target)?.entity.value,
      links: r.refLinks(repo, "tag", name),
      type: "tag",
      message: `Release ${name}\n`,
      // The tagger's git date: whole seconds, like commit dates.
      date: gitTimestamp(at.date + HOUR),
      tagger: { type: "author", raw: `${tagger.displayName} <${tagger.email}>`, user: r.account(tagger) },
    }));
    repo.tags.push({ name, target, entity });
  }
}

function makePullRequest(
  repo: RepositoryState,
  rnd: Random,
  id: number,
  input: { plan: PlannedPullRequest; commits: string[]; base: string; merge?: string; opened: number },
  counts: Counts,
  members: UserRecord[],
  r: Renderer,
): PullRequestState {
  const { plan } = input;
  const author = repo.commitsByHash.get(input.commits[0] as string)?.author ?? (members[0] as UserRecord);
  const others = members.filter((m) => m !== author);
  const reviewerCount = Math.min(others.length, rnd.int(1, 2));
  const reviewers = others
    .slice(0, reviewerCount)
    .map((user) => ({ user, approved: false, at: input.opened }));
  const lastCommit = repo.commitsByHash.get(input.commits[input.commits.length - 1] as string);
  const closed = input.merge ? (repo.commitsByHash.get(input.merge)?.date ?? input.opened) : undefined;
  const end =
    closed ??
    (plan.state === "OPEN" ? (lastCommit?.date ?? input.opened) : input.opened + rnd.int(2, 96) * HOUR);
  const comments: CommentInput[] = [];
  const commentTotal = counts.comments === 0 ? 0 : rnd.int(0, counts.comments * 2);
  for (let c = 0; c < commentTotal; c++) {
    const at =
      input.opened + Math.round(((c + 1) / (commentTotal + 1)) * Math.max(60_000, end - input.opened));
    const deleted = rnd.chance(0.05);
    comments.push({
      id: repo.nextCommentId++,
      user: rnd.pick(members),
      createdOn: at,
      updatedOn: rnd.chance(0.2) ? at + rnd.int(1, 120) * 60_000 : at,
      text: commentText(rnd),
      deleted,
      parentId: c > 0 && rnd.chance(0.25) ? comments[rnd.int(0, c - 1)]?.id : undefined,
      inline: rnd.chance(0.3)
        ? { path: `src/${rnd.pick(["index", "app", "util"])}.ts`, to: rnd.int(1, 400) }
        : undefined,
    });
  }
  const commenters = [...new Set(comments.map((c) => c.user))].filter(
    (u) => !reviewers.some((rv) => rv.user === u),
  );
  if (plan.state === "MERGED")
    for (const rv of reviewers) Object.assign(rv, { approved: true, at: end - HOUR });
  const pr: PullRequestInput = {
    id,
    title: `${repo.commitsByHash.get(input.commits[0] as string)?.message ?? "Change"} (${plan.branch})`,
    description: `This pull request changes ${plan.branch.replace("feature/", "")}.`,
    state: plan.state,
    author,
    sourceBranch: plan.branch,
    sourceHash: input.commits[input.commits.length - 1] as string,
    destinationBranch: MAIN_BRANCH,
    destinationHash: input.base,
    mergeHash: input.merge,
    closeSourceBranch: plan.state === "MERGED",
    closedBy: plan.state === "OPEN" ? undefined : rnd.pick(members),
    createdOn: input.opened,
    updatedOn: Math.max(end, ...comments.map((c) => c.updatedOn)),
    reviewers,
    participants: commenters.map((user) => ({ user, at: input.opened + HOUR })),
    commentCount: comments.filter((c) => !c.deleted).length,
    taskCount: rnd.int(0, 2),
  };
  const entity = Entity.of(pullRequestObject(r, repo, pr));
  const state: PullRequestState = {
    id,
    entity,
    commits: [...input.commits].reverse(),
    comments: [],
    activity: [],
    sourceBranchDeleted: plan.state !== "OPEN",
  };
  const ref = { id, title: pr.title };
  for (const c of comments) state.comments.push(Entity.of(pullRequestCommentObject(r, repo, ref, c)));
  const log: { at: number; entity: Entity }[] = [
    { at: input.opened, entity: updateActivity(r, repo, entity.value, input.opened, "OPEN") },
  ];
  state.comments.forEach((comment, i) => {
    log.push({
      at: comments[i]?.createdOn ?? input.opened,
      entity: commentActivity(r, repo, state, comment),
    });
  });
  for (const rv of reviewers) {
    if (rv.approved)
      log.push({ at: rv.at, entity: approvalActivity(r, repo, ref, rv.user, rv.at, "approval") });
  }
  if (plan.state === "DECLINED" && reviewers[0]) {
    const at = end - HOUR;
    log.push({ at, entity: approvalActivity(r, repo, ref, reviewers[0].user, at, "changes_requested") });
  }
  if (plan.state !== "OPEN")
    log.push({ at: end, entity: updateActivity(r, repo, entity.value, end, plan.state) });
  log.sort((a, b) => b.at - a.at);
  state.activity.push(...log);
  return state;
}
