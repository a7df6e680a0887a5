import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { introspectSchema } from "../../src/source/postgres/catalog.js";
import { isPostgresConnectionText } from "../../src/source/postgres/connection.js";
import { useTestDatabase } from "../support/postgres.js";

const db = await useTestDatabase("pg_catalog");
let client: pg.Client;

beforeAll(async () => {
  client = await db.connect();
});

afterAll(async () => {
  await client.end();
});

describe("PostgreSQL source catalog", () => {
  it("lists tables, views and materialized views with mapped types and keys", async () => {
    await db.pool.query(`
      CREATE SCHEMA src;
      CREATE DOMAIN src.money_amount AS numeric(12, 2);
      CREATE TABLE src.accounts (tenant int, no smallint, amount src.money_amount, at timestamp,
                                 codes int[], PRIMARY KEY (tenant, no));
      COMMENT ON TABLE src.accounts IS 'Ledger accounts';
      CREATE TABLE src.measures (taken date NOT NULL, value float8) PARTITION BY RANGE (taken);
      CREATE TABLE src.measures_2026 PARTITION OF src.measures FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
      CREATE VIEW src.account_view AS SELECT tenant AS "ID", amount FROM src.accounts;
      CREATE MATERIALIZED VIEW src.totals AS SELECT sum(amount) AS total FROM src.accounts;
      CREATE TABLE public.elsewhere (id int PRIMARY KEY);`);
    const catalog = await introspectSchema(client, "src");
    const summary = catalog.tables.map((t) => ({
      name: t.name,
      relation: t.relation,
      key: t.primaryKey,
      columns: t.columns.map((c) => `${c.name}:${c.type}`),
    }));
    expect(summary).toEqual([
      { name: "account_view", relation: "view", key: ["ID"], columns: ["ID:integer", "amount:decimal"] },
      {
        name: "accounts",
        relation: "table",
        key: ["tenant", "no"],
        columns: ["tenant:integer", "no:integer", "amount:decimal", "at:datetime", "codes:string"],
      },
      { name: "measures", relation: "table", key: [], columns: ["taken:datetime", "value:decimal"] },
      { name: "totals", relation: "materialized view", key: [], columns: ["total:decimal"] },
    ]);
    const accounts = catalog.tables.find((t) => t.name === "accounts");
    expect(accounts?.description).toBe("Ledger accounts");
    expect(accounts?.columns[0]?.get({ tenant: 7 }, {})).toBe(7);
    expect(accounts?.readable).toBe(true);
  });

  it("fails clearly on a missing schema", async () => {
    await expect(introspectSchema(client, "nope")).rejects.toThrow(
      /Schema nope does not exist in the source database .*; set the source's Schema property/,
    );
  });

  it("tells PostgreSQL connection texts from Bitbucket ones", () => {
    expect(isPostgresConnectionText("postgres://u@h/db")).toBe(true);
    expect(isPostgresConnectionText("Server=h;Database=db;User=u;Password=p")).toBe(true);
    expect(isPostgresConnectionText("URL=postgresql://u@h/db;Schema=s")).toBe(true);
    expect(isPostgresConnectionText("AuthScheme=APIToken;User=u;APIToken=t;Url=http://localhost:1")).toBe(
      false,
    );
    expect(isPostgresConnectionText("bitbucket")).toBe(false);
  });
});
