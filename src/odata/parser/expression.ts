import type { BinaryOp, LiteralExpr, ODataExpr, OrderByItem, Span } from "../ast.js";
import { notImplemented } from "../errors.js";
import { Lexer, type Token } from "./lexer.js";
import { Budget, checkLength } from "./limits.js";
import { readLiteral } from "./literal.js";

/** Binding strength of the word operators, weakest first; `in` and `has` sit with the relational ones. */
const PRECEDENCE: Readonly<Record<string, number>> = {
  or: 1,
  and: 2,
  eq: 3,
  ne: 3,
  gt: 4,
  ge: 4,
  lt: 4,
  le: 4,
  has: 4,
  in: 4,
  add: 5,
  sub: 5,
  mul: 6,
  div: 6,
  divby: 6,
  mod: 6,
};

const ADDITIVE = 5;

const span = (start: number, end: number): Span => ({ start, end });

class ExpressionParser {
  readonly lexer: Lexer;
  private readonly budget: Budget;
  /** The end of the text consumed so far, for spans that close on punctuation. */
  private lastEnd = 0;
  /** The operator whose operand is being read, so a missing value is reported as "after 'eq'". */
  private operator: string | undefined;

  constructor(text: string, target: string) {
    checkLength(target, text);
    this.lexer = new Lexer(text, target);
    this.budget = new Budget(target);
  }

  get target(): string {
    return this.lexer.target;
  }

  /** One expression; stops (without error) at the first token that cannot continue it. */
  expression(minLevel = 1): ODataExpr {
    let left = this.unary();
    for (;;) {
      const token = this.lexer.peek();
      if (token.kind !== "name" || token.qualified) return left;
      const op = token.text.toLowerCase();
      const level = PRECEDENCE[op];
      if (level === undefined || level < minLevel) return left;
      if (!token.space) this.lexer.error(`expected whitespace before '${token.text}'`, token.start);
      this.lexer.next();
      this.requireSpaceAfter(token);
      if (op === "has") {
        throw notImplemented(`${this.target}: the has operator is not supported`, this.target);
      }
      this.budget.node();
      if (op === "in") {
        const list = this.inList(token);
        left = { kind: "in", operand: left, list, span: span(left.span.start, this.lastEnd) };
        continue;
      }
      const right = this.expression(level + 1);
      left = { kind: "binary", op: op as BinaryOp, left, right, span: span(left.span.start, right.span.end) };
    }
  }

  private expectedValue(token: Token, found = ""): never {
    const after = this.operator === undefined ? "" : ` after '${this.operator}'`;
    return this.lexer.error(`expected a value${after}${found}`, token.start);
  }

  private take(): Token {
    const token = this.lexer.next();
    this.lastEnd = token.end;
    return token;
  }

  private requireSpaceAfter(operator: Token & { kind: "name" }): void {
    this.lastEnd = operator.end;
    this.operator = operator.text;
    const next = this.lexer.peek();
    if (next.kind === "end") this.lexer.error(`expected a value after '${operator.text}'`, next.start);
    if (!next.space) this.lexer.error(`expected whitespace after '${operator.text}'`, next.start);
  }

  private unary(): ODataExpr {
    const token = this.lexer.peek();
    if (token.kind === "punct" && token.text === "-") {
      this.take();
      this.operator = "-";
      return this.budget.nest(token.start, () => {
        this.budget.node();
        const operand = this.unary();
        return { kind: "unary", op: "-", operand, span: span(token.start, operand.span.end) };
      });
    }
    if (token.kind === "name" && !token.qualified && token.text.toLowerCase() === "not") {
      const after = this.lexer.charAfter(token);
      // `not(x)` is not in the ABNF (it wants `not x`) but clients write it, and no function is called `not`.
      if (after === "(" || after === " " || after === "\t") {
        this.take();
        if (after !== "(") this.requireSpaceAfter(token);
        this.operator = token.text;
        return this.budget.nest(token.start, () => {
          this.budget.node();
          const operand = this.unary();
          return { kind: "unary", op: "not", operand, span: span(token.start, operand.span.end) };
        });
      }
    }
    return this.primary();
  }

  private primary(): ODataExpr {
    const token = this.take();
    this.budget.node();
    const literal = readLiteral(this.lexer, token);
    if (literal) {
      this.lastEnd = literal.span.end;
      this.operator = undefined;
      return literal;
    }
    const expr = this.nonLiteral(token);
    this.operator = undefined;
    return expr;
  }

  private nonLiteral(token: Token): ODataExpr {
    switch (token.kind) {
      case "name":
        return this.member(token);
      case "punct":
        return this.punctuation(token);
      case "dollar":
        if (["$it", "$this", "$root"].includes(token.text)) {
          throw notImplemented(`${this.target}: ${token.text} is not supported`, this.target);
        }
        return this.lexer.error(`unexpected '${token.text}'`, token.start);
      case "alias":
        throw notImplemented(
          `${this.target}: parameter aliases (${token.text}) are not supported`,
          this.target,
        );
      case "end":
        return this.expectedValue(token);
      default:
        // Literal tokens never get here: readLiteral has taken them.
        return this.expectedValue(token);
    }
  }

  private punctuation(token: Token & { kind: "punct" }): ODataExpr {
    if (token.text === "(") {
      this.operator = "(";
      return this.budget.nest(token.start, () => {
        const inner = this.expression();
        this.expect(")", "expected ')'");
        return inner;
      });
    }
    if (token.text === "[" || token.text === "{") {
      throw notImplemented(
        `${this.target}: JSON arrays and objects in expressions are not supported`,
        this.target,
      );
    }
    if (token.text === '"') {
      return this.lexer.error("strings are written in single quotes", token.start);
    }
    return this.expectedValue(token, `, found '${token.text}'`);
  }

  private member(token: Token & { kind: "name" }): ODataExpr {
    const after = this.lexer.charAfter(token);
    if (token.qualified) {
      if (after === "(") {
        throw notImplemented(`${this.target}: function ${token.text} is not supported`, this.target);
      }
      if (after === "/") {
        throw notImplemented(
          `${this.target}: type-cast segments (${token.text}/...) are not supported`,
          this.target,
        );
      }
      return this.lexer.error(`'${token.text}' is not a property name`, token.start);
    }
    if (after === "/") {
      throw notImplemented(
        `${this.target}: property paths (${token.text}/...) are not supported; use a property of the entity set`,
        this.target,
      );
    }
    if (after !== "(") return { kind: "property", name: token.text, span: span(token.start, token.end) };

    const name = token.text.toLowerCase();
    if (name === "cast" || name === "isof") {
      throw notImplemented(`${this.target}: ${name}() is not supported`, this.target);
    }
    if (name === "any" || name === "all") {
      this.lexer.error(`${name}() needs a collection path before it, e.g. Items/${name}(...)`, token.start);
    }
    this.take();
    const args = this.budget.nest(token.start, () => this.callArguments());
    if (this.lexer.text.charAt(this.lastEnd) === "/") {
      throw notImplemented(`${this.target}: paths after a function call are not supported`, this.target);
    }
    return { kind: "call", name, args, span: span(token.start, this.lastEnd) };
  }

  private callArguments(): ODataExpr[] {
    const args: ODataExpr[] = [];
    const first = this.lexer.peek();
    if (first.kind === "punct" && first.text === ")") {
      this.take();
      return args;
    }
    for (;;) {
      const next = this.lexer.peek();
      if (next.kind === "name" && this.lexer.charAfter(next) === "=") {
        throw notImplemented(`${this.target}: named function parameters are not supported`, this.target);
      }
      args.push(this.expression());
      const separator = this.take();
      if (separator.kind === "punct" && separator.text === ")") return args;
      if (separator.kind !== "punct" || separator.text !== ",") {
        this.lexer.error("expected ',' or ')' in the argument list", separator.start);
      }
    }
  }

  /** The right side of `in`: a parenthesised list of literals (4.01); anything else is not implemented. */
  private inList(operator: Token & { kind: "name" }): LiteralExpr[] {
    const open = this.lexer.peek();
    if (open.kind === "punct" && open.text === "[") {
      throw notImplemented(
        `${this.target}: JSON arrays after 'in' are not supported; write ('a','b')`,
        this.target,
      );
    }
    if (open.kind !== "punct" || open.text !== "(") {
      this.expression(ADDITIVE);
      throw notImplemented(
        `${this.target}: 'in' with a collection-valued expression is not supported`,
        this.target,
      );
    }
    this.take();
    return this.budget.nest(open.start, () => {
      const list: LiteralExpr[] = [];
      const close = this.lexer.peek();
      if (close.kind === "punct" && close.text === ")") {
        this.take();
        return list;
      }
      for (;;) {
        const item = this.expression();
        const separator = this.take();
        const closing = separator.kind === "punct" && separator.text === ")";
        if (item.kind !== "literal") {
          if (closing && list.length === 0) {
            throw notImplemented(
              `${this.target}: 'in' with a collection-valued expression is not supported`,
              this.target,
            );
          }
          this.lexer.error(`the list after '${operator.text}' may contain only literals`, item.span.start);
        }
        list.push(item);
        if (closing) return list;
        if (separator.kind !== "punct" || separator.text !== ",") {
          this.lexer.error("expected ',' or ')' in the list", separator.start);
        }
      }
    });
  }

  private expect(text: string, message: string): void {
    const token = this.take();
    if (token.kind !== "punct" || token.text !== text) this.lexer.error(message, token.start);
  }

  /** The ABNF allows no whitespace before a filter or orderby value. */
  expectStart(): void {
    const first = this.lexer.peek();
    if (first.space) this.lexer.error("unexpected whitespace", 0);
  }

  /** Fails unless the whole text was consumed, naming what could not continue the expression. */
  expectEnd(what: string): void {
    const token = this.lexer.peek();
    if (token.kind === "end") {
      if (token.space) this.lexer.error("unexpected trailing whitespace", token.start - 1);
      return;
    }
    const found = "text" in token ? `'${token.text}'` : "a value";
    this.lexer.error(`unexpected ${found}; expected ${what}`, token.start);
  }
}

/** `$filter`: one Boolean expression with OData's operator precedence, left-associative. */
export function parseFilter(text: string): ODataExpr {
  const parser = new ExpressionParser(text, "$filter");
  parser.expectStart();
  const expr = parser.expression();
  parser.expectEnd("an operator");
  return expr;
}

/** `$orderby`: `expr [asc|desc]` items separated by commas. */
export function parseOrderBy(text: string): OrderByItem[] {
  const parser = new ExpressionParser(text, "$orderby");
  const { lexer } = parser;
  const items: OrderByItem[] = [];
  parser.expectStart();
  for (;;) {
    const expr = parser.expression();
    let direction: OrderByItem["direction"] = "asc";
    const word = lexer.peek();
    if (word.kind === "name" && word.space && /^(asc|desc)$/i.test(word.text)) {
      lexer.next();
      direction = word.text.toLowerCase() as OrderByItem["direction"];
    }
    items.push({ expr, direction });
    const separator = lexer.peek();
    if (separator.kind === "end") {
      parser.expectEnd("");
      return items;
    }
    if (separator.kind !== "punct" || separator.text !== ",")
      parser.expectEnd("an operator, asc, desc or ','");
    if (separator.space) lexer.error("unexpected whitespace before ','", separator.start);
    lexer.next();
    if (lexer.peek().space) lexer.error("unexpected whitespace after ','", separator.end);
  }
}
