import { closest } from "../app/closest.js";
import { BitbridgeError } from "../app/errors.js";
import { CATALOG, type CatalogColumn, type CatalogTable } from "../source/catalog.js";
import { SYSTEM_TABLES, type SystemTable } from "../source/system-tables.js";
import type { ColumnType } from "../source/table.js";
import type { CallExpr, ColumnRef, Expr, SelectStatement, Span } from "./ast.js";
import { AGGREGATES, isAggregate } from "./evaluate.js";
import { positionAt } from "./syntax-error.js";

/** A query's table, resolved: an API table (with an optional repository from the qualifier) or a system table. */
export type BoundSource =
  | { readonly kind: "api"; readonly table: CatalogTable; readonly repository?: string }
  | { readonly kind: "system"; readonly table: SystemTable };

export interface BoundColumn {
  readonly name: string;
  readonly type: ColumnType;
  /** The API column, for API tables. */
  readonly api?: CatalogColumn;
}

export interface OutputColumn {
  readonly name: string;
  readonly expr: Expr;
  /** Known when the output is a plain column. */
  readonly type?: ColumnType;
}

export interface BoundQuery {
  readonly sql: string;
  readonly statement: SelectStatement;
  readonly source: BoundSource;
  readonly output: readonly OutputColumn[];
  /** Every column the query reads, by canonical name. */
  readonly referenced: ReadonlyMap<string, BoundColumn>;
  readonly aggregates: readonly CallExpr[];
  readonly grouped: boolean;
  /** Canonical column name of a reference (the binder checked them all). */
  columnOf(ref: ColumnRef): string;
  /** Slot of an aggregate call in `aggregates`. */
  slotOf(call: CallExpr): number;
}

/** An error in a statement that parsed: unknown table or column, misuse of GROUP BY... with its position. */
export class SqlBindError extends BitbridgeError {
  readonly line: number;
  readonly column: number;
  readonly offset: number;
  readonly length: number;

  constructor(code: string, sql: string, span: Span, reason: string, suggestion?: string) {
    const at = positionAt(sql, span.start, span.end - span.start);
    const hint = suggestion ? ` Did you mean ${suggestion}?` : "";
    super(code, `${reason} at line ${at.line}, column ${at.column}.${hint}`, {
      line: at.line,
      column: at.column,
      offset: at.offset,
      length: at.length,
      ...(suggestion ? { suggestion } : {}),
    });
    this.name = "SqlBindError";
    this.line = at.line;
    this.column = at.column;
    this.offset = at.offset;
    this.length = at.length;
  }
}

const API_SCHEMAS = new Set(["information", "repository"]);

/** Tables of another source (a PostgreSQL schema), bound instead of the Bitbucket catalog. */
export interface SourceCatalog {
  /** The source's schema: the only qualifier its tables accept. */
  readonly schema: string;
  readonly tables: readonly CatalogTable[];
}

export function bindSelect(sql: string, statement: SelectStatement, catalog?: SourceCatalog): BoundQuery {
  const source = catalog ? bindCatalogSource(sql, statement, catalog) : bindSource(sql, statement);
  const columns: readonly BoundColumn[] =
    source.kind === "api"
      ? source.table.columns.map((c) => ({ name: c.name, type: c.type, api: c }))
      : source.table.columns.map((c) => ({ name: c.name, type: c.type }));
  const byName = new Map(columns.map((c) => [c.name.toLowerCase(), c]));
  const tableNames = new Set([source.table.name.toLowerCase()]);
  if (statement.from.alias) tableNames.add(statement.from.alias.name.toLowerCase());

  const referenced = new Map<string, BoundColumn>();
  const resolved = new Map<ColumnRef, string>();
  const aliases = new Map<string, Expr>();

  const resolveRef = (ref: ColumnRef, allowAlias: boolean): void => {
    if (ref.table && !tableNames.has(ref.table.name.toLowerCase())) {
      throw new SqlBindError(
        "SQL_UNKNOWN_TABLE",
        sql,
        ref.table.span,
        `Unknown table ${ref.table.name} in column reference`,
        source.table.name,
      );
    }
    const column = byName.get(ref.name.toLowerCase());
    if (column) {
      referenced.set(column.name, column);
      resolved.set(ref, column.name);
      return;
    }
    if (allowAlias && !ref.table && aliases.has(ref.name.toLowerCase())) {
      resolved.set(ref, `@alias:${ref.name.toLowerCase()}`);
      return;
    }
    throw new SqlBindError(
      "SQL_UNKNOWN_COLUMN",
      sql,
      ref.span,
      `Unknown column ${ref.name} in ${source.table.name}`,
      closest(
        ref.name,
        columns.map((c) => c.name),
      ),
    );
  };

  const aggregates: CallExpr[] = [];
  const slots = new Map<CallExpr, number>();
  const visit = (
    expr: Expr,
    where: "select" | "where" | "group" | "having" | "order",
    insideAggregate = false,
  ): void => {
    walk(expr, (node) => {
      if (node.kind === "column") resolveRef(node, where === "order" || where === "having");
      if (node.kind === "call" && AGGREGATES.has(node.name.toLowerCase())) {
        if (where === "where" || where === "group") {
          throw new SqlBindError(
            "SQL_AGGREGATE",
            sql,
            node.span,
            `${node.name.toUpperCase()}() is not allowed in ${where === "where" ? "WHERE (use HAVING)" : "GROUP BY"}`,
          );
        }
        if (insideAggregate)
          throw new SqlBindError("SQL_AGGREGATE", sql, node.span, "Aggregates cannot be nested");
        if (node.args.length !== (node.star ? 0 : 1)) {
          throw new SqlBindError(
            "SQL_ARGUMENTS",
            sql,
            node.span,
            `${node.name.toUpperCase()}() takes one argument`,
          );
        }
        if (node.star && node.name.toLowerCase() !== "count") {
          throw new SqlBindError("SQL_ARGUMENTS", sql, node.span, `Only COUNT accepts *`);
        }
        for (const arg of node.args) visit(arg, where, true);
        slots.set(node, aggregates.length);
        aggregates.push(node);
        return false;
      }
      return true;
    });
  };

  const output: OutputColumn[] = [];
  for (const item of statement.columns) {
    if (item.kind === "allColumns") {
      if (item.table && !tableNames.has(item.table.name.toLowerCase())) {
        throw new SqlBindError(
          "SQL_UNKNOWN_TABLE",
          sql,
          item.table.span,
          `Unknown table ${item.table.name}`,
          source.table.name,
        );
      }
      for (const c of columns) {
        referenced.set(c.name, c);
        const ref: ColumnRef = { kind: "column", name: c.name, quoted: false, span: item.span };
        resolved.set(ref, c.name);
        output.push({ name: c.name, expr: ref, type: c.type });
      }
      continue;
    }
    visit(item.expr, "select");
    const name =
      item.alias?.name ??
      (item.expr.kind === "column"
        ? (resolved.get(item.expr) ?? item.expr.name)
        : exprName(item.expr, output.length));
    if (item.alias) aliases.set(item.alias.name.toLowerCase(), item.expr);
    output.push({
      name,
      expr: item.expr,
      type: item.expr.kind === "column" ? byName.get(item.expr.name.toLowerCase())?.type : undefined,
    });
  }
  if (statement.where) visit(statement.where, "where");
  for (const g of statement.groupBy) visit(g, "group");
  if (statement.having) visit(statement.having, "having");
  for (const o of statement.orderBy) visit(o.expr, "order");

  const grouped = statement.groupBy.length > 0 || aggregates.length > 0;
  if (grouped) checkGrouping(sql, statement, output, resolved);

  return {
    sql,
    statement,
    source,
    output,
    referenced,
    aggregates,
    grouped,
    columnOf: (ref) => {
      const name = resolved.get(ref);
      if (name === undefined) throw new Error(`unbound column reference ${ref.name}`);
      return name;
    },
    slotOf: (call) => {
      const slot = slots.get(call);
      if (slot === undefined) throw new Error(`unbound aggregate ${call.name}`);
      return slot;
    },
  };
}

function bindSource(sql: string, statement: SelectStatement): BoundSource {
  const from = statement.from;
  const schema = from.schema?.name;
  const name = from.name.toLowerCase();
  const system = SYSTEM_TABLES.find((t) => t.name.toLowerCase() === name);
  if (system) {
    if (schema && !["system", "sys", "information"].includes(schema.toLowerCase())) {
      throw new SqlBindError(
        "SQL_UNKNOWN_TABLE",
        sql,
        from.span,
        `${system.name} is in schema System, not ${schema}`,
      );
    }
    return { kind: "system", table: system };
  }
  const table = CATALOG.find((t) => t.name.toLowerCase() === name);
  if (!table) {
    const candidates = [...CATALOG.map((t) => t.name), ...SYSTEM_TABLES.map((t) => t.name)];
    throw new SqlBindError(
      "SQL_UNKNOWN_TABLE",
      sql,
      from.span,
      `Unknown table ${from.name}`,
      closest(from.name, candidates),
    );
  }
  if (!schema || API_SCHEMAS.has(schema.toLowerCase())) {
    if (schema && schema.toLowerCase() !== table.schema.toLowerCase()) {
      throw new SqlBindError(
        "SQL_UNKNOWN_TABLE",
        sql,
        from.span,
        `${table.name} is in schema ${table.schema}, not ${schema}`,
      );
    }
    return { kind: "api", table };
  }
  // Any other qualifier names a repository, as schemas do in tools that map one schema per repository.
  if (table.schema !== "Repository") {
    throw new SqlBindError(
      "SQL_UNKNOWN_TABLE",
      sql,
      from.span,
      `${table.name} is a workspace-level table; qualify it with Information, not a repository (${schema})`,
    );
  }
  return { kind: "api", table, repository: schema };
}

/** System tables describe the Bitbucket catalog, so another source has none; names match exactly first. */
function bindCatalogSource(sql: string, statement: SelectStatement, catalog: SourceCatalog): BoundSource {
  const from = statement.from;
  const schema = from.schema?.name;
  if (schema !== undefined && schema.toLowerCase() !== catalog.schema.toLowerCase()) {
    throw new SqlBindError(
      "SQL_UNKNOWN_TABLE",
      sql,
      from.span,
      `The source reads schema ${catalog.schema}, not ${schema}`,
      catalog.schema,
    );
  }
  const name = from.name.toLowerCase();
  const table =
    catalog.tables.find((t) => t.name === from.name) ??
    catalog.tables.find((t) => t.name.toLowerCase() === name);
  if (!table) {
    throw new SqlBindError(
      "SQL_UNKNOWN_TABLE",
      sql,
      from.span,
      `Unknown table ${from.name} in schema ${catalog.schema}`,
      closest(
        from.name,
        catalog.tables.map((t) => t.name),
      ),
    );
  }
  return { kind: "api", table };
}

/** Plain columns in SELECT, HAVING and ORDER BY must be grouped, as in PostgreSQL. */
function checkGrouping(
  sql: string,
  statement: SelectStatement,
  output: readonly OutputColumn[],
  resolved: Map<ColumnRef, string>,
): void {
  const groupedColumns = new Set<string>();
  for (const g of statement.groupBy) if (g.kind === "column") groupedColumns.add(resolved.get(g) ?? "");
  const check = (expr: Expr) =>
    walk(expr, (node) => {
      if (isAggregate(node)) return false;
      if (node.kind === "column") {
        const name = resolved.get(node) ?? "";
        if (!name.startsWith("@alias:") && !groupedColumns.has(name)) {
          throw new SqlBindError(
            "SQL_GROUPING",
            sql,
            node.span,
            `Column ${node.name} must appear in GROUP BY or be used in an aggregate function`,
          );
        }
      }
      return true;
    });
  for (const o of output) check(o.expr);
  if (statement.having) check(statement.having);
  for (const o of statement.orderBy) check(o.expr);
}

/** Visits every expression node; `visit` returns false to skip a node's children. */
export function walk(expr: Expr, visit: (node: Expr) => boolean | undefined): void {
  if (visit(expr) === false) return;
  switch (expr.kind) {
    case "column":
    case "literal":
    case "param":
      return;
    case "unary":
      walk(expr.operand, visit);
      return;
    case "binary":
      walk(expr.left, visit);
      walk(expr.right, visit);
      return;
    case "in":
      walk(expr.expr, visit);
      for (const e of expr.list) walk(e, visit);
      return;
    case "like":
      walk(expr.expr, visit);
      walk(expr.pattern, visit);
      if (expr.escape) walk(expr.escape, visit);
      return;
    case "between":
      walk(expr.expr, visit);
      walk(expr.low, visit);
      walk(expr.high, visit);
      return;
    case "isNull":
      walk(expr.expr, visit);
      return;
    case "call":
      for (const a of expr.args) walk(a, visit);
      return;
    case "cast":
      walk(expr.expr, visit);
      return;
    case "case":
      if (expr.operand) walk(expr.operand, visit);
      for (const w of expr.whens) {
        walk(w.condition, visit);
        walk(w.result, visit);
      }
      if (expr.else) walk(expr.else, visit);
      return;
  }
}

function exprName(expr: Expr, index: number): string {
  if (expr.kind === "call") return expr.star ? `${expr.name.toUpperCase()}(*)` : expr.name.toUpperCase();
  return `Column${index + 1}`;
}
