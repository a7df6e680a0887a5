import pg from "pg";
import type { AppDatabase } from "../app/database.js";
import { BitbridgeError } from "../app/errors.js";
import type { ConnectionStore } from "../engine/connection-store.js";
import { resolveDestination } from "../engine/run-endpoints.js";
import { publishedSessionOptions } from "../odata/session-options.js";

/** The saved destination the main job writes to: published by default when it exists. */
const DEFAULT_CONNECTION = "warehouse";

/** Below Salesforce Connect's request timeout (120 s at most), so a slow query fails cleanly first. */
export const STATEMENT_TIMEOUT_MS = 30_000;

/** Connections to the published database; see StatementLanes for how the service shares them out. */
export const DEFAULT_POOL_SIZE = 20;

/**
 * The database whose tables OData publishes: `spec` (a saved PostgreSQL connection's name or a URL),
 * else BITBRIDGE_ODATA_DATABASE, else the saved `warehouse` connection, else the application database.
 * Its sessions are read-only and time-limited, whatever role they log in as.
 */
export async function openPublishedDatabase(
  db: AppDatabase,
  connections: ConnectionStore,
  spec: string | undefined,
  /** Connections at most (default: BITBRIDGE_ODATA_POOL_SIZE, else DEFAULT_POOL_SIZE). */
  max?: number,
  /** False for the few administrative writes (search indexes); the service itself never writes. */
  readOnly = true,
): Promise<{ pool: pg.Pool; description: string }> {
  const chosen = spec ?? process.env.BITBRIDGE_ODATA_DATABASE?.trim();
  let config: pg.ClientConfig;
  let description: string;
  if (chosen) {
    config = (await resolveDestination(connections, chosen)).destination.config;
    description = /:\/\//.test(chosen) ? "the given database" : `connection ${chosen}`;
  } else if ((await connections.list()).some((c) => c.name === DEFAULT_CONNECTION)) {
    config = (await resolveDestination(connections, DEFAULT_CONNECTION)).destination.config;
    description = `connection ${DEFAULT_CONNECTION}`;
  } else {
    config = { connectionString: db.url };
    description = "the application database";
  }
  const guards = readOnly ? publishedSessionOptions(STATEMENT_TIMEOUT_MS) : "-c TimeZone=UTC";
  const pool = new pg.Pool({
    ...config,
    max: max ?? configuredPoolSize() ?? DEFAULT_POOL_SIZE,
    options: [config.options, guards].filter(Boolean).join(" "),
  });
  pool.on("error", () => {});
  return { pool, description };
}

/** BITBRIDGE_ODATA_POOL_SIZE, when set. */
function configuredPoolSize(): number | undefined {
  const text = process.env.BITBRIDGE_ODATA_POOL_SIZE?.trim();
  if (!text) return undefined;
  const size = parsePoolSize(text);
  if (size === undefined)
    throw new BitbridgeError(
      "SETTING_INVALID",
      `BITBRIDGE_ODATA_POOL_SIZE must be a whole number from 1 to 1000, not "${text}"`,
    );
  return size;
}

/** A pool size from text: a whole number from 1 to 1000, else undefined. */
export function parsePoolSize(text: string): number | undefined {
  const size = Number(text);
  return Number.isInteger(size) && size >= 1 && size <= 1000 ? size : undefined;
}
