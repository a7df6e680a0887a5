import type pg from "pg";
import { BitbridgeError } from "../app/errors.js";
import { APP_SCHEMA } from "../app/migrations.js";
import { endRunIfOrphaned } from "../engine/job-lock.js";
import { QUEUE_SCHEMA, RUN_QUEUE } from "./names.js";

const S = APP_SCHEMA;

export interface CancelResult {
  /**
   * CANCELLED when the run is cancelled; CANCELLING when its worker has not stopped it yet (it does within
   * about a second of noticing); otherwise the status the run had already ended with.
   */
  readonly status: string;
  readonly message: string;
}

/**
 * Cancels a run from any process. A queued run is cancelled at once and never starts. A running run is
 * flagged: the process running it (a worker or `bitbridge job run`) polls the flag every second, aborts
 * the run, rolls the current batch back and records it CANCELLED; this waits up to `waitMs` for that.
 * Throws RUN_NOT_FOUND (404) for an unknown id.
 */
export async function cancelRun(
  pool: pg.Pool,
  runId: number,
  options: { waitMs?: number } = {},
): Promise<CancelResult> {
  const client = await pool.connect();
  let status: string;
  /** Running, but its process had died: marked CANCELLED here. */
  let orphaned = false;
  try {
    await client.query("BEGIN");
    const row = await client.query<{ status: string; queue_id: string | null; job_id: string | null }>(
      `SELECT status, queue_id, job_id FROM ${S}.runs WHERE id = $1 FOR UPDATE`,
      [runId],
    );
    const current = row.rows[0];
    if (!current) throw new BitbridgeError("RUN_NOT_FOUND", `No run with id ${runId}.`, {}, 404);
    status = current.status;
    if (status === "QUEUED") {
      await client.query(
        `UPDATE ${S}.runs SET status = 'CANCELLED', started_at = now(), finished_at = now(),
           cancel_requested_at = now(), error = 'The run was cancelled before it started.'
         WHERE id = $1`,
        [runId],
      );
      await client.query(`INSERT INTO ${S}.run_logs (run_id, level, message) VALUES ($1, 'warn', $2)`, [
        runId,
        "Cancelled before it started.",
      ]);
      // Spares the workers a useless fetch; one that already took it finds the run no longer QUEUED.
      if (current.queue_id !== null) {
        await client.query(
          `UPDATE ${QUEUE_SCHEMA}.job SET state = 'cancelled', completed_on = now()
            WHERE name = $1 AND id = $2::uuid AND state IN ('created', 'retry')`,
          [RUN_QUEUE, current.queue_id],
        );
      }
    } else if (status === "RUNNING") {
      await client.query(
        `UPDATE ${S}.runs SET cancel_requested_at = coalesce(cancel_requested_at, now()) WHERE id = $1`,
        [runId],
      );
      // With the job's (or the one-off run's) lock free, nobody is left to notice the flag: its process died.
      const jobId = current.job_id === null ? null : Number(current.job_id);
      orphaned =
        (await endRunIfOrphaned(client, { id: runId, jobId }, "cancelled on request.")) !== undefined;
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }

  if (status === "QUEUED") {
    return { status: "CANCELLED", message: `Run ${runId} was cancelled before it started.` };
  }
  if (orphaned) {
    return {
      status: "CANCELLED",
      message: `Run ${runId} was cancelled; the process running it had stopped, so it was only marked so.`,
    };
  }
  if (status !== "RUNNING") {
    return { status, message: `Run ${runId} already ended (${status}); nothing to cancel.` };
  }
  const deadline = Date.now() + (options.waitMs ?? 5000);
  for (;;) {
    const now = await pool.query<{ status: string }>(`SELECT status FROM ${S}.runs WHERE id = $1`, [runId]);
    const ended = now.rows[0]?.status ?? "CANCELLED";
    if (ended !== "RUNNING") {
      return {
        status: ended,
        message:
          ended === "CANCELLED"
            ? `Run ${runId} was cancelled; its current batch was rolled back.`
            : `Run ${runId} ended ${ended} before the cancellation reached it.`,
      };
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    status: "CANCELLING",
    message: `Cancellation of run ${runId} was requested; the process running it stops it within seconds (see its status).`,
  };
}
