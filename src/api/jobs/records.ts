import type pg from "pg";
import { BitbridgeError } from "../../app/errors.js";
import { APP_SCHEMA } from "../../app/migrations.js";
import type { RunRecord, RunStatus, RunTrigger } from "../../engine/runs.js";

const S = APP_SCHEMA;

/** A run as the API shows it (history rows, a job's last run, the head of a run's details). */
export interface ApiRun {
  readonly id: number;
  readonly job: string | null;
  readonly trigger: RunTrigger;
  readonly status: RunStatus;
  readonly startedAt: Date;
  readonly finishedAt: Date | null;
  readonly durationMs: number | null;
  readonly rowsRead: number;
  readonly inserted: number;
  readonly updated: number;
  readonly deleted: number;
  readonly requests: number;
  readonly error: string | null;
}

type RunFields = Omit<ApiRun, "durationMs">;

export function apiRun(run: RunFields | RunRecord): ApiRun {
  return {
    id: run.id,
    job: run.job,
    trigger: run.trigger,
    status: run.status,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    durationMs: run.finishedAt === null ? null : run.finishedAt.getTime() - run.startedAt.getTime(),
    rowsRead: run.rowsRead,
    inserted: run.inserted,
    updated: run.updated,
    deleted: run.deleted,
    requests: run.requests,
    error: run.error,
  };
}

// Counters are bigint columns; float8 gives JavaScript numbers (exact far beyond any row count).
const RUN_COLUMNS = `
  r.id::float8 AS id, j.name AS job, r.trigger, r.status, r.started_at AS "startedAt",
  r.finished_at AS "finishedAt", r.rows_read::float8 AS "rowsRead", r.inserted::float8 AS inserted,
  r.updated::float8 AS updated, r.deleted::float8 AS deleted, r.requests::float8 AS requests, r.error`;
const RUN_FROM = `${S}.runs r LEFT JOIN ${S}.jobs j ON j.id = r.job_id`;

/**
 * Runs newest first (the order of `job history`), of one job or all; `before` pages on: the runs older
 * than that run.
 */
export async function listRuns(
  pool: pg.Pool,
  query: { jobId: number | undefined; limit: number; before: number | undefined },
): Promise<ApiRun[]> {
  const rows = await pool.query<RunFields>(
    `SELECT ${RUN_COLUMNS} FROM ${RUN_FROM}
      WHERE ($1::bigint IS NULL OR r.job_id = $1)
        AND ($2::bigint IS NULL OR (r.started_at, r.id) < (SELECT b.started_at, b.id FROM ${S}.runs b WHERE b.id = $2))
      ORDER BY r.started_at DESC, r.id DESC LIMIT $3`,
    [query.jobId ?? null, query.before ?? null, query.limit],
  );
  return rows.rows.map(apiRun);
}

/** Each job's latest run, by job id. */
export async function lastRuns(pool: pg.Pool, jobIds: readonly number[]): Promise<Map<number, ApiRun>> {
  const rows = await pool.query<RunFields & { jobId: number }>(
    `SELECT DISTINCT ON (r.job_id) r.job_id::float8 AS "jobId", ${RUN_COLUMNS} FROM ${RUN_FROM}
      WHERE r.job_id = ANY($1::bigint[])
      ORDER BY r.job_id, r.started_at DESC, r.id DESC`,
    [jobIds],
  );
  return new Map(rows.rows.map(({ jobId, ...run }) => [jobId, apiRun(run)]));
}

export interface ApiSchedule {
  readonly description: string;
  readonly cron: string;
  readonly timeZone: string;
}

/** Every job's schedule, by job id. */
export async function schedulesByJob(pool: pg.Pool): Promise<Map<number, ApiSchedule>> {
  const rows = await pool.query<ApiSchedule & { jobId: number }>(
    `SELECT job_id::float8 AS "jobId", description, cron, time_zone AS "timeZone" FROM ${S}.schedules`,
  );
  return new Map(rows.rows.map(({ jobId, ...schedule }) => [jobId, schedule]));
}

export interface ApiLogLine {
  readonly id: number;
  readonly position: number | null;
  readonly at: Date;
  readonly level: string;
  readonly message: string;
}

/** How many log lines one request returns; a poller asks again from the last id. */
export const LOG_PAGE = 1000;

/** A run's log lines after `after` (a log line id), in the order written. */
export async function runLogs(pool: pg.Pool, runId: number, after: number): Promise<ApiLogLine[]> {
  const exists = await pool.query(`SELECT 1 FROM ${S}.runs WHERE id = $1`, [runId]);
  if (exists.rowCount === 0) throw new BitbridgeError("RUN_NOT_FOUND", `No run with id ${runId}.`, {}, 404);
  const rows = await pool.query<ApiLogLine>(
    `SELECT l.id::float8 AS id, t.position, l.at, l.level, l.message
       FROM ${S}.run_logs l LEFT JOIN ${S}.task_runs t ON t.id = l.task_run_id
      WHERE l.run_id = $1 AND l.id > $2 ORDER BY l.id LIMIT $3`,
    [runId, after, LOG_PAGE],
  );
  return rows.rows;
}
