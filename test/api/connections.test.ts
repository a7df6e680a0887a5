import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningSimulator, startSimulator } from "../../sim/server.js";
import { CATALOG } from "../../src/source/catalog.js";
import { useTestDatabase } from "../support/postgres.js";
import { Browser, startTestApp, type TestApp } from "./harness.js";

const db = await useTestDatabase("api-connections");
const home = mkdtempSync(join(tmpdir(), "bitbridge-api-conn-"));
process.env.BITBRIDGE_HOME = home;
const PASSWORD = "hunter2-never-shown";
let app: TestApp;
let sim: RunningSimulator;
let browser: Browser;

beforeAll(async () => {
  app = await startTestApp(db);
  sim = await startSimulator({ seed: 5, scale: "tiny" });
  browser = new Browser(app.origin);
  await browser.login();
});
afterAll(async () => {
  await app?.close();
  await sim?.stop();
  rmSync(home, { recursive: true, force: true });
});

/** The test database as PostgreSQL properties; trust authentication ignores the password. */
function postgresProperties(overrides: Record<string, string> = {}): Record<string, string> {
  const url = new URL(db.url);
  return {
    Server: url.hostname,
    Port: url.port || "5432",
    Database: url.pathname.slice(1),
    User: decodeURIComponent(url.username),
    Password: PASSWORD,
    ...overrides,
  };
}

function apiToken() {
  const token = sim.sim.auth.credentials().apiTokens[0];
  if (!token) throw new Error("the simulator has no API token");
  return token;
}

interface Connection {
  name: string;
  kind: string;
  connector: string;
  title: string;
  labels: string[];
  properties: Record<string, string>;
}

async function errorOf(response: Response) {
  return ((await response.json()) as { error: { code: string; message: string; fields?: unknown[] } }).error;
}

describe("connectors", () => {
  it("describes every property a form needs, with defaults and choices", async () => {
    const connectors =
      await browser.json<
        {
          name: string;
          kind: string;
          properties: {
            name: string;
            secret: boolean;
            required: boolean;
            default: string | null;
            choices: string[] | null;
          }[];
        }[]
      >("/api/connectors");
    expect(connectors.map((c) => `${c.name}/${c.kind}`)).toEqual([
      "bitbucket/source",
      "postgresql/destination",
      "postgresql/source",
    ]);
    const bitbucket = connectors[0]?.properties ?? [];
    expect(bitbucket.find((p) => p.name === "AuthScheme")).toMatchObject({
      required: true,
      choices: ["OAuth", "client", "APIToken", "AccessToken"],
    });
    expect(bitbucket.find((p) => p.name === "APIToken")?.secret).toBe(true);
    expect(bitbucket.find((p) => p.name === "CallbackURL")?.default).toBe(`${app.origin}/api/oauth/callback`);
    expect(bitbucket.find((p) => p.name === "Url")?.default).toBe("https://api.bitbucket.org/2.0");
    const postgres = connectors[1]?.properties ?? [];
    expect(postgres.find((p) => p.name === "Port")?.default).toBe("5432");
    expect(postgres.find((p) => p.name === "SSLMode")?.choices).toEqual([
      "disable",
      "require",
      "verify-ca",
      "verify-full",
    ]);
    expect(postgres.find((p) => p.name === "Password")).toMatchObject({ secret: true, required: false });
  });
});

describe("connections", () => {
  it("tests before saving, masks secrets, and refuses a connection whose test fails", async () => {
    const created = await browser.fetch("/api/connections", {
      method: "POST",
      body: {
        name: "warehouse",
        connector: "postgresql",
        properties: postgresProperties(),
        labels: ["prod"],
      },
    });
    expect(created.status).toBe(201);
    const body = (await created.json()) as { connection: Connection; test: { ok: boolean; message: string } };
    expect(body.test.ok).toBe(true);
    expect(body.test.message).toMatch(/PostgreSQL/);
    expect(body.connection).toMatchObject({
      name: "warehouse",
      kind: "destination",
      connector: "postgresql",
      title: "PostgreSQL",
      labels: ["prod"],
    });
    expect(body.connection.properties.Password).toBe("********");
    expect((await app.connections.get("warehouse")).properties.Password).toBe(PASSWORD);

    const failing = await browser.fetch("/api/connections", {
      method: "POST",
      body: { name: "broken", connector: "postgresql", properties: postgresProperties({ Port: "1" }) },
    });
    expect(failing.status).toBe(422);
    const failure = await errorOf(failing);
    expect(failure.code).toBe("CONNECTION_TEST_FAILED");
    expect(failure.message).toMatch(/Server and Port/);
    expect((await browser.fetch("/api/connections/broken")).status).toBe(404);

    const untested = await browser.fetch("/api/connections", {
      method: "POST",
      body: {
        name: "later",
        connector: "postgresql",
        properties: postgresProperties({ Port: "1" }),
        test: false,
      },
    });
    expect(untested.status).toBe(201);
    expect(((await untested.json()) as { test: unknown }).test).toBeNull();
    expect((await browser.fetch("/api/connections/later/test", { method: "POST" })).status).toBe(422);
    expect((await browser.fetch("/api/connections/later", { method: "DELETE" })).status).toBe(204);

    const duplicate = await browser.fetch("/api/connections", {
      method: "POST",
      body: { name: "warehouse", connector: "postgresql", properties: postgresProperties() },
    });
    expect(duplicate.status).toBe(409);
    expect((await errorOf(duplicate)).code).toBe("CONFLICT");
  });

  it("names the fields at fault", async () => {
    const missing = await browser.fetch("/api/connections", {
      method: "POST",
      body: { name: "x", connector: "postgresql", properties: postgresProperties({ Database: "" }) },
    });
    expect(missing.status).toBe(400);
    expect((await errorOf(missing)).fields).toEqual([
      { field: "body.properties.Database", message: expect.stringMatching(/Database is required/) },
    ]);
    const misspelt = await browser.fetch("/api/connections", {
      method: "POST",
      body: { name: "x", connector: "postgresql", properties: { ...postgresProperties(), Sever: "db" } },
    });
    expect((await errorOf(misspelt)).fields).toEqual([
      { field: "body.properties.Sever", message: expect.stringMatching(/Did you mean Server/) },
    ]);
    const bitbucket = await browser.fetch("/api/connections", {
      method: "POST",
      body: { name: "x", connector: "bitbucket", properties: { AuthScheme: "APIToken" } },
    });
    expect((await errorOf(bitbucket)).fields).toEqual([
      { field: "body.properties.User", message: expect.any(String) },
      { field: "body.properties.APIToken", message: expect.any(String) },
    ]);
    const shape = await browser.fetch("/api/connections", {
      method: "POST",
      body: { name: "1bad", connector: "postgresql", kind: "sink", properties: {} },
    });
    expect(shape.status).toBe(400);
    const fields = ((await errorOf(shape)).fields ?? []) as { field: string }[];
    expect(fields).toEqual([
      { field: "body.name", message: expect.stringMatching(/pattern/) },
      { field: "body.kind", message: 'must be one of "source", "destination"' },
    ]);
    const unknown = await browser.fetch("/api/connections", {
      method: "POST",
      body: { name: "x", connector: "mysql", properties: {} },
    });
    expect(await errorOf(unknown)).toMatchObject({
      code: "CONNECTOR_UNKNOWN",
      fields: [{ field: "body.connector", message: expect.any(String) }],
    });
  });

  it("keeps a secret sent masked or left out, and changes it when sent", async () => {
    const masked = await browser.json<{ connection: Connection }>("/api/connections/warehouse", {
      method: "PUT",
      body: {
        properties: { ...postgresProperties(), Password: "********", Schema: "bb" },
        labels: ["a", "b"],
      },
    });
    expect(masked.connection.properties).toMatchObject({ Password: "********", Schema: "bb" });
    expect(masked.connection.labels).toEqual(["a", "b"]);
    expect((await app.connections.get("warehouse")).properties.Password).toBe(PASSWORD);

    const { Password: _left, ...withoutPassword } = postgresProperties();
    await browser.json("/api/connections/warehouse", {
      method: "PUT",
      body: { properties: withoutPassword },
    });
    const stored = await app.connections.get("warehouse");
    expect(stored.properties.Password).toBe(PASSWORD);
    expect(stored.properties.Schema).toBeUndefined();

    await browser.json("/api/connections/warehouse", {
      method: "PUT",
      body: { properties: postgresProperties({ Password: "another-secret" }), test: false },
    });
    expect((await app.connections.get("warehouse")).properties.Password).toBe("another-secret");
    await browser.json("/api/connections/warehouse", {
      method: "PUT",
      body: { properties: postgresProperties(), test: false },
    });

    const failing = await browser.fetch("/api/connections/warehouse", {
      method: "PUT",
      body: { properties: postgresProperties({ Port: "1" }) },
    });
    expect(failing.status).toBe(422);
    expect((await app.connections.get("warehouse")).properties.Port).not.toBe("1");
    expect((await browser.fetch("/api/connections/nowhere", { method: "PUT", body: {} })).status).toBe(404);
  });

  it("lists by label and shows one connection", async () => {
    const labelled = await browser.json<Connection[]>("/api/connections?label=a");
    expect(labelled.map((c) => c.name)).toEqual(["warehouse"]);
    expect(await browser.json<Connection[]>("/api/connections?label=none")).toEqual([]);
    const one = await browser.json<Connection>("/api/connections/warehouse");
    expect(one.properties.Password).toBe("********");
    const missing = await browser.fetch("/api/connections/nowhere");
    expect(missing.status).toBe(404);
    expect((await errorOf(missing)).code).toBe("CONNECTION_NOT_FOUND");
  });

  it("tests a saved Bitbucket connection and lists the catalog's tables", async () => {
    const token = apiToken();
    const created = await browser.fetch("/api/connections", {
      method: "POST",
      body: {
        name: "bitbucket",
        connector: "bitbucket",
        properties: {
          authscheme: "APIToken",
          User: token.email,
          APIToken: token.token,
          Workspace: sim.sim.data.workspaces[0]?.slug ?? "",
          Url: sim.apiUrl,
          CallbackURL: "",
        },
      },
    });
    expect(created.status).toBe(201);
    const body = (await created.json()) as { connection: Connection; test: { ok: boolean } };
    expect(body.test.ok).toBe(true);
    expect(body.connection.properties).toMatchObject({ AuthScheme: "APIToken", APIToken: "********" });
    expect(body.connection.properties.CallbackURL).toBeUndefined();
    const tested = await browser.json<{ ok: boolean; message: string }>("/api/connections/bitbucket/test", {
      method: "POST",
    });
    expect(tested.ok).toBe(true);
    const tables = await browser.json<{ name: string; columns: { name: string; type: string }[] }[]>(
      "/api/connections/bitbucket/tables",
    );
    expect(tables.map((t) => t.name)).toEqual(CATALOG.map((t) => t.name));
    expect(tables[0]?.columns[0]).toEqual({
      name: expect.any(String),
      type: expect.any(String),
      description: expect.any(String),
    });
    expect(JSON.stringify(browser.transcript)).not.toContain(token.token);
  });

  it("lists a PostgreSQL source's tables and views with their columns", async () => {
    await db.pool.query(`
      CREATE SCHEMA shop;
      CREATE TABLE shop.orders (id integer PRIMARY KEY, total numeric(10, 2));
      COMMENT ON TABLE shop.orders IS 'Customer orders';
      CREATE VIEW shop.big_orders AS SELECT * FROM shop.orders WHERE total > 100;`);
    await browser.json("/api/connections", {
      method: "POST",
      body: {
        name: "shopdb",
        connector: "postgresql",
        kind: "source",
        properties: postgresProperties({ Schema: "shop" }),
      },
    });
    const tables = await browser.json<{ name: string; description: string; columns: unknown[] }[]>(
      "/api/connections/shopdb/tables",
    );
    expect(tables.map((t) => t.name).sort()).toEqual(["big_orders", "orders"]);
    expect(tables.find((t) => t.name === "orders")).toMatchObject({
      columns: [
        { name: "id", type: "integer" },
        { name: "total", type: "decimal" },
      ],
    });
    const destination = await browser.fetch("/api/connections/warehouse/tables");
    expect(destination.status).toBe(400);
    expect((await errorOf(destination)).code).toBe("CONNECTION_KIND");
  });

  it("refuses to remove a connection a job uses", async () => {
    await db.pool.query(
      `INSERT INTO bitbridge.jobs (name, source_id, destination_id)
       SELECT 'nightly', s.id, d.id FROM bitbridge.connections s, bitbridge.connections d
       WHERE s.name = 'shopdb' AND d.name = 'warehouse'`,
    );
    const refused = await browser.fetch("/api/connections/warehouse", { method: "DELETE" });
    expect(refused.status).toBe(409);
    expect(await errorOf(refused)).toMatchObject({
      code: "CONFLICT",
      message: expect.stringMatching(/nightly/),
    });
    await db.pool.query("DELETE FROM bitbridge.jobs");
    expect((await browser.fetch("/api/connections/warehouse", { method: "DELETE" })).status).toBe(204);
    expect((await browser.fetch("/api/connections/warehouse", { method: "DELETE" })).status).toBe(404);
  });

  it("never sends a secret back", () => {
    const everything = browser.transcript.join("\n");
    expect(everything).not.toContain(PASSWORD);
    expect(everything).not.toContain("another-secret");
    expect(app.logged.join("\n")).not.toContain(PASSWORD);
  });
});
