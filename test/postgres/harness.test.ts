import { describe, expect, inject, it } from "vitest";
import { createTestDatabase, useTestDatabase } from "../support/postgres.js";

const db = await useTestDatabase();

describe("test PostgreSQL harness", () => {
  it("uses the server the environment asks for", async () => {
    const expected = process.env.TEST_DATABASE_URL?.trim()
      ? "TEST_DATABASE_URL"
      : process.env.DATABASE_URL?.trim()
        ? "DATABASE_URL"
        : "embedded";
    expect(db.source).toBe(expected);
    expect(inject("testPostgresSource")).toBe(expected);

    const { rows } = await db.pool.query<{ version: string }>("SELECT version()");
    console.log(`[harness] ${db.source} server at ${new URL(db.url).host}: ${rows[0]?.version}`);
    expect(rows[0]?.version).toMatch(/^PostgreSQL \d+/);
  });

  it("gives this file its own database over a real TCP connection", async () => {
    const client = await db.connect();
    try {
      const { rows } = await client.query<{ db: string; addr: string | null; pid: number }>(
        "SELECT current_database() AS db, inet_server_addr()::text AS addr, pg_backend_pid() AS pid",
      );
      expect(rows[0]?.db).toBe(db.name);
      expect(db.name).toMatch(/^bbt_harness_[a-z0-9]+_[a-z0-9]{6}$/);
      expect(rows[0]?.addr).not.toBeNull(); // null would mean a Unix socket
      expect(rows[0]?.pid).toBeGreaterThan(0);
    } finally {
      await client.end();
    }
  });

  it("creates a table, inserts and selects", async () => {
    await db.pool.query("CREATE TABLE probe (id integer PRIMARY KEY, label text NOT NULL, seen timestamptz)");
    await db.pool.query("INSERT INTO probe (id, label, seen) VALUES ($1, $2, now()), ($3, $4, NULL)", [
      1,
      "één ✓",
      2,
      "two",
    ]);
    const { rows } = await db.pool.query<{ id: number; label: string; seen: Date | null }>(
      "SELECT id, label, seen FROM probe ORDER BY id",
    );
    expect(rows.map((row) => [row.id, row.label])).toEqual([
      [1, "één ✓"],
      [2, "two"],
    ]);
    expect(rows[0]?.seen).toBeInstanceOf(Date);
    expect(rows[1]?.seen).toBeNull();
  });

  it("keeps databases apart: another database does not see this file's tables", async () => {
    await db.pool.query("CREATE TABLE IF NOT EXISTS only_here (x integer)");
    const other = await createTestDatabase("harness other");
    try {
      expect(other.name).not.toBe(db.name);
      const mine = await db.pool.query("SELECT to_regclass('only_here') IS NOT NULL AS present");
      const theirs = await other.pool.query("SELECT to_regclass('only_here') IS NOT NULL AS present");
      expect(mine.rows[0]?.present).toBe(true);
      expect(theirs.rows[0]?.present).toBe(false);
      // Same table name on both sides, different contents.
      await other.pool.query("CREATE TABLE only_here (x integer)");
      await other.pool.query("INSERT INTO only_here VALUES (42)");
      const count = await db.pool.query<{ n: string }>("SELECT count(*) AS n FROM only_here");
      expect(count.rows[0]?.n).toBe("0");
    } finally {
      await other.drop();
    }
    const gone = await db.pool.query("SELECT 1 FROM pg_database WHERE datname = $1", [other.name]);
    expect(gone.rowCount).toBe(0);
  });
});
