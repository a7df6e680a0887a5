/**
 * Per-test-file PostgreSQL databases.
 *
 * The vitest global setup (test/support/global-setup.ts) finds a server: TEST_DATABASE_URL, else
 * DATABASE_URL, else an embedded PostgreSQL in a temporary folder. Each test file then creates
 * its own database on that server:
 *
 *   const db = await useTestDatabase();   // at the top level of the test file
 *   await db.pool.query("CREATE TABLE ...");
 *
 * The database is dropped after the file's tests. With BITBRIDGE_KEEP_FAILED_TEST_DB=1 and an
 * external server, the database of a file with failing tests is kept (its URL is printed).
 */
import path from "node:path";
import pg from "pg";
import { afterAll, beforeEach, expect, inject } from "vitest";

export type TestServerSource = "TEST_DATABASE_URL" | "DATABASE_URL" | "embedded";

declare module "vitest" {
  export interface ProvidedContext {
    /** URL of the test server's maintenance database ("" when no server could be started). */
    testPostgresUrl: string;
    testPostgresSource: TestServerSource;
    /** Why there is no server, when testPostgresUrl is "". */
    testPostgresError: string;
  }
}

export interface TestDatabase {
  /** Database name, unique per call. */
  readonly name: string;
  /** Connection URL of this database. */
  readonly url: string;
  /** Pool connected to this database (ended by `drop`). */
  readonly pool: pg.Pool;
  /** Where the server came from. */
  readonly source: TestServerSource;
  /** A new, connected client of its own; the caller ends it. */
  connect(): Promise<pg.Client>;
  /** End the pool and drop the database (idempotent). */
  drop(): Promise<void>;
}

/** URL of the test server (its maintenance database), as provided by the global setup. */
export function testServerUrl(): string {
  const url = inject("testPostgresUrl");
  if (!url) {
    const reason = inject("testPostgresError") || "the vitest global setup did not provide one";
    throw new Error(`No PostgreSQL server for tests: ${reason}`);
  }
  return url;
}

/** The same URL pointing at another database on the same server. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/**
 * Create a fresh database on the test server. No hooks are registered: call `drop()` yourself.
 * `label` becomes part of the name (default: the current test file's name).
 */
export async function createTestDatabase(label?: string): Promise<TestDatabase> {
  const serverUrl = testServerUrl();
  const source = inject("testPostgresSource");
  const name = uniqueName(label ?? currentFileLabel());
  await admin(serverUrl, `CREATE DATABASE ${pg.escapeIdentifier(name)}`);

  const url = withDatabase(serverUrl, name);
  const pool = new pg.Pool({ connectionString: url, max: 5 });
  pool.on("error", () => {}); // idle clients killed by the server must not crash the worker
  let dropping: Promise<void> | undefined;

  return {
    name,
    url,
    pool,
    source,
    async connect() {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      return client;
    },
    drop() {
      dropping ??= (async () => {
        await pool.end();
        await admin(serverUrl, async (client) => {
          // A pool's end() resolves before its clients' sessions have closed: dropping WITH (FORCE) at once
          // would terminate them mid-goodbye, and a test file's own pool would report that as an error.
          for (let waited = 0; waited < 5000; waited += 50) {
            const open = await client.query<{ n: number }>(
              "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1",
              [name],
            );
            if ((open.rows[0]?.n ?? 0) === 0) break;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
          await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
        });
      })();
      return dropping;
    },
  };
}

/**
 * Create a database for the current test file and drop it after the file's tests.
 * Call it at the top level of a test file (or inside `describe`), not inside a hook or test.
 */
export async function useTestDatabase(label?: string): Promise<TestDatabase> {
  let failed = false;
  let database: TestDatabase | undefined;
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      failed = true;
    });
  });
  afterAll(async () => {
    if (!database) return;
    const keep =
      failed && database.source !== "embedded" && process.env.BITBRIDGE_KEEP_FAILED_TEST_DB === "1";
    if (keep) {
      await database.pool.end();
      console.warn(`[test-db] kept database of failed test file: ${redact(database.url)}`);
      return;
    }
    await database.drop();
  });
  database = await createTestDatabase(label);
  return database;
}

function currentFileLabel(): string {
  const file = expect.getState().testPath;
  return file ? path.basename(file).replace(/\.test\.[cm]?[jt]sx?$/, "") : "test";
}

/** `bbt_<label>_<time>_<random>`: lower case, at most 63 bytes, unique across parallel runs. */
function uniqueName(label: string): string {
  const slug = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .slice(0, 30);
  const random = Math.random().toString(36).slice(2, 8).padEnd(6, "0");
  return `bbt_${slug || "db"}_${Date.now().toString(36)}_${random}`;
}

async function admin(
  serverUrl: string,
  work: string | ((client: pg.Client) => Promise<void>),
): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  client.on("error", () => {});
  await client.connect();
  try {
    if (typeof work === "string") await client.query(work);
    else await work(client);
  } finally {
    await client.end();
  }
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "<unparsable URL>";
  }
}
