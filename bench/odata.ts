/**
 * The OData service under Salesforce Connect's request shapes, next to the same SQL sent directly with
 * the driver in the same run (the ceiling): requests/s and latency percentiles at 50 connections.
 *
 *   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:odata
 *   ROWS=1000000 CONNECTIONS=50 SECONDS=10 ROUNDS=3 WARMUP=2 POOL_SIZE=20 SHAPES=select,filter,key-during-searches ...
 *
 * `contains/nocount` is the `contains` search without `$count` (Salesforce's 4.0 adapter with row counts off).
 * Shapes named `.../uncached` run against a second service started with COUNT_CACHE=off: every count counted,
 * as after each change of the table.
 *
 * BENCH_SERVER_NODE_ARGS passes Node options to the service's process (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
 * to see where its time goes).
 *
 * Each shape is first warmed up on both sides (connections opened, code compiled, pages cached), then
 * measured ROUNDS times, alternating which side goes first; the figures are medians of the rounds and the
 * ratio is the median of the per-round ratios, so a burst of load from elsewhere skews one round, not all.
 *
 * The table (schema odata_bench, shaped like replicated pull requests) is created once and reused while
 * its row count matches ROWS; it is shared with the `$search` index and contains indexes on title and
 * author_display_name, as `bitbridge odata share --search-index --contains-index ...` would, and vacuumed
 * as autovacuum would keep it. Without BENCH_DATABASE_URL an embedded PostgreSQL is started.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import autocannon from "autocannon";
import pg from "pg";
import { migrate } from "../src/app/database.js";
import { DEFAULT_POOL_SIZE } from "../src/cli/published-database.js";
import { trackChanges } from "../src/odata/change-versions.js";
import { entityQuery, MAX_PAGE_SIZE, pageQuery } from "../src/odata/collection.js";
import { CredentialStore } from "../src/odata/credentials.js";
import { parseKeyPredicate, parseQueryOptions } from "../src/odata/parser/index.js";
import { createContainsIndexes, createSearchIndex } from "../src/odata/search-index.js";
import { publishedSessionOptions } from "../src/odata/session-options.js";
import { ShareStore } from "../src/odata/shares.js";
import { SkipTokens } from "../src/odata/skiptoken.js";
import { StatementLanes, type Statements, slowLimit } from "../src/odata/statement-lanes.js";
import { benchDatabase } from "./database.js";

const ROWS = Number(process.env.ROWS ?? 1_000_000);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 50);
const SECONDS = Number(process.env.SECONDS ?? 10);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const WARMUP = Number(process.env.WARMUP ?? 2);
/** Seconds of key lookups each service process gets once after it starts, before any shape. */
const SERVICE_WARMUP = Number(process.env.SERVICE_WARMUP ?? 10);
const SET = "pull_requests";

async function prepare(pool: pg.Pool): Promise<void> {
  const exists = await pool.query("SELECT to_regclass('odata_bench.pull_requests') IS NOT NULL AS e");
  if (exists.rows[0]?.e) {
    const count = await pool.query<{ n: string }>("SELECT count(*) AS n FROM odata_bench.pull_requests");
    if (Number(count.rows[0]?.n) === ROWS) return;
  }
  process.stderr.write(`creating odata_bench.pull_requests with ${ROWS.toLocaleString("en-US")} rows...\n`);
  await pool.query(`
    DROP SCHEMA IF EXISTS odata_bench CASCADE;
    CREATE SCHEMA odata_bench;
    CREATE TABLE odata_bench.pull_requests (
      repository_uuid text NOT NULL, id integer NOT NULL, title text NOT NULL, description text,
      state text NOT NULL, author_display_name text, source_branch text, destination_branch text,
      comment_count integer NOT NULL, task_count integer NOT NULL, created_on timestamptz NOT NULL,
      updated_on timestamptz NOT NULL, merge_commit_hash text, participants jsonb,
      bb_synced_at timestamptz NOT NULL DEFAULT now(), bb_deleted_at timestamptz,
      PRIMARY KEY (repository_uuid, id));
    INSERT INTO odata_bench.pull_requests
    SELECT '{' || md5((n % 200)::text) || '}', n / 200 + 1,
           CASE WHEN n % 50 = 0 THEN 'Acme integration ' ELSE 'Improve module ' END || n,
           repeat('Details of change ' || n || '. ', 4),
           (ARRAY['OPEN', 'MERGED', 'DECLINED', 'SUPERSEDED'])[1 + n % 4], 'Developer ' || (n % 997),
           'feature/' || n, 'main', n % 17, n % 5,
           timestamptz '2020-01-01' + make_interval(secs => n * 97),
           timestamptz '2020-01-01' + make_interval(secs => n * 97 + (n % 1000) * 3600),
           CASE WHEN n % 4 = 1 THEN md5(n::text) END, jsonb_build_array('u' || (n % 50))
    FROM generate_series(0, ${ROWS - 1}) AS n;
    CREATE INDEX ON odata_bench.pull_requests (updated_on);
    ANALYZE odata_bench.pull_requests;`);
}

/** One request's database work, as the service does it. */
type Request = (db: Statements) => Promise<unknown>;

interface Figures {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
}

/**
 * The load generator: wrk when installed (written in C, it takes far less of the machine's two cores than
 * the service it measures), else autocannon; LOAD=wrk|autocannon chooses.
 */
const LOAD = process.env.LOAD ?? (spawnSync("wrk", ["--version"]).error ? "autocannon" : "wrk");

async function viaOData(origin: string, auth: string, path: string, seconds = SECONDS): Promise<Figures> {
  return LOAD === "wrk" ? viaWrk(origin, auth, path, seconds) : viaAutocannon(origin, auth, path, seconds);
}

async function viaWrk(origin: string, auth: string, path: string, seconds: number): Promise<Figures> {
  const run = spawnSync(
    "wrk",
    [
      "-t1",
      `-c${CONNECTIONS}`,
      `-d${seconds}s`,
      "--timeout",
      "30s",
      "--latency",
      "-H",
      `Authorization: ${auth}`,
      `${origin}/odata/v4/${path.replace(/ /g, "%20").replace(/'/g, "%27")}`,
    ],
    { encoding: "utf8" },
  );
  if (run.status !== 0) throw new Error(`wrk failed: ${run.stderr || run.stdout}`);
  const out = run.stdout;
  const ms = (label: string): number => {
    const m = new RegExp(`^\\s*${label}%\\s+([\\d.]+)(us|ms|s)\\s*$`, "m").exec(out);
    if (!m) throw new Error(`no ${label}% latency in wrk's output:\n${out}`);
    const value = Number(m[1]);
    return m[2] === "us" ? value / 1000 : m[2] === "s" ? value * 1000 : value;
  };
  const total = /(\d+) requests in/.exec(out);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: Number(total?.[1] ?? 0) / seconds,
    p50: ms("50"),
    p99: ms("99"),
    errors: Number(non2xx?.[1] ?? 0) + (socket ? socket.slice(1).reduce((n, v) => n + Number(v), 0) : 0),
  };
}

async function viaAutocannon(origin: string, auth: string, path: string, seconds: number): Promise<Figures> {
  const result = await autocannon({
    url: `${origin}/odata/v4/${path}`,
    connections: CONNECTIONS,
    duration: seconds,
    timeout: 30,
    headers: { authorization: auth },
  });
  return {
    rps: result.requests.total / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.non2xx + result.errors,
  };
}

/** Connections of the service's pool and of the direct side's (as BITBRIDGE_ODATA_POOL_SIZE sets the service's). */
const POOL_SIZE = Number(process.env.POOL_SIZE ?? DEFAULT_POOL_SIZE);

/**
 * The direct side: a pool as large as the service's, with its session settings (statement timeout included,
 * so slow shapes fail alike on both sides), with the service's lane for slow statements (see StatementLanes),
 * so that both sides run as many statements of a shape at once.
 */
function directPool(url: string): { pool: pg.Pool; statements: Statements } {
  const pool = new pg.Pool({
    connectionString: url,
    max: POOL_SIZE,
    options: publishedSessionOptions(30_000),
  });
  return { pool, statements: new StatementLanes(pool) };
}

/** The service's own SQL for `path`, run by `CONNECTIONS` loops over `db`. */
async function direct(db: Statements, request: Request, seconds = SECONDS): Promise<Figures> {
  return (await directMix(db, [{ request, loops: CONNECTIONS }], seconds))[0] as Figures;
}

/** Several kinds of request at once, each by its own number of loops over `db`; figures per kind. */
async function directMix(
  db: Statements,
  loads: readonly { request: Request; loops: number }[],
  seconds = SECONDS,
): Promise<Figures[]> {
  const start = performance.now();
  const until = start + seconds * 1000;
  return Promise.all(
    loads.map(async ({ request, loops }) => {
      const latencies: number[] = [];
      const perSecond = new Map<number, number>();
      let errors = 0;
      await Promise.all(
        Array.from({ length: loops }, async () => {
          while (performance.now() < until) {
            const t = performance.now();
            try {
              await request(db);
            } catch {
              errors++;
            }
            const done = performance.now();
            latencies.push(done - t);
            const second = Math.floor((done - start) / 1000);
            perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
          }
        }),
      );
      latencies.sort((a, b) => a - b);
      const at = (q: number) =>
        latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
      const completed = [...perSecond.entries()]
        .filter(([sec]) => sec < seconds)
        .reduce((n, [, c]) => n + c, 0);
      return { rps: completed / seconds, p50: at(0.5), p99: at(0.99), errors };
    }),
  );
}

/**
 * Waits (up to a minute) until no statement on the bench table is still running: a slow shape's queries
 * go on after its load stops, and must not be counted against the next shape.
 */
async function settle(pool: pg.Pool): Promise<void> {
  for (let waited = 0; waited < 60_000; waited += 500) {
    const busy = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE state = 'active' AND pid <> pg_backend_pid() AND query LIKE '%odata_bench%'`,
    );
    if ((busy.rows[0]?.n ?? 0) === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

function medianFigures(rounds: readonly Figures[]): Figures {
  return {
    rps: median(rounds.map((r) => r.rps)),
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    errors: rounds.reduce((n, r) => n + r.errors, 0),
  };
}

/**
 * Detail pages while a burst of searches holds more statements than the pool has connections (as when many
 * Salesforce users search at once): key lookups by 20 loops next to `contains` searches by 30, through the
 * service's database layer (searches learned as slow keep to their lane) and through a plain pool of the same
 * size, alternating, ROUNDS times each. The database work alone, without HTTP, on both sides.
 */
async function keyDuringSearches(
  settlePool: pg.Pool,
  url: string,
  requestFor: (name: string, query: string) => Request,
  shapes: readonly [string, string][],
): Promise<void> {
  const search = shapes.find(([name]) => name === "contains/nocount")?.[1] ?? "";
  const loads = [
    { request: requestFor("key", ""), loops: 20 },
    { request: requestFor("contains/nocount", search), loops: 30 },
  ];
  const laned = directPool(url);
  const plain = directPool(url);
  await directMix(laned.statements, loads, WARMUP);
  await settle(settlePool);
  const rounds: { laned: Figures[]; plain: Figures[] } = { laned: [], plain: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const side of round % 2 === 0 ? (["laned", "plain"] as const) : (["plain", "laned"] as const)) {
      const db: Statements = side === "laned" ? laned.statements : plain.pool;
      rounds[side].push(...(await directMix(db, loads)).slice(0, 1));
      await settle(settlePool);
    }
  }
  await laned.pool.end();
  await plain.pool.end();
  const f = (figures: Figures) =>
    `${figures.rps.toFixed(0)} lookups/s, p50 ${figures.p50.toFixed(1)} ms, p99 ${figures.p99.toFixed(1)} ms`;
  console.log(
    `\nkey lookups (20 loops) during contains searches (30 loops), pool of ${POOL_SIZE}, medians of ${ROUNDS} rounds:`,
  );
  console.log(
    `  searches kept to ${slowLimit(POOL_SIZE)} connections (the service)  ${f(medianFigures(rounds.laned))}`,
  );
  console.log(`  plain pool                                      ${f(medianFigures(rounds.plain))}`);
}

async function main() {
  const db = await benchDatabase();
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  await migrate(pool);
  await prepare(pool);
  const data = new pg.Pool({ connectionString: db.url, max: 2, options: "-c TimeZone=UTC" });
  const shares = new ShareStore(pool, data);
  if (!(await shares.list()).some((s) => s.entitySet === SET))
    await shares.share("odata_bench", "pull_requests");
  const model = await shares.model();
  const set = model.entitySets.find((s) => s.name === SET);
  if (!set) throw new Error("the bench table is not shared");
  // What `bitbridge odata share --search-index --contains-index title,author_display_name` sets up.
  const admin = await pool.connect();
  try {
    process.stderr.write("ensuring the $search and contains indexes...\n");
    await createSearchIndex(admin, set);
    await createContainsIndexes(admin, set, ["title", "author_display_name"]);
    // What sharing with a connection that owns the table installs: counts cached until the table changes.
    const tracking = await trackChanges(admin, "odata_bench", "pull_requests");
    if (!tracking.installed) throw new Error(`change tracking: ${tracking.reason}`);
    // A table as autovacuum keeps it (the default), even where it is off (as on some test machines): without
    // a visibility map, counts read the whole heap instead of an index.
    await admin.query("VACUUM (ANALYZE) odata_bench.pull_requests");
  } finally {
    admin.release();
  }
  const user = `bench${randomBytes(3).toString("hex")}`;
  const issued = await new CredentialStore(pool).create(user, 100_000_000);
  const auth = `Basic ${Buffer.from(`${issued.username}:${issued.password}`).toString("base64")}`;
  const key = randomBytes(32);

  /** The service in a process of its own; `env` adds to this process's environment. */
  const children: ChildProcess[] = [];
  const startServer = async (env: Record<string, string>): Promise<string> => {
    const child = spawn(
      process.execPath,
      [
        ...(process.env.BENCH_SERVER_NODE_ARGS?.split(" ").filter(Boolean) ?? []),
        "--import",
        "tsx",
        "bench/odata-server.ts",
        db.url,
        key.toString("hex"),
        String(POOL_SIZE),
      ],
      { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ...env } },
    );
    children.push(child);
    const line = await new Promise<string>((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).once("line", resolve);
    });
    return (JSON.parse(line) as { origin: string }).origin;
  };
  process.once("exit", () => {
    for (const child of children) child.kill();
  });
  const origin = await startServer({});
  let uncachedOrigin: string | undefined;

  // A deep server-driven page: the token of the row 90% of the way in (900,000 of 1,000,000), signed as the service would.
  const middle = await pool.query<{ repository_uuid: string; id: number }>(
    "SELECT repository_uuid, id FROM odata_bench.pull_requests ORDER BY 1, 2 OFFSET $1 LIMIT 1",
    [Math.floor(ROWS * 0.9)],
  );
  const deep = middle.rows[0];
  const token = new SkipTokens(key).sign(
    { after: [deep?.repository_uuid ?? "", String(deep?.id ?? 0)], sent: Math.floor(ROWS * 0.9) },
    `${SET}?$count=false`,
  );
  const sample = await pool.query<{ repository_uuid: string; id: number }>(
    "SELECT repository_uuid, id FROM odata_bench.pull_requests ORDER BY id DESC LIMIT 1",
  );
  const one = sample.rows[0];
  const shapes: [string, string][] = [
    ["select", "$select=id,title,state&$count=true&$top=25"],
    ["filter", "$filter=state eq 'OPEN' and comment_count ge 3&$orderby=updated_on desc&$top=25"],
    [
      "contains",
      "$select=id,title&$count=true&$filter=contains(title,'Acme') eq true or contains(author_display_name,'Acme') eq true&$top=25",
    ],
    ["search", "$select=id,title&$count=true&$search=Acme&$top=25"],
    // Salesforce's 4.0 adapter with row counts off: no count to say the matches are few.
    [
      "contains/nocount",
      "$select=id,title&$filter=contains(title,'Acme') eq true or contains(author_display_name,'Acme') eq true&$top=25",
    ],
    // The same with every count counted, as after each change of the table (or with COUNT_CACHE=off).
    ["select/uncached", "$select=id,title,state&$count=true&$top=25"],
    [
      "contains/uncached",
      "$select=id,title&$count=true&$filter=contains(title,'Acme') eq true or contains(author_display_name,'Acme') eq true&$top=25",
    ],
    ["search/uncached", "$select=id,title&$count=true&$search=Acme&$top=25"],
    ["client-page", "$select=id,title,state,updated_on&$top=500&$skip=5000"],
    ["server-page-1", "$count=false"],
    ["server-page-deep", `$count=false&$skiptoken=${encodeURIComponent(token)}`],
    ["key", `(repository_uuid='${encodeURIComponent(one?.repository_uuid ?? "")}',id=${one?.id})`],
  ];
  /** The service's database work for one request of a shape, in the service's order. */
  const requestFor = (name: string, query: string): Request => {
    if (name === "key") {
      const key = parseKeyPredicate(`repository_uuid='${one?.repository_uuid ?? ""}',id=${one?.id}`);
      const statement = entityQuery(set, key, parseQueryOptions(""), false).statement;
      return (driver) => driver.query(statement);
    }
    const options = parseQueryOptions(query);
    const tokenValue = options.skiptoken
      ? new SkipTokens(key).verify(options.skiptoken, `${SET}?$count=false`)
      : undefined;
    const built = pageQuery({ set, options, pageSize: MAX_PAGE_SIZE, ieee754: false, token: tokenValue });
    const { page, filterFirst, boundedFirst, count } = built;
    // An index-led search counts first and then reads its page filter-first when the count is small; without
    // a count it reads a bounded number of matches first, and the page PostgreSQL's way only when they went
    // past the bound; anything else reads page and count at once.
    if (filterFirst && count)
      return async (driver) => {
        const n = Number((await driver.query<{ n: string }>(count.plain)).rows[0]?.n);
        await driver.query(n <= filterFirst.cap ? filterFirst.statement : page);
      };
    if (boundedFirst)
      return async (driver) => {
        const first = await driver.query<{ bb_found: string }>(boundedFirst.statement);
        const found = first.rows.length > 0 ? Number(first.rows[0]?.bb_found) : boundedFirst.skipped;
        if (found > boundedFirst.cap) await driver.query(page);
      };
    return (driver) => Promise.all([driver.query(page), count && driver.query(count.plain)]);
  };
  const wanted = process.env.SHAPES?.split(",");
  console.log(
    `${ROWS.toLocaleString("en-US")} rows, ${CONNECTIONS} connections, pools of ${POOL_SIZE} database connections on both sides (slow statement shapes on at most ${slowLimit(POOL_SIZE)} of them), load from ${LOAD}, ${SECONDS} s per measurement after ${WARMUP} s of warm-up, medians of ${ROUNDS} rounds (each service process first warmed up by ${SERVICE_WARMUP} s of key lookups); requests/s = completed requests / duration; latencies over every request`,
  );
  console.log("shape               OData req/s  p50 ms  p99 ms | direct req/s  p50 ms  p99 ms | ratio");
  // A service is measured as it runs for days, not as it starts: compiled code, grown heap, open connections.
  // Without this the first shape measured carried the start: select's p99 was several times longer when it
  // came first than when it came second.
  const keyPath = `${SET}${shapes.find(([name]) => name === "key")?.[1] ?? ""}`;
  const warmService = (target: string) => viaOData(target, auth, keyPath, SERVICE_WARMUP);
  await warmService(origin);
  for (const [name, query] of shapes) {
    if (wanted && !wanted.includes(name)) continue;
    const path = name === "key" ? `${SET}${query}` : `${SET}?${query}`;
    const request = requestFor(name, query);
    if (name.endsWith("/uncached") && !uncachedOrigin) {
      uncachedOrigin = await startServer({ COUNT_CACHE: "off" });
      await warmService(uncachedOrigin);
    }
    const target = name.endsWith("/uncached") ? (uncachedOrigin as string) : origin;
    await settle(pool);
    const { pool: driverPool, statements: driver } = directPool(db.url);
    await viaOData(target, auth, path, WARMUP);
    await direct(driver, request, WARMUP);
    const servedRounds: Figures[] = [];
    const rawRounds: Figures[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      if (round % 2 === 0) {
        servedRounds.push(await viaOData(target, auth, path));
        rawRounds.push(await direct(driver, request));
      } else {
        rawRounds.push(await direct(driver, request));
        servedRounds.push(await viaOData(target, auth, path));
      }
    }
    await driverPool.end();
    const served = medianFigures(servedRounds);
    const raw = medianFigures(rawRounds);
    // No ratio when the direct side completed nothing in a round (its statements all timed out).
    const ratio = rawRounds.some((r) => r.rps === 0)
      ? Number.NaN
      : median(servedRounds.map((r, i) => r.rps / (rawRounds[i]?.rps ?? 1)));
    const f = (n: number) => n.toFixed(1).padStart(7);
    console.log(
      `${name.padEnd(18)} ${f(served.rps)}  ${f(served.p50)} ${f(served.p99)} |     ${f(raw.rps)} ${f(raw.p50)} ${f(raw.p99)} | ${Number.isNaN(ratio) ? "  —" : ratio.toFixed(2)}${served.errors + raw.errors > 0 ? `  (errors: ${served.errors} OData, ${raw.errors} direct)` : ""}`,
    );
  }
  if (!wanted || wanted.includes("key-during-searches"))
    await keyDuringSearches(pool, db.url, requestFor, shapes);
  for (const child of children) child.kill("SIGTERM");
  await new CredentialStore(pool).revoke(user);
  await pool.end();
  await data.end();
  await db.stop();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
