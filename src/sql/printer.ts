import {
  type AstNode,
  assertNever,
  type BinaryOp,
  type Expr,
  type Identifier,
  type Literal,
  type OrderItem,
  type SelectItem,
  type SelectStatement,
  type Statement,
  type TableRef,
  type TypeName,
} from "./ast.js";
import { RESERVED_WORDS } from "./keywords.js";

const BARE_NAME = /^[\p{L}_][\p{L}\p{M}\p{N}_]*$/u;

// ---- formatAst: a compact one-line tree for tests and debugging ------------------------------------

/**
 * One line, parenthesised, prefix form: `(select (cols (col Title)) (from Issues) (where (= (col Id) 1)))`.
 * Names print bare unless they need brackets; quoting is not shown (see the `quoted` flags).
 */
export function formatAst(node: AstNode): string {
  switch (node.kind) {
    case "select":
      return formatSelect(node);
    case "explain":
      return `(explain ${formatSelect(node.statement)})`;
    case "column":
      return `(col ${dotted([node.schema, node.table, { name: node.name }])})`;
    case "literal":
      return formatLiteral(node);
    case "param":
      return node.style === "named" ? `@${node.name}` : `?${node.index + 1}`;
    case "unary":
      return `(${node.op} ${formatAst(node.operand)})`;
    case "binary":
      return `(${node.op} ${formatAst(node.left)} ${formatAst(node.right)})`;
    case "in":
      return `(${node.negated ? "not-in" : "in"} ${[node.expr, ...node.list].map(formatAst).join(" ")})`;
    case "like": {
      const escapeChar = node.escape ? ` (escape ${formatAst(node.escape)})` : "";
      return `(${node.negated ? "not-like" : "like"} ${formatAst(node.expr)} ${formatAst(node.pattern)}${escapeChar})`;
    }
    case "between":
      return `(${node.negated ? "not-between" : "between"} ${[node.expr, node.low, node.high].map(formatAst).join(" ")})`;
    case "isNull":
      return `(${node.negated ? "is-not-null" : "is-null"} ${formatAst(node.expr)})`;
    case "call": {
      const args = node.star ? ["*"] : node.args.map(formatAst);
      return `(call ${[node.name, ...(node.distinct ? ["distinct"] : []), ...args].join(" ")})`;
    }
    case "cast":
      return `(cast ${formatAst(node.expr)} ${typeSql(node.type)})`;
    case "case": {
      const parts = [
        ...(node.operand ? [formatAst(node.operand)] : []),
        ...node.whens.map(formatAst),
        ...(node.else ? [`(else ${formatAst(node.else)})`] : []),
      ];
      return `(case ${parts.join(" ")})`;
    }
    case "when":
      return `(when ${formatAst(node.condition)} ${formatAst(node.result)})`;
    case "allColumns":
      return node.table ? `${dotted([node.schema, node.table])}.*` : "*";
    case "selectExpr":
      return node.alias ? `(as ${formatAst(node.expr)} ${plainName(node.alias.name)})` : formatAst(node.expr);
    case "table": {
      const name = dotted([node.schema, { name: node.name }]);
      return node.alias ? `(as ${name} ${plainName(node.alias.name)})` : name;
    }
    case "orderItem":
      return `(${node.direction} ${formatAst(node.expr)}${node.nulls ? ` nulls-${node.nulls}` : ""})`;
    case "identifier":
      return plainName(node.name);
    case "typeName":
      return typeSql(node);
    default:
      return assertNever(node);
  }
}

function formatSelect(node: SelectStatement): string {
  const parts = [
    "select",
    ...(node.distinct ? ["distinct"] : []),
    `(cols ${node.columns.map(formatAst).join(" ")})`,
    `(from ${formatAst(node.from)})`,
    ...(node.where ? [`(where ${formatAst(node.where)})`] : []),
    ...(node.groupBy.length > 0 ? [`(group-by ${node.groupBy.map(formatAst).join(" ")})`] : []),
    ...(node.having ? [`(having ${formatAst(node.having)})`] : []),
    ...(node.orderBy.length > 0 ? [`(order-by ${node.orderBy.map(formatAst).join(" ")})`] : []),
    ...(node.limit ? [`(limit ${formatAst(node.limit)})`] : []),
    ...(node.offset ? [`(offset ${formatAst(node.offset)})`] : []),
  ];
  return `(${parts.join(" ")})`;
}

function formatLiteral(node: Literal): string {
  switch (node.type) {
    case "integer":
    case "decimal":
      return node.text;
    case "string":
      return stringSql(node.value);
    case "boolean":
      return String(node.value);
    case "null":
      return "null";
    case "date":
    case "timestamp":
      return `(${node.type} ${stringSql(node.value)})`;
    default:
      return assertNever(node);
  }
}

function dotted(parts: readonly ({ readonly name: string } | undefined)[]): string {
  return parts
    .filter((part) => part !== undefined)
    .map((part) => plainName(part.name))
    .join(".");
}

function plainName(name: string): string {
  return BARE_NAME.test(name) ? name : bracket(name);
}

// ---- toSql: back to SQL text -------------------------------------------------------------------------

/** Binding strength, loosest first; a child looser than its place requires is parenthesised. */
const Level = {
  Or: 1,
  And: 2,
  Not: 3,
  Comparison: 4,
  Concat: 5,
  Additive: 6,
  Multiplicative: 7,
  Unary: 8,
  Primary: 9,
} as const;

const BINARY_LEVEL: Readonly<Record<BinaryOp, number>> = {
  or: Level.Or,
  and: Level.And,
  "=": Level.Comparison,
  "<>": Level.Comparison,
  "<": Level.Comparison,
  "<=": Level.Comparison,
  ">": Level.Comparison,
  ">=": Level.Comparison,
  "||": Level.Concat,
  "+": Level.Additive,
  "-": Level.Additive,
  "*": Level.Multiplicative,
  "/": Level.Multiplicative,
  "%": Level.Multiplicative,
};

/**
 * SQL text for an expression or statement that parses back to the same tree. Names that were quoted,
 * or that need it, are written `[like this]`; parentheses are added only where precedence needs them.
 */
export function toSql(node: Expr | Statement): string {
  switch (node.kind) {
    case "select":
      return selectSql(node);
    case "explain":
      return `EXPLAIN ${selectSql(node.statement)}`;
    default:
      return exprSql(node, Level.Or);
  }
}

/** A name as SQL: bare when it was bare and can stay so, else in brackets (`]` doubled). */
export function quoteIdentifier(name: string, quoted = true): string {
  if (!quoted && BARE_NAME.test(name) && !RESERVED_WORDS.has(name.toUpperCase())) return name;
  return bracket(name);
}

function selectSql(node: SelectStatement): string {
  const parts = [
    `SELECT ${node.distinct ? "DISTINCT " : ""}${node.columns.map(selectItemSql).join(", ")}`,
    `FROM ${tableSql(node.from)}`,
  ];
  if (node.where) parts.push(`WHERE ${exprSql(node.where, Level.Or)}`);
  if (node.groupBy.length > 0)
    parts.push(`GROUP BY ${node.groupBy.map((e) => exprSql(e, Level.Or)).join(", ")}`);
  if (node.having) parts.push(`HAVING ${exprSql(node.having, Level.Or)}`);
  if (node.orderBy.length > 0) parts.push(`ORDER BY ${node.orderBy.map(orderItemSql).join(", ")}`);
  if (node.limit) parts.push(`LIMIT ${exprSql(node.limit, Level.Or)}`);
  if (node.offset) parts.push(`OFFSET ${exprSql(node.offset, Level.Or)}`);
  return parts.join(" ");
}

function selectItemSql(item: SelectItem): string {
  switch (item.kind) {
    case "allColumns":
      return [item.schema, item.table]
        .filter((part) => part !== undefined)
        .map((part) => `${identifierSql(part)}.`)
        .concat("*")
        .join("");
    case "selectExpr":
      return item.alias
        ? `${exprSql(item.expr, Level.Or)} AS ${identifierSql(item.alias)}`
        : exprSql(item.expr, Level.Or);
    default:
      return assertNever(item);
  }
}

function tableSql(table: TableRef): string {
  const schema = table.schema ? `${identifierSql(table.schema)}.` : "";
  const alias = table.alias ? ` AS ${identifierSql(table.alias)}` : "";
  return `${schema}${quoteIdentifier(table.name, table.quoted)}${alias}`;
}

function orderItemSql(item: OrderItem): string {
  const direction = item.direction === "desc" ? " DESC" : "";
  const nulls = item.nulls ? ` NULLS ${item.nulls.toUpperCase()}` : "";
  return `${exprSql(item.expr, Level.Or)}${direction}${nulls}`;
}

function identifierSql(identifier: Identifier): string {
  return quoteIdentifier(identifier.name, identifier.quoted);
}

function levelOf(expr: Expr): number {
  switch (expr.kind) {
    case "binary":
      return BINARY_LEVEL[expr.op];
    case "unary":
      return expr.op === "not" ? Level.Not : Level.Unary;
    case "in":
    case "like":
    case "between":
    case "isNull":
      return Level.Comparison;
    case "literal":
      return (expr.type === "integer" || expr.type === "decimal") && expr.text.startsWith("-")
        ? Level.Unary
        : Level.Primary;
    case "column":
    case "param":
    case "call":
    case "cast":
    case "case":
      return Level.Primary;
    default:
      return assertNever(expr);
  }
}

/** `expr` as SQL, parenthesised if it binds more loosely than `required`. */
function exprSql(expr: Expr, required: number): string {
  const text = bareExprSql(expr);
  return levelOf(expr) < required ? `(${text})` : text;
}

function bareExprSql(expr: Expr): string {
  switch (expr.kind) {
    case "column": {
      const qualifiers = [expr.schema, expr.table].filter((part) => part !== undefined).map(identifierSql);
      return [...qualifiers, quoteIdentifier(expr.name, expr.quoted)].join(".");
    }
    case "literal":
      return literalSql(expr);
    case "param":
      return expr.style === "named" ? `@${expr.name}` : "?";
    case "unary": {
      if (expr.op === "not") return `NOT ${exprSql(expr.operand, Level.Not)}`;
      const operand = expr.operand;
      // -(5) stays a negation of 5 rather than becoming the literal -5; "- -x" must not become a comment.
      const text =
        operand.kind === "literal" && (operand.type === "integer" || operand.type === "decimal")
          ? `(${literalSql(operand)})`
          : exprSql(operand, Level.Unary);
      return `${expr.op}${/^[-+]/.test(text) ? " " : ""}${text}`;
    }
    case "binary": {
      const level = BINARY_LEVEL[expr.op];
      const op = expr.op === "or" || expr.op === "and" ? expr.op.toUpperCase() : expr.op;
      // Left-associative; comparisons do not chain, so both sides must bind tighter.
      const leftLevel = level === Level.Comparison ? Level.Concat : level;
      return `${exprSql(expr.left, leftLevel)} ${op} ${exprSql(expr.right, level + 1)}`;
    }
    case "in": {
      const list = expr.list.map((item) => exprSql(item, Level.Or)).join(", ");
      return `${exprSql(expr.expr, Level.Concat)} ${expr.negated ? "NOT IN" : "IN"} (${list})`;
    }
    case "like": {
      const escapeChar = expr.escape ? ` ESCAPE ${exprSql(expr.escape, Level.Concat)}` : "";
      const like = expr.negated ? "NOT LIKE" : "LIKE";
      return `${exprSql(expr.expr, Level.Concat)} ${like} ${exprSql(expr.pattern, Level.Concat)}${escapeChar}`;
    }
    case "between": {
      const between = expr.negated ? "NOT BETWEEN" : "BETWEEN";
      const low = exprSql(expr.low, Level.Concat);
      return `${exprSql(expr.expr, Level.Concat)} ${between} ${low} AND ${exprSql(expr.high, Level.Concat)}`;
    }
    case "isNull":
      return `${exprSql(expr.expr, Level.Concat)} IS ${expr.negated ? "NOT NULL" : "NULL"}`;
    case "call": {
      if (expr.star) return `${expr.name}(*)`;
      const args = expr.args.map((arg) => exprSql(arg, Level.Or)).join(", ");
      return `${expr.name}(${expr.distinct ? "DISTINCT " : ""}${args})`;
    }
    case "cast":
      return `CAST(${exprSql(expr.expr, Level.Or)} AS ${typeSql(expr.type)})`;
    case "case": {
      const parts = ["CASE"];
      if (expr.operand) parts.push(exprSql(expr.operand, Level.Or));
      for (const when of expr.whens) {
        parts.push(`WHEN ${exprSql(when.condition, Level.Or)} THEN ${exprSql(when.result, Level.Or)}`);
      }
      if (expr.else) parts.push(`ELSE ${exprSql(expr.else, Level.Or)}`);
      parts.push("END");
      return parts.join(" ");
    }
    default:
      return assertNever(expr);
  }
}

function literalSql(literal: Literal): string {
  switch (literal.type) {
    case "integer":
    case "decimal":
      return literal.text;
    case "string":
      return stringSql(literal.value);
    case "boolean":
      return literal.value ? "TRUE" : "FALSE";
    case "null":
      return "NULL";
    case "date":
      return `DATE ${stringSql(literal.value)}`;
    case "timestamp":
      return `TIMESTAMP ${stringSql(literal.value)}`;
    default:
      return assertNever(literal);
  }
}

function typeSql(type: TypeName): string {
  return type.args.length > 0 ? `${type.name}(${type.args.join(", ")})` : type.name;
}

function stringSql(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

function bracket(name: string): string {
  return `[${name.replaceAll("]", "]]")}]`;
}
