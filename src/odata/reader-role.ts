import type pg from "pg";
import { qualifiedName, quoteIdent } from "../destination/postgres/naming.js";

/**
 * A role that can read the shared relations and nothing else. The service's sessions take it on
 * (SET ROLE) when the login may, so even a flaw in the query compiler could not read an unshared table
 * or write anything. Where the deployment does not allow roles (no CREATEROLE, not the tables' owner)
 * sharing still works and the service relies on read-only sessions alone.
 */
export const READER_ROLE = "bitbridge_odata_reader";

export interface GrantResult {
  readonly granted: boolean;
  /** Why not, when not. */
  readonly reason?: string;
}

/** Creates the role if needed, makes the current login a member, and lets it read `schema.table`. */
export async function grantReader(
  client: pg.ClientBase,
  schema: string,
  table: string,
): Promise<GrantResult> {
  const role = quoteIdent(READER_ROLE);
  try {
    await client.query(
      `DO $$ BEGIN
         IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${READER_ROLE}') THEN
           CREATE ROLE ${role} NOLOGIN;
         END IF;
       END $$`,
    );
    const member = await client.query<{ member: boolean }>(
      `SELECT pg_has_role(current_user, '${READER_ROLE}', 'MEMBER') AS member`,
    );
    if (!member.rows[0]?.member) await client.query(`GRANT ${role} TO CURRENT_USER`);
    await client.query(`GRANT USAGE ON SCHEMA ${quoteIdent(schema)} TO ${role}`);
    await client.query(`GRANT SELECT ON ${qualifiedName(schema, table)} TO ${role}`);
    return { granted: true };
  } catch (error) {
    return { granted: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

export async function revokeReader(client: pg.ClientBase, schema: string, table: string): Promise<void> {
  await client
    .query(`REVOKE SELECT ON ${qualifiedName(schema, table)} FROM ${quoteIdent(READER_ROLE)}`)
    .catch(() => undefined);
}

/** For a pool's `connect` event: the session takes the reader role when the role exists and the login may. */
export const ASSUME_READER_ROLE = `DO $$ BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = '${READER_ROLE}')
     AND pg_has_role(current_user, '${READER_ROLE}', 'MEMBER') THEN
    SET ROLE ${READER_ROLE};
  END IF;
END $$`;

/**
 * Makes every new connection of `pool` take the reader role (see ASSUME_READER_ROLE) before the pool hands
 * it out: as the pool's connect hook, so no query of the caller's is sent while it runs.
 */
export function readAsReader(pool: pg.Pool): void {
  pool.options.onConnect = async (client) => {
    await client.query(ASSUME_READER_ROLE).catch(() => undefined);
  };
}
