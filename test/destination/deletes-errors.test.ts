import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import {
  ensureTable,
  loadBatch,
  markDeleted,
  type TableTarget,
  toDestinationError,
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

const comments = (table: string): TableTarget => ({
  schema: "rec",
  table,
  columns: [
    { name: "RepositoryUuid", type: "string" },
    { name: "Id", type: "bigint" },
    { name: "Body", type: "string" },
  ],
  primaryKey: ["RepositoryUuid", "Id"],
});

async function seed(target: TableTarget): Promise<void> {
  await withClient(async (client) => {
    await ensureTable(client, target);
    const rows = [];
    for (const repo of ["{a}", "{b}"])
      for (let id = 1; id <= 5; id++) rows.push({ RepositoryUuid: repo, Id: id, Body: `${repo} ${id}` });
    await loadBatch(client, target, rows);
  });
}

async function state(table: string): Promise<string[]> {
  const { rows } = await db.pool.query<{ r: string }>(
    `SELECT repository_uuid || ':' || id || (CASE WHEN bb_deleted_at IS NULL THEN '' ELSE ':deleted' END) AS r
     FROM rec.${table} ORDER BY repository_uuid, id`,
  );
  return rows.map((r) => r.r);
}

describe("markDeleted", () => {
  it("soft-deletes rows of the scope missing from the key set, and a reload brings them back", async () => {
    const target = comments("SoftComments");
    await seed(target);
    const keys = [1, 3, 5, 99].map((Id) => ({ RepositoryUuid: "{a}", Id }));
    const marked = await withClient((c) =>
      markDeleted(c, target, { scope: { RepositoryUuid: "{a}" }, keys }),
    );
    expect(marked).toBe(2);
    expect(await state("soft_comments")).toEqual([
      "{a}:1",
      "{a}:2:deleted",
      "{a}:3",
      "{a}:4:deleted",
      "{a}:5",
      "{b}:1",
      "{b}:2",
      "{b}:3",
      "{b}:4",
      "{b}:5",
    ]);
    // Idempotent: already-deleted rows are not marked again.
    expect(await withClient((c) => markDeleted(c, target, { scope: { RepositoryUuid: "{a}" }, keys }))).toBe(
      0,
    );

    // Seen again: bb_deleted_at is cleared and the row counts as updated.
    const reload = await withClient((c) =>
      loadBatch(c, target, [{ RepositoryUuid: "{a}", Id: 2, Body: "{a} 2" }]),
    );
    expect(reload).toMatchObject({ inserted: 0, updated: 1, unchanged: 0 });
    expect(await state("soft_comments")).toContain("{a}:2");
  });

  it("hard-deletes, ignores, and stages large key sets with COPY", async () => {
    const target = comments("HardComments");
    await seed(target);
    expect(
      await withClient((c) =>
        markDeleted(c, target, {
          scope: { RepositoryUuid: "{b}" },
          keys: [{ RepositoryUuid: "{b}", Id: 2 }],
          mode: "ignore",
        }),
      ),
    ).toBe(0);
    function* many() {
      for (let id = 2; id < 100_000; id++) yield { RepositoryUuid: "{b}", Id: id };
    }
    const deleted = await withClient((c) =>
      markDeleted(c, target, { scope: { RepositoryUuid: "{b}" }, keys: many(), mode: "hard" }),
    );
    expect(deleted).toBe(1);
    expect(await state("hard_comments")).toEqual([
      "{a}:1",
      "{a}:2",
      "{a}:3",
      "{a}:4",
      "{a}:5",
      "{b}:2",
      "{b}:3",
      "{b}:4",
      "{b}:5",
    ]);
  });

  it("rejects a scope column that is not a column, and rolls back with the checkpoint", async () => {
    const target = comments("ScopeComments");
    await seed(target);
    await expect(
      withClient((c) => markDeleted(c, target, { scope: { Nope: 1 }, keys: [] })),
    ).rejects.toMatchObject({ code: "DESTINATION_INVALID_SCOPE" });
    await expect(
      withClient((c) =>
        markDeleted(c, target, {
          scope: { RepositoryUuid: "{a}" },
          keys: [],
          checkpoint: async () => {
            throw new Error("boom");
          },
        }),
      ),
    ).rejects.toThrow(/boom/);
    expect(await state("scope_comments")).not.toContain("{a}:1:deleted");
  });
});

describe("destination errors", () => {
  const role = `bbt_nocreate_${Math.random().toString(36).slice(2, 8)}`;
  const password = "pw-for-tests";
  afterAll(async () => {
    await db.pool.query(`DROP OWNED BY ${role}`).catch(() => {});
    await db.pool.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
  });

  it("explains a missing CREATE privilege", async () => {
    await db.pool.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    await db.pool.query("CREATE SCHEMA locked");
    await db.pool.query(`GRANT USAGE ON SCHEMA locked TO ${role}`);
    const url = new URL(db.url);
    url.username = role;
    url.password = password;
    const client = new pg.Client({ connectionString: url.toString() });
    client.on("error", () => {});
    await client.connect();
    try {
      const target = { ...comments("Anything"), schema: "locked" };
      const error = await ensureTable(client, target).catch((e: unknown) => e);
      expect(error).toMatchObject({
        code: "DESTINATION_PERMISSION_DENIED",
        status: 403,
        details: expect.objectContaining({ sqlstate: "42501" }),
      });
      expect((error as Error).message).toMatch(
        /the destination user cannot create tables in schema locked \(grant CREATE on schema locked/,
      );

      const noSchema = await ensureTable(client, { ...target, schema: "fresh" }).catch((e: unknown) => e);
      expect(noSchema).toMatchObject({ code: "DESTINATION_PERMISSION_DENIED" });
      expect((noSchema as Error).message).toMatch(/cannot create schema fresh/);

      // Nothing was left behind.
      const { rows } = await db.pool.query(
        "SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'fresh'",
      );
      expect(rows[0]?.n).toBe(0);
    } finally {
      await client.end();
    }
  });

  it("maps a connection failure that is not a server error", () => {
    const error = toDestinationError(new Error("Connection terminated unexpectedly"), { operation: "load" });
    expect(error).toMatchObject({ code: "DESTINATION_CONNECTION_LOST", status: 503 });
  });
});
