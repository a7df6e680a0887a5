/**
 * `COPY ... FROM STDIN` in PostgreSQL's text format: one line per row, tab between columns, `\N`
 * for NULL, backslash escapes for backslash, newline, carriage return and tab. An empty field is
 * the empty string, so NULL and '' stay distinct.
 */
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { BitbridgeError } from "../../app/errors.js";
import type { ColumnType } from "../../source/table.js";
import { DestinationErrorCode } from "./errors.js";

export type Row = Readonly<Record<string, unknown>>;
export type Rows = Iterable<Row> | AsyncIterable<Row>;

/** A column of a COPY: where to read the value in a row and how to write it. */
export interface CopyColumn {
  readonly source: string;
  readonly type: ColumnType;
}

/**
 * Bytes per chunk written to the COPY stream. Larger chunks mean fewer stream writes and protocol
 * messages; at 1 MiB a batch of 5,000 commits goes out in two writes while memory stays a small share
 * of the batch itself.
 */
const CHUNK_BYTES = 1024 * 1024;

/**
 * Streams `rows` into `copySql` (`COPY t (cols) FROM STDIN`). `extra(i)` appends trailing fields
 * (e.g. the row's position in the batch). Returns the number of rows copied.
 */
export async function copyRows(
  client: pg.ClientBase,
  copySql: string,
  columns: readonly CopyColumn[],
  rows: Rows | EncodedRows,
  extra?: (index: number) => string,
): Promise<number> {
  let source: Iterable<Buffer> | AsyncIterable<Buffer>;
  if (rows instanceof EncodedRows) {
    // Checked before the COPY starts: a connection left inside COPY would hang its next query.
    if (!rows.encodes(columns))
      throw new Error(`rows encoded for other columns than ${columns.map((c) => c.source).join(", ")}`);
    source = rows.buffers();
  } else {
    const chunks = new Chunks(columns, extra);
    // An array (the usual batch) is walked without an await per row.
    source = Symbol.asyncIterator in rows ? chunks.fromAsync(rows) : chunks.from(rows);
  }
  const stream = client.query(copyFrom(copySql));
  await pipeline(Readable.from(source, { objectMode: false }), stream);
  return stream.rowCount;
}

/**
 * Rows turned into COPY text as they arrive, so a batch is held as a few buffers instead of thousands
 * of objects: the rows die young, which keeps garbage collection cheap and memory at the size of the
 * text. Whether the keys are distinct is judged on the way, as `distinctKeys` does.
 */
export class EncodedRows {
  private readonly chunks: Buffer[] = [];
  private readonly text: Chunks;
  private readonly keyText: ((row: Row) => string | undefined) | undefined;
  private seen: Set<string> | undefined = new Set();
  private finished = false;
  count = 0;

  /** `key` empty: distinctness is not tracked (`distinct` answers false). */
  constructor(
    private readonly columns: readonly CopyColumn[],
    key: readonly CopyColumn[] = [],
    extra?: (index: number) => string,
  ) {
    this.text = new Chunks(columns, extra);
    this.keyText = keyTexter(key);
    if (!this.keyText) this.seen = undefined;
  }

  add(row: Row): void {
    if (this.finished) throw new Error("rows added to a batch already copied");
    const full = this.text.add(row);
    if (full) this.chunks.push(full);
    this.count++;
    if (this.seen) {
      const text = (this.keyText as (row: Row) => string | undefined)(row);
      if (text === undefined || this.seen.has(text)) this.seen = undefined;
      else this.seen.add(text);
    }
  }

  /** No two rows share a key (false when not known). */
  get distinct(): boolean {
    return this.seen !== undefined;
  }

  /** Whether these rows were encoded for `columns` (same sources and types, in order). */
  encodes(columns: readonly CopyColumn[]): boolean {
    return (
      columns.length === this.columns.length &&
      columns.every((c, i) => c.source === this.columns[i]?.source && c.type === this.columns[i]?.type)
    );
  }

  /** The COPY text; no row can be added after. */
  buffers(): readonly Buffer[] {
    if (!this.finished) {
      this.finished = true;
      const last = this.text.rest();
      if (last) this.chunks.push(last);
      // The keys' texts are judged: only the answer is kept.
      this.seen = this.seen && new Set();
    }
    return this.chunks;
  }
}

/** Rows to COPY text lines, written as UTF-8 into buffers of CHUNK_BYTES. */
class Chunks {
  private readonly sources: readonly string[];
  private readonly encoders: readonly Encoder[];
  private buffer: Buffer | undefined;
  private used = 0;
  private index = 0;

  constructor(
    columns: readonly CopyColumn[],
    private readonly extra: ((index: number) => string) | undefined,
  ) {
    this.sources = columns.map((c) => c.source);
    this.encoders = columns.map(encoderFor);
  }

  *from(rows: Iterable<Row>): Generator<Buffer> {
    for (const row of rows) {
      const full = this.add(row);
      if (full) yield full;
    }
    if (this.used > 0) yield this.take();
  }

  async *fromAsync(rows: AsyncIterable<Row>): AsyncGenerator<Buffer> {
    for await (const row of rows) {
      const full = this.add(row);
      if (full) yield full;
    }
    if (this.used > 0) yield this.take();
  }

  /** The chunk being filled, if it holds anything. */
  rest(): Buffer | undefined {
    return this.used > 0 ? this.take() : undefined;
  }

  /** Writes the row's line; returns the previous chunk when the line did not fit beside it. */
  add(row: Row): Buffer | undefined {
    const { sources, encoders } = this;
    let line = "";
    for (let i = 0; i < sources.length; i++) {
      const value = row[sources[i] as string];
      if (i > 0) line += "\t";
      line += value === undefined || value === null ? NULL : (encoders[i] as Encoder)(value);
    }
    if (this.extra) line += `\t${this.extra(this.index)}`;
    line += "\n";
    this.index++;
    // A UTF-16 code unit is at most 3 bytes of UTF-8: checking the bound avoids measuring each line.
    const needed = line.length * 3;
    const full = this.buffer && needed > this.buffer.length - this.used ? this.take() : undefined;
    this.buffer ??= Buffer.allocUnsafe(Math.max(CHUNK_BYTES, needed));
    this.used += this.buffer.write(line, this.used);
    return full;
  }

  private take(): Buffer {
    const chunk = (this.buffer as Buffer).subarray(0, this.used);
    this.buffer = undefined;
    this.used = 0;
    return chunk;
  }
}

/**
 * Whether no two rows share a key, judged on the keys' COPY text: what PostgreSQL will compare. Only
 * text keys and integer keys given as numbers have one text per value; anything else (or a NULL key)
 * answers false, meaning "not known".
 */
export function distinctKeys(rows: readonly Row[], key: readonly CopyColumn[]): boolean {
  const keyText = keyTexter(key);
  if (!keyText) return false;
  const seen = new Set<string>();
  for (const row of rows) {
    const text = keyText(row);
    if (text === undefined || seen.has(text)) return false;
    seen.add(text);
  }
  return true;
}

/** A row's key as COPY text, undefined where that text does not identify the value (see `distinctKeys`). */
function keyTexter(key: readonly CopyColumn[]): ((row: Row) => string | undefined) | undefined {
  if (key.length === 0 || key.some((c) => c.type !== "string" && c.type !== "integer" && c.type !== "bigint"))
    return undefined;
  const encoders = key.map(encoderFor);
  return (row) => {
    let text = "";
    for (let i = 0; i < key.length; i++) {
      const column = key[i] as CopyColumn;
      const value = row[column.source];
      if (value === undefined || value === null) return undefined;
      if (column.type !== "string" && typeof value !== "number" && typeof value !== "bigint")
        return undefined;
      // Tabs inside a field are escaped, so a tab cannot make two keys collide.
      text += `${(encoders[i] as Encoder)(value)}\t`;
    }
    return text;
  };
}

const NULL = "\\N";

/** Writes one non-null value of a column as a COPY field. */
type Encoder = (value: unknown) => string;

/** One field in COPY text format. `undefined` and `null` are NULL. */
export function encodeField(value: unknown, column: CopyColumn): string {
  return value === undefined || value === null ? NULL : encoderFor(column)(value);
}

/** Chosen once per column, so the type is not switched on for every value. */
function encoderFor(column: CopyColumn): Encoder {
  switch (column.type) {
    case "json":
      return (value) => {
        // Undefined for functions and symbols: NULL.
        const text = toJson(value);
        return text === undefined ? NULL : escapeText(text);
      };
    case "boolean":
      return (value) => (typeof value === "boolean" ? (value ? "t" : "f") : escapeText(String(value)));
    case "datetime":
      return (value) => {
        if (typeof value === "string") return escapeText(value);
        if (value instanceof Date) {
          if (Number.isNaN(value.getTime())) throw invalid(column, "an invalid Date");
          return value.toISOString();
        }
        return escapeText(String(value));
      };
    case "integer":
    case "bigint":
    case "decimal":
      return (value) => {
        if (typeof value === "number" && !Number.isFinite(value) && column.type !== "decimal")
          throw invalid(column, String(value));
        return escapeText(String(value));
      };
    case "string":
      return (value) => {
        if (typeof value === "string") return escapeText(stripNul(value));
        if (typeof value === "object") return escapeText(toJson(value) as string);
        return escapeText(stripNul(String(value)));
      };
  }
}

/**
 * JSON text without U+0000 (jsonb rejects it) and with bigints as decimal strings. The replacer that
 * does both costs a call per key, so it runs only for values that need it: a bigint makes the plain
 * stringify throw, and a NUL shows as an escape in its output.
 */
function toJson(value: unknown): string | undefined {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    return JSON.stringify(value, jsonValue);
  }
  return text?.includes("\\u0000") ? JSON.stringify(value, jsonValue) : text;
}

/** PostgreSQL text cannot hold U+0000: it becomes U+FFFD rather than failing the whole batch. */
function stripNul(text: string): string {
  return text.includes("\0") ? text.replaceAll("\0", "\uFFFD") : text;
}

/** JSON.stringify replacer: no U+0000 in strings (jsonb rejects it), bigints as decimal strings. */
function jsonValue(_key: string, value: unknown): unknown {
  if (typeof value === "string") return stripNul(value);
  if (typeof value === "bigint") return value.toString();
  return value;
}

const SPECIAL = /[\\\n\r\t]/;
const SPECIALS = /[\\\n\r\t]/g;

/** Most values hold nothing to escape: one scan decides, and only those are rewritten. */
function escapeText(text: string): string {
  if (!SPECIAL.test(text)) return text;
  return text.replace(SPECIALS, (c) =>
    c === "\\" ? "\\\\" : c === "\n" ? "\\n" : c === "\r" ? "\\r" : "\\t",
  );
}

function invalid(column: CopyColumn, what: string): BitbridgeError {
  return new BitbridgeError(
    DestinationErrorCode.invalidValue,
    `column ${column.source} (${column.type}) cannot hold ${what}`,
    { column: column.source, type: column.type },
  );
}
