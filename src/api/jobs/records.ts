import type pg from "pg";
import { APP_SCHEMA } from "../../app/migrations.js";
import type { RunRecord } from "../../engine/run-history.js";

const S = APP_SCHEMA;

/** A run as the API shows it (history rows, a job's last run, the head of a run's details). */
export type ApiRun = Omit<RunRecord, "jobId" | "fullReload" | "worker" | "pid">;

/** The API's view of a run: the record without the worker's identity and the reload flag. */
export function apiRun(run: RunRecord): ApiRun {
  const { jobId: _jobId, fullReload: _fullReload, worker: _worker, pid: _pid, ...shown } = run;
  return shown;
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

/** How many log lines one request returns; a poller asks again from the last id. */
export const LOG_PAGE = 1000;
