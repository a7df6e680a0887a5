import type pg from "pg";
import PgBoss from "pg-boss";
import { BitbridgeError } from "../app/errors.js";
import { APP_SCHEMA } from "../app/migrations.js";
import type { RunTrigger } from "../engine/runs.js";

const S = APP_SCHEMA;

// Kept apart so that modules which only name the queue (cancel.ts) do not load pg-boss.
import { QUEUE_SCHEMA, RUN_QUEUE } from "./names.js";

export { QUEUE_SCHEMA, RUN_QUEUE };

/** Serialises pg-boss's schema creation and queue creation across processes starting at once. */
const QUEUE_SETUP_LOCK = 0x62627233;

/** What a queued run carries. */
export interface RunRequest {
  readonly job: string;
  readonly trigger: RunTrigger;
  readonly full?: boolean;
  /** 1 for the first try; the reaper re-enqueues a dead worker's run with the next number. */
  readonly attempt: number;
  /** Positions of the tasks to run (as `job run --task`); default every task. */
  readonly tasks?: readonly number[];
  /**
   * The run's row, recorded QUEUED by `enqueue`; set when a queued run is handed back to the queue
   * untouched. Absent in requests queued by an older version: the worker records the run when it starts.
   */
  readonly runId?: number;
}

export interface QueuedRun {
  /** The pg-boss job's id. */
  readonly queueId: string;
  /** The run's id (status QUEUED until a worker takes it), for `job cancel`, history and the API. */
  readonly runId: number;
}

export interface Queue {
  readonly boss: PgBoss;
  /** Enqueues a run; with `client`, inside that client's open transaction. Returns the queue job's id. */
  enqueue(request: RunRequest, client?: pg.PoolClient): Promise<string>;
  /**
   * Records the run QUEUED and enqueues it, atomically (inside `client`'s open transaction when given).
   * With `request.runId`, enqueues that QUEUED run again instead. Throws JOB_NOT_FOUND (404).
   */
  enqueueRun(request: RunRequest, client?: pg.PoolClient): Promise<QueuedRun>;
  stop(): Promise<void>;
}

/**
 * Starts pg-boss on the application database. `supervise` turns on its maintenance (expiring and
 * archiving queue jobs), which workers do and one-shot commands do not need.
 */
export async function openQueue(url: string, pool: pg.Pool, options: { supervise: boolean }): Promise<Queue> {
  const boss = new PgBoss({
    connectionString: url,
    schema: QUEUE_SCHEMA,
    max: 4,
    supervise: options.supervise,
    // Schedules are bitbridge's own (time zones, next run times shown, SKIPPED history).
    schedule: false,
    application_name: "bitbridge-queue",
  });
  // pg-boss reports connection trouble as events; its next call reports it again to whoever waits.
  boss.on("error", () => {});
  const lock = await pool.connect();
  try {
    await lock.query("SELECT pg_advisory_lock($1)", [QUEUE_SETUP_LOCK]);
    await boss.start();
    if (!(await boss.getQueue(RUN_QUEUE))) {
      await boss.createQueue(RUN_QUEUE, {
        name: RUN_QUEUE,
        // Retries are bitbridge's (the reaper), which knows whether a run really died.
        retryLimit: 0,
        // A run may take hours; the reaper, not pg-boss's expiry, notices a dead worker.
        expireInSeconds: 23 * 3600,
      });
    }
  } catch (error) {
    await boss.stop({ graceful: false, wait: true }).catch(() => {});
    throw error;
  } finally {
    await lock.query("SELECT pg_advisory_unlock($1)", [QUEUE_SETUP_LOCK]).catch(() => {});
    lock.release();
  }
  const send = async (request: RunRequest & { runId: number }, client: pg.PoolClient): Promise<string> => {
    const id = await boss.send(
      RUN_QUEUE,
      { ...request },
      { db: { executeSql: (text, values) => client.query(text, values) } },
    );
    if (id === null) throw new Error(`The queue refused the run of job ${request.job}.`);
    await client.query(`UPDATE ${S}.runs SET queue_id = $2 WHERE id = $1`, [request.runId, id]);
    return id;
  };
  const inTransaction = async (
    request: RunRequest,
    client: pg.PoolClient,
  ): Promise<{ queueId: string; runId: number }> => {
    let runId = request.runId;
    if (runId === undefined) {
      const row = await client.query<{ id: string }>(
        `INSERT INTO ${S}.runs (job_id, trigger, status, full_reload, attempt, queued_at, task_positions)
         SELECT id, $2, 'QUEUED', $3, $4, now(), $5 FROM ${S}.jobs WHERE name = $1 RETURNING id`,
        [
          request.job,
          request.trigger,
          request.full === true,
          request.attempt,
          request.tasks && request.tasks.length > 0 ? [...request.tasks] : null,
        ],
      );
      if (!row.rows[0])
        throw new BitbridgeError("JOB_NOT_FOUND", `No job named ${request.job}.`, { job: request.job }, 404);
      runId = Number(row.rows[0].id);
    }
    return { queueId: await send({ ...request, runId }, client), runId };
  };
  const enqueueRun = async (request: RunRequest, client?: pg.PoolClient): Promise<QueuedRun> => {
    if (client) return inTransaction(request, client);
    const own = await pool.connect();
    try {
      await own.query("BEGIN");
      const queued = await inTransaction(request, own);
      await own.query("COMMIT");
      return queued;
    } catch (error) {
      await own.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      own.release();
    }
  };
  return {
    boss,
    enqueueRun,
    enqueue: async (request, client) => (await enqueueRun(request, client)).queueId,
    stop: () => boss.stop({ graceful: true, wait: true, timeout: 5000 }),
  };
}
