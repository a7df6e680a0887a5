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
    const found = extras.found === undefined ? "" : `, found ${extras.found === "" ? "end of input" : `'${extras.found}'`}`;
    const suggestion = extras.suggestion === undefined ? "" : `. Did you mean ${extras.suggestion}?`;
    const hint = extras.hint === undefined ? "" : `. ${extras.hint}`;
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
