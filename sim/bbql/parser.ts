import type { BbqlLiteral, BbqlNode, CompareOp, LogicalNode } from "./ast.js";
import { BbqlError, expecting } from "./error.js";
import { type Token, tokenize } from "./lexer.js";

const RESERVED = new Set(["and", "or", "not", "in", "null", "true", "false"]);

/**
 * Parses a BBQL filter (the `q=` parameter) into an AST. Grammar, keywords case-insensitive:
 *
 *   query      := or END
 *   or         := and ("OR" and)*
 *   and        := primary ("AND" primary)*
 *   primary    := "(" or ")" | path op literal | path ["NOT"] "IN" "(" literal ("," literal)* ")"
 *
 * Throws BbqlError (with the offending position) on anything else, including an empty query.
 */
export function parseBbql(query: string): BbqlNode {
  return new Parser(tokenize(query)).parseQuery();
}

/** Rejects a `values.` prefix: BBQL paths are relative to the items, not the paginated envelope. */
export function checkPathPrefix(path: string, position: number): void {
  if (path.startsWith("values.")) {
    throw new BbqlError(
      `Invalid field '${path}' at position ${position}: field paths are relative to the listed objects; drop the 'values.' prefix`,
      position,
    );
  }
}

function isKeyword(token: Token, keyword: string): boolean {
  return (
    token.kind === "word" && token.text.length === keyword.length && token.text.toLowerCase() === keyword
  );
}

/**
 * Parentheses nest by recursion; without a bound, a query of a few thousand '(' overflows the stack
 * (a 500 instead of a 400).
 */
export const MAX_NESTING = 100;

class Parser {
  private index = 0;
  private depth = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  private peek(): Token {
    return this.tokens[this.index] as Token;
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== "end") this.index++;
    return token;
  }

  parseQuery(): BbqlNode {
    const node = this.parseOr();
    const token = this.peek();
    if (token.kind !== "end") throw expecting("AND, OR or end of input", token.position, token.text);
    return node;
  }

  private parseOr(): BbqlNode {
    return this.parseLogical("or", () => this.parseAnd());
  }

  private parseAnd(): BbqlNode {
    return this.parseLogical("and", () => this.parsePrimary());
  }

  private parseLogical(kind: LogicalNode["kind"], operand: () => BbqlNode): BbqlNode {
    const first = operand();
    if (!isKeyword(this.peek(), kind)) return first;
    const operands: BbqlNode[] = [];
    const add = (node: BbqlNode) => {
      if (node.kind === kind) operands.push(...node.operands);
      else operands.push(node);
    };
    add(first);
    while (isKeyword(this.peek(), kind)) {
      this.next();
      add(operand());
    }
    return { kind, operands };
  }

  private parsePrimary(): BbqlNode {
    const token = this.next();
    if (token.kind === "(") {
      if (++this.depth > MAX_NESTING) {
        throw new BbqlError(
          `Too many nested parentheses at position ${token.position} (at most ${MAX_NESTING})`,
          token.position,
        );
      }
      const inner = this.parseOr();
      this.depth--;
      const close = this.next();
      if (close.kind !== ")") throw expecting("AND, OR or ')'", close.position, close.text);
      return inner;
    }
    if (token.kind !== "word" || RESERVED.has(token.text.toLowerCase())) {
      throw expecting("a field name or '('", token.position, token.text);
    }
    checkPathPrefix(token.text, token.position);
    const path = token.text;
    const position = token.position;

    const opToken = this.next();
    if (opToken.kind === "op") {
      return { kind: "compare", path, op: opToken.op, value: this.parseOperand(opToken.op), position };
    }
    let negated = false;
    if (isKeyword(opToken, "not")) {
      negated = true;
      const inToken = this.next();
      if (!isKeyword(inToken, "in")) throw expecting("IN after NOT", inToken.position, inToken.text);
    } else if (!isKeyword(opToken, "in")) {
      throw expecting("an operator (=, !=, ~, !~, >, >=, <, <=, IN, NOT IN)", opToken.position, opToken.text);
    }
    return { kind: "in", path, negated, values: this.parseList(), position };
  }

  /** The literal after a comparison operator, checked against what the operator can use. */
  private parseOperand(op: CompareOp): BbqlLiteral {
    const token = this.peek();
    const value = this.parseLiteral();
    switch (op) {
      case "=":
      case "!=":
        return value;
      case "~":
      case "!~":
        if (value.kind !== "string") throw expecting(`a string after '${op}'`, token.position, token.text);
        return value;
      case ">":
      case ">=":
      case "<":
      case "<=":
        if (value.kind === "null" || value.kind === "boolean") {
          throw expecting(`a string, number or datetime after '${op}'`, token.position, token.text);
        }
        return value;
    }
  }

  private parseList(): BbqlLiteral[] {
    const open = this.next();
    if (open.kind !== "(") throw expecting("'(' to start the list", open.position, open.text);
    const values = [this.parseLiteral()];
    for (;;) {
      const token = this.next();
      if (token.kind === ")") return values;
      if (token.kind !== ",") throw expecting("',' or ')'", token.position, token.text);
      values.push(this.parseLiteral());
    }
  }

  private parseLiteral(): BbqlLiteral {
    const token = this.next();
    switch (token.kind) {
      case "string":
        return { kind: "string", value: token.value };
      case "number":
        return { kind: "number", value: token.value };
      case "datetime":
        return { kind: "datetime", micros: token.micros, text: token.text };
      case "word": {
        const lower = token.text.toLowerCase();
        if (lower === "null") return { kind: "null" };
        if (lower === "true" || lower === "false") return { kind: "boolean", value: lower === "true" };
        throw expecting("a value", token.position, token.text, " (strings must be double-quoted)");
      }
      case "(":
      case ")":
      case ",":
      case "op":
      case "end":
        throw expecting("a value", token.position, token.text);
    }
  }
}
