import type { Random } from "../random.js";
import { Entity } from "./entity.js";
import type { BranchState, CommitRecord, RepositoryState, UserRecord } from "./model.js";
import { COMMIT_OBJECTS, COMMIT_VERBS } from "./names.js";
import type { Renderer } from "./render.js";

export const MAIN_BRANCH = "main";
export const MERGE_STRATEGIES = ["merge_commit", "squash", "fast_forward"];

/** Appends one commit to the repository's object store (not to any branch). */
export function addCommit(
  repo: RepositoryState,
  renderer: Renderer,
  rnd: Random,
  input: { date: number; author: UserRecord; parents: readonly string[]; message?: string },
): CommitRecord {
  let hash = rnd.hex(40);
  while (repo.commitsByHash.has(hash)) hash = rnd.hex(40);
  const message = input.message ?? `${rnd.pick(COMMIT_VERBS)} ${rnd.pick(COMMIT_OBJECTS)}`;
  const record: CommitRecord = {
    hash,
    index: repo.commits.length,
    // Git stores whole seconds; keeping the record at that precision makes the served `date` exact.
    date: Math.floor(input.date / 1000) * 1000,
    author: input.author,
    message,
    parents: input.parents,
    entity: new Entity(
      () => renderer.commit(repo, record),
      false,
      () => renderer.commitJson(repo, record),
    ),
  };
  repo.commits.push(record);
  repo.commitsByHash.set(hash, record);
  return record;
}

export function setBranch(
  repo: RepositoryState,
  renderer: Renderer,
  name: string,
  head: string,
): BranchState {
  const existing = repo.branches.get(name);
  if (existing) {
    existing.head = head;
    existing.entity.invalidate();
    return existing;
  }
  const branch: BranchState = {
    name,
    head,
    entity: new Entity(() => {
      const target = repo.commitsByHash.get(branch.head);
      if (!target) throw new Error(`branch ${name} points at a missing commit`);
      return {
        name,
        target: target.entity.value,
        links: renderer.refLinks(repo, "branch", name),
        type: "branch",
        merge_strategies: MERGE_STRATEGIES,
        default_merge_strategy: "merge_commit",
      };
    }),
  };
  repo.branches.set(name, branch);
  return branch;
}

/**
 * Commits reachable from `include` (branch names or hashes; all branch heads when empty) and not
 * from `exclude`, newest first, the order `GET /commits` uses. Unknown revisions return undefined.
 */
export function walkCommits(
  repo: RepositoryState,
  include: readonly string[],
  exclude: readonly string[],
): readonly CommitRecord[] | { unknown: string } {
  // Paging through a history walks it once per page; cache the walk until the next push.
  const key = `${repo.version}\u0000${include.join("\u0001")}\u0000${exclude.join("\u0001")}`;
  const cached = walkCache.get(repo);
  if (cached?.key === key) return cached.result;
  const result = walk(repo, include, exclude);
  if (!("unknown" in result)) walkCache.set(repo, { key, result });
  return result;
}

const walkCache = new WeakMap<RepositoryState, { key: string; result: readonly CommitRecord[] }>();

function walk(
  repo: RepositoryState,
  include: readonly string[],
  exclude: readonly string[],
): CommitRecord[] | { unknown: string } {
  const resolve = (revision: string): CommitRecord | undefined => {
    const branch = repo.branches.get(revision);
    if (branch) return repo.commitsByHash.get(branch.head);
    const tag = repo.tags.find((t) => t.name === revision);
    if (tag) return repo.commitsByHash.get(tag.target);
    const exact = repo.commitsByHash.get(revision);
    if (exact) return exact;
    if (revision.length >= 7 && /^[0-9a-f]+$/.test(revision)) {
      return repo.commits.find((c) => c.hash.startsWith(revision));
    }
    return undefined;
  };
  const starts: CommitRecord[] = [];
  const heads = include.length > 0 ? include : [...repo.branches.keys()];
  for (const revision of heads) {
    const commit = resolve(revision);
    if (!commit) return { unknown: revision };
    starts.push(commit);
  }
  const excluded = new Uint8Array(repo.commits.length);
  for (const revision of exclude) {
    const commit = resolve(revision);
    if (!commit) return { unknown: revision };
    mark(repo, [commit], excluded);
  }
  const reached = new Uint8Array(repo.commits.length);
  mark(repo, starts, reached, excluded);
  const result: CommitRecord[] = [];
  for (let i = repo.commits.length - 1; i >= 0; i--) {
    if (reached[i]) result.push(repo.commits[i] as CommitRecord);
  }
  return result;
}

function mark(repo: RepositoryState, starts: CommitRecord[], marks: Uint8Array, stop?: Uint8Array): void {
  const stack = [...starts];
  while (stack.length > 0) {
    const commit = stack.pop() as CommitRecord;
    if (marks[commit.index] || stop?.[commit.index]) continue;
    marks[commit.index] = 1;
    for (const parent of commit.parents) {
      const record = repo.commitsByHash.get(parent);
      if (record && !marks[record.index]) stack.push(record);
    }
  }
}
