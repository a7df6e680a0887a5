import { parseIsoDatetime } from "./datetime.js";
import { BbqlError, expecting } from "./error.js";
import { PATH_STICKY } from "./lexer.js";
import { checkPathPrefix } from "./parser.js";
import { type FieldFilter, getField, isFieldAllowed } from "./path.js";

export interface SortSpec {
  readonly path: string;
  readonly descending: boolean;
}

/**
 * Parses `sort=`: one dotted field path, optionally prefixed with `-` for descending order.
 * With `options.fields`, a field outside the set is rejected like an unknown filter field.
 */
export function parseSort(sort: string, options: { readonly fields?: FieldFilter } = {}): SortSpec {
  const descending = sort.startsWith("-");
  const start = descending ? 1 : 0;
  PATH_STICKY.lastIndex = start;
  const m = PATH_STICKY.exec(sort);
  if (m === null) throw expecting("a field name", start, sort[start]);
  const path = m[0];
  const end = start + path.length;
  if (end < sort.length) {
    if (sort[end] === ",") {
      throw new BbqlError(`Only one sort field is supported: unexpected ',' at position ${end}`, end);
    }
    throw expecting("end of sort field", end, sort[end]);
  }
  checkPathPrefix(path, start);
  if (!isFieldAllowed(options.fields, path)) {
    throw new BbqlError(
      `Invalid field '${path}' at position ${start}: this resource cannot be sorted on it`,
      start,
    );
  }
  return { path, descending };
}

export type Comparator = (a: unknown, b: unknown) => number;

/**
 * A comparator for Array.prototype.sort ordering objects by a dotted path, like Bitbucket's PostgreSQL
 * ORDER BY: nulls (and missing values) sort last ascending and first descending (NULLS LAST / NULLS FIRST
 * defaults). Numbers compare numerically; two ISO-8601 datetime strings compare as instants; other strings by
 * UTF-16 code units; false < true. Values of different types order boolean < number < string < object.
 * An array on the path contributes its first element.
 *
 * Each comparator memoises, per object, the instant of a datetime string key (a sort compares every object
 * about log2(n) times and parsing dominates otherwise). Create one comparator per sort: an object whose key
 * changes after it was compared keeps its old instant.
 */
export function compareByPath(path: string, descending = false): Comparator {
  const segments = path.split(".");
  const key = (obj: unknown): unknown => {
    let value = obj;
    for (const segment of segments) {
      if (Array.isArray(value)) value = value[0];
      value = getField(value, segment);
      if (value === undefined) return null;
    }
    return Array.isArray(value) ? (value[0] ?? null) : value;
  };
  const instants = new Map<unknown, number | null>();
  const instantOf = (obj: unknown, text: string): number | null => {
    let micros = instants.get(obj);
    if (micros === undefined) {
      micros = parseIsoDatetime(text) ?? null;
      if (obj !== null && typeof obj === "object") instants.set(obj, micros);
    }
    return micros;
  };
  const ascending = (a: unknown, b: unknown): number => {
    const ka = key(a);
    const kb = key(b);
    if (typeof ka === "string" && typeof kb === "string") {
      if (ka === kb) return 0;
      const ia = instantOf(a, ka);
      const ib = ia === null ? null : instantOf(b, kb);
      if (ia !== null && ib !== null) return ia - ib;
      return ka < kb ? -1 : 1;
    }
    return compareValues(ka, kb);
  };
  return descending ? (a, b) => ascending(b, a) : ascending;
}

function typeRank(value: unknown): number {
  switch (typeof value) {
    case "boolean":
      return 0;
    case "number":
      return 1;
    case "string":
      return 2;
    default:
      return 3;
  }
}

/** Ascending order of two field values, nulls last (the order compareByPath uses). */
export function compareValues(x: unknown, y: unknown): number {
  const a = x ?? null;
  const b = y ?? null;
  if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "string" && typeof b === "string") {
    if (a === b) return 0;
    const ia = parseIsoDatetime(a);
    const ib = ia === undefined ? undefined : parseIsoDatetime(b);
    if (ia !== undefined && ib !== undefined) return ia - ib;
    return a < b ? -1 : 1;
  }
  if (typeof a === "boolean" && typeof b === "boolean") return Number(a) - Number(b);
  return typeRank(a) - typeRank(b);
}
