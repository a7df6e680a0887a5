import type pg from "pg";
import { APP_SCHEMA } from "../app/migrations.js";

const S = APP_SCHEMA;

/**
 * First key of the per-job advisory lock (the second is the job's id). Whoever runs a job holds it from
 * before its run row is written as RUNNING until after the row's final status is written, so a RUNNING run
 * of a job whose lock is free belongs to a process that died.
 */
export const JOB_LOCK = 0x62627232;

type Queryable = Pick<pg.PoolClient, "query">;

/** Takes the job's lock for this session, unless another session holds it. */
export async function tryLockJob(client: Queryable, jobId: number): Promise<boolean> {
  const locked = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1, $2) AS ok", [
    JOB_LOCK,
    jobId,
  ]);
  return locked.rows[0]?.ok === true;
}

export async function unlockJob(client: Queryable, jobId: number): Promise<void> {
  await client.query("SELECT pg_advisory_unlock($1, $2)", [JOB_LOCK, jobId]);
}

/**
 * Whether nobody runs the job now: takes its lock until the end of `client`'s open transaction, which
 * also keeps a new run from starting until then.
 */
export async function jobIsIdle(client: Queryable, jobId: number): Promise<boolean> {
  const locked = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_xact_lock($1, $2) AS ok", [
    JOB_LOCK,
    jobId,
  ]);
  return locked.rows[0]?.ok === true;
}

export interface OrphanedRun {
  readonly id: number;
  readonly status: "FAILED" | "CANCELLED";
}

/**
 * Ends the job's runs left RUNNING by a process that died. Call it only while holding the job's lock.
 * `which` picks the runs: `inline` those without a heartbeat (`bitbridge job run`, which no reaper
 * watches; a worker's runs are the reaper's, which retries them), or one run by id. A run whose
 * cancellation was asked for ends CANCELLED, any other FAILED; its running tasks end with it.
 */
export async function endOrphanedRuns(
  client: Queryable,
  jobId: number,
  which: "inline" | { runId: number },
  why: string,
): Promise<OrphanedRun[]> {
  const chosen = which === "inline" ? "r.heartbeat_at IS NULL" : "r.id = $3";
  const ended = await client.query<{ id: string; status: "FAILED" | "CANCELLED" }>(
    `UPDATE ${S}.runs r
        SET status = CASE WHEN r.cancel_requested_at IS NULL THEN 'FAILED' ELSE 'CANCELLED' END,
            finished_at = now(),
            error = format('The process running it (%s, pid %s) stopped before it ended; %s',
                           coalesce(r.worker, 'unknown host'), coalesce(r.pid, '?'), $2::text)
      WHERE r.job_id = $1 AND r.status = 'RUNNING' AND ${chosen}
      RETURNING r.id, r.status`,
    which === "inline" ? [jobId, why] : [jobId, why, which.runId],
  );
  for (const run of ended.rows) {
    await client.query(
      `UPDATE ${S}.task_runs SET status = $2, finished_at = now(), error = 'Its run''s process stopped.'
        WHERE run_id = $1 AND status = 'RUNNING'`,
      [run.id, run.status],
    );
    await client.query(`INSERT INTO ${S}.run_logs (run_id, level, message) VALUES ($1, 'error', $2)`, [
      run.id,
      `The process running this run stopped before it ended; ${why}`,
    ]);
  }
  return ended.rows.map((r) => ({ id: Number(r.id), status: r.status }));
}
