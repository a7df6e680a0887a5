import type { CatalogColumn, CatalogTable } from "../source/catalog.js";
import type { ReadRequest } from "../source/reader.js";
import type { ColumnRef, Expr, Literal } from "./ast.js";
import type { BoundQuery } from "./bind.js";
import { literalValue, toDate } from "./evaluate.js";

/**
 * Splits a query into what the API can do and what bitbridge evaluates. Pushed conditions only ever
 * narrow the API's answer to a superset of the true result: every WHERE condition is still evaluated
 * exactly after reading, so a difference between BBQL and SQL semantics can cost rows read, never
 * correctness.
 */
export interface ReadPlan {
  readonly request: ReadRequest;
  /** The conditions that went into `q=`, repository, key and parent restrictions, as SQL text parts. */
  readonly pushed: readonly string[];
  /** The consumer may stop reading after this many rows pass the filter. */
  readonly stopAfter?: number;
}

export interface PlanOptions {
  readonly workspace?: string;
  /** The connection's Schema: `Information` or a repository slug. */
  readonly schema?: string;
  readonly concurrency?: number;
}

export function planRead(
  bound: BoundQuery,
  table: CatalogTable,
  repositoryQualifier: string | undefined,
  options: PlanOptions,
): ReadPlan {
  const conjuncts = bound.statement.where ? splitAnd(bound.statement.where) : [];
  const pushed: string[] = [];
  const column = (ref: ColumnRef) => table.columns.find((c) => c.name === bound.columnOf(ref));

  let repositories: string[] | undefined;
  const narrowRepositories = (slugs: string[]) => {
    repositories = repositories ? repositories.filter((r) => slugs.includes(r)) : slugs;
  };
  if (table.schema === "Repository") {
    if (repositoryQualifier) narrowRepositories([repositoryQualifier]);
    else if (options.schema && options.schema.toLowerCase() !== "information")
      narrowRepositories([options.schema]);
  }

  let keys: string[] | undefined;
  let parentKeys: string[] | undefined;
  const bbql: string[] = [];
  const lookupColumn = table.def.lookup?.column;
  const level = table.def.level;

  for (const conjunct of conjuncts) {
    const equality = equalityValues(conjunct, column);
    if (equality) {
      const { col, values } = equality;
      if (col.context === "repositorySlug") {
        narrowRepositories(values.map(String));
        pushed.push(`repository ${values.join(", ")}`);
        continue;
      }
      if (col.context === "parent" && level.kind === "child") {
        parentKeys = intersect(parentKeys, values.map(String));
        pushed.push(`${col.name} ${values.join(", ")} (no listing of ${level.parent})`);
        continue;
      }
      if (col.name === lookupColumn && !keys) {
        keys = values.map(String);
        pushed.push(`${col.name} lookup`);
        continue;
      }
    }
    if (table.def.bbql) {
      const q = toBbql(conjunct, column);
      if (q) {
        bbql.push(q);
        pushed.push(`q: ${q}`);
      }
    }
  }

  let sort: string | undefined;
  const order = bound.statement.orderBy;
  if (order.length === 1 && order[0]?.expr.kind === "column" && !bound.grouped) {
    const c = column(order[0].expr);
    if (c?.sortable && c.field) sort = `${order[0].direction === "desc" ? "-" : ""}${c.field}`;
  }

  const request: ReadRequest = {
    table,
    workspace: options.workspace,
    repositories,
    q:
      bbql.length > 0
        ? bbql.map((q) => (bbql.length > 1 && / OR /.test(q) ? `(${q})` : q)).join(" AND ")
        : undefined,
    sort,
    fields: fieldsFor(bound, table),
    keys,
    parentKeys,
    concurrency: options.concurrency,
    repositoryUuid: [...bound.referenced.values()].some((c) => c.api?.context === "repositoryUuid"),
  };
  const statement = bound.statement;
  const streaming = !bound.grouped && statement.orderBy.length === 0 && !statement.distinct;
  const limit = statement.limit?.kind === "literal" ? Number(statement.limit.value) : undefined;
  const offset = statement.offset?.kind === "literal" ? Number(statement.offset.value) : 0;
  return { request, pushed, stopAfter: streaming && limit !== undefined ? limit + offset : undefined };
}

/** The API fields the query needs, or undefined for all (a referenced column reads unknown fields). */
function fieldsFor(bound: BoundQuery, table: CatalogTable): string[] | undefined {
  const fields = new Set<string>();
  for (const { api } of bound.referenced.values()) {
    if (!api || api.context) continue;
    if (api.reads.length === 0) return undefined;
    for (const f of api.reads) fields.add(f);
  }
  // A lookup or parent key read still needs its own key column's field to build rows.
  for (const key of table.primaryKey) {
    const c = table.columns.find((x) => x.name === key);
    if (c?.field && !c.context) fields.add(c.field);
  }
  return [...fields];
}

function splitAnd(expr: Expr): Expr[] {
  if (expr.kind === "binary" && expr.op === "and") return [...splitAnd(expr.left), ...splitAnd(expr.right)];
  return [expr];
}

function intersect(current: string[] | undefined, next: string[]): string[] {
  return current ? current.filter((x) => next.includes(x)) : next;
}

/** `col = literal` or `col IN (literals)`: the values a column is restricted to. */
function equalityValues(
  expr: Expr,
  column: (ref: ColumnRef) => CatalogColumn | undefined,
): { col: CatalogColumn; values: unknown[] } | undefined {
  if (expr.kind === "binary" && expr.op === "=") {
    const [ref, lit] = columnAndLiteral(expr.left, expr.right);
    const col = ref && column(ref);
    if (col && lit && lit.type !== "null") return { col, values: [literalValue(lit)] };
  }
  if (
    expr.kind === "in" &&
    !expr.negated &&
    expr.expr.kind === "column" &&
    expr.list.every((e) => e.kind === "literal")
  ) {
    const col = column(expr.expr);
    const values = (expr.list as Literal[]).filter((l) => l.type !== "null").map(literalValue);
    if (col) return { col, values };
  }
  return undefined;
}

function columnAndLiteral(a: Expr, b: Expr): [ColumnRef | undefined, Literal | undefined, boolean] {
  if (a.kind === "column" && b.kind === "literal") return [a, b, false];
  if (b.kind === "column" && a.kind === "literal") return [b, a, true];
  return [undefined, undefined, false];
}

const FLIP: Record<string, string> = { "<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "<>": "<>" };

/** The BBQL for a condition, when every part of it can be expressed (else undefined). */
export function toBbql(
  expr: Expr,
  column: (ref: ColumnRef) => CatalogColumn | undefined,
): string | undefined {
  const field = (ref: ColumnRef) => {
    const c = column(ref);
    return c?.filterable && c.field ? c : undefined;
  };
  switch (expr.kind) {
    case "binary": {
      if (expr.op === "or") {
        const l = toBbql(expr.left, column);
        const r = toBbql(expr.right, column);
        return l && r ? `(${l} OR ${r})` : undefined;
      }
      if (expr.op === "and") {
        const l = toBbql(expr.left, column);
        const r = toBbql(expr.right, column);
        return l && r ? `(${l} AND ${r})` : undefined;
      }
      if (!(expr.op in FLIP)) return undefined;
      const [ref, lit, flipped] = columnAndLiteral(expr.left, expr.right);
      const c = ref && field(ref);
      if (!c || !lit || lit.type === "null") return undefined;
      const value = bbqlLiteral(c, lit);
      if (value === undefined) return undefined;
      const op = flipped ? (FLIP[expr.op] as string) : expr.op;
      return `${c.field} ${op === "<>" ? "!=" : op} ${value}`;
    }
    case "in": {
      if (expr.expr.kind !== "column") return undefined;
      const c = field(expr.expr);
      if (!c || !expr.list.every((e) => e.kind === "literal" && e.type !== "null")) return undefined;
      const values = (expr.list as Literal[]).map((l) => bbqlLiteral(c, l));
      if (values.some((v) => v === undefined)) return undefined;
      return `${c.field} ${expr.negated ? "NOT IN" : "IN"} (${values.join(", ")})`;
    }
    case "isNull": {
      if (expr.expr.kind !== "column") return undefined;
      const c = field(expr.expr);
      return c ? `${c.field} ${expr.negated ? "!=" : "="} null` : undefined;
    }
    case "between": {
      if (
        expr.negated ||
        expr.expr.kind !== "column" ||
        expr.low.kind !== "literal" ||
        expr.high.kind !== "literal"
      )
        return undefined;
      const c = field(expr.expr);
      const lo = c && bbqlLiteral(c, expr.low);
      const hi = c && bbqlLiteral(c, expr.high);
      return c && lo && hi ? `(${c.field} >= ${lo} AND ${c.field} <= ${hi})` : undefined;
    }
    case "like": {
      // BBQL's `~` is a case-insensitive "contains": a superset of LIKE, which is re-checked exactly.
      if (expr.negated || expr.escape || expr.expr.kind !== "column" || expr.pattern.kind !== "literal")
        return undefined;
      const c = field(expr.expr);
      if (c?.type !== "string" || expr.pattern.type !== "string") return undefined;
      const longest = expr.pattern.value.split(/[%_]/).reduce((a, b) => (b.length > a.length ? b : a), "");
      return longest ? `${c.field} ~ ${quote(longest)}` : undefined;
    }
    default:
      return undefined;
  }
}

function bbqlLiteral(c: CatalogColumn, lit: Literal): string | undefined {
  const value = literalValue(lit);
  switch (c.type) {
    case "datetime":
      try {
        return toDate(value).toISOString();
      } catch {
        return undefined;
      }
    case "integer":
    case "bigint":
    case "decimal":
      return typeof value === "number" && Number.isFinite(value) ? String(value) : undefined;
    case "boolean":
      return typeof value === "boolean" ? String(value) : undefined;
    case "string":
      return typeof value === "string" ? quote(value) : undefined;
    default:
      return undefined;
  }
}

function quote(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}
