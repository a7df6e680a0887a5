import type { Column, ColumnType, TableDef } from "./table.js";
import { Branches } from "./tables/branches.js";
import { CommitStatuses } from "./tables/commit-statuses.js";
import { Commits } from "./tables/commits.js";
import { Deployments } from "./tables/deployments.js";
import { Environments } from "./tables/environments.js";
import { IssueComments } from "./tables/issue-comments.js";
import { Issues } from "./tables/issues.js";
import { PipelineSteps } from "./tables/pipeline-steps.js";
import { Pipelines } from "./tables/pipelines.js";
import { Projects } from "./tables/projects.js";
import { PullRequestActivity } from "./tables/pull-request-activity.js";
import { PullRequestComments } from "./tables/pull-request-comments.js";
import { PullRequestCommits } from "./tables/pull-request-commits.js";
import { PullRequests } from "./tables/pull-requests.js";
import { Repositories } from "./tables/repositories.js";
import { Tags } from "./tables/tags.js";
import { WorkspaceMembers } from "./tables/workspace-members.js";
import { Workspaces } from "./tables/workspaces.js";

/** Values a row carries from where it was read: its workspace, repository and parent row. */
export interface RowContext {
  readonly workspace?: string;
  readonly repositorySlug?: string;
  readonly repositoryUuid?: string;
  readonly parentKey?: unknown;
}

/** A column as queries see it: an API column, or a context column every row of the table carries. */
export interface CatalogColumn {
  readonly name: string;
  readonly type: ColumnType;
  readonly description: string;
  readonly ordinal: number;
  readonly isKey: boolean;
  readonly context?: "workspace" | "repositorySlug" | "repositoryUuid" | "parent";
  /** API field behind the column, when it is exactly one field. */
  readonly field?: string;
  /** API fields the column needs (for `fields=`). */
  readonly reads: readonly string[];
  readonly filterable: boolean;
  readonly sortable: boolean;
  readonly get: (item: unknown, ctx: RowContext) => unknown;
}

export interface CatalogTable {
  readonly name: string;
  readonly schema: "Information" | "Repository";
  readonly description: string;
  readonly columns: readonly CatalogColumn[];
  readonly primaryKey: readonly string[];
  readonly def: AnyTableDef;
}

/** Every Bitbucket table, in documentation order. */
/** `never` accepts a table over any API object type: its accessors are only ever fed that table's items. */
export type AnyTableDef = TableDef<never>;

export const TABLE_DEFS: readonly AnyTableDef[] = [
  Workspaces,
  Projects,
  Repositories,
  WorkspaceMembers,
  PullRequests,
  PullRequestComments,
  PullRequestActivity,
  PullRequestCommits,
  Commits,
  Branches,
  Tags,
  CommitStatuses,
  Pipelines,
  PipelineSteps,
  Deployments,
  Environments,
  Issues,
  IssueComments,
];

function contextColumns(def: AnyTableDef): Omit<CatalogColumn, "ordinal" | "isKey">[] {
  const level = def.level;
  const columns: Omit<CatalogColumn, "ordinal" | "isKey">[] = [];
  const ctx = (
    name: string,
    type: ColumnType,
    description: string,
    context: NonNullable<CatalogColumn["context"]>,
    get: (c: RowContext) => unknown,
  ) =>
    columns.push({
      name,
      type,
      description,
      context,
      reads: [],
      filterable: false,
      sortable: false,
      get: (_, c) => get(c),
    });
  if (level.kind === "account") return columns;
  ctx("WorkspaceSlug", "string", "Workspace the row was read from.", "workspace", (c) => c.workspace);
  if (level.kind === "workspace") return columns;
  ctx(
    "RepositorySlug",
    "string",
    "Repository the row belongs to (slug; changes on rename).",
    "repositorySlug",
    (c) => c.repositorySlug,
  );
  ctx(
    "RepositoryUuid",
    "string",
    "Repository the row belongs to (UUID; stable).",
    "repositoryUuid",
    (c) => c.repositoryUuid,
  );
  if (level.kind === "child")
    ctx(level.column, level.columnType, level.description, "parent", (c) => c.parentKey);
  return columns;
}

function resolve(def: AnyTableDef): CatalogTable {
  const api = def.columns.map((c: Column<never>) => ({
    name: c.name,
    type: c.type,
    description: c.description,
    field: c.field,
    reads: c.reads ?? (c.field ? [c.field] : []),
    filterable: def.bbql && c.filterable === true && c.field !== undefined,
    sortable: def.bbql && c.sortable === true && c.field !== undefined,
    get: (item: unknown) => c.get(item as never),
  }));
  const all = [...contextColumns(def), ...api];
  const names = new Set<string>();
  for (const c of all) {
    const key = c.name.toLowerCase();
    if (names.has(key)) throw new Error(`table ${def.name} declares column ${c.name} twice`);
    names.add(key);
  }
  for (const key of def.primaryKey) {
    if (!names.has(key.toLowerCase()))
      throw new Error(`table ${def.name}: primary key column ${key} is not a column`);
  }
  return {
    name: def.name,
    schema: def.schema,
    description: def.description,
    primaryKey: def.primaryKey,
    def,
    columns: all.map((c, i) => ({ ...c, ordinal: i + 1, isKey: def.primaryKey.includes(c.name) })),
  };
}

export const CATALOG: readonly CatalogTable[] = TABLE_DEFS.map(resolve);

export function findTable(name: string): CatalogTable | undefined {
  const key = name.toLowerCase();
  return CATALOG.find((t) => t.name.toLowerCase() === key);
}

export function findColumn(table: CatalogTable, name: string): CatalogColumn | undefined {
  const key = name.toLowerCase();
  return table.columns.find((c) => c.name.toLowerCase() === key);
}
