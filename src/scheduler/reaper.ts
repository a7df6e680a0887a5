import type pg from "pg";
import { APP_SCHEMA } from "../app/migrations.js";
import type { RunTrigger } from "../engine/runs.js";
import { QUEUE_SCHEMA, type Queue, RUN_QUEUE } from "./queue.js";

const S = APP_SCHEMA;

export interface ReapedRun {
  readonly runId: number;
  readonly job: string;
  /** The attempt number of the retry, when one was enqueued. */
  readonly retryAttempt: number | undefined;
}

/**
 * Fails the queued runs whose worker stopped beating for `staleSeconds` and, while the run has attempts
 * left (`maxAttempts` counts the first), enqueues a retry. Marking and enqueueing share one transaction and
 * the UPDATE only takes runs still RUNNING, so with any number of workers reaping, a dead run is retried once.
 * Runs without a heartbeat (started inline by `bitbridge job run`) belong to a process that is watched
 * by whoever started it, and are left alone.
 */
export async function reapDeadRuns(
  pool: pg.Pool,
  queue: Queue,
  options: { staleSeconds: number; maxAttempts: number },
): Promise<ReapedRun[]> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const dead = await client.query<{
      id: string;
      job: string;
      trigger: RunTrigger;
      full_reload: boolean;
      attempt: number;
      task_positions: number[] | null;
      worker: string | null;
      pid: string | null;
      silent: number;
    }>(
      `UPDATE ${S}.runs r SET status = 'FAILED', finished_at = now()
         FROM ${S}.jobs j
        WHERE j.id = r.job_id AND r.status = 'RUNNING' AND r.heartbeat_at < now() - make_interval(secs => $1)
        RETURNING r.id, j.name AS job, r.trigger, r.full_reload, r.attempt, r.task_positions, r.worker, r.pid,
                  extract(epoch FROM now() - r.heartbeat_at)::int AS silent`,
      [options.staleSeconds],
    );
    const reaped: ReapedRun[] = [];
    for (const run of dead.rows) {
      const retry = run.attempt < options.maxAttempts ? run.attempt + 1 : undefined;
      const error = `The worker stopped responding (${run.worker ?? "unknown host"}, pid ${run.pid ?? "?"}, no heartbeat for ${run.silent} s); ${retry === undefined ? `not retried: attempt ${run.attempt} of ${options.maxAttempts}` : `retried as attempt ${retry} of ${options.maxAttempts}`}.`;
      await client.query(`UPDATE ${S}.runs SET error = $2 WHERE id = $1`, [run.id, error]);
      await client.query(
        `UPDATE ${S}.task_runs SET status = 'FAILED', finished_at = now(), error = $2
          WHERE run_id = $1 AND status = 'RUNNING'`,
        [run.id, "The worker stopped responding."],
      );
      await client.query(`INSERT INTO ${S}.run_logs (run_id, level, message) VALUES ($1, 'error', $2)`, [
        run.id,
        error,
      ]);
      if (retry !== undefined) {
        await queue.enqueue(
          {
            job: run.job,
            trigger: run.trigger,
            full: run.full_reload,
            attempt: retry,
            ...(run.task_positions && { tasks: run.task_positions }),
          },
          client,
        );
      }
      reaped.push({ runId: Number(run.id), job: run.job, retryAttempt: retry });
    }
    await client.query("COMMIT");
    return reaped;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/**
 * Queues again the runs a worker took from the queue and died before starting: the run is still QUEUED
 * while its pg-boss job has been active for `staleSeconds` (a live worker starts a run, or hands it back,
 * within milliseconds of taking it). The same run row is queued again, so its id stays valid; a second
 * taker would find it no longer QUEUED. Row locks (SKIP LOCKED) keep two reapers from queueing it twice.
 */
export async function requeueLostRuns(
  pool: pg.Pool,
  queue: Queue,
  options: { staleSeconds: number },
): Promise<{ runId: number; job: string }[]> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const lost = await client.query<{
      id: string;
      job: string;
      trigger: RunTrigger;
      full_reload: boolean;
      attempt: number;
      task_positions: number[] | null;
    }>(
      `SELECT r.id, j.name AS job, r.trigger, r.full_reload, r.attempt, r.task_positions
         FROM ${S}.runs r
         JOIN ${S}.jobs j ON j.id = r.job_id
         JOIN ${QUEUE_SCHEMA}.job q ON q.name = $2 AND q.id::text = r.queue_id
        WHERE r.status = 'QUEUED' AND q.state = 'active'
          AND q.started_on < now() - make_interval(secs => $1)
        FOR UPDATE OF r SKIP LOCKED`,
      [options.staleSeconds, RUN_QUEUE],
    );
    for (const run of lost.rows) {
      await queue.enqueue(
        {
          job: run.job,
          trigger: run.trigger,
          full: run.full_reload,
          attempt: run.attempt,
          runId: Number(run.id),
          ...(run.task_positions && { tasks: run.task_positions }),
        },
        client,
      );
      await client.query(`INSERT INTO ${S}.run_logs (run_id, level, message) VALUES ($1, 'warn', $2)`, [
        run.id,
        "The worker that took this run from the queue stopped before starting it; queued again.",
      ]);
    }
    await client.query("COMMIT");
    return lost.rows.map((r) => ({ runId: Number(r.id), job: r.job }));
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
