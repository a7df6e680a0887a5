/**
 * Parsed OData query options. Expressions keep the literal text PostgreSQL needs for exact values
 * (numbers are never rounded through a double) and the span of text each node came from, so errors
 * point at the place in the option (`$filter` at character 17).
 */

/** Offsets into the option's percent-decoded value, end exclusive. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

export type LiteralType =
  | "null"
  | "boolean"
  | "string"
  /** A whole number, optionally written with the `L` suffix some clients send (dropped from `value`). */
  | "integer"
  /** `1.5`, `-0.25`: exact decimal text. */
  | "decimal"
  /** `1e5`, `2.5E-3`, `INF`, `-INF`, `NaN`. */
  | "double"
  /** `2026-01-31`. */
  | "date"
  /** `2026-01-31T10:00:00Z`, `2026-01-31T10:00:00.123+02:00`. */
  | "dateTimeOffset"
  /** `10:00:00`, `10:00:00.5`. */
  | "timeOfDay"
  /** `01234567-89ab-cdef-0123-456789abcdef`. */
  | "guid"
  /** `duration'P1DT2H'`. */
  | "duration";

export interface LiteralExpr {
  readonly kind: "literal";
  readonly type: LiteralType;
  /** Strings unescaped (`''` → `'`); booleans as booleans; null as null; everything else as written. */
  readonly value: string | boolean | null;
  readonly span: Span;
}

/** A property of the entity type: one segment, as written (binding matches names case-insensitively). */
export interface PropertyExpr {
  readonly kind: "property";
  readonly name: string;
  readonly span: Span;
}

export type UnaryOp = "not" | "-";

export interface UnaryExpr {
  readonly kind: "unary";
  readonly op: UnaryOp;
  readonly operand: ODataExpr;
  readonly span: Span;
}

export type LogicalOp = "and" | "or";
export type ComparisonOp = "eq" | "ne" | "gt" | "ge" | "lt" | "le";
export type ArithmeticOp = "add" | "sub" | "mul" | "div" | "divby" | "mod";
export type BinaryOp = LogicalOp | ComparisonOp | ArithmeticOp;

export interface BinaryExpr {
  readonly kind: "binary";
  /** Lower case, whatever case was written (4.01 leniency). */
  readonly op: BinaryOp;
  readonly left: ODataExpr;
  readonly right: ODataExpr;
  readonly span: Span;
}

/** `Prop in ('a', 'b')` (4.01). */
export interface InExpr {
  readonly kind: "in";
  readonly operand: ODataExpr;
  readonly list: readonly ODataExpr[];
  readonly span: Span;
}

/** A function call; `name` lower case (`contains`, `tolower`, `year`, ...). Which names exist is the binder's call. */
export interface CallExpr {
  readonly kind: "call";
  readonly name: string;
  readonly args: readonly ODataExpr[];
  readonly span: Span;
}

export type ODataExpr = LiteralExpr | PropertyExpr | UnaryExpr | BinaryExpr | InExpr | CallExpr;

export interface OrderByItem {
  readonly expr: ODataExpr;
  readonly direction: "asc" | "desc";
}

/** `$search`: terms and phrases combined with AND (also implicit), OR and NOT. */
export type SearchExpr =
  | { readonly kind: "term"; readonly value: string; readonly phrase: boolean }
  | { readonly kind: "and" | "or"; readonly left: SearchExpr; readonly right: SearchExpr }
  | { readonly kind: "not"; readonly operand: SearchExpr };

export interface QueryOptions {
  /** Property names as written; undefined or `["*"]` selects every property. */
  readonly select?: readonly string[];
  readonly filter?: ODataExpr;
  readonly orderby?: readonly OrderByItem[];
  readonly top?: number;
  readonly skip?: number;
  readonly count?: boolean;
  readonly search?: SearchExpr;
  /** `$format`, lower case: `json` (or `application/json`, with parameters kept) / `xml`. */
  readonly format?: string;
  /** Opaque to the parser; the service checks its signature. */
  readonly skiptoken?: string;
}

/** `Set(42)`, `Set('x')` → one literal; `Set(A=1,B='x')` → named literals. */
export type KeyPredicate =
  | { readonly kind: "single"; readonly value: LiteralExpr }
  | { readonly kind: "named"; readonly values: ReadonlyMap<string, LiteralExpr> };
