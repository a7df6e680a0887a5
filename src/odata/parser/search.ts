import type { SearchExpr } from "../ast.js";
import { badRequest } from "../errors.js";
import { Budget, checkLength } from "./limits.js";

const TARGET = "$search";

interface SearchToken {
  readonly kind: "open" | "close" | "phrase" | "word" | "end";
  readonly text: string;
  readonly start: number;
  readonly end: number;
  readonly space: boolean;
}

const isBlank = (char: string) => char === " " || char === "\t";

function fail(message: string, position: number): never {
  throw badRequest("SyntaxError", `${TARGET}: ${message} at position ${position + 1}`, TARGET);
}

/**
 * `$search` per the ABNF's searchExpr: words, "phrases", parentheses, NOT/AND/OR (upper case only, and only
 * where an operand follows: `$search=AND` looks for the word AND) and implicit AND between operands. NOT
 * binds tightest, then AND, then OR. A value entirely in single quotes is the ABNF's searchExpr-incomplete
 * and searches for its content as one phrase.
 */
export function parseSearch(text: string): SearchExpr {
  checkLength(TARGET, text);
  let start = 0;
  let end = text.length;
  // The ABNF allows whitespace after `=`; trailing whitespace is tolerated the same way.
  while (start < end && isBlank(text.charAt(start))) start++;
  while (end > start && isBlank(text.charAt(end - 1))) end--;
  if (start === end) fail("expected a search term", start);
  if (text.charAt(start) === "'") return quoted(text, start, end);
  return new SearchParser(text.slice(0, end), start).parse();
}

function quoted(text: string, start: number, end: number): SearchExpr {
  const inner = text.slice(start + 1, end - 1);
  if (end - start < 2 || text.charAt(end - 1) !== "'" || /(^|[^'])'('')*($|[^'])/.test(inner)) {
    fail("a search value that starts with ' must be one quoted string, with '' for each quote inside", start);
  }
  const value = inner.replaceAll("''", "'");
  if (value === "") fail("expected a search term", start);
  return { kind: "term", value, phrase: true };
}

class SearchParser {
  private readonly budget = new Budget(TARGET);

  constructor(
    private readonly text: string,
    private pos: number,
  ) {}

  parse(): SearchExpr {
    const expr = this.or();
    const token = this.peek();
    if (token.kind !== "end") fail(`unexpected '${token.text}'`, token.start);
    return expr;
  }

  private or(): SearchExpr {
    let left = this.and();
    for (;;) {
      const token = this.peek();
      if (!this.isOperator(token, "OR")) return left;
      this.pos = token.end;
      this.budget.node();
      left = { kind: "or", left, right: this.and() };
    }
  }

  private and(): SearchExpr {
    let left = this.unary();
    for (;;) {
      const token = this.peek();
      if (token.kind === "end" || token.kind === "close" || this.isOperator(token, "OR")) return left;
      if (!token.space) fail(`expected whitespace before '${token.text}'`, token.start);
      if (this.isOperator(token, "AND")) this.pos = token.end;
      this.budget.node();
      left = { kind: "and", left, right: this.unary() };
    }
  }

  private unary(): SearchExpr {
    const token = this.peek();
    if (this.isOperator(token, "NOT")) {
      this.pos = token.end;
      return this.budget.nest(token.start, () => {
        this.budget.node();
        return { kind: "not", operand: this.unary() };
      });
    }
    return this.primary();
  }

  private primary(): SearchExpr {
    const token = this.peek();
    this.pos = token.end;
    this.budget.node();
    switch (token.kind) {
      case "word":
        return { kind: "term", value: token.text, phrase: false };
      case "phrase":
        return { kind: "term", value: token.text, phrase: true };
      case "open":
        return this.budget.nest(token.start, () => {
          const inner = this.or();
          const close = this.peek();
          if (close.kind !== "close") fail("expected ')'", close.start);
          this.pos = close.end;
          return inner;
        });
      default:
        return fail(
          token.kind === "end" ? "expected a search term" : `unexpected '${token.text}'`,
          token.start,
        );
    }
  }

  /** AND, OR and NOT are operators only when whitespace and an operand follow them. */
  private isOperator(token: SearchToken, word: string): boolean {
    if (token.kind !== "word" || token.text !== word) return false;
    const next = this.scan(token.end);
    return next.space && (next.kind === "word" || next.kind === "phrase" || next.kind === "open");
  }

  private peek(): SearchToken {
    return this.scan(this.pos);
  }

  private scan(from: number): SearchToken {
    const { text } = this;
    let start = from;
    while (start < text.length && isBlank(text.charAt(start))) start++;
    const space = start > from;
    const token = (kind: SearchToken["kind"], value: string, end: number): SearchToken => ({
      kind,
      text: value,
      start,
      end,
      space,
    });
    const char = text.charAt(start);
    if (start >= text.length) return token("end", "", start);
    if (char === "(") return token("open", char, start + 1);
    if (char === ")") return token("close", char, start + 1);
    if (char === '"') {
      const close = text.indexOf('"', start + 1);
      if (close < 0) fail("unterminated phrase starting", start);
      if (close === start + 1) fail("empty phrase", start);
      return token("phrase", text.slice(start + 1, close), close + 1);
    }
    if (char === "'") fail("a search word cannot start with '", start);
    let end = start;
    while (end < text.length && !/[ \t()"]/.test(text.charAt(end))) end++;
    return token("word", text.slice(start, end), end);
  }
}
