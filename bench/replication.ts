/**
 * Replication end to end: Bitbucket simulator (a child process, zero latency) → connector → PostgreSQL,
 * next to a raw COPY of the same rows into the same PostgreSQL in the same run (the ceiling; a COPY into a
 * twin with the table's primary key is printed beside it for reference). Also API
 * requests per 1,000 rows against the least the API allows, peak memory of this process, CPU seconds per
 * process, and the requests of incremental runs after 1% of the rows changed.
 *
 *   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:replication
 *   SCALE=large ...            # the one-million-row setting: REPOS=40 COMMITS=25000 (1,000,000 commits)
 *
 * Environment:
 *   BENCH_DATABASE_URL    PostgreSQL to load into (schema `bench` is dropped and recreated); without it
 *                         (or DATABASE_URL) an embedded PostgreSQL is started in a temporary folder
 *   SCALE=large           REPOS=40 COMMITS=25000 unless those are given
 *   REPOS                 repositories (default 8)
 *   COMMITS               commits per repository (default 12000)
 *   PULL_REQUESTS         pull requests per repository (default 400)
 *   RUNS                  measured full loads per table; the figures are their medians (default 3)
 *   WARMUP                unmeasured full loads first (default 1): the simulator caches each item's
 *                         `fields=` projection on first use, PostgreSQL fills its caches, V8 compiles
 *   CONCURRENCY           repositories replicated at once (the task runner's default when unset)
 *   BATCH_SIZE            rows per transaction (the statement's BatchSize; its default when unset)
 *   TABLES                comma-separated subset of Commits,PullRequests (default both)
 *   INCREMENTAL=0         skip the incremental runs
 *   SIM_CPU_PROF=dir      write a CPU profile of the simulator child into dir (profile this process with
 *                         `node --cpu-prof --import tsx bench/replication.ts`)
 *
 * A full load starts from an empty schema each time, so every measured run is a first load.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { pipeline } from "node:stream/promises";
import pg from "pg";
import { from as copyFrom, to as copyTo } from "pg-copy-streams";
import { createClient } from "../src/bitbucket/client.js";
import { parseConnectionString } from "../src/bitbucket/connection-properties.js";
import { runReplicateTask } from "../src/engine/task-runner.js";
import type { TaskRunResult } from "../src/engine/task-runner-types.js";
import { benchDatabase } from "./database.js";

const LARGE = process.env.SCALE === "large";
const REPOS = Number(process.env.REPOS ?? (LARGE ? 40 : 8));
const COMMITS = Number(process.env.COMMITS ?? (LARGE ? 25_000 : 12_000));
const PULL_REQUESTS = Number(process.env.PULL_REQUESTS ?? 400);
const RUNS = Math.max(1, Number(process.env.RUNS ?? 3));
const WARMUP = Math.max(0, Number(process.env.WARMUP ?? 1));
const CONCURRENCY = process.env.CONCURRENCY ? Number(process.env.CONCURRENCY) : undefined;
const WITH = process.env.BATCH_SIZE ? ` WITH BatchSize=${Number(process.env.BATCH_SIZE)}` : "";
const INCREMENTAL = process.env.INCREMENTAL !== "0";

const TABLES = [
  { name: "Commits", table: "commits", pagelen: 100 },
  { name: "PullRequests", table: "pull_requests", pagelen: 50 },
].filter((t) => !process.env.TABLES || process.env.TABLES.split(",").includes(t.name));

async function startSim(): Promise<{ child: ChildProcess; origin: string; email: string; apiToken: string }> {
  const counts = {
    workspaces: 1,
    repositories: REPOS,
    commits: COMMITS,
    pullRequests: PULL_REQUESTS,
    comments: 1,
    pipelines: 10,
  };
  const child = spawn(
    process.execPath,
    [
      ...(process.env.SIM_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.SIM_CPU_PROF}`] : []),
      "--import",
      "tsx",
      "bench/sim-server.ts",
      "simulator",
      JSON.stringify(counts),
      "",
      "tiny",
    ],
    { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, WARM: "1" } },
  );
  const line = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`simulator exited with ${code}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once("line", resolve);
  });
  process.once("exit", () => child.kill());
  return { child, ...JSON.parse(line) };
}

let peakRss = 0;
let peakHeap = 0;
const sampler = setInterval(() => {
  const usage = process.memoryUsage();
  peakRss = Math.max(peakRss, usage.rss);
  peakHeap = Math.max(peakHeap, usage.heapUsed + usage.external);
}, 50);

/** CPU seconds (user + system) of a process, from /proc; 0 where there is no /proc. */
function cpuOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** The replication's PostgreSQL connections say who they are, so their backends can be told apart. */
const APPLICATION = "bitbridge-bench";

/**
 * CPU of this process, the simulator and the replication's PostgreSQL backends (not other sessions on
 * the same server). Backends end with the task's pool, so they are sampled every 100 ms while it runs;
 * `stop` returns seconds used since the start.
 */
function cpuMeter(sim: ChildProcess, admin: pg.Client) {
  const self = process.cpuUsage();
  const simStart = cpuOf(sim.pid ?? 0);
  const backends = new Map<number, number>();
  let sampling: Promise<void> = Promise.resolve();
  const sample = async () => {
    const { rows } = await admin.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE application_name = $1",
      [APPLICATION],
    );
    for (const { pid } of rows) {
      const seconds = cpuOf(pid);
      if (seconds > 0) backends.set(pid, seconds);
    }
  };
  const timer = setInterval(() => {
    sampling = sampling.then(sample, sample);
  }, 100);
  return async () => {
    clearInterval(timer);
    await sampling.catch(() => {});
    const used = process.cpuUsage(self);
    return {
      connector: (used.user + used.system) / 1e6,
      simulator: cpuOf(sim.pid ?? 0) - simStart,
      postgres: [...backends.values()].reduce((a, b) => a + b, 0),
    };
  };
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

interface Measured {
  rows: number;
  rate: number;
  /** Raw COPY into a twin without indexes: the ceiling the ratio is judged against. */
  copyRate: number;
  keyedCopyRate: number;
  requests: number;
  peakRss: number;
  peakHeap: number;
  cpu: { connector: number; simulator: number; postgres: number };
  seconds: number;
}

async function main() {
  const sim = await startSim();
  const db = await benchDatabase();
  const connection = `AuthScheme=APIToken;User=${sim.email};APIToken=${sim.apiToken};Workspace=acme;Url=${sim.origin}/2.0;RequestsPerHour=1000000`;
  const props = parseConnectionString(connection);
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  const scratch = mkdtempSync(join(tmpdir(), "bitbridge-bench-copy-"));
  const replicate = async (statement: string) =>
    runReplicateTask({
      statement,
      client: createClient(props),
      workspace: "acme",
      destination: {
        config: { connectionString: db.url, application_name: APPLICATION },
        schema: "bench",
      },
      ...(CONCURRENCY !== undefined && { concurrency: CONCURRENCY }),
    });

  /**
   * The ceiling: the rows just loaded, already in PostgreSQL's text format, COPY'd into an empty twin.
   * They pass through a file rather than this process's memory, which would otherwise count (hundreds
   * of megabytes at a million rows) in the next run's peak RSS.
   */
  const rawCopy = async (table: string, rows: number) => {
    const file = join(scratch, `${table}.copy`);
    await pipeline(admin.query(copyTo(`COPY bench.${table} TO STDOUT`)), createWriteStream(file));
    // The ceiling into a bare twin (no index), and for reference into a twin with the table's own key.
    const into = async (like: string) => {
      await admin.query(`DROP TABLE IF EXISTS bench.copy_${table}`);
      await admin.query(`CREATE TABLE bench.copy_${table} (${like})`);
      const started = performance.now();
      await pipeline(createReadStream(file), admin.query(copyFrom(`COPY bench.copy_${table} FROM STDIN`)));
      const rate = rows / ((performance.now() - started) / 1000);
      await admin.query(`DROP TABLE bench.copy_${table}`);
      return rate;
    };
    const bare = await into(`LIKE bench.${table}`);
    const keyed = await into(`LIKE bench.${table} INCLUDING INDEXES`);
    rmSync(file);
    return { bare, keyed };
  };

  console.log(
    `simulator: ${REPOS} repositories x ${fmt(COMMITS)} commits, ${fmt(PULL_REQUESTS)} pull requests each; ` +
      `${WARMUP} warm-up + ${RUNS} measured full loads per table, medians shown`,
  );
  const measured = new Map<string, Measured[]>(TABLES.map((t) => [t.name, []]));
  for (let run = 0; run < WARMUP + RUNS; run++) {
    // Every table of a run is a first load; the last run's state is where the incremental runs start.
    await admin.query("DROP SCHEMA IF EXISTS bench CASCADE");
    for (const t of TABLES) {
      peakRss = process.memoryUsage.rss();
      peakHeap = 0;
      const meter = cpuMeter(sim.child, admin);
      const result = await replicate(`REPLICATE [${t.name}]${WITH}`);
      const cpu = await meter();
      const rss = peakRss;
      const heap = peakHeap;
      const copy = await rawCopy(t.table, result.rowsRead);
      const row: Measured = {
        rows: result.rowsRead,
        rate: result.rowsRead / (result.durationMs / 1000),
        copyRate: copy.bare,
        keyedCopyRate: copy.keyed,
        requests: result.requests,
        peakRss: rss,
        peakHeap: heap,
        cpu,
        seconds: result.durationMs / 1000,
      };
      const label = run < WARMUP ? "warm-up" : `run ${run - WARMUP + 1}`;
      console.log(
        `  ${label.padEnd(8)} ${t.name.padEnd(13)} ${fmt(row.rows)} rows in ${row.seconds.toFixed(1)} s: ` +
          `${fmt(row.rate)} rows/s, raw COPY ${fmt(row.copyRate)} rows/s (${(row.rate / row.copyRate).toFixed(2)}; ` +
          `with the key ${fmt(row.keyedCopyRate)}, ${(row.rate / row.keyedCopyRate).toFixed(2)}), ` +
          `peak RSS ${(rss / 2 ** 20).toFixed(0)} MB (heap ${(heap / 2 ** 20).toFixed(0)} MB), CPU s connector ${cpu.connector.toFixed(1)} / ` +
          `simulator ${cpu.simulator.toFixed(1)} / PostgreSQL ${cpu.postgres.toFixed(1)}`,
      );
      if (run >= WARMUP) measured.get(t.name)?.push(row);
    }
  }

  let totalRows = 0;
  let totalSeconds = 0;
  let totalFullRequests = 0;
  for (const t of TABLES) {
    const runs = measured.get(t.name) ?? [];
    const rows = median(runs.map((r) => r.rows));
    const requests = median(runs.map((r) => r.requests));
    totalRows += rows;
    totalSeconds += median(runs.map((r) => r.seconds));
    totalFullRequests += requests;
    // The repository list, then every page of every repository (the simulator's repositories hold about
    // the counts asked for, not exactly).
    const minimum = 1 + REPOS * Math.ceil(rows / REPOS / t.pagelen);
    console.log(`\n${t.name} (median of ${runs.length})`);
    console.log(
      `  rows                         ${fmt(rows)} in ${median(runs.map((r) => r.seconds)).toFixed(1)} s`,
    );
    console.log(`  replication                  ${fmt(median(runs.map((r) => r.rate)))} rows/s`);
    console.log(`  raw COPY of the same rows    ${fmt(median(runs.map((r) => r.copyRate)))} rows/s`);
    console.log(`  replication / raw COPY       ${median(runs.map((r) => r.rate / r.copyRate)).toFixed(2)}`);
    console.log(
      `  (raw COPY into a twin with the table's primary key: ${fmt(median(runs.map((r) => r.keyedCopyRate)))} rows/s, ` +
        `replication / that ${median(runs.map((r) => r.rate / r.keyedCopyRate)).toFixed(2)})`,
    );
    console.log(
      `  API requests                 ${fmt(requests)} (${((requests * 1000) / rows).toFixed(2)} per 1,000 rows; ` +
        `minimum ${fmt(minimum)}, ${((requests / minimum - 1) * 100).toFixed(1)}% above)`,
    );
    console.log(
      `  peak RSS                     ${(median(runs.map((r) => r.peakRss)) / 2 ** 20).toFixed(0)} MB ` +
        `(JS heap and buffers ${(median(runs.map((r) => r.peakHeap)) / 2 ** 20).toFixed(0)} MB)`,
    );
    console.log(
      `  CPU seconds                  connector ${median(runs.map((r) => r.cpu.connector)).toFixed(1)}, ` +
        `simulator ${median(runs.map((r) => r.cpu.simulator)).toFixed(1)}, ` +
        `PostgreSQL ${median(runs.map((r) => r.cpu.postgres)).toFixed(1)}`,
    );
  }
  const allRuns = [...measured.values()].flat();
  console.log(
    `\nall tables: ${fmt(totalRows)} rows, ${fmt(totalRows / totalSeconds)} rows/s; ` +
      `peak RSS of the replicating process ${(Math.max(...allRuns.map((r) => r.peakRss)) / 2 ** 20).toFixed(0)} MB`,
  );

  if (INCREMENTAL) await incremental(sim, replicate, totalFullRequests);
  rmSync(scratch, { recursive: true, force: true });
  await admin.end();
  await db.stop();
  clearInterval(sampler);
  sim.child.kill();
}

/**
 * After the last full load: 1% of the pull requests change and 1% more commits are pushed, spread over
 * every repository; one incremental run per table, compared with the requests of a full read.
 */
async function incremental(
  sim: { origin: string },
  replicate: (statement: string) => Promise<TaskRunResult>,
  fullRequests: number,
) {
  const admin = async (method: string, path: string, body: unknown) => {
    const answer = await fetch(`${sim.origin}/_sim${path}`, { method, body: JSON.stringify(body) });
    if (!answer.ok) throw new Error(`${method} /_sim${path}: ${answer.status} ${await answer.text()}`);
  };
  await admin("POST", "/clock", { advanceSeconds: 3600 });
  const slugs = await repositorySlugs(sim.origin);
  const changes: Record<string, number> = {};
  const pullRequests = Math.max(1, Math.round(REPOS * PULL_REQUESTS * 0.01));
  const pushed = Math.max(1, Math.round(REPOS * COMMITS * 0.01));
  if (TABLES.some((t) => t.name === "PullRequests")) {
    for (let i = 0; i < pullRequests; i++) {
      const slug = slugs[i % slugs.length];
      await admin("PUT", `/repositories/acme/${slug}/pullrequests/${1 + Math.floor(i / slugs.length)}`, {
        title: `Changed ${i}`,
      });
    }
    changes.PullRequests = pullRequests;
  }
  if (TABLES.some((t) => t.name === "Commits")) {
    for (let i = 0; i < slugs.length; i++) {
      const count = Math.floor(pushed / slugs.length) + (i < pushed % slugs.length ? 1 : 0);
      if (count > 0) await admin("POST", `/repositories/acme/${slugs[i]}/push`, { count });
    }
    changes.Commits = pushed;
  }
  let incrementalRequests = 0;
  console.log("");
  for (const t of TABLES) {
    const result = await replicate(`REPLICATE [${t.name}]`);
    const full = (await replicate(`REPLICATE [${t.name}] WITH TruncateTableData=true`)).requests;
    incrementalRequests += result.requests;
    console.log(
      `incremental ${t.name} after ${fmt(changes[t.name] ?? 0)} rows changed (1%): ${result.requests} requests ` +
        `vs ${full} for a full read (${((result.requests / full) * 100).toFixed(1)}%), ` +
        `${result.inserted} inserted, ${result.updated} updated`,
    );
  }
  if (TABLES.length > 1)
    console.log(
      `incremental, all tables: ${incrementalRequests} requests vs ${fullRequests} for full reads ` +
        `(${((incrementalRequests / fullRequests) * 100).toFixed(1)}%)`,
    );
}

async function repositorySlugs(origin: string): Promise<string[]> {
  const credentials = (await (await fetch(`${origin}/_sim/credentials`)).json()) as {
    apiTokens: { email: string; token: string }[];
  };
  const api = credentials.apiTokens[0];
  const authorization = `Basic ${Buffer.from(`${api?.email}:${api?.token}`).toString("base64")}`;
  const slugs: string[] = [];
  let url: string | undefined = `${origin}/2.0/repositories/acme?pagelen=100&fields=next,values.slug`;
  while (url) {
    const page = (await (await fetch(url, { headers: { authorization } })).json()) as {
      next?: string;
      values: { slug: string }[];
    };
    slugs.push(...page.values.map((r) => r.slug));
    url = page.next;
  }
  return slugs;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
