import { BitbridgeError } from "../app/errors.js";
import { convertName, type NamingPolicy } from "../destination/postgres/naming.js";
import type { SourceRow } from "../source/reader.js";
import { compile } from "../sql/evaluate.js";
import type { BoundReplicate } from "../sql/replicate.js";
import type { StagedColumn } from "./replicate-target.js";

/** A destination row, keyed by destination column name. */
export type DestinationRow = Record<string, unknown>;

/**
 * Rows are merged by the table's key, so key columns the statement did not select are replicated too
 * (`REPLICATE [Issues] SELECT [Title], [ContentRaw] FROM [Issues] WHERE [Id] = 1` keeps RepositoryUuid
 * and Id), named by the naming policy.
 */
export function withKeyColumns(bound: BoundReplicate, naming: NamingPolicy | undefined): BoundReplicate {
  if (bound.primaryKey.length > 0 || bound.query.grouped) return bound;
  const columns = [...bound.columns];
  const primaryKey: string[] = [];
  for (const key of bound.table.primaryKey) {
    const selected = columns.find((c) => c.sourceColumn === key && c.name === key);
    if (selected) {
      primaryKey.push(selected.destinationName);
      continue;
    }
    const destinationName = convertName(key, naming);
    const clash = columns.find((c) => c.destinationName === destinationName);
    if (clash) {
      throw new BitbridgeError(
        "REPLICATE_KEY_REQUIRED",
        `The key column ${key} of ${bound.table.name} would be written as ${destinationName}, which ${clash.name} already uses; rename ${clash.name} with AS.`,
      );
    }
    const catalog = bound.table.columns.find((c) => c.name === key);
    const span = bound.statement.span;
    columns.push({
      name: key,
      destinationName,
      sourceColumn: key,
      expr: { kind: "column", name: key, quoted: false, span },
      type: catalog?.type ?? "string",
      span,
    });
    primaryKey.push(destinationName);
  }
  return { ...bound, columns, primaryKey };
}

/**
 * Source row → staged row (or undefined when the WHERE clause rejects it): the staged columns' values
 * as read. Expressions are left to PostgreSQL (see replicate-target.ts); the WHERE clause is decided
 * here, exactly, so rows it rejects are never sent.
 */
export function rowBuilder(
  bound: BoundReplicate,
  staged: readonly StagedColumn[],
): (row: SourceRow) => DestinationRow | undefined {
  const referenced = [...bound.query.referenced.values()];
  const columnType = (name: string) => bound.query.referenced.get(name)?.type;
  const ctx = {
    column: (ref: Parameters<BoundReplicate["query"]["columnOf"]>[0]) => bound.query.columnOf(ref),
    columnType: (ref: Parameters<BoundReplicate["query"]["columnOf"]>[0]) =>
      columnType(bound.query.columnOf(ref)),
  };
  const where = bound.query.statement.where ? compile(bound.query.statement.where, ctx) : undefined;
  const outputs = staged.map((c) => {
    const api = bound.table.columns.find((x) => x.name === c.source);
    if (!api) throw new Error(`staged column ${c.name} reads unknown column ${c.source}`);
    return { name: c.name, get: api.get };
  });
  return ({ item, ctx: rowCtx }) => {
    if (where) {
      const values: Record<string, unknown> = {};
      for (const c of referenced) values[c.name] = evaluable(c.api?.get(item, rowCtx), c.type);
      if (where({ values }) !== true) return undefined;
    }
    const out: DestinationRow = {};
    for (const o of outputs) out[o.name] = o.get(item, rowCtx) ?? null;
    return out;
  };
}

function evaluable(value: unknown, type: string): unknown {
  if (value === undefined || value === null) return null;
  if (type === "datetime" && typeof value === "string") return new Date(value);
  return value;
}
