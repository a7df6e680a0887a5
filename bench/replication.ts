/**
 * Replication end to end: Bitbucket simulator → connector → PostgreSQL, next to a raw COPY of the same
 * rows into the same PostgreSQL in the same run (the ceiling). Also API requests per 1,000 rows, peak
 * memory of this process, and the requests of an incremental run after 1% of the pull requests changed.
 *
 *   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:replication
 *   REPOS=40 COMMITS=25000 PULL_REQUESTS=400 ...   # one million commits (scale "large" and beyond)
 *
 * Without BENCH_DATABASE_URL (or DATABASE_URL) an embedded PostgreSQL is started in a temporary folder.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import pg from "pg";
import { from as copyFrom, to as copyTo } from "pg-copy-streams";
import { startEmbeddedPostgres } from "../src/app/embedded-postgres.js";
import { createClient } from "../src/bitbucket/client.js";
import { parseConnectionString } from "../src/bitbucket/connection-properties.js";
import { runReplicateTask } from "../src/engine/task-runner.js";

const REPOS = Number(process.env.REPOS ?? 8);
const COMMITS = Number(process.env.COMMITS ?? 12_000);
const PULL_REQUESTS = Number(process.env.PULL_REQUESTS ?? 400);

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
    ["--import", "tsx", "bench/sim-server.ts", "simulator", JSON.stringify(counts), "", "tiny"],
    {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, WARM: "1" },
    },
  );
  const line = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`simulator exited with ${code}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once("line", resolve);
  });
  process.once("exit", () => child.kill());
  return { child, ...JSON.parse(line) };
}

async function database(): Promise<{ url: string; stop: () => Promise<void> }> {
  const url = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL;
  if (url) return { url, stop: async () => {} };
  const dir = mkdtempSync(join(tmpdir(), "bitbridge-bench-"));
  chmodSync(dir, 0o711);
  const server = await startEmbeddedPostgres({ dataDir: dir, ephemeral: true });
  return {
    url: server.url,
    stop: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 50);

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

async function main() {
  const sim = await startSim();
  const db = await database();
  const connection = `AuthScheme=APIToken;User=${sim.email};APIToken=${sim.apiToken};Workspace=acme;Url=${sim.origin}/2.0;RequestsPerHour=1000000`;
  const props = parseConnectionString(connection);
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  await admin.query("DROP SCHEMA IF EXISTS bench CASCADE");
  const replicate = async (statement: string) =>
    runReplicateTask({
      statement,
      client: createClient(props),
      workspace: "acme",
      destination: { config: { connectionString: db.url }, schema: "bench" },
    });

  console.log(
    `simulator: ${REPOS} repositories x ${fmt(COMMITS)} commits, ${fmt(PULL_REQUESTS)} pull requests each (pre-serialised)`,
  );
  peakRss = process.memoryUsage.rss();
  for (const [name, statement, table] of [
    ["Commits", "REPLICATE [Commits]", "commits"],
    ["PullRequests", "REPLICATE [PullRequests]", "pull_requests"],
  ] as const) {
    const result = await replicate(statement);
    const rate = result.rowsRead / (result.durationMs / 1000);
    // The ceiling: the same rows, already in PostgreSQL's text format, COPY'd into an empty twin table.
    await admin.query(`CREATE TABLE bench.copy_${table} (LIKE bench.${table})`);
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      const out = admin.query(copyTo(`COPY bench.${table} TO STDOUT`));
      out.on("data", (c: Buffer) => chunks.push(c));
      out.on("end", () => resolve());
      out.on("error", reject);
    });
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      const stream = admin.query(copyFrom(`COPY bench.copy_${table} FROM STDIN`));
      stream.on("finish", () => resolve());
      stream.on("error", reject);
      for (const c of chunks) stream.write(c);
      stream.end();
    });
    const copyRate = result.rowsRead / ((performance.now() - started) / 1000);
    const minimum =
      1 + Math.ceil(REPOS) * Math.ceil(result.rowsRead / REPOS / (table === "commits" ? 100 : 50));
    console.log(`\n${name}`);
    console.log(
      `  rows                         ${fmt(result.rowsRead)} in ${(result.durationMs / 1000).toFixed(1)} s`,
    );
    console.log(`  replication                  ${fmt(rate)} rows/s`);
    console.log(`  raw COPY of the same rows    ${fmt(copyRate)} rows/s`);
    console.log(`  replication / raw COPY       ${(rate / copyRate).toFixed(2)}`);
    console.log(
      `  API requests                 ${fmt(result.requests)} (${((result.requests * 1000) / result.rowsRead).toFixed(2)} per 1,000 rows; minimum about ${fmt(minimum)})`,
    );
  }
  console.log(`\npeak RSS of the replicating process: ${(peakRss / 1024 / 1024).toFixed(0)} MB`);

  // Incremental: change 1% of the pull requests after a complete run, run again, compare with a full read.
  const total = REPOS * PULL_REQUESTS;
  const changes = Math.max(1, Math.round(total * 0.01));
  await fetch(`${sim.origin}/_sim/clock`, { method: "POST", body: JSON.stringify({ advanceSeconds: 3600 }) });
  const slugs = ["web", "api", "mobile-app", "billing", "infra", "docs", "auth-service", "search"].slice(
    0,
    Math.min(8, REPOS),
  );
  for (let i = 0; i < changes; i++) {
    const answer = await fetch(
      `${sim.origin}/_sim/repositories/acme/${slugs[i % slugs.length]}/pullrequests/${1 + Math.floor(i / slugs.length)}`,
      {
        method: "PUT",
        body: JSON.stringify({ title: `Changed ${i}` }),
      },
    );
    if (!answer.ok) throw new Error(`changing a pull request: ${answer.status}`);
  }
  const incremental = await replicate("REPLICATE [PullRequests]");
  const fullRequests = (await replicate("REPLICATE [PullRequests] WITH TruncateTableData=true")).requests;
  console.log(
    `\nincremental PullRequests after ${changes} of ${fmt(total)} changed: ${incremental.requests} requests vs ${fullRequests} for a full read (${((incremental.requests / fullRequests) * 100).toFixed(1)}%), ${incremental.updated} rows updated`,
  );
  await admin.end();
  await db.stop();
  clearInterval(sampler);
  sim.child.kill();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
