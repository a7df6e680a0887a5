import { readFileSync } from "node:fs";
import pg from "pg";
import { closest } from "../../app/closest.js";
import { BitbridgeError } from "../../app/errors.js";

/** Properties of a PostgreSQL destination, as users of replication tools know them. */
export const POSTGRES_PROPERTIES: readonly {
  readonly name: string;
  readonly secret?: boolean;
  readonly description: string;
}[] = [
  { name: "Server", description: "Host name (default localhost)" },
  { name: "Port", description: "Port (default 5432)" },
  { name: "Database", description: "Database name" },
  { name: "User", description: "User name" },
  { name: "Password", secret: true, description: "Password (AuthScheme=Password)" },
  { name: "AuthScheme", description: "Password (default) or None (trust, peer)" },
  { name: "SSLMode", description: "disable, require, verify-ca or verify-full (default disable)" },
  { name: "SSLRootCert", description: "CA certificate file for verify-ca and verify-full" },
  {
    name: "URL",
    secret: true,
    description:
      "A connection URL instead of the above, e.g. a Heroku DATABASE_URL (sslmode=require honoured)",
  },
  { name: "Schema", description: "Schema the tables are written to (default public)" },
];

const SSL_MODES = ["disable", "require", "verify-ca", "verify-full"];

export interface PostgresDestination {
  readonly config: pg.ClientConfig;
  readonly schema: string;
}

function fail(property: string, message: string): never {
  throw new BitbridgeError("CONNECTION_PROPERTY_INVALID", message, { property });
}

function sslOptions(mode: string, caFile: string | undefined): pg.ClientConfig["ssl"] {
  if (mode === "disable") return false;
  if (mode === "require") return { rejectUnauthorized: false };
  let ca: string;
  try {
    ca = readFileSync(caFile ?? "", "utf8");
  } catch {
    fail(
      "SSLRootCert",
      `SSLMode=${mode} needs SSLRootCert, a readable CA certificate file (cannot read ${caFile ?? "it"}).`,
    );
  }
  // verify-ca checks the chain but not the host name; verify-full checks both.
  return mode === "verify-ca"
    ? { rejectUnauthorized: true, ca, checkServerIdentity: () => undefined }
    : { rejectUnauthorized: true, ca };
}

/** Validated `pg` client settings from the destination's properties. */
export function postgresConfig(values: Readonly<Record<string, string>>): PostgresDestination {
  const names = POSTGRES_PROPERTIES.map((p) => p.name);
  for (const name of Object.keys(values)) {
    if (!names.includes(name)) {
      const suggestion = closest(name, names);
      fail(name, `Unknown PostgreSQL property ${name}.${suggestion ? ` Did you mean ${suggestion}?` : ""}`);
    }
  }
  const schema = values.Schema?.trim() || "public";
  const explicitSsl = values.SSLMode?.toLowerCase();
  if (explicitSsl !== undefined && !SSL_MODES.includes(explicitSsl)) {
    fail("SSLMode", `SSLMode must be one of ${SSL_MODES.join(", ")}, not ${values.SSLMode}.`);
  }
  const authScheme = (values.AuthScheme ?? "Password").toLowerCase();
  if (authScheme !== "password" && authScheme !== "none")
    fail("AuthScheme", "AuthScheme must be Password or None.");

  if (values.URL) {
    let url: URL;
    try {
      url = new URL(values.URL);
    } catch {
      fail("URL", "URL is not a valid connection URL (postgres://user:password@host:port/database).");
    }
    if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
      fail("URL", "URL must start with postgres:// or postgresql://.");
    }
    // Heroku-style URLs carry sslmode=require; an explicit SSLMode property wins.
    const mode = explicitSsl ?? url.searchParams.get("sslmode") ?? "disable";
    url.searchParams.delete("sslmode");
    return {
      schema,
      config: { connectionString: url.toString(), ssl: sslOptions(mode, values.SSLRootCert) },
    };
  }
  const port = Number(values.Port ?? 5432);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    fail("Port", `Port must be 1 to 65535, not ${values.Port}.`);
  if (!values.Database) fail("Database", "Database is required (or give URL).");
  if (!values.User) fail("User", "User is required (or give URL).");
  if (authScheme === "password" && values.Password === undefined) {
    fail(
      "Password",
      "Password is required with AuthScheme=Password (AuthScheme=None for trust or peer authentication).",
    );
  }
  return {
    schema,
    config: {
      host: values.Server ?? "localhost",
      port,
      database: values.Database,
      user: values.User,
      ...(authScheme === "password" ? { password: values.Password } : {}),
      ssl: sslOptions(explicitSsl ?? "disable", values.SSLRootCert),
    },
  };
}

function propertyFor(code: string | undefined): string {
  if (code === "28P01" || code === "28000") return "User and Password";
  if (code === "3D000") return "Database";
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "ETIMEDOUT") return "Server and Port";
  return "the connection properties";
}

/**
 * Connects, reports the server version, and checks the user may create tables in the target schema (or
 * create that schema): the two things a first replication needs.
 */
export async function testPostgresDestination(values: Readonly<Record<string, string>>): Promise<string> {
  const { config, schema } = postgresConfig(values);
  const client = new pg.Client({ ...config, connectionTimeoutMillis: 10_000 });
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (error) {
    const e = error as { code?: string; message?: string };
    throw new BitbridgeError(
      "DESTINATION_CONNECT",
      `Cannot connect to PostgreSQL: ${e.message ?? String(error)} (check ${propertyFor(e.code)}).`,
      { sqlstate: e.code },
    );
  }
  try {
    const result = await client.query<{
      version: string;
      usr: string;
      db: string;
      exists: boolean;
      can_create: boolean;
    }>(
      `SELECT current_setting('server_version') AS version, current_user AS usr, current_database() AS db,
              EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS exists,
              CASE WHEN EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)
                   THEN has_schema_privilege(current_user, $1, 'CREATE')
                   ELSE has_database_privilege(current_user, current_database(), 'CREATE') END AS can_create`,
      [schema],
    );
    const row = result.rows[0];
    if (!row)
      throw new BitbridgeError(
        "DESTINATION_CONNECT",
        "PostgreSQL returned no answer to the connection check.",
      );
    if (!row.can_create) {
      throw new BitbridgeError(
        "DESTINATION_PRIVILEGE",
        row.exists
          ? `User ${row.usr} cannot create tables in schema ${schema} of database ${row.db} (GRANT CREATE ON SCHEMA ${schema} TO ${row.usr}).`
          : `Schema ${schema} does not exist and user ${row.usr} cannot create it in database ${row.db} (GRANT CREATE ON DATABASE ${row.db} TO ${row.usr}, or choose an existing Schema).`,
        { property: "Schema" },
      );
    }
    const created = row.exists ? "" : " (it will be created)";
    return `PostgreSQL ${row.version}, database ${row.db} as ${row.usr}; can create tables in schema ${schema}${created}`;
  } finally {
    await client.end().catch(() => {});
  }
}
