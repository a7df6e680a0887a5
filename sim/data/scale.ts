/** How much data the simulator generates: a preset scale, optionally overridden per count. */
export interface Counts {
  /** Workspaces visible to the owner. */
  workspaces: number;
  /** Projects per workspace. */
  projects: number;
  /** Repositories per workspace. */
  repositories: number;
  /** Members per workspace (drawn from one shared pool of users). */
  members: number;
  /** Pull requests per repository (all states). */
  pullRequests: number;
  /** Comments per pull request, on average. */
  comments: number;
  /** Commits per repository. */
  commits: number;
  /** Branches per repository, including the main branch. */
  branches: number;
  /** Tags per repository. */
  tags: number;
  /** Pipelines per repository. */
  pipelines: number;
  /** Deployments per repository. */
  deployments: number;
  /** Legacy issues per repository (served only with --legacy-issues). */
  issues: number;
}

export type ScaleName = "tiny" | "small" | "medium" | "large";

export const SCALES: Readonly<Record<ScaleName, Readonly<Counts>>> = {
  tiny: {
    workspaces: 1,
    projects: 2,
    repositories: 3,
    members: 4,
    pullRequests: 6,
    comments: 2,
    commits: 40,
    branches: 3,
    tags: 2,
    pipelines: 5,
    deployments: 3,
    issues: 4,
  },
  small: {
    workspaces: 1,
    projects: 3,
    repositories: 8,
    members: 12,
    pullRequests: 40,
    comments: 3,
    commits: 400,
    branches: 6,
    tags: 5,
    pipelines: 40,
    deployments: 20,
    issues: 20,
  },
  medium: {
    workspaces: 2,
    projects: 4,
    repositories: 20,
    members: 40,
    pullRequests: 150,
    comments: 4,
    commits: 3000,
    branches: 10,
    tags: 10,
    pipelines: 150,
    deployments: 60,
    issues: 60,
  },
  large: {
    workspaces: 2,
    projects: 6,
    repositories: 30,
    members: 100,
    pullRequests: 400,
    comments: 5,
    commits: 12000,
    branches: 20,
    tags: 20,
    pipelines: 400,
    deployments: 150,
    issues: 150,
  },
};

export const COUNT_NAMES = Object.keys(SCALES.tiny) as (keyof Counts)[];

export function isScaleName(value: string): value is ScaleName {
  return Object.hasOwn(SCALES, value);
}

export function resolveCounts(scale: ScaleName, overrides: Partial<Counts> = {}): Counts {
  const counts = { ...SCALES[scale], ...overrides };
  for (const name of COUNT_NAMES) {
    const value = counts[name];
    if (!Number.isInteger(value) || value < 0)
      throw new RangeError(`count ${name} must be a whole number >= 0`);
  }
  if (counts.workspaces < 1) throw new RangeError("count workspaces must be at least 1");
  if (counts.members < 1) throw new RangeError("count members must be at least 1");
  if (counts.branches < 1) throw new RangeError("count branches must be at least 1 (the main branch)");
  if (counts.commits < counts.branches)
    throw new RangeError("count commits must be at least the branch count");
  return counts;
}
