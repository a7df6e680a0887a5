import type { CompareOp } from "./ast.js";
import { DATETIME_STICKY, datetimeFromMatch } from "./datetime.js";
import { BbqlError, expecting } from "./error.js";

interface TokenBase {
  /** 0-based offset of the token's first character. */
  readonly position: number;
  /** The token's source text, used in error messages. */
  readonly text: string;
}

export type Token =
  | (TokenBase & { readonly kind: "(" | ")" | "," | "end" })
  | (TokenBase & { readonly kind: "op"; readonly op: CompareOp })
  | (TokenBase & { readonly kind: "string"; readonly value: string })
  | (TokenBase & { readonly kind: "number"; readonly value: number })
  | (TokenBase & { readonly kind: "datetime"; readonly micros: number })
  /** An identifier or dotted path; keywords (AND, OR, NOT, IN, null, true, false) are words too. */
  | (TokenBase & { readonly kind: "word" });

/** `name(.name)*` where a name is `[A-Za-z_][A-Za-z0-9_]*`. Shared with the sort parser. */
export const PATH_STICKY = /[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/y;
const NUMBER_STICKY = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
/** Characters that may not directly follow a number or datetime literal. */
const LITERAL_TAIL = /[A-Za-z0-9_.:+-]/;

const ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

function isSpace(ch: string): boolean {
  return ch === " " || ch === "\t" || ch === "\n" || ch === "\r";
}

function isDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch >= "0" && ch <= "9";
}

/** Splits a BBQL query into tokens; the last token is always `end` (positioned at the query's length). */
export function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const ch = input[i] as string;
    if (isSpace(ch)) {
      i++;
      continue;
    }
    const start = i;
    if (ch === "(" || ch === ")" || ch === ",") {
      tokens.push({ kind: ch, position: start, text: ch });
      i++;
    } else if (ch === "=" || ch === "~") {
      tokens.push({ kind: "op", op: ch, position: start, text: ch });
      i++;
    } else if (ch === "!") {
      const next = input[i + 1];
      if (next !== "=" && next !== "~") throw expecting("'=' or '~' after '!'", i + 1, next);
      tokens.push({ kind: "op", op: next === "=" ? "!=" : "!~", position: start, text: `!${next}` });
      i += 2;
    } else if (ch === ">" || ch === "<") {
      const op = input[i + 1] === "=" ? (`${ch}=` as const) : ch;
      tokens.push({ kind: "op", op, position: start, text: op });
      i += op.length;
    } else if (ch === '"') {
      const [value, end] = readString(input, i);
      tokens.push({ kind: "string", value, position: start, text: input.slice(start, end) });
      i = end;
    } else if (isDigit(ch) || (ch === "-" && isDigit(input[i + 1]))) {
      const token = readNumberOrDatetime(input, i);
      tokens.push(token);
      i += token.text.length;
    } else {
      PATH_STICKY.lastIndex = i;
      const m = PATH_STICKY.exec(input);
      if (m === null) throw new BbqlError(`Unexpected character '${ch}' at position ${i}`, i);
      i += m[0].length;
      if (input[i] === ".") throw expecting("a field name after '.'", i + 1, input[i + 1]);
      tokens.push({ kind: "word", position: start, text: m[0] });
    }
  }
  tokens.push({ kind: "end", position: input.length, text: "" });
  return tokens;
}

/** Reads a double-quoted string starting at `start`; returns its value and the offset after the closing quote. */
function readString(input: string, start: number): [string, number] {
  let value = "";
  let i = start + 1;
  let chunk = i;
  while (i < input.length) {
    const ch = input[i];
    if (ch === '"') return [value + input.slice(chunk, i), i + 1];
    if (ch === "\\") {
      value += input.slice(chunk, i);
      const esc = input[i + 1];
      if (esc === undefined) break;
      if (esc === "u") {
        const hex = input.slice(i + 2, i + 6);
        if (!/^[0-9A-Fa-f]{4}$/.test(hex)) {
          throw new BbqlError(`Expecting 4 hex digits after '\\u' at position ${i + 2}`, i + 2);
        }
        value += String.fromCharCode(Number.parseInt(hex, 16));
        i += 6;
      } else {
        const decoded = ESCAPES[esc];
        if (decoded === undefined) {
          throw new BbqlError(
            `Invalid escape '\\${esc}' at position ${i}: expecting one of \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX`,
            i,
          );
        }
        value += decoded;
        i += 2;
      }
      chunk = i;
      continue;
    }
    i++;
  }
  throw new BbqlError(
    `Expecting '"' to close the string opened at position ${start} but found end of input at position ${input.length}`,
    input.length,
  );
}

function readNumberOrDatetime(input: string, start: number): Token {
  DATETIME_STICKY.lastIndex = start;
  const dt = input[start] === "-" ? null : DATETIME_STICKY.exec(input);
  if (dt !== null) {
    const text = dt[0];
    const micros = datetimeFromMatch(dt);
    const tail = input[start + text.length];
    if (micros === undefined || (tail !== undefined && LITERAL_TAIL.test(tail))) {
      const bad = input.slice(start).match(/^[^\s(),]*/)?.[0] ?? text;
      throw new BbqlError(
        `Invalid datetime '${bad}' at position ${start}: expecting YYYY-MM-DD[Thh:mm[:ss[.ffffff]]][Z|±hh:mm]`,
        start,
      );
    }
    return { kind: "datetime", micros, position: start, text };
  }
  NUMBER_STICKY.lastIndex = start;
  const text = (NUMBER_STICKY.exec(input) as RegExpExecArray)[0];
  const tail = input[start + text.length];
  if (tail !== undefined && LITERAL_TAIL.test(tail)) {
    const bad = input.slice(start).match(/^[^\s(),]*/)?.[0] ?? text;
    throw new BbqlError(`Invalid number '${bad}' at position ${start}`, start);
  }
  return { kind: "number", value: Number(text), position: start, text };
}
