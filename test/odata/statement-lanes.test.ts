import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { SLOW_STATEMENT_MS, StatementLanes } from "../../src/odata/statement-lanes.js";
import { useTestDatabase } from "../support/postgres.js";

const db = await useTestDatabase("odata-statement-lanes");
const pools: pg.Pool[] = [];

afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
});

function lanes(max: number): StatementLanes {
  const pool = new pg.Pool({ connectionString: db.url, max });
  pools.push(pool);
  return new StatementLanes(pool);
}

/** A statement of its own shape (the tag) that takes `seconds`. */
const sleep = (tag: string, seconds: number): pg.QueryConfig => ({
  text: `SELECT pg_sleep($1::float8) AS ${tag}`,
  values: [seconds],
});

/** Statements of `tag`'s shape running now, seen from a connection of another pool. */
async function running(tag: string): Promise<number> {
  const result = await db.pool.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1",
    [`%pg_sleep%AS ${tag}`],
  );
  return result.rows[0]?.n ?? 0;
}

describe("statement lanes", () => {
  it("lets a slow shape hold half the connections, so quick statements never wait behind it", async () => {
    const statements = lanes(4);
    const slow = sleep("slow_report", 0.4);
    await statements.query(sleep("slow_report", 0.15));
    expect(statements.isSlow(slow.text)).toBe(true);

    const started = performance.now();
    const reports = Array.from({ length: 5 }, () => statements.query(slow));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await running("slow_report")).toBe(2);
    const quick = await statements.query({ text: "SELECT 1 AS detail_page" });
    const quickDone = performance.now() - started;
    await Promise.all(reports);
    const allDone = performance.now() - started;

    expect(quick.rows).toEqual([{ detail_page: 1 }]);
    // Two at a time, five reports of 0.4 s take three rounds; the quick statement ran during the first.
    expect(quickDone).toBeLessThan(400);
    expect(allDone).toBeGreaterThanOrEqual(1150);
  });

  it("times the statement alone: a quick shape that waited for its turn stays quick", async () => {
    const statements = lanes(2);
    const blockers = [statements.query(sleep("blocker", 0.3)), statements.query(sleep("blocker", 0.3))];
    const started = performance.now();
    await Promise.all(Array.from({ length: 6 }, () => statements.query({ text: "SELECT 2 AS list_view" })));
    expect(performance.now() - started).toBeGreaterThan(SLOW_STATEMENT_MS);
    await Promise.all(blockers);
    expect(statements.isSlow("SELECT 2 AS list_view")).toBe(false);
    expect(statements.isSlow(sleep("blocker", 0).text)).toBe(true);
  });

  it("judges a shape by its quickest recent runs: a quick shape slowed by a busy database stays quick", async () => {
    const statements = lanes(2);
    await statements.query(sleep("list_page", 0.001));
    for (let run = 0; run < 3; run++) await statements.query(sleep("list_page", 0.15));
    expect(statements.isSlow(sleep("list_page", 0).text)).toBe(false);
  });

  it("passes a statement's error on, and the pool goes on serving", async () => {
    const statements = lanes(1);
    await expect(
      statements.query({ text: "SELECT 1 / $1::int AS ratio", values: [0] }),
    ).rejects.toMatchObject({
      code: "22012",
    });
    const after = await statements.query<{ ratio: number }>({
      text: "SELECT 1 / $1::int AS ratio",
      values: [1],
    });
    expect(after.rows).toEqual([{ ratio: 1 }]);
  });
});
