/**
 * What a table carries besides its columns and key: privileges, triggers and secondary indexes. A
 * `DropTable` load recreates the table; without these, a table shared over OData would lose its reader
 * role's SELECT, its change-version trigger and its search indexes, and any grant made for reports.
 */
import type pg from "pg";
import { quoteIdent } from "./naming.js";

export interface TableExtras {
  /** Statements that give the recreated table what the dropped one had, each with what it restores. */
  readonly statements: readonly { readonly what: string; readonly sql: readonly string[] }[];
}

/** `tgenabled` codes of pg_trigger, as ALTER TABLE spells them (`O`, the default, needs nothing). */
const TRIGGER_STATES: Readonly<Record<string, string>> = {
  D: "DISABLE TRIGGER",
  R: "ENABLE REPLICA TRIGGER",
  A: "ENABLE ALWAYS TRIGGER",
};

/** Reads what `qualified` carries; undefined when the table does not exist. */
export async function readTableExtras(
  client: pg.ClientBase,
  qualified: string,
): Promise<TableExtras | undefined> {
  const found = await client.query<{ oid: number | null }>("SELECT to_regclass($1)::oid AS oid", [qualified]);
  const oid = found.rows[0]?.oid;
  if (oid === null || oid === undefined) return undefined;
  // The owner's own privileges come with the new table; grants to others (PUBLIC as grantee 0) do not.
  const grants = await client.query<{ grantee: string | null; privilege: string; grantable: boolean }>(
    `SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE a.grantee::regrole::text END AS grantee,
            a.privilege_type AS privilege, a.is_grantable AS grantable
       FROM pg_class c, aclexplode(c.relacl) a
      WHERE c.oid = $1 AND a.grantee <> c.relowner
      ORDER BY 1, 2`,
    [oid],
  );
  const indexes = await client.query<{ name: string; def: string }>(
    `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
       FROM pg_index i
      WHERE i.indrelid = $1 AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = i.indexrelid)
      ORDER BY 1`,
    [oid],
  );
  const triggers = await client.query<{ name: string; def: string; enabled: string }>(
    `SELECT tgname AS name, pg_get_triggerdef(oid) AS def, tgenabled AS enabled
       FROM pg_trigger WHERE tgrelid = $1 AND NOT tgisinternal ORDER BY tgname`,
    [oid],
  );
  const statements: { what: string; sql: string[] }[] = [];
  for (const g of grants.rows) {
    const to = g.grantee ?? "PUBLIC";
    statements.push({
      what: `${g.privilege} granted to ${to}`,
      sql: [`GRANT ${g.privilege} ON ${qualified} TO ${to}${g.grantable ? " WITH GRANT OPTION" : ""}`],
    });
  }
  for (const i of indexes.rows) statements.push({ what: `index ${i.name}`, sql: [i.def] });
  for (const t of triggers.rows) {
    const state = TRIGGER_STATES[t.enabled];
    statements.push({
      what: `trigger ${t.name}`,
      sql: state ? [t.def, `ALTER TABLE ${qualified} ${state} ${quoteIdent(t.name)}`] : [t.def],
    });
  }
  return { statements };
}

/**
 * Gives the recreated table what `readTableExtras` read, each statement under its own savepoint: an index
 * or trigger on a column the new definition no longer has is left out and reported, never fatal.
 */
export async function restoreTableExtras(
  client: pg.ClientBase,
  extras: TableExtras,
): Promise<{ readonly restored: readonly string[]; readonly lost: readonly string[] }> {
  const restored: string[] = [];
  const lost: string[] = [];
  for (const { what, sql } of extras.statements) {
    await client.query("SAVEPOINT bb_extra");
    try {
      for (const statement of sql) await client.query(statement);
      await client.query("RELEASE SAVEPOINT bb_extra");
      restored.push(what);
    } catch (error) {
      await client.query("ROLLBACK TO SAVEPOINT bb_extra");
      lost.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return { restored, lost };
}
