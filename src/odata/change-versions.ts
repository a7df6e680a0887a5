import type pg from "pg";
import { qualifiedName, quoteIdent } from "../destination/postgres/naming.js";
import { READER_ROLE } from "./reader-role.js";

/**
 * Change versions of shared tables, so the service can answer a repeated `$count` from memory until the
 * table changes (Salesforce asks for the count with every list view page).
 *
 * A statement-level trigger (ENABLE ALWAYS, so it fires under `session_replication_role = replica` too)
 * adds one to a counter per table and per backend process: writers never wait on one another's rows, and
 * the sum over a table's rows grows with every committed change, aborted ones leaving it as it was. A
 * reader that fetches the sum in the same statement as a count gets the version that count belongs to.
 * Installing the trigger raises a generation row to the current time in milliseconds, so a version after
 * a (re)install is larger than any before it, whatever happened while no trigger was there.
 */
export const CHANGE_SCHEMA = "bitbridge_changes";
export const CHANGE_TRIGGER = "bitbridge_note_change";

const S = quoteIdent(CHANGE_SCHEMA);

const SETUP = `
CREATE SCHEMA IF NOT EXISTS ${S};
CREATE TABLE IF NOT EXISTS ${S}.versions (
  relid oid NOT NULL,
  backend integer NOT NULL,
  version bigint NOT NULL,
  PRIMARY KEY (relid, backend));
CREATE OR REPLACE FUNCTION ${S}.note_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
BEGIN
  INSERT INTO ${S}.versions AS v (relid, backend, version) VALUES (TG_RELID, pg_backend_pid(), 1)
  ON CONFLICT (relid, backend) DO UPDATE SET version = v.version + 1;
  RETURN NULL;
END $body$;
REVOKE ALL ON FUNCTION ${S}.note_change() FROM PUBLIC;
CREATE OR REPLACE FUNCTION ${S}.version(rel regclass) RETURNS text
LANGUAGE sql STABLE AS $body$
  SELECT CASE WHEN EXISTS (
      SELECT FROM pg_catalog.pg_trigger
      WHERE tgrelid = rel AND tgname = '${CHANGE_TRIGGER}' AND tgenabled = 'A')
    THEN rel::oid::text || ':' || (SELECT coalesce(sum(version), 0) FROM ${S}.versions WHERE relid = rel)
  END
$body$;`;

export interface ChangeTrackingResult {
  readonly installed: boolean;
  /** Why not, when not. */
  readonly reason?: string;
}

/**
 * Installs the change-version trigger on `schema.table` (a plain table; views and partitioned or foreign
 * tables change without firing it). Needs a connection that owns the table; any failure leaves counts
 * uncached, never wrong, and is returned rather than thrown.
 */
export async function trackChanges(
  client: pg.ClientBase,
  schema: string,
  table: string,
): Promise<ChangeTrackingResult> {
  const kind = await client.query<{ relkind: string }>(
    `SELECT c.relkind::text AS relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relname = $2`,
    [schema, table],
  );
  if (kind.rows[0]?.relkind !== "r")
    return { installed: false, reason: "only plain tables have their changes tracked" };
  const relation = qualifiedName(schema, table);
  try {
    await client.query("BEGIN");
    await client.query(SETUP);
    await client.query(`DROP TRIGGER IF EXISTS ${quoteIdent(CHANGE_TRIGGER)} ON ${relation}`);
    await client.query(
      `CREATE TRIGGER ${quoteIdent(CHANGE_TRIGGER)} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${relation}
       FOR EACH STATEMENT EXECUTE FUNCTION ${S}.note_change()`,
    );
    await client.query(`ALTER TABLE ${relation} ENABLE ALWAYS TRIGGER ${quoteIdent(CHANGE_TRIGGER)}`);
    await client.query(
      `INSERT INTO ${S}.versions AS v (relid, backend, version)
       VALUES ($1::regclass, 0, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)
       ON CONFLICT (relid, backend) DO UPDATE SET version = EXCLUDED.version`,
      [relation],
    );
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    return { installed: false, reason: error instanceof Error ? error.message : String(error) };
  }
  // The service's read-only role reads versions; without the role the service's own login does.
  await client
    .query(
      `DO $$ BEGIN
         IF EXISTS (SELECT FROM pg_roles WHERE rolname = '${READER_ROLE}') THEN
           GRANT USAGE ON SCHEMA ${S} TO ${quoteIdent(READER_ROLE)};
           GRANT SELECT ON ${S}.versions TO ${quoteIdent(READER_ROLE)};
         END IF;
       END $$`,
    )
    .catch(() => undefined);
  return { installed: true };
}

/** Removes the trigger (after unsharing); the table's counts are then never cached. */
export async function untrackChanges(client: pg.ClientBase, schema: string, table: string): Promise<void> {
  await client
    .query(`DROP TRIGGER IF EXISTS ${quoteIdent(CHANGE_TRIGGER)} ON ${qualifiedName(schema, table)}`)
    .catch(() => undefined);
}

/** SQL for the version of the relation named by the text parameter `param` (NULL when untracked). */
export function versionSql(param: string): string {
  return `${S}.version(to_regclass(${param}))`;
}
