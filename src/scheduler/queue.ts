import type pg from "pg";
import PgBoss from "pg-boss";
import type { RunTrigger } from "../engine/runs.js";

/** The queue every job run goes through, whoever asked for it. */
export const RUN_QUEUE = "bitbridge-run";
/** pg-boss keeps its tables in this schema of the application database. */
export const QUEUE_SCHEMA = "pgboss";
/** Serialises pg-boss's schema creation and queue creation across processes starting at once. */
const QUEUE_SETUP_LOCK = 0x62627233;

/** What a queued run carries. */
export interface RunRequest {
  readonly job: string;
  readonly trigger: RunTrigger;
  readonly full?: boolean;
  /** 1 for the first try; the reaper re-enqueues a dead worker's run with the next number. */
  readonly attempt: number;
}

export interface Queue {
  readonly boss: PgBoss;
  /** Enqueues a run; with `client`, inside that client's open transaction. Returns the queue job's id. */
  enqueue(request: RunRequest, client?: pg.PoolClient): Promise<string>;
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
  return {
    boss,
    async enqueue(request, client) {
      const id = await boss.send(
        RUN_QUEUE,
        { ...request },
        client ? { db: { executeSql: (text, values) => client.query(text, values) } } : {},
      );
      if (id === null) throw new Error(`The queue refused the run of job ${request.job}.`);
      return id;
    },
    stop: () => boss.stop({ graceful: true, wait: true, timeout: 5000 }),
  };
}
