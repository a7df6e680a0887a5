import type pg from "pg";
import { APP_SCHEMA } from "../app/migrations.js";
import type { RunTrigger } from "../engine/runs.js";
import type { Queue } from "./queue.js";

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
      worker: string | null;
      pid: string | null;
      silent: number;
    }>(
      `UPDATE ${S}.runs r SET status = 'FAILED', finished_at = now()
         FROM ${S}.jobs j
        WHERE j.id = r.job_id AND r.status = 'RUNNING' AND r.heartbeat_at < now() - make_interval(secs => $1)
        RETURNING r.id, j.name AS job, r.trigger, r.full_reload, r.attempt, r.worker, r.pid,
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
          { job: run.job, trigger: run.trigger, full: run.full_reload, attempt: retry },
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
