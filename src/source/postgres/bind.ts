import { closest } from "../../app/closest.js";
import type { NamingPolicy } from "../../destination/postgres/naming.js";
import { SqlBindError } from "../../sql/bind.js";
import { type BoundReplicate, bindReplicate, type ReplicateStatement } from "../../sql/replicate.js";
import type { PostgresCatalog, PostgresColumn, PostgresTable } from "./catalog.js";

export interface BoundPostgresReplicate {
  readonly bound: BoundReplicate;
  readonly table: PostgresTable;
  /** IncrementalCheckColumn's source column; undefined: a full read each run. */
  readonly incremental: { readonly source: PostgresColumn } | undefined;
}

const CURSOR_TYPES = ["datetime", "integer", "bigint"];

/**
 * Binds a REPLICATE against a PostgreSQL schema. Besides datetime columns, IncrementalCheckColumn may be
 * an integer column here (a sequence of an append-only table), which the Bitbucket rule does not allow,
 * so that option is checked here rather than by `bindReplicate`.
 */
export function bindPostgresReplicate(
  sql: string,
  statement: ReplicateStatement,
  catalog: PostgresCatalog,
  naming: NamingPolicy | undefined,
): BoundPostgresReplicate {
  const setting = statement.settings.find((s) => s.name === "IncrementalCheckColumn");
  const bound = bindReplicate(
    sql,
    { ...statement, settings: statement.settings.filter((s) => s !== setting) },
    { naming, catalog },
  );
  const table = catalog.tables.find((t) => t === bound.table) as PostgresTable;
  if (!setting) return { bound: { ...bound, statement }, table, incremental: undefined };
  const wanted = String(setting.value);
  const source =
    table.columns.find((c) => c.name === wanted) ??
    table.columns.find((c) => c.name.toLowerCase() === wanted.toLowerCase());
  if (!source) {
    throw new SqlBindError(
      "SQL_UNKNOWN_COLUMN",
      sql,
      setting.valueSpan,
      `Unknown column ${wanted} in ${table.name} (IncrementalCheckColumn)`,
      closest(
        wanted,
        table.columns.map((c) => c.name),
      ),
    );
  }
  if (!CURSOR_TYPES.includes(source.type)) {
    throw new SqlBindError(
      "SQL_REPLICATE_OPTION",
      sql,
      setting.valueSpan,
      `IncrementalCheckColumn must be a timestamp, date or integer column; ${source.name} is ${source.pgType}`,
    );
  }
  if (bound.query.grouped) {
    throw new SqlBindError(
      "SQL_REPLICATE_OPTION",
      sql,
      setting.span,
      "IncrementalCheckColumn cannot be used with GROUP BY or aggregates (their result is reloaded in full)",
    );
  }
  if (table.primaryKey.length === 0) {
    throw new SqlBindError(
      "SQL_REPLICATE_OPTION",
      sql,
      setting.span,
      `${table.name} has no primary key${table.relation === "table" ? "" : " (nor an id column)"}, so changed rows cannot be merged; it is reloaded in full without IncrementalCheckColumn`,
    );
  }
  // The checkpoint is read from the source row, so the column need not be replicated.
  const column = bound.columns.find((c) => c.sourceColumn === source.name && c.expr.kind === "column");
  return { bound: { ...bound, statement, incrementalColumn: column }, table, incremental: { source } };
}
