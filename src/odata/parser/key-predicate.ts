import type { KeyPredicate, LiteralExpr } from "../ast.js";
import { notImplemented } from "../errors.js";
import { Lexer, type Token } from "./lexer.js";
import { checkLength } from "./limits.js";
import { readLiteral } from "./literal.js";

const TARGET = "key predicate";

/**
 * The text between the parentheses of `Set(...)`, percent-decoded: one literal (`42`, `'it''s'`) or
 * `Name=literal` pairs. The ABNF allows no whitespace in keys.
 */
export function parseKeyPredicate(text: string): KeyPredicate {
  checkLength(TARGET, text);
  const lexer = new Lexer(text, TARGET);
  const first = lexer.peek();
  if (first.kind === "name" && lexer.charAfter(first) === "=") return named(lexer);
  const value = literal(lexer, lexer.next());
  end(lexer);
  return { kind: "single", value };
}

function named(lexer: Lexer): KeyPredicate {
  const values = new Map<string, LiteralExpr>();
  for (;;) {
    const name = lexer.next();
    if (name.kind !== "name" || name.qualified) lexer.error("expected a key property name", name.start);
    noSpace(lexer, name);
    if (values.has(name.text)) lexer.error(`key property ${name.text} given twice`, name.start);
    const equals = lexer.next();
    if (equals.kind !== "punct" || equals.text !== "=") lexer.error("expected '='", equals.start);
    values.set(name.text, literal(lexer, lexer.next()));
    const separator = lexer.next();
    if (separator.kind === "end") {
      noSpace(lexer, separator);
      return { kind: "named", values };
    }
    if (separator.kind !== "punct" || separator.text !== ",")
      lexer.error("expected ',' or the end", separator.start);
    noSpace(lexer, separator);
  }
}

function literal(lexer: Lexer, token: Token): LiteralExpr {
  noSpace(lexer, token);
  if (token.kind === "alias") {
    throw notImplemented(`${TARGET}: parameter aliases (${token.text}) are not supported`, TARGET);
  }
  const value = readLiteral(lexer, token);
  if (!value) return lexer.error("expected a literal key value", token.start);
  return value;
}

function end(lexer: Lexer): void {
  const token = lexer.next();
  noSpace(lexer, token);
  if (token.kind !== "end") lexer.error("expected the end of the key", token.start);
}

function noSpace(lexer: Lexer, token: Token): void {
  if (token.space) lexer.error("unexpected whitespace", token.start - 1);
}
