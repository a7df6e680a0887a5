import type { AppDatabase } from "../app/database.js";
import type { ConnectionStore } from "../engine/connection-store.js";
import { CredentialStore } from "../odata/credentials.js";
import { readAsReader } from "../odata/reader-role.js";
import { ODATA_ROOT } from "../odata/service.js";
import { ShareStore } from "../odata/shares.js";
import { startAppServer } from "../server/app-server.js";
import { openPublishedDatabase } from "./published-database.js";
import { odataTokenKey } from "./serve-command.js";

/** The main job's OData user. */
const DEMO_USER = "salesforce";

/**
 * The main job's last step: every replicated table of `schema` is shared (new ones only, so names and
 * lengths stay as first chosen; those shared before get the reader grant and change trigger they may lack,
 * as after an upgrade), an OData user exists, and with a port the service runs until `close`.
 */
export async function publishReplicatedTables(
  db: AppDatabase,
  connections: ConnectionStore,
  schema: string,
  options: { port: number | undefined; log: (line: string) => void },
): Promise<{ readonly origin?: string; close(): Promise<void> }> {
  const published = await openPublishedDatabase(db, connections, undefined);
  readAsReader(published.pool);
  const shares = new ShareStore(db.pool, published.pool);
  const already = new Set((await shares.list()).map((s) => `${s.schema}.${s.table}`));
  const tables = await published.pool.query<{ table_name: string }>(
    `SELECT c.relname AS table_name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname NOT LIKE 'bb\\_%' ORDER BY 1`,
    [schema],
  );
  const admin = await openPublishedDatabase(db, connections, undefined, 1, false);
  try {
    const client = await admin.pool.connect();
    try {
      for (const { table_name } of tables.rows) {
        if (!already.has(`${schema}.${table_name}`))
          await shares.share(schema, table_name, undefined, client);
        else await shares.refreshAccess(schema, table_name, client);
      }
    } finally {
      client.release();
    }
  } finally {
    await admin.pool.end();
  }

  const credentials = new CredentialStore(db.pool);
  const existing = (await credentials.list()).find((c) => c.username === DEMO_USER && !c.revokedAt);
  const issued = existing ? undefined : await credentials.create(DEMO_USER);
  if (options.port === undefined) {
    await published.pool.end();
    return { close: async () => {} };
  }
  const server = await startAppServer({
    db,
    connections,
    published,
    tokenKey: odataTokenKey(),
    port: options.port,
    log: options.log,
  });
  const http = server.http;
  const url = `${http.origin}${ODATA_ROOT}`;
  process.stdout.write(
    [
      "",
      `Web UI and REST API: ${http.origin}/  (user admin; bitbridge admin reset-password makes a new password)`,
      `OData 4.0 (for Salesforce Connect): ${url}  (${tables.rows.length} tables shared)`,
      issued
        ? `  user ${issued.username}, password ${issued.password} (shown once; bitbridge odata credentials reset ${DEMO_USER} makes a new one)`
        : `  user ${DEMO_USER} (its password was shown when it was created; bitbridge odata credentials reset ${DEMO_USER} makes a new one)`,
      `  curl -u ${DEMO_USER}:<password> "${url}/pull_requests?\\$top=3&\\$select=id,title,state"`,
      "",
    ].join("\n"),
  );
  return {
    origin: http.origin,
    close: async () => {
      await server.close();
      await published.pool.end();
    },
  };
}
