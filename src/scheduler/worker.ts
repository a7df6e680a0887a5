import type pg from "pg";
import type PgBoss from "pg-boss";
import { APP_SCHEMA } from "../app/migrations.js";
import type { ConnectionStore } from "../engine/connection-store.js";
import { endOrphanedOneOffRuns } from "../engine/job-lock.js";
import { runJob } from "../engine/runs.js";
import { type Queue, RUN_QUEUE, type RunRequest } from "./queue.js";
import { reapDeadRuns, requeueLostRuns } from "./reaper.js";
import { ScheduleStore } from "./schedules.js";

const S = APP_SCHEMA;

export interface WorkerOptions {
  readonly pool: pg.Pool;
  readonly connections: ConnectionStore;
  readonly queue: Queue;
  /** Runs at once in this process. */
  readonly concurrency: number;
  readonly pollSeconds: number;
  readonly heartbeatSeconds: number;
  /** A run whose heartbeat is older than this is taken for dead. */
  readonly staleSeconds: number;
  /** Including the first; 2 retries a dead worker's run once. */
  readonly maxAttempts: number;
  /** How often due schedules are looked for. */
  readonly scheduleSeconds: number;
  readonly log: (line: string) => void;
}

export interface RunningWorker {
  /**
   * Stops taking runs and waits for the current ones to finish; after `timeoutMs` they are cancelled
   * (the running batch rolls back) and enqueued again, so nothing is lost.
   */
  drain(timeoutMs: number): Promise<void>;
}

interface ActiveRun {
  readonly request: RunRequest;
  readonly controller: AbortController;
  runId?: number;
}

/**
 * A worker: takes runs from the queue (`concurrency` at a time), beats for them, enqueues due schedules
 * and fails (and retries) runs whose worker died. Any number of workers may share one database; runJob's
 * per-job advisory lock keeps one job from running twice at once (the extra run is recorded as SKIPPED).
 */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const { pool, queue, log } = options;
  const active = new Set<ActiveRun>();
  let draining = false;

  const handle = async (request: RunRequest): Promise<void> => {
    if (draining) {
      // Fetched while stopping: hand it back untouched (the same QUEUED run, when it has one).
      await queue.enqueueRun(request);
      return;
    }
    const run: ActiveRun = { request, controller: new AbortController() };
    active.add(run);
    try {
      const summary = await runJob({ pool, connections: options.connections }, request.job, {
        trigger: request.trigger,
        full: request.full === true,
        signal: run.controller.signal,
        ...(request.tasks && request.tasks.length > 0 && { tasks: request.tasks }),
        ...(request.runId !== undefined && { runId: request.runId }),
        onRunStart: async (runId) => {
          run.runId = runId;
          await pool.query(`UPDATE ${S}.runs SET heartbeat_at = now(), attempt = $2 WHERE id = $1`, [
            runId,
            request.attempt,
          ]);
        },
      });
      log(
        `Run ${summary.runId} of job ${request.job} (${request.trigger}, attempt ${request.attempt}): ${summary.status}${summary.error ? `: ${summary.error}` : ""}`,
      );
      if (summary.status === "CANCELLED" && draining && !(await cancelRequested(pool, summary.runId))) {
        const { runId: _cancelled, ...again } = request;
        const queued = await queue.enqueueRun(again);
        log(`Run of job ${request.job} enqueued again for another worker (run ${queued.runId}).`);
      }
    } catch (error) {
      // The job lost its tasks, was removed, or the application database is unreachable: nothing to retry.
      const message = error instanceof Error ? error.message : String(error);
      log(`Run of job ${request.job} could not start: ${message}`);
      // A queued run left QUEUED would look pending forever; a cancelled or taken one is not touched.
      if (request.runId !== undefined) {
        await pool
          .query(
            `UPDATE ${S}.runs SET status = 'FAILED', started_at = now(), finished_at = now(), error = $2
              WHERE id = $1 AND status = 'QUEUED'`,
            [request.runId, `The run could not start: ${message}`],
          )
          .catch(() => {});
      }
    } finally {
      active.delete(run);
    }
  };

  const workerIds: string[] = [];
  for (let i = 0; i < options.concurrency; i++) {
    let id = "";
    id = await queue.boss.work<RunRequest>(
      RUN_QUEUE,
      { batchSize: 1, pollingIntervalSeconds: options.pollSeconds },
      async (jobs: PgBoss.Job<RunRequest>[]) => {
        for (const job of jobs) await handle(job.data);
        // pg-boss waits out the polling interval even after a run, which capped a worker at one run per
        // interval; after a run there may be more waiting, so it looks again at once.
        if (jobs.length > 0 && !draining) queue.boss.notifyWorker(id);
      },
    );
    workerIds.push(id);
  }

  const heartbeat = every(
    options.heartbeatSeconds,
    async () => {
      const ids = [...active].flatMap((r) => (r.runId === undefined ? [] : [r.runId]));
      if (ids.length > 0)
        await pool.query(
          `UPDATE ${S}.runs SET heartbeat_at = now() WHERE id = ANY($1::bigint[]) AND status = 'RUNNING'`,
          [ids],
        );
    },
    log,
  );
  const schedules = new ScheduleStore(pool);
  const scheduler = every(
    options.scheduleSeconds,
    async () => {
      const client = await pool.connect();
      try {
        const claimed = await schedules.claimDue(client, async (s) => {
          await queue.enqueue({ job: s.job, trigger: "schedule", attempt: 1 }, client);
        });
        for (const s of claimed)
          log(`Job ${s.job} is due (${s.description}, ${s.nextRunAt.toISOString()}): enqueued.`);
      } finally {
        client.release();
      }
    },
    log,
  );
  const reaper = every(
    Math.max(1, options.staleSeconds / 3),
    async () => {
      for (const r of await reapDeadRuns(pool, queue, options)) {
        log(
          `Run ${r.runId} of job ${r.job} lost its worker: marked FAILED${r.retryAttempt === undefined ? "" : `, retry enqueued (attempt ${r.retryAttempt})`}.`,
        );
      }
      for (const r of await endOrphanedOneOffRuns(pool, "found by a worker.")) {
        log(`One-off run ${r.id} was left running by a process that stopped: marked ${r.status}.`);
      }
      for (const r of await requeueLostRuns(pool, queue, options)) {
        log(
          `Run ${r.runId} of job ${r.job} was taken from the queue by a worker that died before starting it: queued again.`,
        );
      }
    },
    log,
  );
  const loops = [scheduler, reaper];

  return {
    async drain(timeoutMs) {
      draining = true;
      for (const loop of loops) await loop.stop();
      for (const id of workerIds) await queue.boss.offWork({ id });
      if (active.size > 0) log(`Draining: waiting for ${active.size} run(s) to finish.`);
      const finished = await settled(active, timeoutMs);
      if (!finished) {
        log(
          `Draining: ${active.size} run(s) still running after ${Math.round(timeoutMs / 1000)} s; cancelling them.`,
        );
        for (const run of active) run.controller.abort();
        await settled(active, Number.POSITIVE_INFINITY);
      }
      await heartbeat.stop();
    },
  };
}

/** Calls `work` every `seconds`, skipping a beat while the previous call runs; errors are logged and the loop goes on. */
function every(
  seconds: number,
  work: () => Promise<void>,
  log: (line: string) => void,
): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= work()
      .catch((error: unknown) => log(error instanceof Error ? error.message : String(error)))
      .finally(() => {
        running = undefined;
      });
  }, seconds * 1000);
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

/** Whether someone asked for the run's cancellation (then a drain must not run it again). */
async function cancelRequested(pool: pg.Pool, runId: number): Promise<boolean> {
  const row = await pool.query<{ requested: boolean }>(
    `SELECT cancel_requested_at IS NOT NULL AS requested FROM ${S}.runs WHERE id = $1`,
    [runId],
  );
  return row.rows[0]?.requested === true;
}

/** Resolves true when `active` is empty, false after `timeoutMs`. */
async function settled(active: Set<ActiveRun>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (active.size > 0) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}
