/** Response shapes of the REST API (docs/api.md). */

export type Kind = "source" | "destination";

export interface ConnectorProperty {
  name: string;
  description: string;
  secret: boolean;
  required: boolean;
  default: string | null;
  choices: string[] | null;
}

export interface Connector {
  name: string;
  kind: Kind;
  title: string;
  properties: ConnectorProperty[];
}

export interface Connection {
  name: string;
  kind: Kind;
  connector: string;
  title: string;
  labels: string[];
  properties: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

export interface TestResult {
  ok: boolean;
  message: string;
}

export interface Schedule {
  description: string;
  cron: string;
  timeZone: string;
}

export type RunStatus =
  | "QUEUED"
  | "RUNNING"
  | "CANCELLING"
  | "SUCCEEDED"
  | "FAILED"
  | "SKIPPED"
  | "CANCELLED";

const UNFINISHED = new Set(["QUEUED", "PENDING", "RUNNING", "CANCELLING"]);

/** Whether a run (or task) may still change: waiting for a worker, being worked on or being stopped. */
export function inProgress(status: string): boolean {
  return UNFINISHED.has(status);
}

export interface Run {
  id: number;
  job: string;
  trigger: string;
  status: RunStatus;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  rowsRead: number;
  inserted: number;
  updated: number;
  deleted: number;
  requests: number;
  error: string | null;
}

export interface RunTask {
  position: number;
  statement: string;
  status: string;
  sourceTable: string | null;
  destinationTable: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  rowsRead: number;
  inserted: number;
  updated: number;
  unchanged: number;
  deleted: number;
  requests: number;
  error: string | null;
}

export interface RunDetail extends Run {
  tasks: RunTask[];
}

export interface RunLog {
  id: number;
  position: number | null;
  at: string;
  level: string;
  message: string;
}

export interface QueueState {
  state: "queued" | "started" | "finished";
  runId: number | null;
}

export interface Task {
  position: number;
  statement: string;
  table: string;
}

export interface JobSummary {
  name: string;
  source: string;
  destination: string;
  taskCount: number;
  schedule: Schedule | null;
  lastRun: Run | null;
}

export interface Job {
  name: string;
  source: string;
  destination: string;
  createdAt: string;
  updatedAt: string;
  tasks: Task[];
  schedule: Schedule | null;
  nextRuns: string[];
  lastRun: Run | null;
}

export interface SourceColumn {
  name: string;
  type: string;
  description: string;
}

export interface SourceTable {
  name: string;
  description: string;
  columns: SourceColumn[];
}

export interface SelectColumn {
  expression: string;
  alias: string | null;
}

export interface TaskModel {
  target: string;
  table: string;
  columns: SelectColumn[];
  where: string | null;
  groupBy: string[];
  orderBy: { expression: string; descending: boolean }[];
  options: Record<string, string | number | boolean>;
  /** The source table's columns, each with the expression that names it in this statement. */
  availableColumns?: (SourceColumn & { expression: string })[];
}

export interface ODataInfo {
  url: string;
  published: string;
}

export interface ODataCredential {
  username: string;
  createdAt: string;
  resetAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  requestsPerHour: number | null;
}

export interface ODataTable {
  schema: string;
  table: string;
  kind: "table" | "view";
  shared: boolean;
  entitySet: string | null;
  problem: string | null;
}

export interface ApiToken {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}
