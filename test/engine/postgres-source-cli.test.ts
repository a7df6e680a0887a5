import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliResult, runCli } from "../cli/run-cli.js";
import { createTestDatabase, type TestDatabase, useTestDatabase } from "../support/postgres.js";

const db = await useTestDatabase("pg_source_cli");
let src: TestDatabase;
let home: string;
let env: NodeJS.ProcessEnv;

function cli(args: string[]): Promise<CliResult> {
  return runCli(args, { env });
}

beforeAll(async () => {
  src = await createTestDatabase("pg_source_cli_src");
  await src.pool.query(`
    CREATE SCHEMA shop;
    CREATE TABLE shop.orders (id integer PRIMARY KEY, status text, total numeric, updated_at timestamptz);
    INSERT INTO shop.orders VALUES (1, 'open', 10, now()), (2, 'closed', 20, now()), (3, 'open', 30, now());
    CREATE VIEW shop.open_orders AS SELECT id, total FROM shop.orders WHERE status = 'open';`);
  home = mkdtempSync(join(tmpdir(), "bitbridge-pg-source-cli-"));
  env = { DATABASE_URL: db.url, BITBRIDGE_HOME: home };
});

afterAll(async () => {
  await src.drop();
  rmSync(home, { recursive: true, force: true });
});

describe("bitbridge with a PostgreSQL source", () => {
  it("replicates once from a connection string", async () => {
    const run = await cli([
      "replicate",
      "REPLICATE [open_orders] SELECT id, total * 2 AS double_total FROM orders WHERE status = 'open' WITH IncrementalCheckColumn='updated_at'",
      "--source",
      `URL=${src.url};Schema=shop`,
      "--dest",
      `URL=${db.url};Schema=dw`,
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^Replicated 2 rows in /);
    const rows = await db.pool.query("SELECT id, double_total FROM dw.open_orders ORDER BY id");
    expect(rows.rows).toEqual([
      { id: 1, double_total: "20" },
      { id: 3, double_total: "60" },
    ]);

    const typo = await cli(["replicate", "REPLICATE [x] FROM ordrs", "--source", src.url, "--dest", db.url]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/Unknown table ordrs in schema public/);
  });

  it("saves a source connection, tests it, and runs a job from it", async () => {
    const add = await cli([
      "connection",
      "add",
      "shop",
      "--connector",
      "postgresql",
      "--kind",
      "source",
      "--properties",
      `URL=${src.url};Schema=shop`,
    ]);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stderr).toMatch(/schema shop has 1 table\(s\) and 1 view\(s\)/);
    expect(add.stdout).toBe("Saved source connection shop (PostgreSQL (source)).\n");
    const test = await cli(["connection", "test", "shop"]);
    expect(test.stdout).toMatch(/^PostgreSQL [\d.]+.*; schema shop has 1 table\(s\) and 1 view\(s\)\n$/);
    const dest = await cli([
      "connection",
      "add",
      "warehouse",
      "--connector",
      "postgresql",
      "--properties",
      `URL=${db.url};Schema=jobs`,
      "--no-test",
    ]);
    expect(dest.code, dest.stderr).toBe(0);

    expect((await cli(["job", "create", "copy", "--source", "shop", "--dest", "warehouse"])).code).toBe(0);
    const tasks = await cli([
      "job",
      "add-task",
      "copy",
      "REPLICATE [orders]; REPLICATE [open] FROM open_orders",
    ]);
    expect(tasks.stdout).toBe("Task 1: REPLICATE [orders]\nTask 2: REPLICATE [open] FROM open_orders\n");
    const bad = await cli(["job", "add-task", "copy", "REPLICATE [orders] SELECT totl FROM orders"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/Did you mean total\?/);

    const run = await cli(["job", "run", "copy"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^Replicated 5 rows in .*\(2 tasks, 0 API requests\)/);
    const open = await db.pool.query("SELECT id FROM jobs.open ORDER BY id");
    expect(open.rows).toEqual([{ id: 1 }, { id: 3 }]);
  });
});
