import type pg from "pg";
import { describe, expect, it } from "vitest";
import {
  batchFor,
  EncodedRows,
  ensureTable,
  keysFor,
  loadBatch,
  markDeleted,
  type Rows,
  type TableTarget,
} from "../../src/destination/postgres/index.js";
import { useTestDatabase } from "../support/postgres.js";

const db = await useTestDatabase();

async function withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db.pool.connect();
  try {
    return await work(client);
  } finally {
    client.release();
  }
}

async function prepare(target: TableTarget): Promise<TableTarget> {
  await withClient((client) => ensureTable(client, target));
  return target;
}

const load = (
  target: TableTarget,
  rows: Rows | EncodedRows,
  checkpoint?: (client: pg.ClientBase) => Promise<void>,
) => withClient((client) => loadBatch(client, target, rows, checkpoint));

const count = async (sql: string) =>
  (await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`)).rows[0]?.n;

const simple = (table: string): TableTarget => ({
  schema: "load",
  table,
  columns: [
    { name: "Id", type: "integer" },
    { name: "Name", type: "string" },
    { name: "Count", type: "integer" },
  ],
  primaryKey: ["Id"],
});

describe("loadBatch", () => {
  it("counts inserted, updated and unchanged rows, and does not rewrite unchanged ones", async () => {
    const target = await prepare(simple("Counts"));
    const rows = [
      { Id: 1, Name: "one", Count: 1 },
      { Id: 2, Name: "two", Count: 2 },
      { Id: 3, Name: "three", Count: null },
    ];
    expect(await load(target, rows)).toEqual({
      received: 3,
      duplicates: 0,
      inserted: 3,
      updated: 0,
      unchanged: 0,
      direct: false,
    });
    const before = await db.pool.query(
      "SELECT id, bb_synced_at::text AS synced, xmin::text AS xmin FROM load.counts ORDER BY id",
    );

    expect(await load(target, rows)).toEqual({
      received: 3,
      duplicates: 0,
      inserted: 0,
      updated: 0,
      unchanged: 3,
      direct: false,
    });
    const after = await db.pool.query(
      "SELECT id, bb_synced_at::text AS synced, xmin::text AS xmin FROM load.counts ORDER BY id",
    );
    expect(after.rows).toEqual(before.rows);

    const result = await load(target, [
      { Id: 1, Name: "one", Count: 1 },
      { Id: 2, Name: "two", Count: 20 },
      { Id: 3, Name: "three" }, // missing property = NULL, unchanged
      { Id: 4, Name: "four", Count: 4 },
    ]);
    expect(result).toEqual({
      received: 4,
      duplicates: 0,
      inserted: 1,
      updated: 1,
      unchanged: 2,
      direct: false,
    });
    const { rows: stored } = await db.pool.query(
      "SELECT id, name, count, bb_deleted_at FROM load.counts ORDER BY id",
    );
    expect(stored).toEqual([
      { id: 1, name: "one", count: 1, bb_deleted_at: null },
      { id: 2, name: "two", count: 20, bb_deleted_at: null },
      { id: 3, name: "three", count: null, bb_deleted_at: null },
      { id: 4, name: "four", count: 4, bb_deleted_at: null },
    ]);
    const synced = await db.pool.query(
      "SELECT id FROM load.counts WHERE bb_synced_at > $1::timestamptz ORDER BY id",
      [before.rows[0].synced],
    );
    expect(synced.rows.map((r) => r.id)).toEqual([2, 4]);
  });

  it("loads an empty batch", async () => {
    const target = await prepare(simple("Empty"));
    expect(await load(target, [])).toEqual({
      received: 0,
      duplicates: 0,
      inserted: 0,
      updated: 0,
      unchanged: 0,
      direct: false,
    });
  });

  it("round-trips tricky values exactly", async () => {
    const target = await prepare({
      schema: "load",
      table: "Tricky",
      columns: [
        { name: "Id", type: "integer" },
        { name: "Text", type: "string" },
        { name: "Small", type: "integer" },
        { name: "Big", type: "bigint" },
        { name: "Flag", type: "boolean" },
        { name: "At", type: "datetime" },
        { name: "Amount", type: "decimal" },
        { name: "Doc", type: "json" },
      ],
      primaryKey: ["Id"],
    });
    const doc = {
      quote: "he said \"hi\" and 'bye'",
      nested: { list: [1, "x\ny\tz", null, true, { deep: "back\\slash \\N" }], empty: "" },
      unicode: "😀 é 中文",
    };
    const texts = [
      null,
      "",
      'it\'s "quoted"',
      "tab\there",
      "line\nbreak\r\nwindows",
      "back\\slash",
      "\\N",
      "\\.",
      "emoji 😀 é 中文 \u200b",
      " leading and trailing ",
      ",;|\\t literal",
    ];
    const rows = texts.map((text, i) => ({
      Id: i,
      Text: text,
      Small: i % 2 ? 2147483647 : -2147483648,
      Big: i % 2 ? "9223372036854775807" : 9007199254740993n,
      Flag: i % 3 === 0 ? null : i % 3 === 1,
      At: i % 2 ? "2024-02-29T23:59:59.123456+05:30" : new Date("2001-01-01T00:00:00.001Z"),
      Amount: i % 2 ? "12345678901234567890.123456789" : 0.1,
      Doc: i === 0 ? null : i === 1 ? "just a string" : doc,
    }));
    expect(await load(target, rows)).toMatchObject({ inserted: texts.length });
    const { rows: stored } = await db.pool.query(
      `SELECT id, text, small, big, flag, (at AT TIME ZONE 'UTC')::text AS at, amount, doc
       FROM load.tricky ORDER BY id`,
    );
    expect(stored).toEqual(
      texts.map((text, i) => ({
        id: i,
        text,
        small: i % 2 ? 2147483647 : -2147483648,
        big: i % 2 ? "9223372036854775807" : "9007199254740993",
        flag: i % 3 === 0 ? null : i % 3 === 1,
        at: i % 2 ? "2024-02-29 18:29:59.123456" : "2001-01-01 00:00:00.001",
        amount: i % 2 ? "12345678901234567890.123456789" : "0.1",
        doc: i === 0 ? null : i === 1 ? "just a string" : doc,
      })),
    );
    // NULL and '' stay distinct.
    expect(await count("load.tricky WHERE text IS NULL")).toBe(1);
    expect(await count("load.tricky WHERE text = ''")).toBe(1);
    // Reloading the same values changes nothing.
    expect(await load(target, rows)).toMatchObject({ inserted: 0, updated: 0, unchanged: texts.length });
  });

  it("keeps the last row of duplicate keys in one batch", async () => {
    const target = await prepare({ ...simple("Dupes"), primaryKey: ["Id", "Name"] });
    const result = await load(target, [
      { Id: 1, Name: "a", Count: 1 },
      { Id: 2, Name: "a", Count: 2 },
      { Id: 1, Name: "a", Count: 3 },
      { Id: 1, Name: "b", Count: 4 },
      { Id: 1, Name: "a", Count: 5 },
    ]);
    expect(result).toEqual({
      received: 5,
      duplicates: 2,
      inserted: 3,
      updated: 0,
      unchanged: 0,
      direct: false,
    });
    const { rows } = await db.pool.query("SELECT id, name, count FROM load.dupes ORDER BY id, name");
    expect(rows).toEqual([
      { id: 1, name: "a", count: 5 },
      { id: 1, name: "b", count: 4 },
      { id: 2, name: "a", count: 2 },
    ]);
  });

  it("loads a batch encoded as rows were added, deduplicating only when keys repeat", async () => {
    const target = await prepare(simple("Encoded"));
    const batch = batchFor(target);
    for (let i = 0; i < 3; i++) batch.add({ Id: i, Name: `row ${i}\\ \n`, Count: i });
    expect(batch.distinct).toBe(true);
    expect(await load(target, batch)).toEqual({
      received: 3,
      duplicates: 0,
      inserted: 3,
      updated: 0,
      unchanged: 0,
      direct: false,
    });
    expect(() => batch.add({ Id: 9 })).toThrow(/already copied/);

    const repeated = batchFor(target);
    for (const row of [
      { Id: 1, Name: "first", Count: 1 },
      { Id: 1, Name: "last", Count: 2 },
      { Id: 5, Name: "five", Count: 5 },
    ])
      repeated.add(row);
    expect(repeated.distinct).toBe(false);
    expect(await load(target, repeated)).toEqual({
      received: 3,
      duplicates: 1,
      inserted: 1,
      updated: 1,
      unchanged: 0,
      direct: false,
    });
    const { rows } = await db.pool.query("SELECT id, name, count FROM load.encoded ORDER BY id");
    expect(rows).toEqual([
      { id: 0, name: "row 0\\ \n", count: 0 },
      { id: 1, name: "last", count: 2 },
      { id: 2, name: "row 2\\ \n", count: 2 },
      { id: 5, name: "five", count: 5 },
    ]);
  });

  it("refuses rows encoded for other columns", async () => {
    const target = await prepare(simple("Mismatch"));
    const other = new EncodedRows([{ source: "Id", type: "integer" }]);
    other.add({ Id: 1 });
    await expect(load(target, other)).rejects.toThrow(/encoded for other columns/);
    expect(await count("load.mismatch")).toBe(0);
  });

  it("reconciles deletions against an encoded key set", async () => {
    const target = await prepare(simple("EncodedKeys"));
    await load(
      target,
      [1, 2, 3].map((Id) => ({ Id, Name: `n${Id}`, Count: Id })),
    );
    const keys = keysFor(target);
    keys.add({ Id: 1 });
    keys.add({ Id: 3 });
    expect(await withClient((client) => markDeleted(client, target, { scope: {}, keys }))).toBe(1);
    const { rows } = await db.pool.query(
      "SELECT id FROM load.encoded_keys WHERE bb_deleted_at IS NOT NULL ORDER BY id",
    );
    expect(rows).toEqual([{ id: 2 }]);
  });

  it("streams an async iterable of rows", async () => {
    const target = await prepare(simple("Stream"));
    async function* rows() {
      for (let i = 0; i < 20_000; i++) yield { Id: i, Name: `row ${i}\twith tab`, Count: i };
    }
    expect(await load(target, rows())).toMatchObject({ received: 20_000, inserted: 20_000 });
    expect(await count("load.stream")).toBe(20_000);
  });
});

describe("loadBatch atomicity", () => {
  it("writes the checkpoint in the same transaction", async () => {
    const target = await prepare(simple("Checkpointed"));
    await db.pool.query("CREATE TABLE IF NOT EXISTS load.cursors (task text PRIMARY KEY, cursor text)");
    await load(target, [{ Id: 1, Name: "x", Count: 1 }], async (client) => {
      // Inside the transaction the batch is already visible.
      const seen = await client.query("SELECT count(*)::int AS n FROM load.checkpointed");
      await client.query("INSERT INTO load.cursors VALUES ('ok', $1)", [String(seen.rows[0].n)]);
    });
    expect((await db.pool.query("SELECT cursor FROM load.cursors WHERE task = 'ok'")).rows).toEqual([
      { cursor: "1" },
    ]);
  });

  it("rolls everything back when the checkpoint throws", async () => {
    const target = await prepare(simple("CheckpointFails"));
    await db.pool.query("CREATE TABLE IF NOT EXISTS load.cursors (task text PRIMARY KEY, cursor text)");
    const error = await load(target, [{ Id: 1, Name: "x", Count: 1 }], async (client) => {
      await client.query("INSERT INTO load.cursors VALUES ('fails', 'c1')");
      throw new Error("cursor store unavailable");
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "DESTINATION_CHECKPOINT_FAILED" });
    expect((error as Error).message).toMatch(/cursor store unavailable/);
    expect(await count("load.checkpoint_fails")).toBe(0);
    expect(await count("load.cursors WHERE task = 'fails'")).toBe(0);
  });

  it("rolls the whole batch back on a value the column type rejects, naming the column", async () => {
    const target = await prepare(simple("BadValue"));
    await load(target, [{ Id: 1, Name: "kept", Count: 1 }]);
    let checkpointed = false;
    const error = await load(
      target,
      [
        { Id: 1, Name: "changed", Count: 10 },
        { Id: 2, Name: "new", Count: 2 },
        { Id: 3, Name: "bad", Count: "abc" },
      ],
      async () => {
        checkpointed = true;
      },
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: "DESTINATION_INVALID_VALUE",
      details: expect.objectContaining({
        sqlstate: "22P02",
        column: "count",
        sourceColumn: "Count",
        batchRow: 3,
      }),
    });
    expect((error as Error).message).toMatch(/row 3 of the batch, column Count \(count\)/);
    expect((error as Error).message).toMatch(/invalid input syntax for type integer: "abc"/);
    expect(checkpointed).toBe(false);
    const { rows } = await db.pool.query("SELECT id, name, count FROM load.bad_value ORDER BY id");
    expect(rows).toEqual([{ id: 1, name: "kept", count: 1 }]);
    // The client is usable again after the failed COPY.
    expect(await load(target, [{ Id: 2, Name: "new", Count: 2 }])).toMatchObject({ inserted: 1 });
  });

  it("rejects a NULL key with a clear error", async () => {
    const target = await prepare(simple("NullKey"));
    await expect(load(target, [{ Id: null, Name: "x" }])).rejects.toMatchObject({
      code: "DESTINATION_CONSTRAINT_VIOLATION",
      details: expect.objectContaining({ sqlstate: "23502", column: "id" }),
    });
  });

  it("fails cleanly when the connection is killed during the COPY, leaving nothing", async () => {
    const target = await prepare(simple("KilledCopy"));
    const client = await db.pool.connect();
    const pid = (await client.query("SELECT pg_backend_pid() AS pid")).rows[0].pid as number;
    async function* rows() {
      for (let i = 0; i < 50_000; i++) {
        if (i === 5_000) {
          await db.pool.query("SELECT pg_terminate_backend($1)", [pid]);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        yield { Id: i, Name: "x".repeat(100), Count: i };
      }
    }
    const error = await loadBatch(client, target, rows()).catch((e: unknown) => e);
    client.release(true);
    expect(error).toMatchObject({ code: "DESTINATION_CONNECTION_LOST", status: 503 });
    expect((error as Error).message).toMatch(/connection to PostgreSQL was lost.*nothing of it was written/);
    expect(await count("load.killed_copy")).toBe(0);
  });

  it("fails cleanly when the client's socket is destroyed during the COPY", async () => {
    const target = await prepare(simple("DestroyedSocket"));
    const client = await db.pool.connect();
    const socket = (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream;
    async function* rows() {
      for (let i = 0; i < 50_000; i++) {
        if (i === 5_000) socket.destroy();
        yield { Id: i, Name: "y".repeat(100), Count: i };
      }
    }
    const error = await loadBatch(client, target, rows()).catch((e: unknown) => e);
    client.release(true);
    expect(error).toMatchObject({ code: "DESTINATION_CONNECTION_LOST" });
    expect(await count("load.destroyed_socket")).toBe(0);
  });

  it("fails cleanly when the connection is killed before commit, leaving no rows and no checkpoint", async () => {
    const target = await prepare(simple("KilledCommit"));
    await db.pool.query("CREATE TABLE IF NOT EXISTS load.cursors (task text PRIMARY KEY, cursor text)");
    const client = await db.pool.connect();
    const pid = (await client.query("SELECT pg_backend_pid() AS pid")).rows[0].pid as number;
    const error = await loadBatch(client, target, [{ Id: 1, Name: "x", Count: 1 }], async (c) => {
      await c.query("INSERT INTO load.cursors VALUES ('killed', 'c1')");
      await db.pool.query("SELECT pg_terminate_backend($1)", [pid]);
      await c.query("SELECT pg_sleep(0.1)");
    }).catch((e: unknown) => e);
    client.release(true);
    expect(error).toMatchObject({ code: "DESTINATION_CONNECTION_LOST" });
    expect(await count("load.killed_commit")).toBe(0);
    expect(await count("load.cursors WHERE task = 'killed'")).toBe(0);
  });
});

describe("loadBatch into an empty table (insertFirst)", () => {
  const loadFirst = (
    target: TableTarget,
    rows: Rows | EncodedRows,
    checkpoint?: (client: pg.ClientBase) => Promise<void>,
  ) => withClient((client) => loadBatch(client, target, rows, checkpoint, { insertFirst: true }));
  const encoded = (target: TableTarget, rows: readonly Record<string, unknown>[]) => {
    const batch = batchFor(target);
    for (const row of rows) batch.add(row);
    return batch;
  };

  it("copies distinct keys straight into the table, with the metadata columns filled", async () => {
    const target = await prepare(simple("FirstDirect"));
    const started = (await db.pool.query<{ now: Date }>("SELECT now()")).rows[0]?.now as Date;
    const batch = encoded(target, [
      { Id: 1, Name: "tab\there", Count: 1 },
      { Id: 2, Name: null, Count: 2 },
    ]);
    expect(await loadFirst(target, batch)).toEqual({
      received: 2,
      duplicates: 0,
      inserted: 2,
      updated: 0,
      unchanged: 0,
      direct: true,
    });
    const { rows } = await db.pool.query(
      "SELECT id, name, count, bb_synced_at >= $1 AS synced, bb_deleted_at FROM load.first_direct ORDER BY id",
      [started],
    );
    expect(rows).toEqual([
      { id: 1, name: "tab\there", count: 1, synced: true, bb_deleted_at: null },
      { id: 2, name: null, count: 2, synced: true, bb_deleted_at: null },
    ]);
  });

  it("falls back to the merge when a key is already there, live or soft-deleted", async () => {
    const target = await prepare(simple("FirstConflict"));
    await load(target, [
      { Id: 1, Name: "old", Count: 1 },
      { Id: 2, Name: "gone", Count: 2 },
    ]);
    await db.pool.query("UPDATE load.first_conflict SET bb_deleted_at = now() WHERE id = 2");
    const result = await loadFirst(
      target,
      encoded(target, [
        { Id: 3, Name: "new", Count: 3 },
        { Id: 1, Name: "old", Count: 1 },
        { Id: 2, Name: "back", Count: 2 },
      ]),
    );
    expect(result).toEqual({
      received: 3,
      duplicates: 0,
      inserted: 1,
      updated: 1,
      unchanged: 1,
      direct: false,
    });
    const { rows } = await db.pool.query(
      "SELECT id, name, bb_deleted_at FROM load.first_conflict ORDER BY id",
    );
    expect(rows).toEqual([
      { id: 1, name: "old", bb_deleted_at: null },
      { id: 2, name: "back", bb_deleted_at: null },
      { id: 3, name: "new", bb_deleted_at: null },
    ]);
  });

  it("merges a batch whose keys repeat (the last row wins)", async () => {
    const target = await prepare(simple("FirstRepeat"));
    const result = await loadFirst(
      target,
      encoded(target, [
        { Id: 1, Name: "first", Count: 1 },
        { Id: 1, Name: "last", Count: 2 },
      ]),
    );
    expect(result).toMatchObject({ received: 2, duplicates: 1, inserted: 1, direct: false });
    expect((await db.pool.query("SELECT name FROM load.first_repeat")).rows).toEqual([{ name: "last" }]);
  });

  it("rolls the copied rows back with a failing checkpoint, and names the row of a bad value", async () => {
    const target = await prepare(simple("FirstRollback"));
    const error = await loadFirst(target, encoded(target, [{ Id: 1, Name: "x", Count: 1 }]), async () => {
      throw new Error("cursor store unavailable");
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "DESTINATION_CHECKPOINT_FAILED" });
    expect(await count("load.first_rollback")).toBe(0);

    const bad = await loadFirst(
      target,
      encoded(target, [
        { Id: 1, Name: "x", Count: 1 },
        { Id: 2, Name: "y", Count: "abc" },
      ]),
    ).catch((e: unknown) => e);
    expect(bad).toMatchObject({
      code: "DESTINATION_INVALID_VALUE",
      details: expect.objectContaining({ column: "count", sourceColumn: "Count", batchRow: 2 }),
    });
    expect(await count("load.first_rollback")).toBe(0);
  });
});
