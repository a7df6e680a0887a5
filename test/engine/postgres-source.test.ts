import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BitbridgeError } from "../../src/app/errors.js";
import { runPostgresSourceTask } from "../../src/engine/postgres-source-runner.js";
import { createTestDatabase, type TestDatabase, useTestDatabase } from "../support/postgres.js";

const db = await useTestDatabase("pg_source");
let src: TestDatabase;

beforeAll(async () => {
  src = await createTestDatabase("pg_source_src");
  await src.pool.query(`
    CREATE SCHEMA shop;
    CREATE TABLE shop.orders (
      id integer PRIMARY KEY,
      status text NOT NULL,
      total numeric(10, 2),
      big bigint,
      paid boolean,
      updated_at timestamptz NOT NULL,
      placed timestamp,
      due date,
      meta jsonb,
      tags text[],
      ref uuid
    );
    INSERT INTO shop.orders VALUES
      (1, 'open', 10.50, 9007199254740993, false, '2026-01-01T10:00:00.123456Z', '2026-01-01 09:00:00', '2026-02-01', '{"a": 1}', '{x,y}', '6f1c1d0e-0000-4000-8000-000000000001'),
      (2, 'closed', 20.00, 2, true, '2026-01-02T10:00:00Z', NULL, NULL, NULL, NULL, NULL),
      (3, 'open', 5.25, 3, false, '2026-01-03T10:00:00Z', NULL, NULL, '[1, 2]', '{}', NULL);
    CREATE VIEW shop.open_orders_v AS SELECT id, total FROM shop.orders WHERE status = 'open';
    CREATE VIEW shop.totals AS SELECT status, sum(total) AS total FROM shop.orders GROUP BY status;
  `);
});

afterAll(async () => {
  await src.drop();
});

const destination = { config: { connectionString: db.url }, schema: "dw" };

function replicate(statement: string, options: { full?: boolean; schema?: string } = {}) {
  return runPostgresSourceTask({
    statement,
    source: { config: { connectionString: src.url }, schema: options.schema ?? "shop" },
    destination,
    full: options.full,
  });
}

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  return (await db.pool.query(sql)).rows;
}

async function failure(promise: Promise<unknown>): Promise<BitbridgeError> {
  try {
    await promise;
  } catch (error) {
    return error as BitbridgeError;
  }
  throw new Error("expected a failure");
}

describe("PostgreSQL source", () => {
  it("replicates a table with its key and every type mapped", async () => {
    const result = await replicate("REPLICATE [orders]");
    expect(result).toMatchObject({
      sourceTable: "orders",
      destinationTable: "dw.orders",
      rowsRead: 3,
      inserted: 3,
      requests: 0,
    });
    const types = await rows(
      `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
         FROM pg_attribute a WHERE a.attrelid = 'dw.orders'::regclass AND a.attnum > 0 ORDER BY a.attnum`,
    );
    expect(Object.fromEntries(types.map((t) => [t.name, t.type]))).toMatchObject({
      id: "integer",
      status: "text",
      total: "numeric",
      big: "bigint",
      paid: "boolean",
      updated_at: "timestamp with time zone",
      placed: "timestamp with time zone",
      due: "timestamp with time zone",
      meta: "jsonb",
      tags: "text",
      ref: "text",
    });
    const key = await rows(
      `SELECT array_agg(a.attname::text) AS key FROM pg_index i
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
        WHERE i.indrelid = 'dw.orders'::regclass AND i.indisprimary`,
    );
    expect(key[0]?.key).toEqual(["id"]);
    const first = (await rows("SELECT * FROM dw.orders WHERE id = 1"))[0];
    expect(first).toMatchObject({
      status: "open",
      total: "10.50",
      big: "9007199254740993",
      paid: false,
      meta: { a: 1 },
      tags: "{x,y}",
      ref: "6f1c1d0e-0000-4000-8000-000000000001",
    });
    const instants = await rows(
      `SELECT to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS updated,
              placed AT TIME ZONE 'UTC' AS placed, due AT TIME ZONE 'UTC' AS due
         FROM dw.orders WHERE id = 1`,
    );
    expect(instants[0]?.updated).toBe("2026-01-01 10:00:00.123456");
    expect(String(instants[0]?.placed)).toBe(String(new Date(2026, 0, 1, 9)));
    expect(String(instants[0]?.due)).toBe(String(new Date(2026, 1, 1)));

    const again = await replicate("REPLICATE [orders]");
    expect(again).toMatchObject({ rowsRead: 3, inserted: 0, updated: 0, unchanged: 3, deleted: 0 });
  });

  it("replicates a view, keyed by its id column; a qualifier naming the source schema is fine", async () => {
    const result = await replicate("REPLICATE [open_v] FROM shop.open_orders_v");
    expect(result).toMatchObject({ rowsRead: 2, inserted: 2 });
    expect(await rows("SELECT id, total FROM dw.open_v ORDER BY id")).toEqual([
      { id: 1, total: "10.50" },
      { id: 3, total: "5.25" },
    ]);
    await src.pool.query("UPDATE shop.orders SET status = 'closed' WHERE id = 3");
    try {
      expect(await replicate("REPLICATE [open_v] FROM shop.open_orders_v")).toMatchObject({
        rowsRead: 1,
        deleted: 1,
      });
      const gone = await rows("SELECT id FROM dw.open_v WHERE bb_deleted_at IS NOT NULL");
      expect(gone).toEqual([{ id: 3 }]);
    } finally {
      await src.pool.query("UPDATE shop.orders SET status = 'open' WHERE id = 3");
    }
  });

  it("selects, renames and computes columns, and filters in the source", async () => {
    const result = await replicate(
      "REPLICATE [open_orders] SELECT id, total * 2 AS double_total, status AS state FROM orders WHERE status = 'open' AND paid = false",
    );
    // Only the matching rows leave the source.
    expect(result).toMatchObject({ rowsRead: 2, inserted: 2 });
    expect(await rows("SELECT id, double_total, state FROM dw.open_orders ORDER BY id")).toEqual([
      { id: 1, double_total: "21.00", state: "open" },
      { id: 3, double_total: "10.50", state: "open" },
    ]);
  });

  it("reads only what changed since the checkpoint with IncrementalCheckColumn", async () => {
    await src.pool.query(`
      CREATE TABLE shop.items (id integer PRIMARY KEY, name text, updated_at timestamptz NOT NULL);
      INSERT INTO shop.items SELECT n, 'item ' || n, '2026-03-01'::timestamptz + n * interval '1 minute'
        FROM generate_series(1, 10) n;`);
    const statement =
      "REPLICATE [open_items] SELECT id, name FROM items WHERE id <> 7 WITH IncrementalCheckColumn='updated_at', BatchSize=3";
    expect(await replicate(statement)).toMatchObject({ rowsRead: 9, inserted: 9 });
    const state = await rows("SELECT state FROM dw.bb_replication_state WHERE table_name = 'open_items'");
    expect(state[0]?.state).toMatchObject({ cursor: "2026-03-01 00:10:00+00" });

    await src.pool.query(`
      UPDATE shop.items SET name = 'renamed', updated_at = '2026-03-02' WHERE id = 2;
      INSERT INTO shop.items VALUES (11, 'item 11', '2026-03-02 00:01'), (12, 'item 12', '2026-03-02 00:02');`);
    // The changed rows, and the row at the checkpoint again (ties are never lost).
    expect(await replicate(statement)).toMatchObject({
      rowsRead: 4,
      inserted: 2,
      updated: 1,
      unchanged: 1,
    });
    expect(await rows("SELECT name FROM dw.open_items WHERE id = 2")).toEqual([{ name: "renamed" }]);
    expect(await replicate(statement)).toMatchObject({ rowsRead: 1, unchanged: 1 });
    expect(await replicate(statement, { full: true })).toMatchObject({ rowsRead: 11, unchanged: 11 });

    // Deletions: keys are read again once ReconcileInterval (default a day) has passed.
    await src.pool.query("DELETE FROM shop.items WHERE id = 5");
    expect(await replicate(statement)).toMatchObject({ rowsRead: 1, deleted: 0 });
    expect(await replicate(`${statement}, ReconcileInterval=0`)).toMatchObject({
      rowsRead: 1 + 10,
      deleted: 1,
    });
    const gone = await rows("SELECT id FROM dw.open_items WHERE bb_deleted_at IS NOT NULL");
    expect(gone).toEqual([{ id: 5 }]);
  });

  it("follows an integer column of an append-only table", async () => {
    await src.pool.query(`
      CREATE TABLE shop.events (seq bigint PRIMARY KEY, kind text);
      INSERT INTO shop.events SELECT n, 'e' || n FROM generate_series(1, 5) n;`);
    const statement = "REPLICATE [events] WITH IncrementalCheckColumn='seq'";
    expect(await replicate(statement)).toMatchObject({ rowsRead: 5, inserted: 5 });
    await src.pool.query("INSERT INTO shop.events VALUES (6, 'e6'), (7, 'e7')");
    expect(await replicate(statement)).toMatchObject({ rowsRead: 3, inserted: 2 });
    expect((await rows("SELECT count(*)::integer AS n FROM dw.events"))[0]?.n).toBe(7);
  });

  it("reconciles deletions of fully read tables as DeletePolicy says", async () => {
    await src.pool.query(`
      CREATE TABLE shop.colors (id integer PRIMARY KEY, name text);
      INSERT INTO shop.colors VALUES (1, 'red'), (2, 'green'), (3, 'blue');`);
    for (const policy of ["soft", "hard", "ignore"]) {
      await replicate(`REPLICATE [colors_${policy}] FROM colors WITH DeletePolicy='${policy}'`);
    }
    await src.pool.query("DELETE FROM shop.colors WHERE id = 2");
    const counts: Record<string, number> = {};
    for (const policy of ["soft", "hard", "ignore"]) {
      const result = await replicate(
        `REPLICATE [colors_${policy}] FROM colors WITH DeletePolicy='${policy}'`,
      );
      counts[policy] = result.deleted;
    }
    expect(counts).toEqual({ soft: 1, hard: 1, ignore: 0 });
    expect(
      await rows("SELECT id, bb_deleted_at IS NOT NULL AS gone FROM dw.colors_soft ORDER BY id"),
    ).toEqual([
      { id: 1, gone: false },
      { id: 2, gone: true },
      { id: 3, gone: false },
    ]);
    expect(await rows("SELECT id FROM dw.colors_hard ORDER BY id")).toEqual([{ id: 1 }, { id: 3 }]);
    expect(await rows("SELECT id FROM dw.colors_ignore WHERE bb_deleted_at IS NULL ORDER BY id")).toEqual([
      { id: 1 },
      { id: 2 },
      { id: 3 },
    ]);
  });

  it("replaces a table without a key in one transaction: a failed read leaves the old content", async () => {
    await src.pool.query(`
      CREATE TABLE shop.control (fail boolean NOT NULL);
      INSERT INTO shop.control VALUES (false);
      CREATE TABLE shop.lines (n integer, msg text);
      INSERT INTO shop.lines SELECT n, 'line ' || n FROM generate_series(1, 5) n;
      CREATE VIEW shop.checked_lines AS
        SELECT n, CASE WHEN (SELECT fail FROM shop.control) THEN (1 / (n - 4))::text ELSE msg END AS msg
          FROM shop.lines;`);
    const statement = "REPLICATE [lines] FROM checked_lines WITH BatchSize=2";
    expect(await replicate(statement)).toMatchObject({ rowsRead: 5, inserted: 5, deleted: 0 });
    await src.pool.query(`
      INSERT INTO shop.lines VALUES (6, 'line 6');
      UPDATE shop.control SET fail = true;`);
    const error = await failure(replicate(statement));
    expect(error.code).toBe("SOURCE_READ");
    expect(error.message).toMatch(/Reading shop\.checked_lines from the source failed: division by zero/);
    expect((await rows("SELECT count(*)::integer AS n FROM dw.lines"))[0]?.n).toBe(5);

    await src.pool.query("UPDATE shop.control SET fail = false");
    expect(await replicate(statement)).toMatchObject({ rowsRead: 6, inserted: 6, deleted: 5 });
    expect((await rows("SELECT count(*)::integer AS n FROM dw.lines"))[0]?.n).toBe(6);
  });

  it("DropTable reloads into a copy: a read failing after some batches leaves the keyed table as it was", async () => {
    await src.pool.query(`
      CREATE TABLE shop.gauges (id integer PRIMARY KEY, reading integer NOT NULL);
      INSERT INTO shop.gauges SELECT n, n * 10 FROM generate_series(1, 9) n;
      CREATE TABLE shop.gauge_control (fail boolean NOT NULL);
      INSERT INTO shop.gauge_control VALUES (false);
      CREATE VIEW shop.checked_gauges AS
        SELECT id, CASE WHEN (SELECT fail FROM shop.gauge_control) THEN reading / (id - 7) ELSE reading END AS reading
          FROM shop.gauges;`);
    const statement = "REPLICATE [gauges] FROM checked_gauges WITH DropTable=true, BatchSize=2";
    await replicate("REPLICATE [gauges] FROM checked_gauges");
    const before = await rows("SELECT id, reading FROM dw.gauges ORDER BY id");
    expect(before).toHaveLength(9);
    await src.pool.query(
      "UPDATE shop.gauges SET reading = reading + 1; UPDATE shop.gauge_control SET fail = true",
    );
    const error = await failure(replicate(statement));
    expect(error.message).toMatch(/division by zero/);
    expect(await rows("SELECT id, reading FROM dw.gauges ORDER BY id")).toEqual(before);
    expect(await rows("SELECT to_regclass('dw.bb_reload_gauges') AS copy")).toEqual([{ copy: null }]);

    await src.pool.query("UPDATE shop.gauge_control SET fail = false");
    expect(await replicate(statement)).toMatchObject({ rowsRead: 9, inserted: 9 });
    expect(await rows("SELECT id, reading FROM dw.gauges ORDER BY id")).toEqual(
      before.map((r) => ({ ...r, reading: Number(r.reading) + 1 })),
    );
  });

  it("resumes an incremental read from the last committed batch after the run is stopped", async () => {
    await src.pool.query(`
      CREATE TABLE shop.parts (id integer PRIMARY KEY, v text, updated_at timestamptz NOT NULL);
      INSERT INTO shop.parts SELECT n, 'v' || n, '2026-04-01'::timestamptz + n * interval '1 hour'
        FROM generate_series(1, 6) n;`);
    // DeletePolicy='ignore': no key check, so the rows read are the resumed read alone.
    const statement =
      "REPLICATE [parts] WITH IncrementalCheckColumn='updated_at', BatchSize=2, DeletePolicy='ignore'";
    const stop = new AbortController();
    const stopped = await failure(
      runPostgresSourceTask({
        statement,
        source: { config: { connectionString: src.url }, schema: "shop" },
        destination,
        signal: stop.signal,
        onProgress: (progress) => {
          if (progress.rows >= 4) stop.abort();
        },
      }),
    );
    expect(stopped.code).toBe("RUN_CANCELLED");
    expect(await rows("SELECT id FROM dw.parts ORDER BY id")).toEqual([
      { id: 1 },
      { id: 2 },
      { id: 3 },
      { id: 4 },
    ]);
    // From the checkpoint (row 4) on, not from the start.
    expect(await replicate(statement)).toMatchObject({ rowsRead: 3, inserted: 2, unchanged: 1 });
    expect((await rows("SELECT count(*)::integer AS n FROM dw.parts"))[0]?.n).toBe(6);
  });

  it("replicates GROUP BY results, recomputed whole", async () => {
    const result = await replicate(
      "REPLICATE [by_status] SELECT status, count(*) AS orders FROM orders GROUP BY status",
    );
    expect(result.rowsRead).toBe(3);
    expect(await rows("SELECT status, orders FROM dw.by_status ORDER BY status")).toEqual([
      { status: "closed", orders: "1" },
      { status: "open", orders: "2" },
    ]);
  });

  it("explains bad statements and unusable sources", async () => {
    const table = await failure(replicate("REPLICATE [x] FROM ordres"));
    expect(table.message).toMatch(
      /Unknown table ordres in schema shop at line 1, column 20\. Did you mean orders\?/,
    );
    const column = await failure(replicate("REPLICATE [x] SELECT id, totl FROM orders"));
    expect(column.message).toMatch(/Unknown column totl in orders .*Did you mean total\?/);
    const schema = await failure(replicate("REPLICATE [x] FROM sales.orders"));
    expect(schema.message).toMatch(/The source reads schema shop, not sales/);
    const cursor = await failure(replicate("REPLICATE [x] FROM orders WITH IncrementalCheckColumn='status'"));
    expect(cursor.message).toMatch(
      /IncrementalCheckColumn must be a timestamp, date or integer column; status is text/,
    );
    const keyless = await failure(replicate("REPLICATE [x] FROM lines WITH IncrementalCheckColumn='n'"));
    expect(keyless.message).toMatch(/lines has no primary key, so changed rows cannot be merged/);
    const missing = await failure(replicate("REPLICATE [orders]", { schema: "nope" }));
    expect(missing.message).toMatch(/Schema nope does not exist in the source database/);

    const unreachable = await failure(
      runPostgresSourceTask({
        statement: "REPLICATE [orders]",
        source: { config: { host: "127.0.0.1", port: 1, user: "postgres", database: "x" }, schema: "shop" },
        destination,
      }),
    );
    expect(unreachable.code).toBe("SOURCE_CONNECT");
    expect(unreachable.message).toMatch(
      /Cannot connect to the source PostgreSQL: .*\(check Server and Port\)/,
    );
    const url = new URL(src.url);
    url.pathname = "/bbt_no_such_database";
    const database = await failure(
      runPostgresSourceTask({
        statement: "REPLICATE [orders]",
        source: { config: { connectionString: url.toString() }, schema: "shop" },
        destination,
      }),
    );
    expect(database.message).toMatch(/does not exist \(check Database\)/);
  });

  it("says when the source user may not read a table", async () => {
    const role = `bbt_reader_${Date.now().toString(36)}`;
    await src.pool.query(`CREATE ROLE ${role} LOGIN; GRANT USAGE ON SCHEMA shop TO ${role}`);
    try {
      const url = new URL(src.url);
      url.username = role;
      url.password = "";
      const error = await failure(
        runPostgresSourceTask({
          statement: "REPLICATE [orders]",
          source: { config: { connectionString: url.toString() }, schema: "shop" },
          destination,
        }),
      );
      expect(error.code).toBe("SOURCE_PRIVILEGE");
      expect(error.message).toMatch(
        /may not read shop\.orders \(GRANT SELECT ON shop\.orders TO that user\)/,
      );
    } finally {
      await src.pool.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`);
    }
  });
});
