import { describe, expect, it } from "vitest";
import { type EnsureTableInput, ensureTable } from "../../src/destination/postgres/index.js";
import { CHANGE_TRIGGER, trackChanges } from "../../src/odata/change-versions.js";
import { grantReader, READER_ROLE } from "../../src/odata/reader-role.js";
import type { ColumnType } from "../../src/source/table.js";
import { useTestDatabase } from "../support/postgres.js";

const db = await useTestDatabase();

const ALL_TYPES: { name: string; type: ColumnType }[] = [
  { name: "Id", type: "bigint" },
  { name: "Title", type: "string" },
  { name: "CommentCount", type: "integer" },
  { name: "IsPrivate", type: "boolean" },
  { name: "UpdatedOn", type: "datetime" },
  { name: "Size", type: "decimal" },
  { name: "Links", type: "json" },
];

async function columnsOf(schema: string, table: string): Promise<Record<string, string>> {
  const { rows } = await db.pool.query<{ column_name: string; data_type: string }>(
    `SELECT column_name, data_type FROM information_schema.columns
     WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
    [schema, table],
  );
  return Object.fromEntries(rows.map((r) => [r.column_name, r.data_type]));
}

async function ensure(input: EnsureTableInput) {
  const client = await db.pool.connect();
  try {
    return await ensureTable(client, input);
  } finally {
    client.release();
  }
}

describe("ensureTable", () => {
  it("creates the schema and a table with every catalog type, a primary key and metadata columns", async () => {
    const result = await ensure({
      schema: "bitbucket",
      table: "PullRequests",
      columns: ALL_TYPES,
      primaryKey: ["Id"],
    });
    expect(result.created).toBe(true);
    expect(result.table.table).toBe("pull_requests");
    expect(await columnsOf("bitbucket", "pull_requests")).toEqual({
      id: "bigint",
      title: "text",
      comment_count: "integer",
      is_private: "boolean",
      updated_on: "timestamp with time zone",
      size: "numeric",
      links: "jsonb",
      bb_synced_at: "timestamp with time zone",
      bb_deleted_at: "timestamp with time zone",
    });
    const { rows } = await db.pool.query(
      `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint
       WHERE conrelid = 'bitbucket.pull_requests'::regclass AND contype = 'p'`,
    );
    expect(rows[0]?.def).toBe("PRIMARY KEY (id)");

    const again = await ensure({
      schema: "bitbucket",
      table: "PullRequests",
      columns: ALL_TYPES,
      primaryKey: ["Id"],
    });
    expect(again).toMatchObject({ created: false, addedColumns: [], extraColumns: [], alteredColumns: [] });
  });

  it("first loads of several tables into one new schema at once all succeed", async () => {
    // Each round is a schema nobody created yet: the race is only on its very first tables.
    for (let round = 0; round < 5; round++) {
      const schema = `race_${round}`;
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          ensure({ schema, table: `T${i}`, columns: ALL_TYPES, primaryKey: ["Id"] }),
        ),
      );
      expect(results.every((r) => r.created)).toBe(true);
    }
  });

  it("keeps source names with the source naming policy (quoted identifiers)", async () => {
    const result = await ensure({
      schema: "Mixed Case",
      table: 'Odd"Table',
      columns: [
        { name: "ContentRaw", type: "string" },
        { name: "select", type: "integer" },
      ],
      primaryKey: ["select"],
      naming: "source",
    });
    expect(result.created).toBe(true);
    expect(Object.keys(await columnsOf("Mixed Case", 'Odd"Table'))).toEqual([
      "ContentRaw",
      "select",
      "bb_synced_at",
      "bb_deleted_at",
    ]);
  });

  it("adds new columns, keeps and reports extra ones", async () => {
    const base = { schema: "evolve", table: "Tags", primaryKey: ["Name"] };
    await ensure({
      ...base,
      columns: [
        { name: "Name", type: "string" },
        { name: "Hash", type: "string" },
      ],
    });
    await db.pool.query("INSERT INTO evolve.tags (name, hash) VALUES ('v1', 'abc')");
    await db.pool.query("ALTER TABLE evolve.tags ADD COLUMN local_note text");

    const result = await ensure({
      ...base,
      columns: [
        { name: "Name", type: "string" },
        { name: "TargetDate", type: "datetime" },
        { name: "Message", type: "string" },
      ],
    });
    expect(result.created).toBe(false);
    expect(result.addedColumns).toEqual(["target_date", "message"]);
    expect(result.extraColumns).toEqual(["hash", "local_note"]);
    expect(await columnsOf("evolve", "tags")).toMatchObject({
      hash: "text",
      local_note: "text",
      target_date: "timestamp with time zone",
      message: "text",
    });
    const { rows } = await db.pool.query("SELECT name, hash, message FROM evolve.tags");
    expect(rows).toEqual([{ name: "v1", hash: "abc", message: null }]);
  });

  it("refuses a type change, naming the column, old and new type", async () => {
    const base = { schema: "evolve", table: "Builds", primaryKey: ["Id"] };
    await ensure({
      ...base,
      columns: [
        { name: "Id", type: "integer" },
        { name: "Duration", type: "integer" },
      ],
    });
    const error = await ensure({
      ...base,
      columns: [
        { name: "Id", type: "integer" },
        { name: "Duration", type: "boolean" },
      ],
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "DESTINATION_TYPE_CHANGE" });
    expect((error as Error).message).toMatch(/column duration is integer, the definition needs boolean/);

    const widening = await ensure({
      ...base,
      columns: [
        { name: "Id", type: "integer" },
        { name: "Duration", type: "bigint" },
      ],
    }).catch((e: unknown) => e);
    expect(widening).toMatchObject({ code: "DESTINATION_TYPE_CHANGE" });
    expect((widening as Error).message).toMatch(/integer.*bigint.*alterSchema/);
    expect(await columnsOf("evolve", "builds")).toMatchObject({ duration: "integer" });

    const allowed = await ensure({
      ...base,
      columns: [
        { name: "Id", type: "integer" },
        { name: "Duration", type: "bigint" },
      ],
      options: { alterSchema: true },
    });
    expect(allowed.alteredColumns).toEqual([{ column: "duration", from: "integer", to: "bigint" }]);
    expect(await columnsOf("evolve", "builds")).toMatchObject({ duration: "bigint" });

    // A table already wider than the definition needs nothing.
    const narrower = await ensure({
      ...base,
      columns: [
        { name: "Id", type: "integer" },
        { name: "Duration", type: "integer" },
      ],
    });
    expect(narrower.alteredColumns).toEqual([]);
  });

  it("refuses a different primary key", async () => {
    const base = {
      schema: "evolve",
      table: "Keys",
      columns: [
        { name: "A", type: "integer" as const },
        { name: "B", type: "integer" as const },
      ],
    };
    await ensure({ ...base, primaryKey: ["A"] });
    await expect(ensure({ ...base, primaryKey: ["A", "B"] })).rejects.toMatchObject({
      code: "DESTINATION_PRIMARY_KEY_MISMATCH",
    });
  });

  it("drops and recreates, or truncates, on request", async () => {
    const base = {
      schema: "evolve",
      table: "Scratch",
      columns: [
        { name: "Id", type: "integer" as const },
        { name: "Label", type: "string" as const },
      ],
      primaryKey: ["Id"],
    };
    await ensure(base);
    await db.pool.query("INSERT INTO evolve.scratch (id, label) VALUES (1, 'x')");
    const truncated = await ensure({ ...base, options: { truncate: true } });
    expect(truncated.truncated).toBe(true);
    expect((await db.pool.query("SELECT count(*)::int AS n FROM evolve.scratch")).rows[0]?.n).toBe(0);

    await db.pool.query("ALTER TABLE evolve.scratch ALTER COLUMN label TYPE integer USING NULL");
    await expect(ensure(base)).rejects.toMatchObject({ code: "DESTINATION_TYPE_CHANGE" });
    const recreated = await ensure({ ...base, options: { dropTable: true } });
    expect(recreated).toMatchObject({ dropped: true, created: true });
    expect(await columnsOf("evolve", "scratch")).toMatchObject({ label: "text" });
  });

  it("gives a recreated table the old one's grants, indexes and triggers, and reports those it cannot take", async () => {
    const base = {
      schema: "carried",
      table: "Shared",
      columns: [
        { name: "Id", type: "integer" as const },
        { name: "Label", type: "string" as const },
        { name: "Note", type: "string" as const },
      ],
      primaryKey: ["Id"],
    };
    await ensure(base);
    const client = await db.pool.connect();
    try {
      expect(await grantReader(client, "carried", "shared")).toEqual({ granted: true });
      expect(await trackChanges(client, "carried", "shared")).toEqual({ installed: true });
    } finally {
      client.release();
    }
    await db.pool.query(`
      GRANT UPDATE ON carried.shared TO PUBLIC;
      CREATE INDEX shared_label ON carried.shared (lower(label));
      CREATE INDEX shared_note ON carried.shared (note);
      CREATE FUNCTION carried.touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
      CREATE TRIGGER touch_note BEFORE UPDATE OF note ON carried.shared FOR EACH ROW EXECUTE FUNCTION carried.touch();
      ALTER TABLE carried.shared DISABLE TRIGGER touch_note;
      INSERT INTO carried.shared (id, label, note) VALUES (1, 'a', 'n');`);

    // The new definition has no Note: its index and trigger cannot come along.
    const recreated = await ensure({
      ...base,
      columns: base.columns.filter((c) => c.name !== "Note"),
      options: { dropTable: true },
    });
    expect(recreated).toMatchObject({ dropped: true, created: true, empty: true });
    expect([...recreated.restored].sort()).toEqual(
      [
        `SELECT granted to ${READER_ROLE}`,
        "UPDATE granted to PUBLIC",
        "index carried.shared_label",
        `trigger ${CHANGE_TRIGGER}`,
      ].sort(),
    );
    expect(recreated.lost).toHaveLength(2);
    expect(recreated.lost.find((l) => l.startsWith("index carried.shared_note: "))).toMatch(/note/);
    expect(recreated.lost.find((l) => l.startsWith("trigger touch_note: "))).toMatch(/note/);

    const grants = await db.pool.query(
      `SELECT grantee, privilege_type FROM information_schema.role_table_grants
        WHERE table_schema = 'carried' AND table_name = 'shared' AND grantee <> current_user ORDER BY 1, 2`,
    );
    expect(grants.rows).toHaveLength(2);
    expect(grants.rows).toEqual(
      expect.arrayContaining([
        { grantee: READER_ROLE, privilege_type: "SELECT" },
        { grantee: "PUBLIC", privilege_type: "UPDATE" },
      ]),
    );
    const triggers = await db.pool.query(
      "SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'carried.shared'::regclass AND NOT tgisinternal",
    );
    // ENABLE ALWAYS kept: the change versions must move under session_replication_role = replica too.
    expect(triggers.rows).toEqual([{ tgname: CHANGE_TRIGGER, tgenabled: "A" }]);
    const indexes = await db.pool.query(
      "SELECT indexrelid::regclass::text AS name FROM pg_index WHERE indrelid = 'carried.shared'::regclass ORDER BY 1",
    );
    expect(indexes.rows.map((r) => r.name)).toEqual(["carried.shared_label", "carried.shared_pkey"]);
  });
});
