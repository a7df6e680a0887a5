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

const CHUNK_CHARS = 64 * 1024;

/**
 * Streams `rows` into `copySql` (`COPY t (cols) FROM STDIN`). `extra(i)` appends trailing fields
 * (e.g. the row's position in the batch). Returns the number of rows copied.
 */
export async function copyRows(
  client: pg.ClientBase,
  copySql: string,
  columns: readonly CopyColumn[],
  rows: Rows,
  extra?: (index: number) => string,
): Promise<number> {
  const stream = client.query(copyFrom(copySql));
  async function* lines(): AsyncGenerator<string> {
    let chunk = "";
    let index = 0;
    for await (const row of rows) {
      const fields = columns.map((c) => encodeField(row[c.source], c));
      if (extra) fields.push(extra(index));
      chunk += `${fields.join("\t")}\n`;
      index++;
      if (chunk.length >= CHUNK_CHARS) {
        yield chunk;
        chunk = "";
      }
    }
    if (chunk) yield chunk;
  }
  await pipeline(Readable.from(lines(), { objectMode: false }), stream);
  return stream.rowCount;
}

/** One field in COPY text format. `undefined` and `null` are NULL. */
export function encodeField(value: unknown, column: CopyColumn): string {
  if (value === undefined || value === null) return "\\N";
  const text = toText(value, column);
  return text === undefined ? "\\N" : escapeText(text);
}

function toText(value: unknown, column: CopyColumn): string | undefined {
  switch (column.type) {
    case "json":
      // JSON.stringify yields undefined for undefined and functions: NULL.
      return JSON.stringify(value, jsonValue) as string | undefined;
    case "boolean":
      if (typeof value === "boolean") return value ? "t" : "f";
      return String(value);
    case "datetime":
      if (value instanceof Date) {
        if (Number.isNaN(value.getTime())) throw invalid(column, "an invalid Date");
        return value.toISOString();
      }
      return String(value);
    case "integer":
    case "bigint":
    case "decimal":
      if (typeof value === "number" && !Number.isFinite(value) && column.type !== "decimal")
        throw invalid(column, String(value));
      return String(value);
    case "string":
      if (typeof value === "object") return JSON.stringify(value, jsonValue);
      return stripNul(String(value));
  }
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

function escapeText(text: string): string {
  return text.replace(/[\\\n\r\t]/g, (c) =>
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
