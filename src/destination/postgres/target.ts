/** A destination table as loads see it: catalog names resolved to PostgreSQL names and types. */
import { BitbridgeError } from "../../app/errors.js";
import type { ColumnType } from "../../source/table.js";
import { DestinationErrorCode } from "./errors.js";
import { destinationName, METADATA_COLUMNS, type NamingPolicy, qualifiedName } from "./naming.js";

export interface TargetColumn {
  /** Catalog name (PascalCase); rows are keyed by it. */
  readonly name: string;
  readonly type: ColumnType;
}

/** What to load into: `table`, column and key names are catalog names, mapped by `naming`. */
export interface TableTarget {
  /** Destination schema, used as given (it is a destination setting, not a catalog name). */
  readonly schema: string;
  readonly table: string;
  readonly columns: readonly TargetColumn[];
  /** Empty only for tables replaced whole (`replaceTable`), never merged by key. */
  readonly primaryKey: readonly string[];
  /** Default `snake`. */
  readonly naming?: NamingPolicy;
  /** Columns loaded into staging only, as inputs of `derived` (rows carry them like `columns`). */
  readonly inputs?: readonly TargetColumn[];
  /** Columns PostgreSQL computes from the staged columns while merging. */
  readonly derived?: readonly DerivedColumn[];
}

/** A destination column whose value PostgreSQL computes from staged columns. */
export interface DerivedColumn {
  /** Catalog-style name, mapped by the naming policy like the other columns. */
  readonly name: string;
  /** SQL over the staged columns' destination names (quoted identifiers). */
  readonly sql: string;
  /** The result type, as `format_type` spells it (see `deriveTypes`). */
  readonly sqlType: string;
}

export interface ResolvedColumn {
  /** Catalog name. */
  readonly source: string;
  /** Destination name. */
  readonly name: string;
  readonly type: ColumnType;
  /** Type as written in DDL. */
  readonly sqlType: string;
  readonly isKey: boolean;
}

export interface ResolvedTable {
  readonly schema: string;
  readonly table: string;
  /** `"schema"."table"`. */
  readonly qualified: string;
  readonly columns: readonly ResolvedColumn[];
  /** Primary key columns, in key order; empty for tables replaced whole. */
  readonly key: readonly ResolvedColumn[];
  /** Staged-only columns. */
  readonly inputs: readonly ResolvedColumn[];
  readonly derived: readonly (DerivedColumn & { readonly source: string })[];
}

/** DDL type of each catalog type. */
export const SQL_TYPES: Readonly<Record<ColumnType, string>> = {
  string: "text",
  integer: "integer",
  bigint: "bigint",
  boolean: "boolean",
  datetime: "timestamptz",
  decimal: "numeric",
  json: "jsonb",
};

/** The same types as `format_type()` spells them (what the system catalogs report). */
export const CATALOG_TYPES: Readonly<Record<ColumnType, string>> = {
  string: "text",
  integer: "integer",
  bigint: "bigint",
  boolean: "boolean",
  datetime: "timestamp with time zone",
  decimal: "numeric",
  json: "jsonb",
};

export function resolveTarget(target: TableTarget): ResolvedTable {
  const naming = target.naming ?? "snake";
  const table = destinationName(target.table, naming);
  if (target.schema === "")
    throw new BitbridgeError(DestinationErrorCode.invalidName, "the destination schema name is empty");
  if (target.columns.length + (target.derived?.length ?? 0) === 0)
    throw new BitbridgeError(DestinationErrorCode.invalidTable, `table ${target.table} has no columns`, {
      table: target.table,
    });
  const byDestination = new Map<string, string>();
  const resolve = (c: TargetColumn | DerivedColumn): string => {
    const name = destinationName(c.name, naming);
    const clash =
      byDestination.get(name) ?? (METADATA_COLUMNS.includes(name) ? "a metadata column" : undefined);
    if (clash !== undefined)
      throw new BitbridgeError(
        DestinationErrorCode.nameConflict,
        `columns ${c.name} and ${clash} of table ${target.table} both map to the destination name "${name}"`,
        { table: target.table, column: c.name, destinationName: name },
      );
    byDestination.set(name, c.name);
    return name;
  };
  const keys = new Set(target.primaryKey);
  const columns = target.columns.map(
    (c): ResolvedColumn => ({
      source: c.name,
      name: resolve(c),
      type: c.type,
      sqlType: SQL_TYPES[c.type],
      isKey: keys.has(c.name),
    }),
  );
  const derived = (target.derived ?? []).map((d) => ({ ...d, source: d.name, name: resolve(d) }));
  const inputs = (target.inputs ?? []).map(
    (c): ResolvedColumn => ({
      source: c.name,
      name: resolve(c),
      type: c.type,
      sqlType: SQL_TYPES[c.type],
      isKey: false,
    }),
  );
  const key = target.primaryKey.map((k) => {
    const column = columns.find((c) => c.source === k);
    if (!column)
      throw new BitbridgeError(
        DestinationErrorCode.invalidTable,
        `primary key column ${k} is not a column of table ${target.table}`,
        { table: target.table, column: k },
      );
    return column;
  });
  return {
    schema: target.schema,
    table,
    qualified: qualifiedName(target.schema, table),
    columns,
    key,
    inputs,
    derived,
  };
}
