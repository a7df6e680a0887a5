import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { useTestDatabase } from "../support/postgres.js";
import { runCli } from "./run-cli.js";

const db = await useTestDatabase("serve-cli");
const home = mkdtempSync(join(tmpdir(), "bitbridge-serve-"));
chmodSync(home, 0o711);
const env = { DATABASE_URL: db.url, BITBRIDGE_HOME: home };

afterAll(() => {
  rmSync(home, { recursive: true, force: true });
});

describe("bitbridge odata and bitbridge serve", () => {
  it("shares a table, issues a password once, serves it with HTTP Basic, and stops on SIGINT", async () => {
    // The first command migrates the application database.
    const none = await runCli(["odata", "list"], { env });
    expect(none.code, none.stderr).toBe(0);
    await db.pool.query(`
      CREATE SCHEMA shop;
      CREATE TABLE shop.orders (id integer PRIMARY KEY, customer text NOT NULL, total numeric(10, 2));
      INSERT INTO shop.orders VALUES (1, 'Ada', 12.50), (2, 'Grace', 99.99);
      CREATE TABLE shop.audit (at timestamptz);`);
    const shared = await runCli(["odata", "share", "shop.orders"], { env });
    expect(shared.code, shared.stderr).toBe(0);
    expect(shared.stdout).toContain("Shared shop.orders as orders (3 properties, key id)");
    const keyless = await runCli(["odata", "share", "shop.audit"], { env });
    expect(keyless.code).toBe(1);
    expect(keyless.stderr).toMatch(/primary key|unique id column/);
    const created = await runCli(["odata", "credentials", "create", "sf"], { env });
    const password = /Password: (\S+)/.exec(created.stdout)?.[1] ?? "";
    expect(password).toHaveLength(32);
    const listed = await runCli(["odata", "credentials", "list"], { env });
    expect(listed.stdout).toContain("sf");
    expect(listed.stdout).not.toContain(password);

    const child = spawn(
      process.execPath,
      ["--import", "tsx", "src/cli/entry.ts", "serve", "--port", "0", "--no-worker", "--pool-size", "3"],
      { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
    const started = new Promise<void>((resolve) => {
      child.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes("Ctrl-C stops it")) resolve();
      });
    });
    await Promise.race([started, closed]);
    const root = /OData service at (\S+) /.exec(stdout)?.[1];
    expect(root, `${stdout}\n${stderr}`).toBeDefined();
    const auth = `Basic ${Buffer.from(`sf:${password}`).toString("base64")}`;
    expect((await fetch(`${root}/orders`)).status).toBe(401);
    const orders = await fetch(`${root}/orders?$filter=total gt 50&$select=customer`, {
      headers: { authorization: auth },
    });
    expect(orders.status).toBe(200);
    expect(((await orders.json()) as { value: unknown[] }).value).toEqual([{ customer: "Grace" }]);
    expect((await fetch(`${root}/audit`, { headers: { authorization: auth } })).status).toBe(404);
    child.kill("SIGINT");
    expect(await closed).toBe(0);
    expect(stderr).not.toContain(password);
  }, 120_000);

  it("refuses a pool size that is not a whole number from 1 to 1000, saying where it came from", async () => {
    const flag = await runCli(["serve", "--port", "0", "--no-worker", "--pool-size", "0"], { env });
    expect(flag.code).not.toBe(0);
    expect(flag.stderr).toContain("--pool-size");
    expect(flag.stderr).toContain("a whole number from 1 to 1000");
    const variable = await runCli(["serve", "--port", "0", "--no-worker"], {
      env: { ...env, BITBRIDGE_ODATA_POOL_SIZE: "lots" },
    });
    expect(variable.code).not.toBe(0);
    expect(variable.stderr).toContain(
      'BITBRIDGE_ODATA_POOL_SIZE must be a whole number from 1 to 1000, not "lots"',
    );
  });
});
