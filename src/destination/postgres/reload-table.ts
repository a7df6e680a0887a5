/**
 * Whole-table reloads (`DropTable`, `TruncateTableData`) load into a copy of their own and put it in the
 * table's place at the end, in one transaction: until then readers (reports, the OData service) see the
 * table as it was, and a run that fails or is killed leaves it as it was.
 */
import { createHash } from "node:crypto";
import type pg from "pg";
import { MAX_IDENTIFIER_BYTES, quoteIdent } from "./naming.js";
import { readTableExtras, restoreTableExtras } from "./table-extras.js";
import type { ResolvedTable } from "./target.js";

const PREFIX = "bb_reload_";

/**
 * The reload copy's name for the table named `table` (a destination name): the prefix and the name, or,
 * where that would pass PostgreSQL's identifier limit, as much of the name as fits and a hash of all of it.
 * It is a valid snake-case name whenever `table` is one, so either naming policy keeps it as it is.
 */
export function reloadTableName(table: string): string {
  const name = `${PREFIX}${table}`;
  if (Buffer.byteLength(name, "utf8") <= MAX_IDENTIFIER_BYTES) return name;
  const hash = createHash("sha1").update(table).digest("hex").slice(0, 8);
  let kept = table;
  while (Buffer.byteLength(`${PREFIX}${kept}_${hash}`, "utf8") > MAX_IDENTIFIER_BYTES)
    kept = kept.slice(0, -1);
  return `${PREFIX}${kept.replace(/_+$/, "")}_${hash}`;
}

export interface SwapResult {
  /** What the dropped table carried and its replacement was given (DropTable). */
  readonly restored: readonly string[];
  /** What could not be given to it, and why. */
  readonly lost: readonly string[];
}

/**
 * `DropTable`: drops `table` and renames `copy` to its name (its primary key index too), giving it the
 * grants, secondary indexes and triggers the dropped table had. Runs in the caller's transaction.
 */
export async function replaceWithCopy(
  client: pg.ClientBase,
  copy: ResolvedTable,
  table: ResolvedTable,
): Promise<SwapResult> {
  const extras = await readTableExtras(client, table.qualified);
  await client.query(`DROP TABLE IF EXISTS ${table.qualified}`);
  await client.query(`ALTER TABLE ${copy.qualified} RENAME TO ${quoteIdent(table.table)}`);
  const key = await client.query<{ name: string }>(
    "SELECT conname AS name FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'p'",
    [table.qualified],
  );
  const keyName = key.rows[0]?.name;
  if (keyName) {
    // The name PostgreSQL gives a table's primary key: `<table>_pkey`, the table's part shortened to fit.
    let base = table.table;
    while (Buffer.byteLength(`${base}_pkey`, "utf8") > MAX_IDENTIFIER_BYTES) base = base.slice(0, -1);
    await client.query(
      `ALTER TABLE ${table.qualified} RENAME CONSTRAINT ${quoteIdent(keyName)} TO ${quoteIdent(`${base}_pkey`)}`,
    );
  }
  return extras ? restoreTableExtras(client, extras) : { restored: [], lost: [] };
}

/**
 * `TruncateTableData`: empties `table` and fills it with `copy`'s rows, then drops `copy`. The table keeps
 * what it is (its oid, grants, indexes, triggers, the views over it). Runs in the caller's transaction.
 */
export async function refillFromCopy(
  client: pg.ClientBase,
  copy: ResolvedTable,
  table: ResolvedTable,
): Promise<void> {
  const columns = await client.query<{ name: string }>(
    `SELECT attname AS name FROM pg_attribute
     WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [copy.qualified],
  );
  const list = columns.rows.map((c) => quoteIdent(c.name)).join(", ");
  await client.query(`TRUNCATE ${table.qualified}`);
  await client.query(`INSERT INTO ${table.qualified} (${list}) SELECT ${list} FROM ${copy.qualified}`);
  await client.query(`DROP TABLE ${copy.qualified}`);
}
