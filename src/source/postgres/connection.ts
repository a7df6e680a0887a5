import pg from "pg";
import { BitbridgeError } from "../../app/errors.js";
import { splitConnectionString } from "../../bitbucket/connection-properties.js";
import {
  POSTGRES_PROPERTIES,
  type PostgresDestination,
  postgresConfig,
} from "../../destination/postgres/destination-properties.js";
import { introspectSchema, type PostgresCatalog } from "./catalog.js";

/** Same settings as a PostgreSQL destination; `schema` is where tables and views are read from. */
export type PostgresSource = PostgresDestination;

export const POSTGRES_SOURCE_PROPERTIES = POSTGRES_PROPERTIES.map((p) =>
  p.name === "Schema"
    ? { ...p, description: "Schema the tables and views are read from (default public)" }
    : p,
);

export function postgresSourceConfig(values: Readonly<Record<string, string>>): PostgresSource {
  return postgresConfig(values);
}

/**
 * Whether a `--source` text is a PostgreSQL connection rather than a Bitbucket one: a postgres:// URL,
 * or properties only PostgreSQL has (Server, Database, or a postgres:// URL property).
 */
export function isPostgresConnectionText(text: string): boolean {
  if (/^postgres(ql)?:\/\//i.test(text.trim())) return true;
  if (!text.includes("=")) return false;
  return splitConnectionString(text).some(
    ({ name, value }) =>
      ["server", "database"].includes(name.toLowerCase()) ||
      (name.toLowerCase() === "url" && /^postgres(ql)?:\/\//i.test(value.trim())),
  );
}

/** A connected source client (errors say which property to check); the caller ends it. */
export async function connectSource(source: PostgresSource): Promise<pg.Client> {
  const client = new pg.Client({ ...source.config, connectionTimeoutMillis: 10_000 });
  // A server lost between queries must not crash the process: the next query fails instead.
  client.on("error", () => {});
  try {
    await client.connect();
    // Instants are read as UTC text and checkpoints compared as such.
    await client.query("SET TimeZone = 'UTC'; SET DateStyle = 'ISO'");
  } catch (error) {
    await client.end().catch(() => {});
    const e = error as { code?: string; message?: string };
    throw new BitbridgeError(
      "SOURCE_CONNECT",
      `Cannot connect to the source PostgreSQL: ${e.message ?? String(error)} (check ${propertyFor(e.code)}).`,
      { sqlstate: e.code },
      503,
      { cause: error },
    );
  }
  return client;
}

function propertyFor(code: string | undefined): string {
  if (code === "28P01" || code === "28000") return "User and Password";
  if (code === "3D000") return "Database";
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "ETIMEDOUT") return "Server and Port";
  return "the connection properties";
}

/** `connection test` of a PostgreSQL source: who, where, and what the schema holds. */
export async function testPostgresSource(values: Readonly<Record<string, string>>): Promise<string> {
  const source = postgresSourceConfig(values);
  const client = await connectSource(source);
  try {
    const catalog = await introspectSchema(client, source.schema);
    const who = await client.query<{ version: string; usr: string; db: string }>(
      "SELECT current_setting('server_version') AS version, current_user AS usr, current_database() AS db",
    );
    const row = who.rows[0];
    const count = (kinds: readonly string[]) =>
      catalog.tables.filter((t) => kinds.includes(t.relation)).length;
    const tables = count(["table", "foreign table"]);
    const views = count(["view", "materialized view"]);
    const unreadable = catalog.tables.filter((t) => !t.readable).length;
    const denied = unreadable > 0 ? `, ${unreadable} not readable by ${row?.usr}` : "";
    return `PostgreSQL ${row?.version}, database ${row?.db} as ${row?.usr}; schema ${source.schema} has ${tables} table(s) and ${views} view(s)${denied}`;
  } finally {
    await client.end().catch(() => {});
  }
}

/** The source schema's catalog, for checking statements before a run. */
export async function readSourceCatalog(source: PostgresSource): Promise<PostgresCatalog> {
  const client = await connectSource(source);
  try {
    return await introspectSchema(client, source.schema);
  } finally {
    await client.end().catch(() => {});
  }
}
