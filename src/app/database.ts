import { chmodSync, mkdirSync, statSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { EmbeddedPostgresError, startEmbeddedPostgres } from "./embedded-postgres.js";
import { BitbridgeError } from "./errors.js";
import { APP_SCHEMA, MIGRATIONS } from "./migrations.js";
import { bitbridgeHome } from "./secrets.js";

export interface AppDatabase {
  readonly pool: pg.Pool;
  /** Connection URL (with the password: never print it). */
  readonly url: string;
  /** True when bitbridge started its own PostgreSQL for this process. */
  readonly embedded: boolean;
  close(): Promise<void>;
}

/** Any number of processes may migrate at once: one does the work, the others wait for it. */
const MIGRATION_LOCK = 0x62627231;

/**
 * The application database: `DATABASE_URL` when set, else an embedded PostgreSQL whose data lives under
 * the bitbridge home folder. Migrations are applied before it is handed out.
 */
export async function openAppDatabase(env: NodeJS.ProcessEnv = process.env): Promise<AppDatabase> {
  const configured = env.DATABASE_URL?.trim();
  if (configured) {
    const pool = newPool(configured);
    await migrateOrExplain(pool, "DATABASE_URL");
    return { pool, url: configured, embedded: false, close: () => pool.end() };
  }
  const dataDir = embeddedDataDir(env);
  let server: Awaited<ReturnType<typeof startEmbeddedPostgres>>;
  try {
    // As root the server runs as the `postgres` OS user: it must be able to pass through our folder
    // (traverse only; the key and token files in it keep mode 0600).
    mkdirSync(path.dirname(dataDir), { recursive: true, mode: 0o711 });
    if (process.getuid?.() === 0)
      chmodSync(path.dirname(dataDir), statSync(path.dirname(dataDir)).mode | 0o001);
    server = await startEmbeddedPostgres({ dataDir });
  } catch (error) {
    if (error instanceof EmbeddedPostgresError || (error as NodeJS.ErrnoException).code !== undefined) {
      const message = error instanceof Error ? error.message : String(error);
      throw new BitbridgeError(
        "APP_DATABASE",
        `Cannot start the embedded PostgreSQL in ${dataDir}: ${message}`,
        {},
        500,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
  const pool = newPool(server.url);
  try {
    await migrateOrExplain(pool, `the embedded PostgreSQL in ${server.dataDir}`);
  } catch (error) {
    await pool.end();
    await server.stop();
    throw error;
  }
  return {
    pool,
    url: server.url,
    embedded: true,
    close: async () => {
      await pool.end();
      await server.stop();
    },
  };
}

/**
 * Where the embedded PostgreSQL keeps its data. As root it runs as the `postgres` OS user, who cannot
 * enter root's home folder, so root's default is /var/lib/bitbridge unless BITBRIDGE_HOME says otherwise.
 */
export function embeddedDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (!env.BITBRIDGE_HOME?.trim() && process.getuid?.() === 0) return "/var/lib/bitbridge/postgres";
  return path.join(bitbridgeHome(env), "postgres");
}

function newPool(url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 5 });
  // An idle client losing its server must not crash the process; the next query reports the problem.
  pool.on("error", () => {});
  return pool;
}

async function migrateOrExplain(pool: pg.Pool, where: string): Promise<void> {
  try {
    await migrate(pool);
  } catch (error) {
    if (error instanceof BitbridgeError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new BitbridgeError(
      "APP_DATABASE",
      `Cannot prepare the application database (${where}): ${message}`,
      {},
      500,
      {
        cause: error,
      },
    );
  }
}

/** Applies pending migrations; returns the ids applied by this call. */
export async function migrate(pool: pg.Pool): Promise<number[]> {
  const client = await pool.connect();
  const applied: number[] = [];
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${APP_SCHEMA}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${APP_SCHEMA}.schema_migrations (
         id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = new Set(
      (await client.query<{ id: number }>(`SELECT id FROM ${APP_SCHEMA}.schema_migrations`)).rows.map(
        (r) => r.id,
      ),
    );
    for (const migration of MIGRATIONS) {
      if (done.has(migration.id)) continue;
      await client.query(migration.sql);
      await client.query(`INSERT INTO ${APP_SCHEMA}.schema_migrations (id, name) VALUES ($1, $2)`, [
        migration.id,
        migration.name,
      ]);
      applied.push(migration.id);
    }
    const newest = Math.max(0, ...done);
    const known = Math.max(...MIGRATIONS.map((m) => m.id));
    if (newest > known) {
      throw new BitbridgeError(
        "APP_DATABASE_NEWER",
        `The application database was migrated by a newer bitbridge (schema version ${newest}, this one knows ${known}); upgrade bitbridge.`,
        {},
        500,
      );
    }
    await client.query("COMMIT");
    return applied;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
