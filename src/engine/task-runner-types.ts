import type pg from "pg";
import type { BitbucketClient } from "../bitbucket/types.js";
import type { NamingPolicy } from "../destination/postgres/naming.js";

/** One REPLICATE statement to run: the unit of work of a job's task or of `bitbridge replicate`. */
export interface TaskRunInput {
  /** Exactly one REPLICATE statement (a task's text). */
  readonly statement: string;
  readonly client: BitbucketClient;
  /** Workspace from the source connection. */
  readonly workspace?: string;
  /** The source connection's Schema (`Information` or a repository slug). */
  readonly schema?: string;
  readonly destination: { readonly config: pg.ClientConfig; readonly schema: string };
  readonly naming?: NamingPolicy;
  /** Repositories read at once (they share two destination connections for loading). Default 4. */
  readonly concurrency?: number;
  /** Ignore saved incremental state and read everything again. */
  readonly full?: boolean;
  readonly onProgress?: (progress: TaskProgress) => void;
  readonly log?: (level: "info" | "warn" | "error", message: string) => void;
  readonly signal?: AbortSignal;
}

export interface TaskProgress {
  readonly table: string;
  /** Rows read from the source so far. */
  readonly rows: number;
  readonly requests: number;
}

export interface TaskRunResult {
  readonly sourceTable: string;
  /** `schema.table` at the destination. */
  readonly destinationTable: string;
  readonly rowsRead: number;
  readonly inserted: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly deleted: number;
  readonly requests: number;
  readonly durationMs: number;
  /** Partitions (repositories) skipped because nothing changed there since the last run. */
  readonly skippedPartitions: number;
}

/** Rows counted while a task runs; shared by the partitions read at once, so add to it after an await, never with `+= await`. */
export interface RunCounts {
  rowsRead: number;
  inserted: number;
  updated: number;
  unchanged: number;
  deleted: number;
}
