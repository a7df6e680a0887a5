import { sqlSyntaxError } from "./syntax-error.js";

/**
 * Tokens of the bitbridge SQL dialect, shared by every statement grammar (SELECT, REPLICATE...).
 * The lexer knows no keywords: a bare word is a `word` and each parser decides which words it treats
 * as keywords, so a new statement can add its own without touching this file.
 */
export type TokenKind =
  /** A bare word: identifier or keyword (`value` as written). */
  | "word"
  /** `[name]`, `"name"` or `` `name` `` (`value` is the name, escapes undone). */
  | "quoted"
  /** Digits only (`value` as written). */
  | "integer"
  /** Digits with a `.` and/or an exponent (`value` as written). */
  | "decimal"
  /** `'text'` or `N'text'` (`value` is the text, `''` undone). */
  | "string"
  /** `@name` (`value` is the name without `@`). */
  | "namedParam"
  /** `?`. */
  | "positionalParam"
  /** Punctuation and operators (`value` is the symbol, one of SYMBOLS). */
  | "symbol"
  /** End of input (`value` is empty). */
  | "eof";

export interface Token {
  readonly kind: TokenKind;
  readonly value: string;
  /** UTF-16 offsets into the statement, end exclusive. */
  readonly start: number;
  readonly end: number;
}

/** Every symbol the lexer produces; two-character ones are matched first. */
export const SYMBOLS = [
  "<=",
  ">=",
  "<>",
  "!=",
  "||",
  "::",
  "(",
  ")",
  ",",
  ".",
  ";",
  "*",
  "+",
  "-",
  "/",
  "%",
  "=",
  "<",
  ">",
] as const;

export type SymbolText = (typeof SYMBOLS)[number];

const WORD = /[\p{L}_][\p{L}\p{M}\p{N}_]*/uy;
const NUMBER = /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/y;
const WORD_CHAR = /[\p{L}\p{M}\p{N}_]/u;

const CLOSING_QUOTE: Readonly<Record<string, string>> = { "[": "]", '"': '"', "`": "`" };

/** Splits `sql` into tokens, ending with one `eof` token. Comments and whitespace are dropped. */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  for (;;) {
    i = skipSpaceAndComments(sql, i);
    if (i >= sql.length) {
      tokens.push({ kind: "eof", value: "", start: sql.length, end: sql.length });
      return tokens;
    }
    const token = readToken(sql, i);
    tokens.push(token);
    i = token.end;
  }
}

function readToken(sql: string, start: number): Token {
  const c = sql.charAt(start);
  const next = sql.charAt(start + 1);

  if (c === "'") return readString(sql, start, start);
  if ((c === "N" || c === "n") && next === "'") return readString(sql, start, start + 1);

  const closing = CLOSING_QUOTE[c];
  if (closing !== undefined) return readQuotedIdentifier(sql, start, closing);

  if (isDigit(c) || (c === "." && isDigit(next))) return readNumber(sql, start);

  WORD.lastIndex = start;
  const word = WORD.exec(sql);
  if (word) return { kind: "word", value: word[0], start, end: start + word[0].length };

  if (c === "@") {
    WORD.lastIndex = start + 1;
    const name = WORD.exec(sql);
    if (!name) throw sqlSyntaxError(sql, start, 1, "Expected a parameter name after '@'");
    return { kind: "namedParam", value: name[0], start, end: start + 1 + name[0].length };
  }
  if (c === "?") return { kind: "positionalParam", value: "?", start, end: start + 1 };

  for (const symbol of SYMBOLS) {
    if (sql.startsWith(symbol, start))
      return { kind: "symbol", value: symbol, start, end: start + symbol.length };
  }

  const character = String.fromCodePoint(sql.codePointAt(start) ?? 0);
  const shown = /[\p{L}\p{N}\p{P}\p{S}]/u.test(character)
    ? `'${character}'`
    : `U+${(character.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;
  throw sqlSyntaxError(sql, start, character.length, `Unexpected character ${shown}`, {
    hint: characterHint(character),
  });
}

function characterHint(character: string): string | undefined {
  switch (character) {
    case "!":
      return "Use NOT, or != for 'not equal'";
    case "|":
      return "Use || to join strings, OR for 'either'";
    case "&":
      return "Use AND";
    case "#":
      return "Comments start with -- or /*";
    case "$":
      return "Parameters are written @name or ?";
    case "\u2018":
    case "\u2019":
    case "\u201C":
    case "\u201D":
      return "Typographic quotes are not SQL quotes: use ' for strings and [ ] or \" for names";
    default:
      return undefined;
  }
}

function readString(sql: string, start: number, quote: number): Token {
  let value = "";
  let i = quote + 1;
  for (;;) {
    const close = sql.indexOf("'", i);
    if (close < 0) {
      throw sqlSyntaxError(sql, start, quote - start + 1, "Unterminated string literal", {
        hint: "Close it with ' (write '' for a quote inside the text)",
      });
    }
    value += sql.slice(i, close);
    if (sql.charAt(close + 1) === "'") {
      value += "'";
      i = close + 2;
      continue;
    }
    return { kind: "string", value, start, end: close + 1 };
  }
}

function readQuotedIdentifier(sql: string, start: number, closing: string): Token {
  let value = "";
  let i = start + 1;
  for (;;) {
    const close = sql.indexOf(closing, i);
    if (close < 0) {
      throw sqlSyntaxError(sql, start, 1, "Unterminated quoted identifier", {
        hint: `Close it with ${closing} (write ${closing}${closing} for a ${closing} inside the name)`,
      });
    }
    value += sql.slice(i, close);
    if (sql.charAt(close + 1) === closing) {
      value += closing;
      i = close + 2;
      continue;
    }
    if (value === "") throw sqlSyntaxError(sql, start, close + 1 - start, "Empty quoted identifier");
    return { kind: "quoted", value, start, end: close + 1 };
  }
}

function readNumber(sql: string, start: number): Token {
  NUMBER.lastIndex = start;
  const text = NUMBER.exec(sql)?.[0] ?? "";
  const end = start + text.length;
  const after = sql.charAt(end);
  if (after !== "" && (WORD_CHAR.test(after) || after === ".")) {
    let stop = end;
    while (stop < sql.length && /[\p{L}\p{M}\p{N}_.]/u.test(sql.charAt(stop))) stop++;
    throw sqlSyntaxError(sql, start, stop - start, `Invalid number '${sql.slice(start, stop)}'`, {
      hint: "Numbers are written like 42, 3.14 or 1e5; put a space between a number and a name",
    });
  }
  return { kind: /^\d+$/.test(text) ? "integer" : "decimal", value: text, start, end };
}

function skipSpaceAndComments(sql: string, from: number): number {
  let i = from;
  while (i < sql.length) {
    const c = sql.charAt(i);
    if (/\s/u.test(c)) {
      i++;
    } else if (c === "-" && sql.charAt(i + 1) === "-") {
      while (i < sql.length && sql.charAt(i) !== "\n" && sql.charAt(i) !== "\r") i++;
    } else if (c === "/" && sql.charAt(i + 1) === "*") {
      i = skipBlockComment(sql, i);
    } else {
      break;
    }
  }
  return i;
}

/** Block comments nest, as in PostgreSQL and SQL Server: `/* a /* b *\/ c *\/`. */
function skipBlockComment(sql: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < sql.length) {
    if (sql.startsWith("/*", i)) {
      depth++;
      i += 2;
    } else if (sql.startsWith("*/", i)) {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else {
      i++;
    }
  }
  throw sqlSyntaxError(sql, start, 2, "Unterminated block comment", { hint: "Close it with */" });
}

function isDigit(c: string): boolean {
  return c >= "0" && c <= "9";
}
