/**
 * Reading Bitbucket through the connector: rows/s and API requests per 1,000 rows for PullRequests and
 * Commits at the simulator's medium scale, next to a raw walk of the same pages with the same client
 * (the ceiling: HTTP + JSON, no SQL, no column extraction), measured in the same run.
 *
 *   npm run bench:connector          # ROUNDS=3 by default
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { createClient } from "../src/bitbucket/client.js";
import { parseConnectionString } from "../src/bitbucket/connection-properties.js";
import { runQuery } from "../src/sql/execute.js";

const ROUNDS = Number(process.env.ROUNDS ?? 3);

interface Sim {
  child: ChildProcess;
  origin: string;
  email: string;
  apiToken: string;
}

async function startSim(): Promise<Sim> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "bench/sim-server.ts", "simulator", "{}", "", "medium"],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const line = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`simulator exited with ${code}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once("line", resolve);
  });
  // Never leave a simulator behind, whatever happens to this process.
  process.once("exit", () => child.kill());
  return { child, ...JSON.parse(line) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

async function main() {
  const sim = await startSim();
  const connection = `AuthScheme=APIToken;User=${sim.email};APIToken=${sim.apiToken};Workspace=acme;Url=${sim.origin}/2.0;RequestsPerHour=1000000;MaxConcurrency=4`;
  const props = parseConnectionString(connection);
  const newClient = () => createClient(props);

  const raw = async (path: string, params: Record<string, string | number | string[]>) => {
    const client = newClient();
    let rows = 0;
    const repos: string[] = [];
    for await (const page of client.pages<{ slug: string }>("/repositories/acme", { pagelen: 100 })) {
      repos.push(...page.values.map((r) => r.slug));
    }
    const started = performance.now();
    await Promise.all(
      chunk(repos, 4).map(async (slugs) => {
        for (const slug of slugs) {
          for await (const page of client.pages(`/repositories/acme/${slug}/${path}`, params))
            rows += page.values.length;
        }
      }),
    );
    return { rows, seconds: (performance.now() - started) / 1000, requests: client.counts().requests };
  };
  const viaSql = async (sql: string) => {
    const client = newClient();
    const started = performance.now();
    const result = await runQuery(sql, { client, workspace: "acme", concurrency: 4 });
    if (result.kind !== "rows") throw new Error("expected rows");
    return {
      rows: result.rows.length,
      seconds: (performance.now() - started) / 1000,
      requests: result.requests,
    };
  };

  const cases = [
    {
      name: "PullRequests (all states, pages of 50)",
      sql: "SELECT * FROM PullRequests",
      raw: () =>
        raw("pullrequests", {
          state: ["OPEN", "MERGED", "DECLINED", "SUPERSEDED"],
          pagelen: 50,
          fields: "+values.reviewers,+values.participants",
        }),
    },
    {
      name: "Commits (cursor pages of 100)",
      sql: "SELECT * FROM Commits",
      raw: () => raw("commits", { pagelen: 100 }),
    },
  ];
  console.log(
    `simulator: scale medium (workspace acme), ${ROUNDS} rounds, medians; a warm-up read fills the simulator's caches first\n`,
  );
  for (const c of cases) {
    await c.raw();
    const sqlRuns = [];
    const rawRuns = [];
    for (let i = 0; i < ROUNDS; i++) {
      sqlRuns.push(await viaSql(c.sql));
      rawRuns.push(await c.raw());
    }
    const first = sqlRuns[0] as { rows: number; requests: number };
    const sqlRate = median(sqlRuns.map((r) => r.rows / r.seconds));
    const rawRate = median(rawRuns.map((r) => r.rows / r.seconds));
    console.log(c.name);
    console.log(`  rows                      ${fmt(first.rows)}`);
    console.log(
      `  requests                  ${fmt(first.requests)} (${((first.requests * 1000) / first.rows).toFixed(1)} per 1,000 rows)`,
    );
    console.log(`  SELECT *                  ${fmt(sqlRate)} rows/s`);
    console.log(`  raw page walk (ceiling)   ${fmt(rawRate)} rows/s`);
    console.log(`  SELECT / raw              ${(sqlRate / rawRate).toFixed(2)}\n`);
  }
  const cutoffClient = newClient();
  const all = await runQuery("SELECT UpdatedOn FROM PullRequests ORDER BY UpdatedOn DESC LIMIT 1", {
    client: cutoffClient,
    workspace: "acme",
  });
  if (all.kind === "rows") {
    const newest = new Date(String(all.rows[0]?.[0]));
    const since = new Date(newest.getTime() - 7 * 24 * 3600 * 1000).toISOString();
    const incremental = await viaSql(`SELECT Id FROM PullRequests WHERE UpdatedOn >= '${since}'`);
    console.log(
      `PullRequests changed in the last week of data: ${fmt(incremental.rows)} rows in ${fmt(incremental.requests)} requests (q=updated_on>=...)`,
    );
  }
  console.log(`peak RSS of the benchmark process: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
  sim.child.kill();
}

function chunk<T>(items: T[], n: number): T[][] {
  const out: T[][] = Array.from({ length: n }, () => []);
  for (const [i, item] of items.entries()) out[i % n]?.push(item);
  return out.filter((c) => c.length > 0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
