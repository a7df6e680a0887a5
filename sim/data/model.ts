import type { Entity } from "./entity.js";

/** The simulator's state: plain records for relationships, `Entity` for what the API serves. */
export interface UserRecord {
  readonly uuid: string;
  readonly accountId: string;
  readonly displayName: string;
  readonly nickname: string;
  readonly email: string;
  readonly createdOn: number;
}

export interface WorkspaceState {
  readonly slug: string;
  readonly uuid: string;
  readonly name: string;
  readonly entity: Entity;
  readonly projects: ProjectState[];
  readonly members: MemberState[];
  readonly repositories: RepositoryState[];
  /** `GET /user/workspaces` items, one per administrator flag. */
  readonly access: { readonly administrator: Entity; readonly member: Entity };
}

export interface ProjectState {
  readonly key: string;
  readonly uuid: string;
  readonly entity: Entity;
}

export interface MemberState {
  readonly user: UserRecord;
  readonly administrator: boolean;
  readonly entity: Entity;
}

export interface CommitRecord {
  readonly hash: string;
  /** Position in the repository's creation order; later commits have larger indexes and dates. */
  readonly index: number;
  readonly date: number;
  readonly author: UserRecord;
  readonly message: string;
  readonly parents: readonly string[];
  readonly entity: Entity;
}

export interface BranchState {
  readonly name: string;
  head: string;
  readonly entity: Entity;
}

export interface TagState {
  readonly name: string;
  readonly target: string;
  readonly entity: Entity;
}

export interface PullRequestState {
  readonly id: number;
  readonly entity: Entity;
  readonly commits: string[];
  readonly comments: Entity[];
  /** Newest first, as the API lists it. */
  readonly activity: { at: number; entity: Entity }[];
  sourceBranchDeleted: boolean;
}

export interface PipelineState {
  readonly uuid: string;
  readonly entity: Entity;
  readonly steps: Entity[];
}

export interface IssueState {
  readonly id: number;
  readonly entity: Entity;
  readonly comments: Entity[];
}

export interface RepositoryState {
  readonly workspace: WorkspaceState;
  slug: string;
  readonly uuid: string;
  readonly projectKey: string;
  /** Built from live state (pushes move `updated_on`); invalidate after a push. */
  entity: Entity;
  readonly commits: CommitRecord[];
  readonly commitsByHash: Map<string, CommitRecord>;
  readonly branches: Map<string, BranchState>;
  readonly tags: TagState[];
  readonly pullRequests: PullRequestState[];
  readonly pipelines: PipelineState[];
  readonly environments: Entity[];
  readonly deployments: Entity[];
  /** Commit statuses keyed by commit hash. */
  readonly statuses: Map<string, Entity[]>;
  readonly issues: IssueState[];
  /** Set when a ref is deleted: like pushes, ref changes move the repository's `updated_on`. */
  refsChangedOn?: number;
  /** Bumped on every push, so cached commit walks know they are stale. */
  version: number;
  nextCommentId: number;
}

export interface SimData {
  readonly users: UserRecord[];
  readonly owner: UserRecord;
  /** Full user objects (`GET /user`) by uuid. */
  readonly userEntities: Map<string, Entity>;
  readonly workspaces: WorkspaceState[];
}
