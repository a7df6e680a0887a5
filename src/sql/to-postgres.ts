import { BitbridgeError } from "../app/errors.js";
import { assertNever, type CallExpr, type Expr, type Literal, type TypeName } from "./ast.js";
import type { BoundQuery } from "./bind.js";
import { AGGREGATES } from "./evaluate.js";

/**
 * Bound expressions as PostgreSQL SQL, so PostgreSQL evaluates REPLICATE's column expressions, grouping
 * and aggregates with its own types and rules. The statement's dialect (functions such as LEN, IFNULL,
 * YEAR) maps onto PostgreSQL's; column references become the SQL the caller gives for each source
 * column (always a quoted identifier of a column it created), so no name from the statement reaches
 * PostgreSQL unchecked.
 *
 * Literals are written as SQL constants: numbers only from the lexer's digits, strings as escape-string
 * constants (`E'…'`, backslash and quote escaped) whose meaning does not depend on the server's
 * `standard_conforming_strings`. They stay untyped, so PostgreSQL infers their type from the context
 * (`CreatedOn >= '2026-01-01'` compares timestamps).
 */
export interface PostgresExprContext {
  /** SQL for the source column with this catalog name. */
  readonly column: (name: string) => string;
}

export function exprToPostgres(expr: Expr, query: BoundQuery, ctx: PostgresExprContext): string {
  const sql = (e: Expr): string => exprToPostgres(e, query, ctx);
  switch (expr.kind) {
    case "column": {
      const name = query.columnOf(expr);
      if (name.startsWith("@alias:")) return `(${sql(aliasedExpr(query, name.slice(7)))})`;
      return ctx.column(name);
    }
    case "literal":
      return literalSql(expr);
    case "param":
      throw new BitbridgeError(
        "SQL_PARAMETER",
        "Parameters cannot be sent to PostgreSQL here; write the value.",
        { span: expr.span },
      );
    case "unary":
      return expr.op === "not" ? `(NOT ${sql(expr.operand)})` : `(${expr.op}${sql(expr.operand)})`;
    case "binary": {
      const op = expr.op === "and" || expr.op === "or" ? expr.op.toUpperCase() : expr.op;
      return `(${sql(expr.left)} ${op} ${sql(expr.right)})`;
    }
    case "in":
      return `(${sql(expr.expr)} ${expr.negated ? "NOT IN" : "IN"} (${expr.list.map(sql).join(", ")}))`;
    case "like": {
      const escapeClause = expr.escape ? ` ESCAPE ${sql(expr.escape)}` : "";
      return `((${sql(expr.expr)})::text ${expr.negated ? "NOT LIKE" : "LIKE"} ${sql(expr.pattern)}${escapeClause})`;
    }
    case "between":
      return `(${sql(expr.expr)} ${expr.negated ? "NOT BETWEEN" : "BETWEEN"} ${sql(expr.low)} AND ${sql(expr.high)})`;
    case "isNull":
      return `(${sql(expr.expr)} IS ${expr.negated ? "NOT NULL" : "NULL"})`;
    case "call":
      return callSql(expr, sql);
    case "cast":
      return `CAST(${sql(expr.expr)} AS ${castType(expr.type)})`;
    case "case": {
      const operand = expr.operand ? ` ${sql(expr.operand)}` : "";
      const whens = expr.whens.map((w) => ` WHEN ${sql(w.condition)} THEN ${sql(w.result)}`).join("");
      const otherwise = expr.else ? ` ELSE ${sql(expr.else)}` : "";
      return `(CASE${operand}${whens}${otherwise} END)`;
    }
    default:
      return assertNever(expr);
  }
}

function aliasedExpr(query: BoundQuery, alias: string): Expr {
  for (const item of query.statement.columns) {
    if (item.kind === "selectExpr" && item.alias?.name.toLowerCase() === alias) return item.expr;
  }
  throw new Error(`unbound alias ${alias}`);
}

function literalSql(lit: Literal): string {
  switch (lit.type) {
    case "integer":
    case "decimal":
      if (!/^-?[0-9]*\.?[0-9]*([eE][-+]?[0-9]+)?$/.test(lit.text))
        throw new Error(`not a number literal: ${lit.text}`);
      return lit.text.startsWith("-") ? `(${lit.text})` : lit.text;
    case "string":
      return stringConstant(lit.value);
    case "boolean":
      return lit.value ? "TRUE" : "FALSE";
    case "null":
      return "NULL";
    case "date":
      return `CAST(${stringConstant(lit.value)} AS date)`;
    case "timestamp":
      return `CAST(${stringConstant(lit.value)} AS timestamptz)`;
    default:
      return assertNever(lit);
  }
}

/** An escape-string constant: its meaning is the same whatever `standard_conforming_strings` says. */
export function stringConstant(value: string): string {
  return `E'${value.replaceAll("\\", "\\\\").replaceAll("'", "''").replaceAll("\0", "\uFFFD")}'`;
}

const text = (arg: string) => `(${arg})::text`;
const utc = (arg: string) => `((${arg})::timestamptz AT TIME ZONE 'UTC')`;

/** The statement's scalar functions in PostgreSQL; arity was checked by the binder's evaluator rules. */
const FUNCTIONS: Record<string, (args: readonly string[]) => string> = {
  lower: ([s]) => `lower(${text(s as string)})`,
  upper: ([s]) => `upper(${text(s as string)})`,
  length: ([s]) => `char_length(${text(s as string)})`,
  len: ([s]) => `char_length(${text(s as string)})`,
  trim: ([s]) => `btrim(${text(s as string)})`,
  ltrim: ([s]) => `ltrim(${text(s as string)})`,
  rtrim: ([s]) => `rtrim(${text(s as string)})`,
  substring: (args) => substr(args),
  substr: (args) => substr(args),
  concat: (args) => `concat(${args.join(", ")})`,
  coalesce: (args) => `coalesce(${args.join(", ")})`,
  ifnull: (args) => `coalesce(${args.join(", ")})`,
  abs: ([x]) => `abs(${x})`,
  round: ([x, n]) => (n === undefined ? `round(${x})` : `round((${x})::numeric, (${n})::integer)`),
  floor: ([x]) => `floor(${x})`,
  ceiling: ([x]) => `ceiling(${x})`,
  ceil: ([x]) => `ceiling(${x})`,
  now: () => "now()",
  year: ([d]) => `(extract(year FROM ${utc(d as string)}))::integer`,
  month: ([d]) => `(extract(month FROM ${utc(d as string)}))::integer`,
  day: ([d]) => `(extract(day FROM ${utc(d as string)}))::integer`,
  date: ([d]) => `(${utc(d as string)})::date`,
};

function substr([s, start, length]: readonly string[]): string {
  const from = `(${start})::integer`;
  return length === undefined
    ? `substr(${text(s as string)}, ${from})`
    : `substr(${text(s as string)}, ${from}, greatest((${length})::integer, 0))`;
}

function callSql(call: CallExpr, sql: (e: Expr) => string): string {
  const name = call.name.toLowerCase();
  if (AGGREGATES.has(name)) {
    if (call.star) return "count(*)";
    const distinct = call.distinct ? "DISTINCT " : "";
    return `${name}(${distinct}${call.args.map(sql).join(", ")})`;
  }
  const fn = FUNCTIONS[name];
  if (!fn) {
    throw new BitbridgeError(
      "SQL_UNKNOWN_FUNCTION",
      `Unknown function ${call.name}(); available: ${Object.keys(FUNCTIONS).join(", ")}, and COUNT, SUM, MIN, MAX, AVG.`,
      { span: call.span },
    );
  }
  return fn(call.args.map(sql));
}

/** CAST target types of the statement's dialect in PostgreSQL. */
function castType(type: TypeName): string {
  const name = type.name.toLowerCase();
  const size = type.args.length > 0 ? `(${type.args.map((n) => Math.trunc(n)).join(", ")})` : "";
  if (/^(int|integer|smallint)$/.test(name)) return "integer";
  if (name === "bigint") return "bigint";
  if (/^(decimal|numeric)$/.test(name)) return `numeric${size}`;
  if (/^(float|double|double precision|real)$/.test(name)) return "double precision";
  if (/^(varchar|nvarchar|char|character varying)$/.test(name)) return size ? `varchar${size}` : "text";
  if (/^(text|string)$/.test(name)) return "text";
  if (/^bool(ean)?$/.test(name)) return "boolean";
  if (/^(timestamp|datetime)$/.test(name)) return "timestamptz";
  if (name === "date") return "date";
  throw new BitbridgeError(
    "SQL_TYPE",
    `Cannot CAST to ${type.name}; use INTEGER, BIGINT, DECIMAL, DOUBLE, VARCHAR, BOOLEAN, DATE or TIMESTAMP.`,
    { span: type.span },
  );
}
