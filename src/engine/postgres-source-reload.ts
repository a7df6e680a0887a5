import type pg from "pg";
import { copyRows } from "../destination/postgres/copy.js";
import {
  quoteIdent,
  resolveTarget,
  SYNCED_AT_COLUMN,
  type TableTarget,
  toDestinationError,
} from "../destination/postgres/index.js";
import { rollbackQuietly } from "../destination/postgres/transaction.js";
import type { DestinationRow } from "./replicate-rows.js";

const RELOAD_TABLE = "bb_reload";

/**
 * Replaces the rows of a table without a key (nothing to merge by) with the batches read: they are
 * copied into a temporary table of this session (gone with the session if the run dies), then one
 * transaction deletes the old rows and inserts the new ones, computing expression columns on the way,
 * so readers see the old content or the new, never a half-written table.
 */
export async function reloadKeyless(
  client: pg.ClientBase,
  target: TableTarget,
  batches: AsyncIterable<{ readonly loaded: readonly DestinationRow[] }>,
): Promise<{ inserted: number; deleted: number }> {
  const table = resolveTarget(target);
  const staged = [...table.columns, ...table.inputs];
  const stagedNames = staged.map((c) => quoteIdent(c.name)).join(", ");
  const staging = `pg_temp.${quoteIdent(RELOAD_TABLE)}`;
  try {
    await client.query(`DROP TABLE IF EXISTS ${staging}`);
    await client.query(
      `CREATE TEMPORARY TABLE ${quoteIdent(RELOAD_TABLE)} (${staged
        .map((c) => `${quoteIdent(c.name)} ${c.sqlType}`)
        .join(", ")})`,
    );
    for await (const batch of batches)
      await copyRows(client, `COPY ${staging} (${stagedNames}) FROM STDIN`, staged, batch.loaded);
  } catch (error) {
    throw toDestinationError(error, { operation: "load", table, staging: RELOAD_TABLE });
  }
  const written = [...table.columns, ...table.derived].map((c) => quoteIdent(c.name));
  const values = [...table.columns.map((c) => quoteIdent(c.name)), ...table.derived.map((d) => d.sql)];
  try {
    await client.query("BEGIN");
    // DELETE rather than TRUNCATE: readers keep seeing the old rows, unblocked, until the commit.
    const deleted = (await client.query(`DELETE FROM ${table.qualified}`)).rowCount ?? 0;
    const inserted =
      (
        await client.query(
          `INSERT INTO ${table.qualified} (${[...written, quoteIdent(SYNCED_AT_COLUMN)].join(", ")})
           SELECT ${[...values, "now()"].join(", ")} FROM ${staging}`,
        )
      ).rowCount ?? 0;
    await client.query("COMMIT");
    await client.query(`DROP TABLE ${staging}`);
    return { inserted, deleted };
  } catch (error) {
    await rollbackQuietly(client);
    throw toDestinationError(error, { operation: "load", table });
  }
}
