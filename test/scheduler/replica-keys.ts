import type pg from "pg";
import { createClient } from "../../src/bitbucket/client.js";
import { parseConnectionString } from "../../src/bitbucket/connection-properties.js";
import { runQuery } from "../../src/sql/execute.js";

/** The rows of `sql` (bitbridge SQL) read from Bitbucket through `source`, each joined with `|`, sorted. */
export async function sourceKeys(source: string, sql: string): Promise<string[]> {
  const result = await runQuery(sql, {
    client: createClient(parseConnectionString(source)),
    workspace: "acme",
  });
  if (result.kind !== "rows") throw new Error("expected rows");
  return result.rows.map((r) => r.join("|")).sort();
}

/** The rows of `sql` in the destination database, each joined with `|`, sorted. */
export async function destKeys(pool: pg.Pool, sql: string): Promise<string[]> {
  return (await pool.query(sql)).rows.map((r) => Object.values(r).join("|")).sort();
}
