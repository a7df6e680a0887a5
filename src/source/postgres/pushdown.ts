import type { BoundReplicate } from "../../sql/replicate.js";
import { exprToPostgres } from "../../sql/to-postgres.js";
import type { PostgresTable } from "./catalog.js";
import { columnSql } from "./reader.js";

/**
 * The WHERE clause as source SQL, so PostgreSQL filters with its own types and indexes and the rows it
 * rejects are never sent; and the statement without it, for the row builder.
 */
export function pushdownWhere(
  bound: BoundReplicate,
  table: PostgresTable,
): { readonly where?: string; readonly bound: BoundReplicate } {
  const where = bound.query.statement.where;
  if (!where) return { bound };
  const sql = exprToPostgres(where, bound.query, {
    column: (name) => {
      const column = table.columns.find((c) => c.name === name);
      if (!column) throw new Error(`unbound source column ${name}`);
      return columnSql(column);
    },
  });
  const statement = { ...bound.query.statement, where: undefined };
  return { where: sql, bound: { ...bound, query: { ...bound.query, statement } } };
}
