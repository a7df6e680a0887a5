import os from "node:os";
import { Command, InvalidArgumentError } from "commander";
import pg from "pg";
import type { AppDatabase } from "../app/database.js";
import type { ConnectionStore } from "../engine/connection-store.js";
import { withAppDatabase } from "./app-database.js";

const wholeNumber = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a whole number from 1");
  return n;
};
const secondsValue = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0.5) throw new InvalidArgumentError("expected a number of seconds from 0.5");
  return n;
};

export interface WorkerFlags {
  concurrency: number;
  poll: number;
  heartbeat: number;
  staleAfter: number;
  attempts: number;
  scheduleInterval: number;
  drainTimeout: number;
}

/** `bitbridge worker`: runs queued and scheduled job runs; start any number, on any machine sharing DATABASE_URL. */
export function workerCommand(): Command {
  return new Command("worker")
    .description(
      "Run queued and scheduled job runs (any number of workers may share the application database; SIGTERM drains)",
    )
    .option("--concurrency <n>", "runs at once in this process (different jobs)", wholeNumber, 1)
    .option("--poll <seconds>", "how often an idle worker polls the queue", secondsValue, 2)
    .option("--heartbeat <seconds>", "how often a running run's heartbeat is written", secondsValue, 10)
    .option("--stale-after <seconds>", "a run without heartbeat this long lost its worker", secondsValue, 60)
    .option("--attempts <n>", "tries of a run whose worker died, the first included", wholeNumber, 2)
    .option("--schedule-interval <seconds>", "how often due schedules are looked for", secondsValue, 1)
    .option(
      "--drain-timeout <seconds>",
      "on SIGTERM, wait this long before cancelling running runs",
      secondsValue,
      300,
    )
    .action(async (flags: WorkerFlags) => {
      await withAppDatabase(async (db, connections) => {
        const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
        const worker = await launchWorker(db, connections, flags, log);
        try {
          process.stdout.write(
            `Worker ${os.hostname()} pid ${process.pid} started (concurrency ${flags.concurrency}); SIGTERM or Ctrl-C drains and stops it.\n`,
          );
          const signal = await new Promise<NodeJS.Signals>((resolve) => {
            process.once("SIGINT", resolve);
            process.once("SIGTERM", resolve);
          });
          log(`${signal}: draining (${signal} again stops at once).`);
          process.once(signal, () => process.exit(signal === "SIGINT" ? 130 : 143));
          await worker.drain(flags.drainTimeout * 1000);
          log("Worker stopped.");
        } finally {
          await worker.close();
        }
      });
    });
}

/** The worker defaults, for processes that run one alongside other work (`bitbridge serve`). */
export const DEFAULT_WORKER: WorkerFlags = {
  concurrency: 1,
  poll: 2,
  heartbeat: 10,
  staleAfter: 60,
  attempts: 2,
  scheduleInterval: 1,
  drainTimeout: 300,
};

/** A worker in this process: its own pool and queue connection, released by `close` (after `drain`). */
export async function launchWorker(
  db: AppDatabase,
  connections: ConnectionStore,
  flags: WorkerFlags,
  log: (line: string) => void,
): Promise<{ drain(timeoutMs: number): Promise<void>; close(): Promise<void> }> {
  // Loaded here: pg-boss adds a noticeable delay to every command's start.
  const { openQueue } = await import("../scheduler/queue.js");
  const { startWorker } = await import("../scheduler/worker.js");
  // Each run holds a connection for its job lock and uses others for its records.
  const pool = new pg.Pool({ connectionString: db.url, max: flags.concurrency * 2 + 4 });
  pool.on("error", () => {});
  const queue = await openQueue(db.url, db.pool, { supervise: true });
  try {
    const worker = await startWorker({
      pool,
      connections,
      queue,
      concurrency: flags.concurrency,
      pollSeconds: flags.poll,
      heartbeatSeconds: flags.heartbeat,
      staleSeconds: flags.staleAfter,
      maxAttempts: flags.attempts,
      scheduleSeconds: flags.scheduleInterval,
      log,
    });
    return {
      drain: (timeoutMs) => worker.drain(timeoutMs),
      close: async () => {
        await queue.stop();
        await pool.end();
      },
    };
  } catch (error) {
    await queue.stop();
    await pool.end();
    throw error;
  }
}
