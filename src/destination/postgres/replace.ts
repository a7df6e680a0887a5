/**
 * Results replaced whole: the rows a grouped REPLICATE reads are staged in an unlogged table (batch by
 * batch, from any number of connections), then one transaction swaps the destination's content for
 * `SELECT derived... FROM staging GROUP BY ...`. Readers see the old result until that commit; a run
 * killed before it leaves the destination as it was, and the next run starts the staging afresh.
 */
import type pg from "pg";
import { copyRows, EncodedRows, type Rows } from "./copy.js";
import { type ErrorContext, toDestinationError } from "./errors.js";
import { type Checkpoint, inTransaction } from "./load.js";
import { MAX_IDENTIFIER_BYTES, qualifiedName, quoteIdent, SYNCED_AT_COLUMN } from "./naming.js";
import { type ResolvedTable, resolveTarget, type TableTarget } from "./target.js";

export interface Aggregation {
  /** SQL over the staged inputs, one per GROUP BY item. */
  readonly groupBy: readonly string[];
  readonly having?: string;
  readonly orderBy?: readonly string[];
}

/** Rows compared whole: a group whose values changed counts as one deleted and one inserted. */
export interface ReplaceResult {
  /** Rows of the new result the old one did not have. */
  readonly inserted: number;
  /** Rows of the old result the new one does not have. */
  readonly deleted: number;
  readonly unchanged: number;
}

/** The staging table of `target` (next to it, in its schema). */
export function stagingName(table: ResolvedTable): string {
  const name = `bb_stage_${table.table}`;
  if (Buffer.byteLength(name) <= MAX_IDENTIFIER_BYTES) return name;
  let hash = 0;
  for (const ch of table.table) hash = (Math.imul(hash, 31) + (ch.codePointAt(0) ?? 0)) >>> 0;
  let head = table.table;
  while (Buffer.byteLength(head) > 40) head = head.slice(0, -1);
  return `bb_stage_${hash.toString(36)}_${head}`;
}

/** Drops what a killed run left and creates an empty staging table for the inputs. */
export async function startStaging(client: pg.ClientBase, target: TableTarget): Promise<void> {
  const table = resolveTarget(target);
  const staging = qualifiedName(table.schema, stagingName(table));
  const context: ErrorContext = { operation: "create-table", table };
  try {
    await client.query(`DROP TABLE IF EXISTS ${staging}`);
    await client.query(
      `CREATE UNLOGGED TABLE ${staging} (${table.inputs
        .map((c) => `${quoteIdent(c.name)} ${c.sqlType}`)
        .join(", ")})`,
    );
  } catch (error) {
    throw toDestinationError(error, context);
  }
}

/** An empty batch for `stageRows` into the staging table of `target`, encoded as rows are added. */
export function stagingBatchFor(target: TableTarget): EncodedRows {
  return new EncodedRows(resolveTarget(target).inputs);
}

export async function stageRows(
  client: pg.ClientBase,
  target: TableTarget,
  rows: Rows | EncodedRows,
): Promise<number> {
  const table = resolveTarget(target);
  const name = stagingName(table);
  try {
    return await copyRows(
      client,
      `COPY ${qualifiedName(table.schema, name)} (${table.inputs.map((c) => quoteIdent(c.name)).join(", ")}) FROM STDIN`,
      table.inputs,
      rows,
    );
  } catch (error) {
    throw toDestinationError(error, { operation: "load", table, staging: name });
  }
}

/** One transaction: the old result out, the new one in, the checkpoint, the staging table dropped. */
export async function replaceFromStaging(
  client: pg.ClientBase,
  target: TableTarget,
  aggregation: Aggregation,
  checkpoint?: Checkpoint,
): Promise<ReplaceResult> {
  const table = resolveTarget(target);
  const staging = qualifiedName(table.schema, stagingName(table));
  const names = table.derived.map((d) => quoteIdent(d.name));
  const groupBy = aggregation.groupBy.length > 0 ? ` GROUP BY ${aggregation.groupBy.join(", ")}` : "";
  const having = aggregation.having ? ` HAVING ${aggregation.having}` : "";
  const orderBy = aggregation.orderBy?.length ? ` ORDER BY ${aggregation.orderBy.join(", ")}` : "";
  const result = quoteIdent("bb_result");
  const list = names.join(", ");
  let context: ErrorContext = { operation: "load", table };
  return inTransaction(
    client,
    () => context,
    async () => {
      await client.query(
        `CREATE TEMPORARY TABLE ${result} ON COMMIT DROP AS
         SELECT ${table.derived.map((d, i) => `${d.sql} AS ${names[i]}`).join(", ")}
         FROM ${staging}${groupBy}${having}${orderBy}`,
      );
      const diff = await client.query<ReplaceResult & { total: number }>(
        `SELECT (SELECT count(*) FROM (SELECT ${list} FROM pg_temp.${result} EXCEPT ALL SELECT ${list} FROM ${table.qualified}) n)::integer AS inserted,
                (SELECT count(*) FROM (SELECT ${list} FROM ${table.qualified} EXCEPT ALL SELECT ${list} FROM pg_temp.${result}) o)::integer AS deleted,
                (SELECT count(*) FROM pg_temp.${result})::integer AS total`,
      );
      await client.query(`DELETE FROM ${table.qualified}`);
      await client.query(
        `INSERT INTO ${table.qualified} (${list}, ${quoteIdent(SYNCED_AT_COLUMN)}) SELECT ${list}, now() FROM pg_temp.${result}`,
      );
      if (checkpoint) {
        context = { operation: "checkpoint", table };
        await checkpoint(client);
      }
      await client.query(`DROP TABLE ${staging}`);
      const counts = diff.rows[0] ?? { inserted: 0, deleted: 0, total: 0 };
      return {
        inserted: counts.inserted,
        deleted: counts.deleted,
        unchanged: counts.total - counts.inserted,
      };
    },
  );
}
