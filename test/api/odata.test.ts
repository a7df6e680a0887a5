import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTestDatabase } from "../support/postgres.js";
import { Browser, startTestApp, type TestApp } from "./harness.js";

const db = await useTestDatabase("api-odata");
let app: TestApp;
let browser: Browser;

beforeAll(async () => {
  app = await startTestApp(db);
  browser = new Browser(app.origin);
  await browser.login();
  await db.pool.query(`
    CREATE SCHEMA shop;
    CREATE TABLE shop.orders (id integer PRIMARY KEY, customer text NOT NULL, total numeric(10, 2));
    INSERT INTO shop.orders VALUES (1, 'Ada', 12.50), (2, 'Grace', 99.99), (3, 'Linus', 5);
    CREATE TABLE shop.audit (at timestamptz);
    CREATE VIEW shop.big_orders AS SELECT * FROM shop.orders WHERE total > 50;
    CREATE TABLE shop.doomed (id integer PRIMARY KEY);`);
});
afterAll(async () => {
  await app?.close();
});

async function errorOf(response: Response) {
  return ((await response.json()) as { error: { code: string; message: string; fields?: unknown[] } }).error;
}

function basic(username: string, password: string) {
  return { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}` };
}

interface TableRow {
  schema: string;
  table: string;
  kind: string;
  shared: boolean;
  entitySet: string | null;
  problem: string | null;
}

describe("external objects", () => {
  it("says where the service is and what it publishes", async () => {
    expect(await browser.json("/api/odata")).toEqual({
      url: `${app.origin}/odata/v4`,
      published: "the test database",
    });
  });

  it("issues OData credentials shown once, notes their use, resets and revokes them", async () => {
    const created = await browser.fetch("/api/odata/credentials", {
      method: "POST",
      body: { username: "salesforce", requestsPerHour: 500 },
    });
    expect(created.status).toBe(201);
    const { password } = (await created.json()) as { password: string };
    expect(password).toHaveLength(32);
    type Listed = {
      username: string;
      lastUsedAt: string | null;
      requestsPerHour: number;
      revokedAt: string | null;
    };
    const before = await browser.json<Listed[]>("/api/odata/credentials");
    expect(before).toEqual([
      expect.objectContaining({
        username: "salesforce",
        lastUsedAt: null,
        requestsPerHour: 500,
        revokedAt: null,
      }),
    ]);

    expect((await fetch(`${app.origin}/odata/v4/`, { headers: basic("salesforce", password) })).status).toBe(
      200,
    );
    let used: string | null = null;
    for (let i = 0; i < 50 && !used; i++) {
      used = (await browser.json<Listed[]>("/api/odata/credentials"))[0]?.lastUsedAt ?? null;
      if (!used) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(used).toMatch(/^\d{4}-/);

    const duplicate = await browser.fetch("/api/odata/credentials", {
      method: "POST",
      body: { username: "salesforce" },
    });
    expect(duplicate.status).toBe(409);
    const invalid = await browser.fetch("/api/odata/credentials", {
      method: "POST",
      body: { username: "9 lives" },
    });
    expect(invalid.status).toBe(400);
    expect((await errorOf(invalid)).fields).toEqual([
      { field: "body.username", message: expect.any(String) },
    ]);

    const reset = await browser.json<{ password: string; previousValidUntil: string }>(
      "/api/odata/credentials/salesforce/reset",
      { method: "POST" },
    );
    expect(reset.password).not.toBe(password);
    expect(Date.parse(reset.previousValidUntil)).toBeGreaterThan(Date.now());
    // The service trusts a credential row it read for a second.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(
      (await fetch(`${app.origin}/odata/v4/`, { headers: basic("salesforce", reset.password) })).status,
    ).toBe(200);

    expect((await browser.fetch("/api/odata/credentials/salesforce", { method: "DELETE" })).status).toBe(204);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(
      (await fetch(`${app.origin}/odata/v4/`, { headers: basic("salesforce", reset.password) })).status,
    ).toBe(401);
    expect((await browser.fetch("/api/odata/credentials/salesforce", { method: "DELETE" })).status).toBe(404);
    expect((await browser.fetch("/api/odata/credentials/nobody/reset", { method: "POST" })).status).toBe(404);
    const everything = browser.transcript.filter((t) => !t.includes('"password"')).join("\n");
    expect(everything).not.toContain(password);
  });

  it("lists the published database's tables and views, but not bitbridge's own", async () => {
    const tables = await browser.json<TableRow[]>("/api/odata/tables");
    const shop = tables.filter((t) => t.schema === "shop");
    expect(shop).toEqual([
      {
        schema: "shop",
        table: "audit",
        kind: "table",
        shared: false,
        entitySet: null,
        problem: expect.stringMatching(/key/),
      },
      // A view's `id` column serves as its key.
      { schema: "shop", table: "big_orders", kind: "view", shared: false, entitySet: null, problem: null },
      { schema: "shop", table: "doomed", kind: "table", shared: false, entitySet: null, problem: null },
      { schema: "shop", table: "orders", kind: "table", shared: false, entitySet: null, problem: null },
    ]);
    expect(tables.some((t) => t.schema === "bitbridge")).toBe(false);
  });

  it("shares and unshares tables, and previews what OData clients receive", async () => {
    const shared = await browser.fetch("/api/odata/shares", {
      method: "POST",
      body: { schema: "shop", table: "orders" },
    });
    expect(shared.status).toBe(201);
    expect(await shared.json()).toEqual({
      schema: "shop",
      table: "orders",
      entitySet: "orders",
      key: ["id"],
      properties: 3,
      countsCached: true,
    });
    await browser.json("/api/odata/shares", {
      method: "POST",
      body: { schema: "shop", table: "doomed", entitySet: "Doomed" },
    });
    const keyless = await browser.fetch("/api/odata/shares", {
      method: "POST",
      body: { schema: "shop", table: "audit" },
    });
    expect(keyless.status).toBe(400);
    expect((await errorOf(keyless)).message).toMatch(/key/);
    const missing = await browser.fetch("/api/odata/shares", {
      method: "POST",
      body: { schema: "shop", table: "nope" },
    });
    expect(missing.status).toBe(404);
    const clash = await browser.fetch("/api/odata/shares", {
      method: "POST",
      body: { schema: "shop", table: "big_orders", entitySet: "ORDERS" },
    });
    expect(clash.status).toBe(409);

    const metadata = await browser.fetch("/api/odata/preview/metadata");
    expect(metadata.status).toBe(200);
    expect(metadata.headers.get("content-type")).toMatch(/application\/xml/);
    expect(await metadata.text()).toContain('<EntitySet Name="orders"');
    const rows = await browser.fetch("/api/odata/preview/orders?top=2");
    expect(rows.status).toBe(200);
    const page = (await rows.json()) as { "@odata.context": string; value: { id: number }[] };
    expect(page.value.map((r) => r.id)).toEqual([1, 2]);
    expect(page["@odata.context"]).toBe(`${app.origin}/odata/v4/$metadata#orders`);
    const tooMany = await browser.fetch("/api/odata/preview/orders?top=1000");
    expect((await errorOf(tooMany)).fields).toEqual([
      { field: "querystring.top", message: expect.any(String) },
    ]);
    const unknown = await browser.fetch("/api/odata/preview/nothing");
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown)).message).toMatch(/No entity set/);
    expect((await fetch(`${app.origin}/api/odata/preview/orders`)).status).toBe(401);

    await db.pool.query("DROP TABLE shop.doomed");
    const tables = await browser.json<TableRow[]>("/api/odata/tables");
    expect(tables.find((t) => t.table === "orders")).toMatchObject({
      shared: true,
      entitySet: "orders",
      problem: null,
    });
    expect(tables.find((t) => t.table === "doomed")).toMatchObject({
      shared: true,
      entitySet: "Doomed",
      problem: expect.stringMatching(/no table or view/),
    });

    expect((await browser.fetch("/api/odata/shares/Doomed", { method: "DELETE" })).status).toBe(204);
    expect((await browser.fetch("/api/odata/shares/orders", { method: "DELETE" })).status).toBe(204);
    expect((await browser.fetch("/api/odata/preview/orders")).status).toBe(404);
    const again = await browser.fetch("/api/odata/shares/orders", { method: "DELETE" });
    expect(again.status).toBe(404);
    expect((await errorOf(again)).code).toBe("ODATA_NOT_SHARED");
  });
});
