/** Destination DDL from catalog types, with additive schema evolution. */
import type pg from "pg";
import { BitbridgeError } from "../../app/errors.js";
import type { ColumnType } from "../../source/table.js";
import { DestinationErrorCode, type ErrorContext, toDestinationError } from "./errors.js";
import { DELETED_AT_COLUMN, METADATA_COLUMNS, quoteIdent, SYNCED_AT_COLUMN } from "./naming.js";
import { readTableExtras, restoreTableExtras, type TableExtras } from "./table-extras.js";
import { CATALOG_TYPES, type ResolvedTable, resolveTarget, type TableTarget } from "./target.js";
import { rollbackQuietly } from "./transaction.js";

export interface EnsureTableOptions {
  /**
   * Drop the table first and recreate it (all rows are lost). Its grants, secondary indexes and triggers
   * are given to the new table.
   */
  readonly dropTable?: boolean;
  /** Empty the table after making sure it exists. */
  readonly truncate?: boolean;
  /** Allow safe widenings of existing columns (integer → bigint/numeric, bigint → numeric, any → text). */
  readonly alterSchema?: boolean;
}

export interface EnsureTableInput extends TableTarget {
  readonly options?: EnsureTableOptions;
}

export interface ColumnChange {
  /** Destination column name. */
  readonly column: string;
  readonly from: string;
  readonly to: string;
}

export interface EnsureTableResult {
  readonly table: ResolvedTable;
  readonly created: boolean;
  readonly dropped: boolean;
  readonly truncated: boolean;
  /** Destination columns added by `ALTER TABLE ... ADD COLUMN`. */
  readonly addedColumns: readonly string[];
  /** Columns widened because `alterSchema` allowed it. */
  readonly alteredColumns: readonly ColumnChange[];
  /** Columns of the table the definition does not have: kept, never dropped. */
  readonly extraColumns: readonly string[];
  /** The table holds no row now (new, truncated or never loaded): a first load. */
  readonly empty: boolean;
  /** After a drop: the privileges, indexes and triggers of the dropped table given to the new one. */
  readonly restored: readonly string[];
  /** After a drop: those the new definition could not take (a column they used is gone), with why. */
  readonly lost: readonly string[];
}

/** Table types (as `format_type` spells them) each catalog type may be widened from, in place. */
const WIDENINGS: Readonly<Record<ColumnType, readonly string[]>> = {
  string: ["integer", "bigint", "boolean", "timestamp with time zone", "numeric", "jsonb"],
  integer: [],
  bigint: ["integer"],
  boolean: [],
  datetime: [],
  decimal: ["integer", "bigint"],
  json: [],
};

/** Existing table types that already hold every value of a catalog type (nothing to do). */
const HOLDS: Readonly<Record<ColumnType, readonly string[]>> = {
  string: [],
  integer: ["bigint", "numeric"],
  bigint: ["numeric"],
  boolean: [],
  datetime: [],
  decimal: [],
  json: [],
};

interface ExistingColumn {
  readonly name: string;
  readonly type: string;
}

/**
 * Creates the schema and the table if missing, adds missing columns, checks types and the primary
 * key, in one transaction (serialised per table with an advisory lock, so concurrent runs do not
 * race on CREATE). Extra table columns are kept and reported.
 */
export async function ensureTable(
  client: pg.ClientBase,
  input: EnsureTableInput,
): Promise<EnsureTableResult> {
  const table = resolveTarget(input);
  const options = input.options ?? {};
  let context: ErrorContext = { operation: "create-table", schema: table.schema, table };
  await client.query("BEGIN");
  try {
    await client.query({
      text: "SELECT pg_advisory_xact_lock(hashtext($1))",
      values: [`bitbridge:${table.qualified}`],
    });
    const schemaExists = await client.query({
      text: "SELECT 1 FROM pg_namespace WHERE nspname = $1",
      values: [table.schema],
    });
    if (schemaExists.rowCount === 0) {
      context = { ...context, operation: "create-schema" };
      // Two first loads of different tables into one new schema would both try to create it, and IF NOT
      // EXISTS does not stop the loser's duplicate-key error; a schema lock held to commit makes them queue.
      await client.query({
        text: "SELECT pg_advisory_xact_lock(hashtext($1))",
        values: [`bitbridge:schema:${table.schema}`],
      });
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(table.schema)}`);
      context = { ...context, operation: "create-table" };
    }
    let dropped = false;
    let extras: TableExtras | undefined;
    if (options.dropTable) {
      extras = await readTableExtras(client, table.qualified);
      await client.query(`DROP TABLE IF EXISTS ${table.qualified}`);
      dropped = true;
    }
    const existing = await existingColumns(client, table);
    let result: EnsureTableResult;
    if (existing === undefined) {
      await client.query(createTableSql(table));
      const carried = extras ? await restoreTableExtras(client, extras) : undefined;
      result = {
        table,
        created: true,
        dropped,
        truncated: false,
        addedColumns: [],
        alteredColumns: [],
        extraColumns: [],
        empty: true,
        restored: carried?.restored ?? [],
        lost: carried?.lost ?? [],
      };
    } else {
      context = { ...context, operation: "alter-table" };
      result = { ...(await evolve(client, table, existing, options)), dropped };
    }
    if (options.truncate && !result.created) {
      await client.query(`TRUNCATE ${table.qualified}`);
      result = { ...result, truncated: true, empty: true };
    }
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await rollbackQuietly(client);
    throw toDestinationError(error, context);
  }
}

function createTableSql(table: ResolvedTable): string {
  const columns = table.columns.map((c) => `${quoteIdent(c.name)} ${c.sqlType}${c.isKey ? " NOT NULL" : ""}`);
  for (const d of table.derived) columns.push(`${quoteIdent(d.name)} ${d.sqlType}`);
  columns.push(`${quoteIdent(SYNCED_AT_COLUMN)} timestamptz NOT NULL DEFAULT now()`);
  columns.push(`${quoteIdent(DELETED_AT_COLUMN)} timestamptz`);
  if (table.key.length > 0)
    columns.push(`PRIMARY KEY (${table.key.map((c) => quoteIdent(c.name)).join(", ")})`);
  return `CREATE TABLE ${table.qualified} (\n  ${columns.join(",\n  ")}\n)`;
}

async function existingColumns(
  client: pg.ClientBase,
  table: ResolvedTable,
): Promise<ExistingColumn[] | undefined> {
  const relation = await client.query<{ oid: number; relkind: string }>({
    text: `SELECT c.oid, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = $1 AND c.relname = $2`,
    values: [table.schema, table.table],
  });
  const rel = relation.rows[0];
  if (!rel) return undefined;
  if (rel.relkind !== "r" && rel.relkind !== "p")
    throw new BitbridgeError(
      DestinationErrorCode.invalidTable,
      `${table.schema}.${table.table} exists but is not a table (relkind ${rel.relkind})`,
      { schema: table.schema, table: table.table },
    );
  const columns = await client.query<ExistingColumn>({
    text: `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
           WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    values: [rel.oid],
  });
  const key = await client.query<{ name: string }>({
    text: `SELECT a.attname AS name FROM pg_index i
             CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
           WHERE i.indrelid = $1 AND i.indisprimary ORDER BY k.ord`,
    values: [rel.oid],
  });
  const actualKey = key.rows.map((r) => r.name);
  const expectedKey = table.key.map((c) => c.name);
  if (actualKey.join("\0") !== expectedKey.join("\0"))
    throw new BitbridgeError(
      DestinationErrorCode.primaryKeyMismatch,
      `${table.schema}.${table.table} has primary key (${actualKey.join(", ") || "none"}) but the definition needs (${expectedKey.join(", ")}); recreate the table (dropTable) to change it`,
      { schema: table.schema, table: table.table, actual: actualKey, expected: expectedKey },
    );
  return columns.rows;
}

async function evolve(
  client: pg.ClientBase,
  table: ResolvedTable,
  existing: readonly ExistingColumn[],
  options: EnsureTableOptions,
): Promise<Omit<EnsureTableResult, "dropped">> {
  const empty = (await client.query(`SELECT 1 FROM ${table.qualified} LIMIT 1`)).rowCount === 0;
  const byName = new Map(existing.map((c) => [c.name, c.type]));
  const add: string[] = [];
  const alter: ColumnChange[] = [];
  const mismatches: ColumnChange[] = [];
  for (const column of table.columns) {
    const actual = byName.get(column.name);
    const wanted = CATALOG_TYPES[column.type];
    if (actual === undefined) add.push(`ADD COLUMN ${quoteIdent(column.name)} ${column.sqlType}`);
    else if (actual === wanted || HOLDS[column.type].includes(actual)) continue;
    else if (options.alterSchema && WIDENINGS[column.type].includes(actual))
      alter.push({ column: column.name, from: actual, to: wanted });
    else mismatches.push({ column: column.name, from: actual, to: wanted });
  }
  for (const column of table.derived) {
    const actual = byName.get(column.name);
    if (actual === undefined) add.push(`ADD COLUMN ${quoteIdent(column.name)} ${column.sqlType}`);
    else if (actual !== column.sqlType)
      mismatches.push({ column: column.name, from: actual, to: column.sqlType });
  }
  if (mismatches.length > 0) {
    const list = mismatches.map((m) => `column ${m.column} is ${m.from}, the definition needs ${m.to}`);
    const derived = new Set(table.derived.map((d) => d.name));
    const hint = mismatches.every((m) => !derived.has(m.column) && WIDENINGS[typeOf(m.to)].includes(m.from))
      ? " (a safe widening: allow it with the alterSchema option)"
      : " (recreate the table with the dropTable option)";
    throw new BitbridgeError(
      DestinationErrorCode.typeChange,
      `cannot change column types of ${table.schema}.${table.table}: ${list.join("; ")}${hint}`,
      { schema: table.schema, table: table.table, columns: mismatches },
    );
  }
  if (!byName.has(SYNCED_AT_COLUMN))
    add.push(`ADD COLUMN ${quoteIdent(SYNCED_AT_COLUMN)} timestamptz NOT NULL DEFAULT now()`);
  if (!byName.has(DELETED_AT_COLUMN)) add.push(`ADD COLUMN ${quoteIdent(DELETED_AT_COLUMN)} timestamptz`);
  const actions = [
    ...add,
    ...alter.map(
      (a) =>
        `ALTER COLUMN ${quoteIdent(a.column)} TYPE ${sqlTypeOf(a.to)} USING ${quoteIdent(a.column)}::${sqlTypeOf(a.to)}`,
    ),
  ];
  if (actions.length > 0) await client.query(`ALTER TABLE ${table.qualified} ${actions.join(", ")}`);
  const known = new Set([
    ...table.columns.map((c) => c.name),
    ...table.derived.map((d) => d.name),
    ...METADATA_COLUMNS,
  ]);
  return {
    table,
    created: false,
    truncated: false,
    addedColumns: [...table.columns, ...table.derived].filter((c) => !byName.has(c.name)).map((c) => c.name),
    alteredColumns: alter,
    extraColumns: existing.filter((c) => !known.has(c.name)).map((c) => c.name),
    empty,
    restored: [],
    lost: [],
  };
}

function typeOf(catalogType: string): ColumnType {
  const entry = Object.entries(CATALOG_TYPES).find(([, t]) => t === catalogType);
  return (entry?.[0] ?? "string") as ColumnType;
}

function sqlTypeOf(catalogType: string): string {
  return catalogType === "timestamp with time zone" ? "timestamptz" : catalogType;
}
