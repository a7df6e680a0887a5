/**
 * Throughput and queue latency of the workers: JOBS small jobs (one task each, 20 rows from a PostgreSQL
 * source table into a PostgreSQL destination) are enqueued at once, then run by 1 and by 3 `bitbridge
 * worker` processes (concurrency 1 each, polling every 0.5 s), after an unmeasured warm-up round that
 * creates the destination tables. Reports jobs per minute (first enqueue to last finish) and queue
 * latency (queued → started) p50/p99, the median of ROUNDS rounds each, and the 3-vs-1 throughput ratio. Uses a database of its own on BENCH_DATABASE_URL (or DATABASE_URL, else an
 * embedded server), dropped at the end.
 *
 *   npm run bench:scheduler
 *   JOBS=50 ROUNDS=1 WORKERS=1,3 npm run bench:scheduler
 *   WORKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" WORKERS=1 npm run bench:scheduler   # profile
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { migrate } from "../src/app/database.js";
import { loadSecretKey } from "../src/app/secrets.js";
import { ConnectionStore } from "../src/engine/connection-store.js";
import { JobStore } from "../src/engine/jobs.js";
import { openQueue } from "../src/scheduler/queue.js";
import { postgresSourceConfig, readSourceCatalog } from "../src/source/postgres/connection.js";
import { benchDatabase } from "./database.js";

const JOBS = Number(process.env.JOBS ?? 200);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const WORKERS = (process.env.WORKERS ?? "1,3").split(",").map(Number);

interface Round {
  readonly jobsPerMinute: number;
  readonly p50: number;
  readonly p99: number;
  readonly failed: number;
}

function percentile(sorted: readonly number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

const children = new Set<ChildProcess>();
// Never leave a worker behind, whatever happens to this process.
process.once("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

async function startWorker(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      ...(process.env.WORKER_NODE_ARGS?.split(" ").filter(Boolean) ?? []),
      "--import",
      "tsx",
      "src/cli/entry.ts",
      "worker",
      "--concurrency",
      "1",
      "--poll",
      "0.5",
    ],
    { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  children.add(child);
  child.once("exit", () => children.delete(child));
  let errors = "";
  child.stderr?.on("data", (d: Buffer) => {
    errors += d.toString();
  });
  await new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("started")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`worker exited with ${code}: ${errors}`)));
  });
  return child;
}

async function main(): Promise<void> {
  const server = await benchDatabase();
  const name = `bitbridge_bench_scheduler_${process.pid}`;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  const dbUrl = url.toString();
  const pool = new pg.Pool({ connectionString: dbUrl, max: 4 });
  const home = mkdtempSync(join(tmpdir(), "bitbridge-bench-scheduler-"));
  const env = { DATABASE_URL: dbUrl, BITBRIDGE_HOME: home };
  try {
    await migrate(pool);
    // The destination schema exists beforehand: the first runs would otherwise race to create it.
    await pool.query(`CREATE SCHEMA benchsrc; CREATE SCHEMA benchdst;
      CREATE TABLE benchsrc.items (id integer PRIMARY KEY, name text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
      INSERT INTO benchsrc.items (id, name) SELECT g, 'item ' || g FROM generate_series(1, 20) g;`);
    const connections = new ConnectionStore(pool, () => loadSecretKey(env));
    const sourceProps = { URL: dbUrl, Schema: "benchsrc" };
    await connections.add({ name: "src", connector: "postgresql", kind: "source", properties: sourceProps });
    await connections.add({
      name: "dst",
      connector: "postgresql",
      properties: { URL: dbUrl, Schema: "benchdst" },
    });
    const catalog = await readSourceCatalog(postgresSourceConfig(sourceProps));
    const jobs = new JobStore(pool);
    const names = Array.from({ length: JOBS }, (_, i) => `bench${String(i + 1).padStart(3, "0")}`);
    for (const job of names) {
      await jobs.create({ name: job, source: "src", destination: "dst" });
      await jobs.addTask(job, `REPLICATE ${job}_items SELECT * FROM items`, undefined, catalog);
    }
    const queue = await openQueue(dbUrl, pool, { supervise: false });

    process.stdout.write(
      `${JOBS} jobs (1 task, 20 rows each), ${ROUNDS} round(s) per setting, ${cpus().length} CPU(s), load average ${loadavg()[0]?.toFixed(1)} at start\n`,
    );
    const results = new Map<number, Round[]>();
    // A first round creates the 200 destination tables; unmeasured, so every measured round does the same work.
    const plan = [{ count: Math.max(...WORKERS), round: 0 }];
    for (const count of WORKERS) for (let round = 1; round <= ROUNDS; round++) plan.push({ count, round });
    for (const { count, round } of plan) {
      const workers = await Promise.all(Array.from({ length: count }, () => startWorker(env)));
      const ids: number[] = [];
      for (const job of names) ids.push((await queue.enqueueRun({ job, trigger: "api", attempt: 1 })).runId);
      for (;;) {
        const open = await pool.query<{ n: string }>(
          "SELECT count(*) AS n FROM bitbridge.runs WHERE id = ANY($1) AND status IN ('QUEUED', 'RUNNING')",
          [ids],
        );
        if (Number(open.rows[0]?.n) === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const rows = await pool.query<{
        queued: Date;
        started: Date;
        finished: Date;
        status: string;
        error: string | null;
      }>(
        `SELECT queued_at AS queued, started_at AS started, finished_at AS finished, status, error
             FROM bitbridge.runs WHERE id = ANY($1)`,
        [ids],
      );
      for (const error of new Set(rows.rows.flatMap((r) => (r.status === "SUCCEEDED" ? [] : [r.error]))))
        process.stdout.write(`  not SUCCEEDED: ${error}\n`);
      const first = Math.min(...rows.rows.map((r) => r.queued.getTime()));
      const last = Math.max(...rows.rows.map((r) => r.finished.getTime()));
      const latencies = rows.rows.map((r) => r.started.getTime() - r.queued.getTime()).sort((a, b) => a - b);
      const result: Round = {
        jobsPerMinute: (rows.rows.length / (last - first)) * 60_000,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        failed: rows.rows.filter((r) => r.status !== "SUCCEEDED").length,
      };
      if (round > 0) results.set(count, [...(results.get(count) ?? []), result]);
      process.stdout.write(
        `  ${count} worker(s), ${round === 0 ? "warm-up" : `round ${round}`}: ${result.jobsPerMinute.toFixed(0)} jobs/min, latency p50 ${(result.p50 / 1000).toFixed(2)} s, p99 ${(result.p99 / 1000).toFixed(2)} s${result.failed ? `, ${result.failed} not SUCCEEDED` : ""} (load ${loadavg()[0]?.toFixed(1)})\n`,
      );
      for (const w of workers) w.kill("SIGTERM");
      await Promise.all(workers.map((w) => new Promise((resolve) => w.once("exit", resolve))));
    }
    await queue.stop();

    process.stdout.write("\nworkers | jobs/min | latency p50 | latency p99   (medians)\n");
    const summary = new Map<number, number>();
    for (const [count, rounds] of results) {
      const jpm = median(rounds.map((r) => r.jobsPerMinute));
      summary.set(count, jpm);
      process.stdout.write(
        `${String(count).padStart(7)} | ${jpm.toFixed(0).padStart(8)} | ${(median(rounds.map((r) => r.p50)) / 1000).toFixed(2).padStart(9)} s | ${(median(rounds.map((r) => r.p99)) / 1000).toFixed(2).padStart(9)} s\n`,
      );
    }
    const one = summary.get(1);
    const three = summary.get(3);
    if (one && three) process.stdout.write(`3 vs 1 workers: ${(three / one).toFixed(2)}x throughput\n`);
  } finally {
    await pool.end();
    // Ended connections first (pg-boss's pool closes after stop() returns): forcing them closed would make
    // that pool report an error with no listener left.
    for (let i = 0; i < 30; i++) {
      const open = await admin.query("SELECT 1 FROM pg_stat_activity WHERE datname = $1", [name]);
      if (open.rowCount === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
    await admin.end();
    rmSync(home, { recursive: true, force: true });
    await server.stop();
  }
}

await main();
