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

export interface OrphanedRun {
  readonly id: number;
  readonly status: "FAILED" | "CANCELLED";
}

/**
 * Ends the job's runs left RUNNING by `bitbridge job run` processes that died (those without a heartbeat:
 * no reaper watches them; a worker's runs are the reaper's, which retries them). Call it only while
 * holding the job's lock. A run whose cancellation was asked for ends CANCELLED, any other FAILED; its
 * running tasks end with it.
 */
export async function endOrphanedRuns(client: Queryable, jobId: number, why: string): Promise<OrphanedRun[]> {
  return endRuns(client, "r.job_id = $1 AND r.heartbeat_at IS NULL", [jobId], why);
}

/**
 * Ends the RUNNING run `run` if the process running it died, i.e. its lock is free: its job's, or for a
 * one-off run (no job) its own. Takes that lock until the end of `client`'s open transaction, which also
 * keeps a new run of the job from starting until then. Returns the run when it was ended.
 */
export async function endRunIfOrphaned(
  client: Queryable,
  run: { readonly id: number; readonly jobId: number | null },
  why: string,
): Promise<OrphanedRun | undefined> {
  const oneOff = run.jobId === null;
  const free = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_xact_lock($1, $2) AS ok", [
    oneOff ? ONE_OFF_LOCK : JOB_LOCK,
    oneOff ? run.id : run.jobId,
  ]);
  if (free.rows[0]?.ok !== true) return undefined;
  const ended = oneOff
    ? await endRuns(client, "r.id = $1 AND r.job_id IS NULL", [run.id], why)
    : await endRuns(client, "r.id = $1 AND r.job_id = $2", [run.id, run.jobId], why);
  return ended[0];
}

/** Ends the RUNNING runs `where` picks (its parameters from $1; `why` is added last), and their tasks. */
async function endRuns(
  client: Queryable,
  where: string,
  values: unknown[],
  why: string,
): Promise<OrphanedRun[]> {
  const whyParam = `$${values.length + 1}`;
  const ended = await client.query<{ id: string; status: "FAILED" | "CANCELLED" }>(
    `UPDATE ${S}.runs r
        SET status = CASE WHEN r.cancel_requested_at IS NULL THEN 'FAILED' ELSE 'CANCELLED' END,
            finished_at = now(),
            error = format('The process running it (%s, pid %s) stopped before it ended; %s',
                           coalesce(r.worker, 'unknown host'), coalesce(r.pid, '?'), ${whyParam}::text)
      WHERE r.status = 'RUNNING' AND ${where}
      RETURNING r.id, r.status`,
    [...values, why],
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

/**
 * First key of the lock a one-off run (`bitbridge replicate`, no job) holds on its own run id for as long
 * as it runs: taken in the transaction that records the run, so no one ever sees the run RUNNING unlocked
 * while its process lives.
 */
export const ONE_OFF_LOCK = 0x62627233;

/**
 * Records a one-off run as RUNNING and takes its lock on `client`, whose session must stay open until the
 * run has ended and then close (which releases the lock).
 */
export async function recordOneOffRun(
  client: Queryable,
  values: { trigger: string; full: boolean; worker: string; pid: string },
): Promise<number> {
  await client.query("BEGIN");
  try {
    const inserted = await client.query<{ id: string }>(
      `INSERT INTO ${S}.runs (job_id, trigger, status, full_reload, worker, pid)
       VALUES (NULL, $1, 'RUNNING', $2, $3, $4) RETURNING id`,
      [values.trigger, values.full, values.worker, values.pid],
    );
    const id = Number(inserted.rows[0]?.id);
    await client.query("SELECT pg_advisory_lock($1, $2)", [ONE_OFF_LOCK, id]);
    await client.query("COMMIT");
    return id;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}

/**
 * Ends the one-off runs left RUNNING by a process that died (their lock is free), as `endOrphanedRuns`
 * does for a job's. Safe from any number of processes at once: each run is ended under its own lock.
 */
export async function endOrphanedOneOffRuns(pool: pg.Pool, why: string): Promise<OrphanedRun[]> {
  const running = await pool.query<{ id: string }>(
    `SELECT id FROM ${S}.runs WHERE job_id IS NULL AND status = 'RUNNING' AND heartbeat_at IS NULL`,
  );
  const ended: OrphanedRun[] = [];
  for (const { id } of running.rows) {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      const run = await endRunIfOrphaned(client, { id: Number(id), jobId: null }, why);
      if (run) ended.push(run);
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }
  return ended;
}
