import type pg from "pg";
import { BitbridgeError } from "../app/errors.js";
import { deriveTypes } from "../destination/postgres/derive.js";
import { convertName, quoteIdent } from "../destination/postgres/naming.js";
import type { Aggregation } from "../destination/postgres/replace.js";
import type { DerivedColumn, TableTarget, TargetColumn } from "../destination/postgres/target.js";
import type { ColumnType } from "../source/table.js";
import { SqlBindError, walk } from "../sql/bind.js";
import type { BoundReplicate, ReplicateColumn } from "../sql/replicate.js";
import { exprToPostgres } from "../sql/to-postgres.js";

/** A staged column: what the task writes to the staging table, read from one catalog column. */
export interface StagedColumn {
  /** Staging (and, for plain columns, destination) column name. */
  readonly name: string;
  /** Catalog column it holds. */
  readonly source: string;
}

/**
 * How a REPLICATE statement lands in PostgreSQL. Plain columns are copied as read; every expression,
 * and for GROUP BY or aggregates the whole result, is computed by PostgreSQL from staged columns, so a
 * transformation means what it means in PostgreSQL and runs next to the data.
 */
export interface ReplicatePlan {
  readonly target: TableTarget;
  /** The columns each source row is turned into before staging, in staging order. */
  readonly staged: readonly StagedColumn[];
  /** Set for grouped statements: their result is recomputed and replaced whole on every run. */
  readonly aggregation?: Aggregation;
}

/**
 * Works out staging, destination columns and PostgreSQL's types for the expressions (asked of the
 * destination server, without touching any table). An expression PostgreSQL rejects is reported at
 * its place in the statement.
 */
export async function planReplicate(
  client: pg.ClientBase,
  bound: BoundReplicate,
  schema: string,
): Promise<ReplicatePlan> {
  const catalogType = (name: string): ColumnType =>
    bound.table.columns.find((c) => c.name === name)?.type ?? "string";
  const grouped = bound.query.grouped;
  const plain = grouped ? [] : bound.columns.filter((c) => c.sourceColumn !== undefined);
  const computed = grouped ? bound.columns : bound.columns.filter((c) => c.sourceColumn === undefined);

  const stagedName = new Map<string, string>();
  for (const c of plain)
    if (!stagedName.has(c.sourceColumn as string))
      stagedName.set(c.sourceColumn as string, c.destinationName);
  const inputs: TargetColumn[] = [];
  const needs = (name: string) => {
    if (stagedName.has(name)) return;
    const staging = `bb_input_${convertName(name, "snake")}`;
    stagedName.set(name, staging);
    inputs.push({ name: staging, type: catalogType(name) });
  };
  const exprs = [
    ...computed.map((c) => c.expr),
    ...(grouped ? bound.query.statement.groupBy : []),
    ...(grouped && bound.query.statement.having ? [bound.query.statement.having] : []),
    ...(grouped ? bound.query.statement.orderBy.map((o) => o.expr) : []),
  ];
  for (const e of exprs)
    walk(e, (node) => {
      if (node.kind === "column") {
        const name = bound.query.columnOf(node);
        if (!name.startsWith("@alias:")) needs(name);
      }
      return true;
    });

  const toSql = (expr: ReplicateColumn["expr"]) =>
    exprToPostgres(expr, bound.query, { column: (name) => quoteIdent(stagedName.get(name) as string) });
  const sqlOf = computed.map((c) => ({ column: c, sql: toSql(c.expr) }));
  const probeInputs: TargetColumn[] = [
    ...plain.map((c) => ({ name: c.destinationName, type: catalogType(c.sourceColumn as string) })),
    ...inputs,
  ];
  let types: string[];
  try {
    types = await deriveTypes(
      client,
      probeInputs,
      sqlOf.map((s) => ({ name: s.column.name, sql: s.sql })),
    );
  } catch (error) {
    const column = error instanceof BitbridgeError ? String(error.details.column ?? "") : "";
    const at = computed.find((c) => c.name === column);
    if (at && error instanceof BitbridgeError)
      throw new SqlBindError("REPLICATE_EXPRESSION", bound.query.sql, at.expr.span, error.message);
    throw error;
  }
  const derived: DerivedColumn[] = sqlOf.map((s, i) => ({
    name: s.column.destinationName,
    sql: s.sql,
    sqlType: types[i] as string,
  }));
  const target: TableTarget = {
    schema,
    table: bound.destination.name,
    columns: plain.map((c) => ({ name: c.destinationName, type: catalogType(c.sourceColumn as string) })),
    primaryKey: grouped ? [] : bound.primaryKey,
    naming: "source",
    inputs,
    derived,
  };
  const staged: StagedColumn[] = [
    ...plain.map((c) => ({ name: c.destinationName, source: c.sourceColumn as string })),
    ...inputs.map((i) => ({
      name: i.name,
      source: [...stagedName].find(([, n]) => n === i.name)?.[0] as string,
    })),
  ];
  if (!grouped) return { target, staged };
  const statement = bound.query.statement;
  return {
    target,
    staged,
    aggregation: {
      groupBy: statement.groupBy.map(toSql),
      having: statement.having ? toSql(statement.having) : undefined,
      orderBy: statement.orderBy.map(
        (o) =>
          `${toSql(o.expr)} ${o.direction === "desc" ? "DESC" : "ASC"}${o.nulls ? ` NULLS ${o.nulls.toUpperCase()}` : ""}`,
      ),
    },
  };
}
