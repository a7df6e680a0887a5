import type pg from "pg";
import { BitbridgeError } from "../app/errors.js";
import { APP_SCHEMA } from "../app/migrations.js";
import { JobStore } from "./jobs.js";
import type { LogLevel, RunStatus, RunTrigger } from "./runs.js";

const S = APP_SCHEMA;

export interface RunRecord {
  readonly id: number;
  readonly jobId: number | null;
  /** The job's name; null for one-off runs. */
  readonly job: string | null;
  readonly trigger: RunTrigger;
  readonly status: RunStatus;
  readonly fullReload: boolean;
  readonly startedAt: Date;
  readonly finishedAt: Date | null;
  /** Null while running. */
  readonly durationMs: number | null;
  readonly rowsRead: number;
  readonly inserted: number;
  readonly updated: number;
  readonly deleted: number;
  readonly requests: number;
  readonly error: string | null;
  readonly worker: string | null;
  readonly pid: string | null;
}

export interface TaskRunRecord {
  readonly id: number;
  readonly taskId: number | null;
  readonly position: number;
  readonly statement: string;
  readonly status: RunStatus;
  readonly sourceTable: string | null;
  readonly destinationTable: string | null;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
  readonly rowsRead: number;
  readonly inserted: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly deleted: number;
  readonly requests: number;
  readonly durationMs: number | null;
  readonly error: string | null;
}

export interface RunLogRecord {
  readonly id: number;
  readonly taskRunId: number | null;
  /** The task's position, for lines written during a task. */
  readonly position: number | null;
  readonly at: Date;
  readonly level: LogLevel;
  readonly message: string;
}

interface RunRow {
  id: string;
  job_id: string | null;
  job: string | null;
  trigger: RunTrigger;
  status: RunStatus;
  full_reload: boolean;
  started_at: Date;
  finished_at: Date | null;
  rows_read: string;
  inserted: string;
  updated: string;
  deleted: string;
  requests: string;
  error: string | null;
  worker: string | null;
  pid: string | null;
}

const RUN_SELECT = `SELECT r.*, j.name AS job FROM ${S}.runs r LEFT JOIN ${S}.jobs j ON j.id = r.job_id`;

/** Past and current runs, their tasks and their log lines. */
export class RunHistory {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * Newest first; a job's runs (by name) or every run, one-off runs included; with `before` (a run id),
   * only the runs older than that one, to page on.
   */
  async history(job?: string, limit = 20, before?: number): Promise<RunRecord[]> {
    const jobId = job === undefined ? null : (await new JobStore(this.pool).get(job)).id;
    const rows = await this.pool.query<RunRow>(
      `${RUN_SELECT}
        WHERE ($1::bigint IS NULL OR r.job_id = $1)
          AND ($3::bigint IS NULL OR (r.started_at, r.id) < (SELECT b.started_at, b.id FROM ${S}.runs b WHERE b.id = $3))
        ORDER BY r.started_at DESC, r.id DESC LIMIT $2`,
      [jobId, Math.max(1, Math.floor(limit)), before ?? null],
    );
    return rows.rows.map(toRun);
  }

  /** Each job's latest run, by job id (jobs that never ran are absent). */
  async lastRuns(jobIds: readonly number[]): Promise<Map<number, RunRecord>> {
    const rows = await this.pool.query<RunRow>(
      `SELECT DISTINCT ON (r.job_id) r.*, j.name AS job
         FROM ${S}.runs r JOIN ${S}.jobs j ON j.id = r.job_id
        WHERE r.job_id = ANY($1::bigint[])
        ORDER BY r.job_id, r.started_at DESC, r.id DESC`,
      [jobIds],
    );
    return new Map(rows.rows.map((row) => [Number(row.job_id), toRun(row)]));
  }

  async get(runId: number): Promise<RunRecord & { readonly tasks: readonly TaskRunRecord[] }> {
    const rows = await this.pool.query<RunRow>(`${RUN_SELECT} WHERE r.id = $1`, [runId]);
    const row = rows.rows[0];
    if (!row) throw new BitbridgeError("RUN_NOT_FOUND", `No run with id ${runId}.`, {}, 404);
    const tasks = await this.pool.query<{
      id: string;
      task_id: string | null;
      position: number;
      statement: string;
      status: RunStatus;
      source_table: string | null;
      destination_table: string | null;
      started_at: Date | null;
      finished_at: Date | null;
      rows_read: string;
      inserted: string;
      updated: string;
      unchanged: string;
      deleted: string;
      requests: string;
      duration_ms: string | null;
      error: string | null;
    }>(`SELECT * FROM ${S}.task_runs WHERE run_id = $1 ORDER BY position`, [runId]);
    return {
      ...toRun(row),
      tasks: tasks.rows.map((t) => ({
        id: Number(t.id),
        taskId: t.task_id === null ? null : Number(t.task_id),
        position: t.position,
        statement: t.statement,
        status: t.status,
        sourceTable: t.source_table,
        destinationTable: t.destination_table,
        startedAt: t.started_at,
        finishedAt: t.finished_at,
        rowsRead: Number(t.rows_read),
        inserted: Number(t.inserted),
        updated: Number(t.updated),
        unchanged: Number(t.unchanged),
        deleted: Number(t.deleted),
        requests: Number(t.requests),
        durationMs: t.duration_ms === null ? null : Number(t.duration_ms),
        error: t.error,
      })),
    };
  }

  /** A run's log lines in the order written; `after` a line id and at most `limit` of them, to poll on. */
  async logs(runId: number, after = 0, limit?: number): Promise<RunLogRecord[]> {
    const exists = await this.pool.query(`SELECT 1 FROM ${S}.runs WHERE id = $1`, [runId]);
    if (exists.rowCount === 0) throw new BitbridgeError("RUN_NOT_FOUND", `No run with id ${runId}.`, {}, 404);
    const rows = await this.pool.query<{
      id: string;
      task_run_id: string | null;
      position: number | null;
      at: Date;
      level: LogLevel;
      message: string;
    }>(
      `SELECT l.id, l.task_run_id, t.position, l.at, l.level, l.message
         FROM ${S}.run_logs l LEFT JOIN ${S}.task_runs t ON t.id = l.task_run_id
        WHERE l.run_id = $1 AND l.id > $2 ORDER BY l.id LIMIT $3`,
      [runId, after, limit ?? null],
    );
    return rows.rows.map((r) => ({
      id: Number(r.id),
      taskRunId: r.task_run_id === null ? null : Number(r.task_run_id),
      position: r.position,
      at: r.at,
      level: r.level,
      message: r.message,
    }));
  }
}

function toRun(r: RunRow): RunRecord {
  return {
    id: Number(r.id),
    jobId: r.job_id === null ? null : Number(r.job_id),
    job: r.job,
    trigger: r.trigger,
    status: r.status,
    fullReload: r.full_reload,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    durationMs: r.finished_at === null ? null : r.finished_at.getTime() - r.started_at.getTime(),
    rowsRead: Number(r.rows_read),
    inserted: Number(r.inserted),
    updated: Number(r.updated),
    deleted: Number(r.deleted),
    requests: Number(r.requests),
    error: r.error,
    worker: r.worker,
    pid: r.pid,
  };
}
