import type pg from "pg";
import { BitbridgeError } from "../../app/errors.js";
import { qualifiedName, quoteIdent } from "../../destination/postgres/naming.js";
import type { PostgresColumn, PostgresTable } from "./catalog.js";

/** Types node-pg already returns as strings: no cast needed. */
const TEXT_TYPES = new Set(["text", "varchar", "bpchar"]);

/** What to read from one source relation; every identifier comes from the introspected catalog. */
export interface ReadPlan {
  readonly schema: string;
  readonly table: PostgresTable;
  readonly columns: readonly PostgresColumn[];
  /** A condition over `t` (the relation's alias), already safe SQL; its values are `$n` parameters. */
  readonly where?: string;
  readonly params?: readonly unknown[];
  readonly orderBy?: readonly PostgresColumn[];
  /** Also read this column's exact text (checkpoints must not lose the microseconds a Date drops). */
  readonly cursor?: PostgresColumn;
}

/** The property of each row that holds the cursor column's text, unused by the table's columns. */
export function cursorKey(plan: ReadPlan): string {
  let key = "bb_cursor";
  while (plan.table.columns.some((c) => c.name === key)) key = `${key}_`;
  return key;
}

/** Source column reference in a plan's SQL. */
export function columnSql(column: PostgresColumn): string {
  return `t.${quoteIdent(column.name)}`;
}

/**
 * A column's value as the row builder and COPY take it: instants as ISO 8601 text in UTC (a JavaScript
 * Date would drop microseconds; timestamps without time zone and dates are taken as UTC), types with no
 * catalog equivalent as their text form.
 */
function valueSql(column: PostgresColumn): string {
  const sql = columnSql(column);
  if (column.pgType === "timestamptz") return `to_json(${sql}) #>> '{}'`;
  if (column.pgType === "timestamp") return `to_json(${sql} AT TIME ZONE 'UTC') #>> '{}'`;
  if (column.pgType === "date") return `to_json(${sql}::timestamp AT TIME ZONE 'UTC') #>> '{}'`;
  if (column.type === "string" && !TEXT_TYPES.has(column.pgType)) return `${sql}::text`;
  return sql;
}

/** Expects the session's TimeZone to be UTC (see `connectSource`), which ISO text and cursors rely on. */
export function selectSql(plan: ReadPlan): string {
  const items = plan.columns.map((c) => `${valueSql(c)} AS ${quoteIdent(c.name)}`);
  if (plan.cursor) items.push(`${columnSql(plan.cursor)}::text AS ${quoteIdent(cursorKey(plan))}`);
  const where = plan.where ? ` WHERE ${plan.where}` : "";
  const order = plan.orderBy?.length ? ` ORDER BY ${plan.orderBy.map(columnSql).join(", ")}` : "";
  return `SELECT ${items.join(", ")} FROM ${qualifiedName(plan.schema, plan.table.name)} AS t${where}${order}`;
}

/**
 * Streams the plan's rows `batchSize` at a time through a server-side cursor, so a table of any size is
 * read in constant memory. Runs in the caller's open transaction (the cursor lives until it ends).
 */
export async function* readBatches(
  client: pg.ClientBase,
  plan: ReadPlan,
  batchSize: number,
): AsyncGenerator<Record<string, unknown>[]> {
  const cursor = "bb_read";
  try {
    await client.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR ${selectSql(plan)}`, [...(plan.params ?? [])]);
  } catch (error) {
    throw readError(error, plan);
  }
  try {
    for (;;) {
      let rows: Record<string, unknown>[];
      try {
        rows = (await client.query(`FETCH FORWARD ${batchSize} FROM ${cursor}`)).rows;
      } catch (error) {
        throw readError(error, plan);
      }
      if (rows.length === 0) return;
      yield rows;
      if (rows.length < batchSize) return;
    }
  } finally {
    await client.query(`CLOSE ${cursor}`).catch(() => {});
  }
}

/** The source's User lacks SELECT on the relation. */
export function unreadableError(schema: string, table: string, cause?: unknown): BitbridgeError {
  const name = `${schema}.${table}`;
  return new BitbridgeError(
    "SOURCE_PRIVILEGE",
    `The source's User may not read ${name} (GRANT SELECT ON ${name} TO that user).`,
    {},
    403,
    { cause },
  );
}

function readError(error: unknown, plan: ReadPlan): BitbridgeError {
  const e = error as { code?: string; message?: string };
  const name = `${plan.schema}.${plan.table.name}`;
  if (e.code === "42501") return unreadableError(plan.schema, plan.table.name, error);
  return new BitbridgeError(
    "SOURCE_READ",
    `Reading ${name} from the source failed: ${e.message ?? String(error)}.`,
    { sqlstate: e.code },
    502,
    { cause: error },
  );
}
