import { BitbridgeError } from "../../app/errors.js";
import type { ConnectionStore } from "../../engine/connection-store.js";
import { bindPostgresReplicate } from "../../source/postgres/bind.js";
import type { PostgresCatalog } from "../../source/postgres/catalog.js";
import { postgresSourceConfig, readSourceCatalog } from "../../source/postgres/connection.js";
import { type BoundReplicate, bindReplicate, type ReplicateStatement } from "../../sql/replicate.js";

/**
 * What task statements are checked against: undefined for Bitbucket (its built-in catalog); a PostgreSQL
 * source's tables are read from it now, as `job add-task` does.
 */
export async function sourceCatalog(
  connections: ConnectionStore,
  name: string,
): Promise<PostgresCatalog | undefined> {
  const source = await connections.get(name);
  if (source.kind !== "source") {
    throw new BitbridgeError(
      "CONNECTION_KIND",
      `Connection ${name} is a ${source.connector} ${source.kind}, not a source.`,
    );
  }
  return source.connector === "postgresql"
    ? readSourceCatalog(postgresSourceConfig(source.properties))
    : undefined;
}

/** Binds a parsed statement against the source's tables; throws SqlBindError with offsets into `sql`. */
export function bindTask(
  sql: string,
  statement: ReplicateStatement,
  catalog: PostgresCatalog | undefined,
): BoundReplicate {
  return catalog
    ? bindPostgresReplicate(sql, statement, catalog, undefined).bound
    : bindReplicate(sql, statement);
}
