import { BitbridgeError } from "../app/errors.js";

/** Where something is in a statement: offsets are UTF-16 indexes, line and column are 1-based. */
export interface SqlPosition {
  readonly offset: number;
  /** How many characters to underline (at least 1 when shown). */
  readonly length: number;
  readonly line: number;
  /** Counted in characters (code points) from the start of the line. */
  readonly column: number;
}

export interface SqlErrorExtras {
  /** What was there instead, as written (shortened); leave out at the end of the input. */
  readonly found?: string | undefined;
  /** A close match for a misspelt word, shown as "Did you mean X?". */
  readonly suggestion?: string | undefined;
  /** One more sentence saying how to fix it. */
  readonly hint?: string | undefined;
}

/** A statement that does not follow the grammar. The message says where, what was found and, if it can, what to write. */
export class SqlSyntaxError extends BitbridgeError {
  readonly line: number;
  readonly column: number;
  readonly offset: number;
  readonly length: number;
  /** The message without the position, for displays that show the position separately. */
  readonly reason: string;
  readonly found: string | undefined;
  readonly suggestion: string | undefined;

  constructor(reason: string, position: SqlPosition, extras: SqlErrorExtras = {}) {
    const { line, column, offset, length } = position;
    const found =
      extras.found === undefined
        ? ""
        : `, found ${extras.found === "" ? "end of input" : `'${extras.found}'`}`;
    const suggestion = extras.suggestion === undefined ? "" : `. Did you mean ${extras.suggestion}?`;
    const hint = extras.hint === undefined ? "" : `${suggestion === "" ? "." : ""} ${extras.hint}`;
    super("SQL_SYNTAX", `${reason} at line ${line}, column ${column}${found}${suggestion}${hint}`, {
      line,
      column,
      offset,
      length,
      ...(extras.found === undefined ? {} : { found: extras.found }),
      ...(extras.suggestion === undefined ? {} : { suggestion: extras.suggestion }),
    });
    this.name = "SqlSyntaxError";
    this.line = line;
    this.column = column;
    this.offset = offset;
    this.length = length;
    this.reason = reason;
    this.found = extras.found;
    this.suggestion = extras.suggestion;
  }
}

/** Line and column (1-based) of `offset` in `sql`. `\n`, `\r\n` and `\r` each end a line. */
export function positionAt(sql: string, offset: number, length = 1): SqlPosition {
  const at = Math.max(0, Math.min(offset, sql.length));
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < at; i++) {
    const c = sql.charCodeAt(i);
    if (c === 10 || (c === 13 && sql.charCodeAt(i + 1) !== 10)) {
      line++;
      lineStart = i + 1;
    }
  }
  const column = Array.from(sql.slice(lineStart, at)).length + 1;
  return { offset: at, length: Math.max(0, length), line, column };
}

/** A syntax error at `offset` in `sql` (covering `length` characters). */
export function sqlSyntaxError(
  sql: string,
  offset: number,
  length: number,
  reason: string,
  extras: SqlErrorExtras = {},
): SqlSyntaxError {
  return new SqlSyntaxError(reason, positionAt(sql, offset, length), extras);
}

const EXCERPT_WIDTH = 100;

/**
 * The line of `sql` holding `offset`, with `^` under the characters from `offset` (for `length`,
 * at least one), prefixed by the line number:
 *
 *     2 | FORM Workspaces
 *       | ^^^^
 */
export function sqlExcerpt(sql: string, offset: number, length = 1): string {
  const position = positionAt(sql, offset, length);
  let lineStart = position.offset;
  while (lineStart > 0 && !isLineBreak(sql.charCodeAt(lineStart - 1))) lineStart--;
  let lineEnd = position.offset;
  while (lineEnd < sql.length && !isLineBreak(sql.charCodeAt(lineEnd))) lineEnd++;

  let chars = Array.from(sql.slice(lineStart, lineEnd));
  let caretAt = position.column - 1;
  const underlined = Array.from(
    sql.slice(position.offset, Math.min(lineEnd, position.offset + length)),
  ).length;
  let prefix = "";
  let suffix = "";
  if (chars.length > EXCERPT_WIDTH) {
    const from = Math.max(0, Math.min(caretAt - 40, chars.length - EXCERPT_WIDTH));
    const to = Math.min(chars.length, from + EXCERPT_WIDTH);
    prefix = from > 0 ? "..." : "";
    suffix = to < chars.length ? "..." : "";
    chars = chars.slice(from, to);
    caretAt = caretAt - from + prefix.length;
    chars = [...prefix, ...chars];
  }
  const padding = chars
    .slice(0, caretAt)
    .map((c) => (c === "\t" ? "\t" : " "))
    .join("");
  const carets = "^".repeat(Math.max(1, Math.min(underlined, chars.length - caretAt)));
  const gutter = String(position.line);
  const blank = " ".repeat(gutter.length);
  return `${gutter} | ${chars.join("")}${suffix}\n${blank} | ${padding}${carets}`;
}

/** The error's message followed by the excerpt of the statement it points at. */
export function formatSqlError(
  sql: string,
  error: { readonly message: string; readonly offset: number; readonly length?: number },
): string {
  return `${error.message}\n${sqlExcerpt(sql, error.offset, error.length ?? 1)}`;
}

function isLineBreak(c: number): boolean {
  return c === 10 || c === 13;
}
