import type { QueryParams } from "../bitbucket/types.js";

/** Column types of the catalog; destinations and OData map these to their own types. */
export type ColumnType = "string" | "integer" | "bigint" | "boolean" | "datetime" | "decimal" | "json";

export interface Column<T> {
  /** PascalCase, unique in the table. */
  readonly name: string;
  readonly type: ColumnType;
  readonly description: string;
  /** Reads the value from the API object; `undefined` and `null` both mean SQL NULL. */
  readonly get: (item: T) => unknown;
  /**
   * The API field the accessor reads (dotted, as BBQL and `fields=` spell it). Only a column with a
   * field can be pushed down into `q=`/`sort=`; columns computed from several fields list them in
   * `reads` instead, so `fields=` still asks for everything they need.
   */
  readonly field?: string;
  readonly reads?: readonly string[];
  /** BBQL accepts this field in `q=` (only meaningful when the table supports BBQL). */
  readonly filterable?: boolean;
  readonly sortable?: boolean;
}

/** Where a table's rows come from, which fixes the context columns every row carries. */
export type Level =
  /** One list for the caller, across workspaces (`/user/workspaces`). */
  | { readonly kind: "account" }
  /** One list per workspace. */
  | { readonly kind: "workspace" }
  /** One list per repository of the workspace (or the one repository `Schema` names). */
  | { readonly kind: "repository" }
  /** One list per row of a parent repository table, e.g. comments per pull request. */
  | {
      readonly kind: "child";
      readonly parent: string;
      /** Path parameter filled from the parent row, e.g. `{pull_request_id}` ← parent column `Id`. */
      readonly param: string;
      readonly parentColumn: string;
      /** The context column added to each child row, e.g. `PullRequestId`. */
      readonly column: string;
      readonly columnType: ColumnType;
      readonly description: string;
      /** Query parameters for listing the parent rows (e.g. all pull-request states). */
      readonly parentParams?: QueryParams;
    };

export type Incremental =
  /** `q=updated_on>=cursor&sort=updated_on`, with a lookback window. */
  | { readonly kind: "updated"; readonly column: string }
  /** Append-only by creation time (`created_on`), e.g. pipelines. */
  | { readonly kind: "created"; readonly column: string }
  /** Immutable commits, found from branch heads that moved since the last run. */
  | { readonly kind: "commits" }
  /** Re-read in full each run (small tables, or no usable timestamp). */
  | { readonly kind: "full"; readonly reason: string };

export interface TableDef<T = unknown> {
  readonly name: string;
  readonly schema: "Information" | "Repository";
  readonly description: string;
  readonly level: Level;
  /** The list endpoint's path template, placeholders as in the official spec. */
  readonly path: string;
  /** Fixed query parameters (e.g. every pull-request state, not only OPEN). */
  readonly params?: QueryParams;
  readonly pagination: "page" | "cursor";
  /** The largest `pagelen` the endpoint accepts; reads always use it. */
  readonly maxPageLength: number;
  /** `q=` and `sort=` are accepted. */
  readonly bbql: boolean;
  /** Fields hidden in list responses that the columns need (`fields=+values.participants`). */
  readonly hiddenFields?: readonly string[];
  /** A single-object endpoint for key lookups (`WHERE Id = 1` costs one request, not a scan). */
  readonly lookup?: { readonly path: string; readonly param: string; readonly column: string };
  readonly primaryKey: readonly string[];
  readonly incremental: Incremental;
  readonly columns: readonly Column<T>[];
  /**
   * Changes only when something is pushed, so a repository whose `updated_on` did not move since the last
   * run can be skipped (commits, branches, tags; never pull requests, comments or pipelines).
   */
  readonly pushDriven?: boolean;
  /** Retired by Bitbucket (the issue tracker, 2026-08-20): reads explain that instead of failing obscurely. */
  readonly retired?: { readonly on: string; readonly what: string };
  /** Example queries for the generated documentation. */
  readonly examples?: readonly string[];
}

/** Typed column constructor; `field` doubles as the accessor's documentation for pushdown. */
export function column<T>(
  name: string,
  type: ColumnType,
  description: string,
  get: (item: T) => unknown,
  options: Omit<Column<T>, "name" | "type" | "description" | "get"> = {},
): Column<T> {
  return { name, type, description, get, ...options };
}

/** Defines a table; the generic parameter ties its columns to one API object type. */
export function defineTable<T>(table: TableDef<T>): TableDef<T> {
  return table;
}
