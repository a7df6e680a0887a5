/**
 * PostgreSQL column types → Edm types Salesforce Connect accepts (SALESFORCE-CONNECT.md §4), with the facets
 * that decide the Salesforce field: `MaxLength` picks Text(n) (≤ 255) or LongTextArea(n), `Precision`/`Scale`
 * size a Number, `Precision` keeps the fractional seconds of a DateTimeOffset (CSDL's default is 0).
 *
 * Decisions:
 * - `numeric(p,s)` → Decimal(p,s) as declared, even beyond the 18 digits a Salesforce Number holds: the document
 *   states what the column holds. A negative scale (PostgreSQL 15+) becomes Precision p−s, Scale 0; a scale
 *   above the precision becomes Precision s.
 * - Unconstrained `numeric` (what replication creates for decimals) → Decimal Precision 18 Scale `variable`: up
 *   to 18 significant digits, as many of them after the point as a value needs. 18 is what a Number holds;
 *   `variable` is valid CSDL 4.0 and does not claim a fixed number of decimals. How Salesforce sizes the field's
 *   decimal places from it is unverified.
 * - `timestamp` (without time zone) → DateTimeOffset like `timestamptz`; its values are read as UTC. Precision
 *   is the declared one, else 6 (microseconds, PostgreSQL's resolution).
 * - `uuid` → String MaxLength 36 rather than Guid: both become Salesforce Text, String is certain to filter
 *   with plain string literals, while Salesforce's literal form for Guid keys is unverified.
 * - Text: `varchar(n)`/`char(n)` → MaxLength n (at most 131072); `name` → 63 (PostgreSQL's identifier limit);
 *   `text`, `citext`, unbounded `varchar` → the length stored at share time (see `chooseMaxLengths`), else
 *   131072, the largest LongTextArea. A stored length never widens a declared one.
 * - Enums → String MaxLength 63 (labels are identifiers, so never longer): Text fields filter, LongTextAreas
 *   do not.
 * - Everything without an Edm twin (json, jsonb, arrays, time, interval, ranges, network types, …) → String
 *   MaxLength 131072. Kind `json` (json, jsonb, arrays: written as JSON text) or `text` (PostgreSQL's text form).
 * - `bytea` → Binary (Salesforce shows it as base64 in a TextArea).
 */

import type { EdmType, ValueKind } from "./model.js";

/** Salesforce LongTextArea's maximum, the length given to strings of unknown size. */
export const LONG_TEXT_LENGTH = 131072;
/** Salesforce Text's maximum: strings up to this length can be filtered and sorted in Salesforce. */
export const SHORT_TEXT_LENGTH = 255;
/** Significant digits of a Salesforce Number, given to unconstrained `numeric`. */
export const UNCONSTRAINED_DECIMAL_PRECISION = 18;
/** PostgreSQL's timestamp resolution (microseconds), used when no precision is declared. */
export const DEFAULT_TIMESTAMP_PRECISION = 6;
/** NAMEDATALEN − 1: `name` values and enum labels are at most this many bytes, so at most this many characters. */
const IDENTIFIER_LENGTH = 63;
const UUID_LENGTH = 36;

/** A column's type after resolving domains to their base type. */
export interface PgTypeInfo {
  /** `pg_type.typname` of the base type (`int4`, `varchar`, `_text`, `citext`). */
  readonly name: string;
  /** Schema of the base type: only `pg_catalog` types are taken as built-ins (`citext` may live anywhere). */
  readonly namespace: string;
  /** `pg_type.typtype`: `b` base, `e` enum, `c` composite, `r` range, `m` multirange, `d` domain, `p` pseudo. */
  readonly typtype: string;
  /** Arrays are written as JSON. */
  readonly isArray: boolean;
  /** Type modifier (`atttypmod`, or the domain's `typtypmod`); −1 when none. */
  readonly typmod: number;
}

export interface EdmTypeMapping {
  readonly type: EdmType;
  readonly kind: ValueKind;
  readonly maxLength?: number;
  readonly precision?: number;
  readonly scale?: number | "variable";
  readonly searchable: boolean;
}

/** The Edm type of a column; `storedMaxLength` is the length recorded for a text column at share time. */
export function edmTypeOf(type: PgTypeInfo, storedMaxLength?: number): EdmTypeMapping {
  if (type.isArray) return longString("json");
  if (type.typtype === "e")
    return { type: "Edm.String", kind: "text", maxLength: IDENTIFIER_LENGTH, searchable: true };
  if (isTextLike(type)) {
    const declared = declaredTextLength(type);
    const stored = storedMaxLength === undefined ? undefined : clampLength(storedMaxLength);
    const maxLength = Math.min(declared ?? LONG_TEXT_LENGTH, stored ?? LONG_TEXT_LENGTH, LONG_TEXT_LENGTH);
    return { type: "Edm.String", kind: "text", maxLength, searchable: true };
  }
  if (type.namespace !== "pg_catalog" || type.typtype !== "b") return longString("text");
  switch (type.name) {
    case "int2":
      return { type: "Edm.Int16", kind: "integer", searchable: false };
    case "int4":
      return { type: "Edm.Int32", kind: "integer", searchable: false };
    case "int8":
      return { type: "Edm.Int64", kind: "bigint", searchable: false };
    case "numeric":
      return { type: "Edm.Decimal", kind: "decimal", ...decimalFacets(type.typmod), searchable: false };
    case "float4":
      return { type: "Edm.Single", kind: "double", searchable: false };
    case "float8":
      return { type: "Edm.Double", kind: "double", searchable: false };
    case "bool":
      return { type: "Edm.Boolean", kind: "boolean", searchable: false };
    case "date":
      return { type: "Edm.Date", kind: "date", searchable: false };
    case "timestamp":
    case "timestamptz":
      return {
        type: "Edm.DateTimeOffset",
        kind: "timestamp",
        precision: type.typmod >= 0 ? type.typmod : DEFAULT_TIMESTAMP_PRECISION,
        searchable: false,
      };
    case "uuid":
      return { type: "Edm.String", kind: "uuid", maxLength: UUID_LENGTH, searchable: false };
    case "bytea":
      return { type: "Edm.Binary", kind: "bytes", searchable: false };
    case "json":
    case "jsonb":
      return longString("json");
    default:
      return longString("text");
  }
}

/** Character types, whose values `chooseMaxLengths` may measure and `$search` looks in. */
export function isTextLike(type: PgTypeInfo): boolean {
  if (type.isArray) return false;
  if (type.name === "citext" && type.typtype === "b") return true;
  return type.namespace === "pg_catalog" && ["text", "varchar", "bpchar", "name"].includes(type.name);
}

/** The length the type itself guarantees (`varchar(40)` → 40, `name` → 63), undefined when unbounded. */
export function declaredTextLength(type: PgTypeInfo): number | undefined {
  if (type.namespace !== "pg_catalog") return undefined;
  if (type.name === "name") return IDENTIFIER_LENGTH;
  if ((type.name === "varchar" || type.name === "bpchar") && type.typmod > 4) return type.typmod - 4;
  return undefined;
}

/** Salesforce field size for a text column whose longest value has `longest` characters (null: no values). */
export function lengthForLongest(longest: number | null): number {
  // An empty column says nothing about future values, so it gets the size that cannot truncate.
  return longest !== null && longest <= SHORT_TEXT_LENGTH ? SHORT_TEXT_LENGTH : LONG_TEXT_LENGTH;
}

function longString(kind: "json" | "text"): EdmTypeMapping {
  return { type: "Edm.String", kind, maxLength: LONG_TEXT_LENGTH, searchable: false };
}

function clampLength(length: number): number {
  return Math.min(Math.max(Math.trunc(length), 1), LONG_TEXT_LENGTH);
}

/** `numeric` typmod: ((precision << 16) | scale) + 4, the scale an 11-bit signed field since PostgreSQL 15. */
function decimalFacets(typmod: number): { precision: number; scale: number | "variable" } {
  if (typmod < 4) return { precision: UNCONSTRAINED_DECIMAL_PRECISION, scale: "variable" };
  const precision = ((typmod - 4) >> 16) & 0xffff;
  const scale = (((typmod - 4) & 0x7ff) ^ 1024) - 1024;
  if (scale < 0) return { precision: precision - scale, scale: 0 };
  if (scale > precision) return { precision: scale, scale };
  return { precision, scale };
}
