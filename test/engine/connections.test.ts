import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningSimulator, startSimulator } from "../../sim/server.js";
import { migrate, openAppDatabase } from "../../src/app/database.js";
import { MIGRATIONS } from "../../src/app/migrations.js";
import { ConnectionStore, displayProperties } from "../../src/engine/connection-store.js";
import { runCli } from "../cli/run-cli.js";
import { useTestDatabase } from "../support/postgres.js";

const db = await useTestDatabase("connections");
let sim: RunningSimulator;
let home: string;
const key = Buffer.alloc(32, 7);

beforeAll(async () => {
  sim = await startSimulator({ seed: 9, scale: "tiny" });
  home = mkdtempSync(join(tmpdir(), "bitbridge-conn-"));
});

afterAll(async () => {
  await sim.stop();
  rmSync(home, { recursive: true, force: true });
});

function bitbucketProperties() {
  const api = sim.sim.auth.credentials().apiTokens[0];
  return {
    AuthScheme: "APIToken",
    User: api?.email as string,
    APIToken: api?.token as string,
    Workspace: sim.sim.data.workspaces[0]?.slug as string,
    Url: sim.apiUrl,
  };
}

describe("application database", () => {
  it("migrates once, however often it is opened, and concurrently", async () => {
    const results = await Promise.all([migrate(db.pool), migrate(db.pool), migrate(db.pool)]);
    expect(results.flat().sort()).toEqual(MIGRATIONS.map((m) => m.id));
    expect(await migrate(db.pool)).toEqual([]);
    const tables = await db.pool.query(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'bitbridge' ORDER BY 1",
    );
    expect(tables.rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining([
        "connections",
        "schema_migrations",
        "jobs",
        "tasks",
        "runs",
        "task_runs",
        "run_logs",
      ]),
    );
  });
});

describe("embedded application database", () => {
  it("starts under BITBRIDGE_HOME when no DATABASE_URL is given, and keeps its data across restarts", async () => {
    const embeddedHome = mkdtempSync(join(tmpdir(), "bitbridge-home-"));
    // As root the server runs as the postgres OS user, which must be able to enter the folder.
    chmodSync(embeddedHome, 0o711);
    const env = { BITBRIDGE_HOME: embeddedHome };
    try {
      const first = await openAppDatabase(env);
      expect(first.embedded).toBe(true);
      await new ConnectionStore(first.pool, () => key).add({
        name: "kept",
        connector: "bitbucket",
        properties: bitbucketProperties(),
      });
      await first.close();
      const second = await openAppDatabase(env);
      expect((await new ConnectionStore(second.pool, () => key).list()).map((c) => c.name)).toEqual(["kept"]);
      await second.close();
    } finally {
      rmSync(embeddedHome, { recursive: true, force: true });
    }
  }, 120_000);
});

describe("connection store", () => {
  it("keeps secrets encrypted at rest and opens them only with the key", async () => {
    const store = new ConnectionStore(db.pool, () => key);
    const props = bitbucketProperties();
    const saved = await store.add({
      name: "bb",
      connector: "bitbucket",
      properties: props,
      labels: ["prod"],
    });
    expect(saved.properties.APIToken).toBe(props.APIToken);
    const raw = await db.pool.query(
      "SELECT properties::text, secrets FROM bitbridge.connections WHERE name = 'bb'",
    );
    expect(JSON.stringify(raw.rows)).not.toContain(props.APIToken);
    expect(raw.rows[0].secrets).toMatch(/^v1:/);
    expect(displayProperties(await store.get("bb")).APIToken).toBe("********");
    expect((await store.list("prod")).map((c) => c.name)).toEqual(["bb"]);
    expect(await store.list("other")).toEqual([]);
    const wrongKey = new ConnectionStore(db.pool, () => Buffer.alloc(32, 8));
    await expect(wrongKey.get("bb")).rejects.toThrow(/cannot be decrypted with this secret key/);
    await expect(store.add({ name: "bb", connector: "bitbucket", properties: props })).rejects.toThrow(
      /already exists/,
    );
    await expect(store.add({ name: "1bad", connector: "bitbucket", properties: props })).rejects.toThrow(
      /start with a letter/,
    );
    await expect(
      store.add({ name: "x", connector: "bitbucket", properties: { ...props, AuthSchem: "x" } }),
    ).rejects.toThrow(/AuthSchem.*AuthScheme/);
    await expect(store.get("nope")).rejects.toThrow(/No saved connection named nope\. Saved connections: bb/);
    await store.remove("bb");
    await expect(store.remove("bb")).rejects.toThrow(/No saved connection/);
  });
});

describe("bitbridge connection (CLI)", () => {
  it("adds a tested Bitbucket source and a PostgreSQL destination, queries through the saved name, removes them", async () => {
    const env = { DATABASE_URL: db.url, BITBRIDGE_HOME: home };
    const props = bitbucketProperties();
    const source = Object.entries(props)
      .map(([k, v]) => `${k}=${v}`)
      .join(";");
    const add = await runCli(
      ["connection", "add", "bitbucket", "--connector", "bitbucket", "--properties", source],
      { env },
    );
    expect(add.code, add.stderr).toBe(0);
    expect(add.stderr).toMatch(/Connected: /);
    const url = new URL(db.url);
    const destination = `URL=${db.url};Schema=bitbucket_data`;
    const addDest = await runCli(
      [
        "connection",
        "add",
        "warehouse",
        "--connector",
        "postgresql",
        "--properties",
        destination,
        "--label",
        "dw",
      ],
      {
        env,
      },
    );
    expect(addDest.code, addDest.stderr).toBe(0);
    expect(addDest.stderr).toMatch(/PostgreSQL \d+/);
    expect(addDest.stderr).toContain("can create tables in schema bitbucket_data (it will be created)");
    const list = await runCli(["connection", "list"], { env });
    expect(list.stdout).toMatch(/bitbucket\s+source\s+bitbucket/);
    expect(list.stdout).toMatch(/warehouse\s+destination\s+postgresql\s+dw/);
    const show = await runCli(["connection", "show", "bitbucket"], { env });
    expect(show.stdout).toContain("APIToken=********");
    expect(show.stdout).not.toContain(props.APIToken);
    const query = await runCli(
      ["query", "SELECT Slug FROM Repositories ORDER BY Slug", "--source", "bitbucket", "--format", "csv"],
      { env },
    );
    expect(query.code, query.stderr).toBe(0);
    expect(query.stdout.split("\r\n")[0]).toBe("Slug");
    const test = await runCli(["connection", "test", "warehouse"], { env });
    expect(test.stdout).toContain(`database ${url.pathname.slice(1)}`);
    const missing = await runCli(["query", "SELECT 1 FROM Repositories", "--source", "nope"], { env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(
      "No saved connection named nope. Saved connections: bitbucket, warehouse.",
    );
    const badDest = await runCli(
      [
        "connection",
        "add",
        "bad",
        "--connector",
        "postgresql",
        "--properties",
        `Server=127.0.0.1;Port=1;Database=x;User=u;Password=secret-pw`,
      ],
      { env },
    );
    expect(badDest.code).toBe(1);
    expect(badDest.stderr).toMatch(/Cannot connect to PostgreSQL.*check Server and Port/);
    expect(badDest.stderr).not.toContain("secret-pw");
    expect((await runCli(["connection", "remove", "warehouse"], { env })).stdout).toContain(
      "Removed connection warehouse.",
    );
    for (const out of [add, addDest, list, show, query, test])
      expect(out.stdout + out.stderr).not.toContain(props.APIToken);
  });
});
