import type { LiteralType } from "../ast.js";
import { badRequest } from "../errors.js";

interface TokenBase {
  readonly start: number;
  readonly end: number;
  /** Whether whitespace precedes the token: the ABNF requires it around word operators and forbids it elsewhere. */
  readonly space: boolean;
}

export type Token = TokenBase &
  (
    | { readonly kind: "name"; readonly text: string; readonly qualified: boolean }
    /** `$it`, `$root`, `$count`... */
    | { readonly kind: "dollar"; readonly text: string }
    /** A parameter alias, `@word`. */
    | { readonly kind: "alias"; readonly text: string }
    | { readonly kind: "string"; readonly value: string }
    | { readonly kind: "literal"; readonly type: LiteralType; readonly value: string | boolean | null }
    | { readonly kind: "punct"; readonly text: string }
    | { readonly kind: "end" }
  );

// Sticky patterns: tried at the lexer's position only. Date and time parts follow the ABNF's ranges (month
// 01-12, hour 00-23, second up to 60 for leap seconds, at most 12 fractional digits); "T" and "Z" are
// case-insensitive like every quoted ABNF string.
const YEAR = String.raw`-?(?:0\d{3}|[1-9]\d{3,})`;
const DATE = String.raw`${YEAR}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])`;
const TIME = String.raw`(?:[01]\d|2[0-3]):[0-5]\d(?::(?:[0-5]\d|60)(?:\.\d{1,12})?)?`;
const OFFSET = String.raw`(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)`;
const IDENT_CHAR = String.raw`[\p{L}\p{Nl}\p{Nd}\p{Mn}\p{Mc}\p{Pc}\p{Cf}]`;
/** What may not touch a literal's end: a letter, digit or dot would make it a different or broken token. */
const BOUNDARY = `(?!${IDENT_CHAR}|[.:-])`;

const DATE_TIME_OFFSET = new RegExp(`${DATE}T${TIME}${OFFSET}${BOUNDARY}`, "iuy");
const DATE_ONLY = new RegExp(`${DATE}${BOUNDARY}`, "uy");
const TIME_OF_DAY = new RegExp(`${TIME}${BOUNDARY}`, "uy");
const GUID = new RegExp(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}${BOUNDARY}`, "iuy");
const NUMBER = /[+-]?\d+(\.\d+)?(e[+-]?\d+)?/iy;
const SPECIAL_NUMBER = new RegExp(`(?:-?INF|NaN)${BOUNDARY}`, "uy");
const IDENTIFIER = new RegExp(String.raw`[\p{L}\p{Nl}_]${IDENT_CHAR}*`, "uy");
const KEYWORD_LITERAL = new RegExp(`(?:null|true|false)${BOUNDARY}`, "iuy");

const IDENT_CHAR_PATTERN = new RegExp(IDENT_CHAR, "u");
/** The extent of a broken literal, for the error message. */
const LOOSE_LITERAL = /[+-]?[\p{L}\p{N}_.:+-]*/uy;
const MAX_IDENTIFIER = 128;
const PUNCTUATION = new Set(["(", ")", ",", "/", "-", "=", ":", "[", "]", "{", "}", '"', "*", "."]);

function match(pattern: RegExp, text: string, at: number): string | undefined {
  pattern.lastIndex = at;
  return pattern.exec(text)?.[0];
}

/** Tokens on demand, so the parser can answer 501 for a construct before the lexer trips over its insides. */
export class Lexer {
  private pos = 0;
  private peeked: Token | undefined;

  constructor(
    readonly text: string,
    readonly target: string,
  ) {}

  peek(): Token {
    this.peeked ??= this.scan();
    return this.peeked;
  }

  next(): Token {
    const token = this.peek();
    this.peeked = undefined;
    return token;
  }

  /** The character right after a token, for adjacency rules (`name(`, `name'`, `name/`). */
  charAfter(token: Token): string {
    return this.text.charAt(token.end);
  }

  error(message: string, position: number): never {
    throw badRequest("SyntaxError", `${this.target}: ${message} at position ${position + 1}`, this.target);
  }

  private scan(): Token {
    const { text } = this;
    const before = this.pos;
    while (this.pos < text.length && (text[this.pos] === " " || text[this.pos] === "\t")) this.pos++;
    const space = this.pos > before;
    const start = this.pos;
    if (start >= text.length) return { kind: "end", start, end: start, space };
    const token = this.scanAt(start, space);
    this.pos = token.end;
    return token;
  }

  private scanAt(start: number, space: boolean): Token {
    const { text } = this;
    const char = text.charAt(start);
    const literal = (type: LiteralType, raw: string, value: string | boolean | null = raw): Token => ({
      kind: "literal",
      type,
      value,
      start,
      end: start + raw.length,
      space,
    });

    if (char === "'") return this.scanString(start, space);

    if (/[\d+-]/.test(char)) {
      const dateTime = match(DATE_TIME_OFFSET, text, start);
      if (dateTime) return literal("dateTimeOffset", dateTime);
      const date = match(DATE_ONLY, text, start);
      if (date) return literal("date", date);
      const time = match(TIME_OF_DAY, text, start);
      if (time) return literal("timeOfDay", time);
      const guid = match(GUID, text, start);
      if (guid) return literal("guid", guid);
      const special = match(SPECIAL_NUMBER, text, start);
      if (special) return literal("double", special);
      const number = match(NUMBER, text, start);
      if (number) return this.number(number, start, space);
    }

    const guid = match(GUID, text, start);
    if (guid) return literal("guid", guid);
    const keyword = match(KEYWORD_LITERAL, text, start);
    if (keyword) {
      const lower = keyword.toLowerCase();
      // The ABNF spells null case-sensitively (`Null` is a property) but booleans case-insensitively.
      if (lower !== "null") return literal("boolean", keyword, lower === "true");
      if (keyword === "null") return literal("null", keyword, null);
    }
    const special = match(SPECIAL_NUMBER, text, start);
    if (special) return literal("double", special);

    if (char === "$" || char === "@") {
      const name = match(IDENTIFIER, text, start + 1);
      if (name) {
        return {
          kind: char === "$" ? "dollar" : "alias",
          text: char + name,
          start,
          end: start + 1 + name.length,
          space,
        };
      }
    }

    const identifier = match(IDENTIFIER, text, start);
    if (identifier) return this.name(identifier, start, space);

    if (PUNCTUATION.has(char)) return { kind: "punct", text: char, start, end: start + 1, space };
    return this.error(`unexpected character '${String.fromCodePoint(text.codePointAt(start) ?? 0)}'`, start);
  }

  private number(raw: string, start: number, space: boolean): Token {
    const { text } = this;
    let end = start + raw.length;
    const integer = !/[.e]/i.test(raw);
    // Some clients (the SAP Cloud SDK) write Int64 as `10L`, invalid in OData 4 but harmless to accept.
    if (integer && /[lL]/.test(text.charAt(end)) && !IDENT_CHAR_PATTERN.test(text.charAt(end + 1))) {
      end++;
    }
    if (/[\p{L}\p{N}_.:-]/u.test(text.charAt(end))) {
      const loose = match(LOOSE_LITERAL, text, start) ?? "";
      const word = loose.length > 40 ? `${loose.slice(0, 40)}...` : loose;
      this.error(`'${word}' is not a valid number, date, time of day, date-time or GUID`, start);
    }
    const type: LiteralType = integer ? "integer" : /e/i.test(raw) ? "double" : "decimal";
    return { kind: "literal", type, value: raw, start, end, space };
  }

  private name(first: string, start: number, space: boolean): Token {
    const { text } = this;
    let end = start + first.length;
    this.checkLength(first, start);
    let qualified = false;
    while (text.charAt(end) === ".") {
      const part = match(IDENTIFIER, text, end + 1);
      if (!part) break;
      this.checkLength(part, end + 1);
      end += 1 + part.length;
      qualified = true;
    }
    return { kind: "name", text: text.slice(start, end), qualified, start, end, space };
  }

  private checkLength(identifier: string, start: number): void {
    if ([...identifier].length > MAX_IDENTIFIER) {
      this.error(`identifier longer than ${MAX_IDENTIFIER} characters`, start);
    }
  }

  private scanString(start: number, space: boolean): Token {
    const { text } = this;
    let value = "";
    let i = start + 1;
    for (;;) {
      const quote = text.indexOf("'", i);
      if (quote < 0) this.error("unterminated string literal starting", start);
      value += text.slice(i, quote);
      if (text.charAt(quote + 1) !== "'") {
        return { kind: "string", value, start, end: quote + 1, space };
      }
      value += "'";
      i = quote + 2;
    }
  }
}
