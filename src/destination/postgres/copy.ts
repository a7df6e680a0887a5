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

/** Streams `rows` into `copySql` (`COPY t (cols) FROM STDIN`). Returns the number of rows copied. */
export async function copyRows(
  client: pg.ClientBase,
  copySql: string,
  columns: readonly CopyColumn[],
  rows: Rows | EncodedRows,
): Promise<number> {
  let source: Iterable<Buffer> | AsyncIterable<Buffer>;
  if (rows instanceof EncodedRows) {
    // Checked before the COPY starts: a connection left inside COPY would hang its next query.
    if (!rows.encodes(columns))
      throw new Error(`rows encoded for other columns than ${columns.map((c) => c.source).join(", ")}`);
    source = rows.buffers();
  } else {
    const chunks = new Chunks(columns);
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
  /** The keys seen while rows are added; let go once the batch is copied. */
  private keys: KeySet | undefined;
  private unique: boolean;
  private finished = false;
  count = 0;

  /** `key` empty: distinctness is not tracked (`distinct` answers false). */
  constructor(
    private readonly columns: readonly CopyColumn[],
    key: readonly CopyColumn[] = [],
  ) {
    this.text = new Chunks(columns);
    this.keys = KeySet.of(key);
    this.unique = this.keys !== undefined;
  }

  add(row: Row): void {
    if (this.finished) throw new Error("rows added to a batch already copied");
    const full = this.text.add(row);
    if (full) this.chunks.push(full);
    this.count++;
    if (this.keys && !this.keys.add(row)) {
      this.keys = undefined;
      this.unique = false;
    }
  }

  /** No two rows share a key (false when not known). */
  get distinct(): boolean {
    return this.unique;
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
      // The keys are judged: only the answer is kept.
      this.keys = undefined;
    }
    return this.chunks;
  }
}

/** Rows to COPY text lines, written as UTF-8 into buffers of CHUNK_BYTES. */
class Chunks {
  private readonly line: (row: Row) => string;
  private buffer: Buffer | undefined;
  private used = 0;

  constructor(columns: readonly CopyColumn[]) {
    this.line = lineWriter(columns);
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
    const line = this.line(row);
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
 * A row's COPY line, newline included. Generated per column list so each property read is a named one
 * with its own inline cache, which V8 keeps fast, rather than a keyed read by a name from an array
 * (a quarter of the encoding's time). Names enter the code only as JSON string literals.
 */
function lineWriter(columns: readonly CopyColumn[]): (row: Row) => string {
  const fields = columns.map(
    (c, i) => `(v = row[${JSON.stringify(c.source)}]) === undefined || v === null ? NULL : encoders[${i}](v)`,
  );
  const body = `return function line(row) {\n  let v;\n  return ${
    fields.length === 0 ? '""' : fields.map((f) => `(${f})`).join(' + "\\t" + ')
  } + "\\n";\n};`;
  return new Function("encoders", "NULL", body)(columns.map(encoderFor), NULL) as (row: Row) => string;
}

/**
 * Whether no two rows share a key, judged as PostgreSQL will compare them. Only text keys and integer
 * keys given as numbers have one text per value; anything else (or a NULL key) answers false, meaning
 * "not known".
 */
export function distinctKeys(rows: readonly Row[], key: readonly CopyColumn[]): boolean {
  const keys = KeySet.of(key);
  if (!keys) return false;
  for (const row of rows) if (!keys.add(row)) return false;
  return true;
}

type KeyPart = string | number;

/**
 * The keys seen so far, one nested map level per key column and a set for the last, holding the
 * values themselves: no key text is built per row, and a value read from JSON keeps its hash.
 */
class KeySet {
  private readonly root: Map<KeyPart, unknown> | Set<KeyPart>;

  private constructor(
    private readonly sources: readonly string[],
    private readonly strings: readonly boolean[],
  ) {
    this.root = this.level(0);
  }

  /** Undefined where distinctness cannot be judged from values (no key, or a key of another type). */
  static of(key: readonly CopyColumn[]): KeySet | undefined {
    if (
      key.length === 0 ||
      key.some((c) => c.type !== "string" && c.type !== "integer" && c.type !== "bigint")
    )
      return undefined;
    return new KeySet(
      key.map((c) => c.source),
      key.map((c) => c.type === "string"),
    );
  }

  /** False when the row's key was seen before or cannot be judged. */
  add(row: Row): boolean {
    const last = this.sources.length - 1;
    let node = this.root;
    for (let i = 0; i < last; i++) {
      const part = this.part(row, i);
      if (part === undefined) return false;
      const map = node as Map<KeyPart, Map<KeyPart, unknown> | Set<KeyPart>>;
      let next = map.get(part);
      if (!next) {
        next = this.level(i + 1);
        map.set(part, next);
      }
      node = next;
    }
    const part = this.part(row, last);
    const set = node as Set<KeyPart>;
    if (part === undefined || set.has(part)) return false;
    set.add(part);
    return true;
  }

  private level(index: number): Map<KeyPart, unknown> | Set<KeyPart> {
    return index === this.sources.length - 1 ? new Set() : new Map();
  }

  /** The value as PostgreSQL will compare it: integers as numbers, text as itself. */
  private part(row: Row, index: number): KeyPart | undefined {
    const value = row[this.sources[index] as string];
    if (typeof value === "string") {
      // A NUL is stored as U+FFFD, which could make two different texts one key.
      return this.strings[index] && !value.includes("\0") ? value : undefined;
    }
    if (typeof value === "number") return this.strings[index] ? String(value) : value;
    if (typeof value === "bigint") return this.strings[index] ? String(value) : Number(value);
    return undefined;
  }
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
        if (text === undefined) return NULL;
        // JSON text holds no raw control characters: only its backslashes need doubling for COPY.
        return text.includes("\\") ? text.replaceAll("\\", "\\\\") : text;
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
      return (value) =>
        escapeText(
          typeof value === "string"
            ? value
            : typeof value === "object"
              ? (toJson(value) as string)
              : String(value),
        );
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
  // Most JSON holds no escape at all: one scan rules out a NUL.
  if (text === undefined || !text.includes("\\")) return text;
  return text.includes("\\u0000") ? JSON.stringify(value, jsonValue) : text;
}

function stripNul(text: string): string {
  return text.includes("\0") ? text.replaceAll("\0", "\uFFFD") : text;
}

/** JSON.stringify replacer: no U+0000 in strings (jsonb rejects it), bigints as decimal strings. */
function jsonValue(_key: string, value: unknown): unknown {
  if (typeof value === "string") return stripNul(value);
  if (typeof value === "bigint") return value.toString();
  return value;
}

const SPECIAL = /[\0\\\n\r\t]/;

/**
 * A text field: backslash, newline, carriage return and tab escaped, U+0000 (which PostgreSQL text cannot
 * hold) turned into U+FFFD rather than failing the whole batch. Most values hold none of these: one scan
 * decides, and only those are rewritten.
 */
function escapeText(text: string): string {
  if (!SPECIAL.test(text)) return text;
  let out = stripNul(text);
  if (out.includes("\\")) out = out.replaceAll("\\", "\\\\");
  if (out.includes("\n")) out = out.replaceAll("\n", "\\n");
  if (out.includes("\r")) out = out.replaceAll("\r", "\\r");
  if (out.includes("\t")) out = out.replaceAll("\t", "\\t");
  return out;
}

function invalid(column: CopyColumn, what: string): BitbridgeError {
  return new BitbridgeError(
    DestinationErrorCode.invalidValue,
    `column ${column.source} (${column.type}) cannot hold ${what}`,
    { column: column.source, type: column.type },
  );
}
