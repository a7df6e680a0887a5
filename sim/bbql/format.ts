import { assertNever, type BbqlLiteral, type BbqlNode } from "./ast.js";
import { formatMicros } from "./datetime.js";

/**
 * Renders an AST on one line, parenthesised prefix form: `(and (= state "OPEN") (in id [1 2]))`.
 * Datetimes appear normalised to UTC (`2026-01-02T01:04:05Z`), so tests can see how offsets were read.
 */
export function formatBbql(node: BbqlNode): string {
  switch (node.kind) {
    case "and":
    case "or":
      return `(${node.kind} ${node.operands.map(formatBbql).join(" ")})`;
    case "compare":
      return `(${node.op} ${node.path} ${formatLiteral(node.value)})`;
    case "in":
      return `(${node.negated ? "not-in" : "in"} ${node.path} [${node.values.map(formatLiteral).join(" ")}])`;
    default:
      return assertNever(node);
  }
}

export function formatLiteral(literal: BbqlLiteral): string {
  switch (literal.kind) {
    case "string":
      return JSON.stringify(literal.value);
    case "number":
    case "boolean":
      return String(literal.value);
    case "null":
      return "null";
    case "datetime":
      return formatMicros(literal.micros);
    default:
      return assertNever(literal);
  }
}
