/**
 * The SQL syntax tree: readonly unions discriminated on `kind`. Every node carries the `span` of source
 * text it came from (UTF-16 offsets into the statement, end exclusive) so the binder and planner can
 * point errors at the exact place. Names keep their original spelling and whether they were quoted;
 * matching names against the catalog is the binder's job (case-insensitive).
 */

export interface Span {
  readonly start: number;
  readonly end: number;
}

/** A name as written: `Title`, `[Pull Requests]`, `"Commits"`, `` `x` `` (quotes removed, escapes undone). */
export interface Identifier {
  readonly kind: "identifier";
  readonly name: string;
  readonly quoted: boolean;
  readonly span: Span;
}

// ---- Expressions -------------------------------------------------------------------------------

/** `Col`, `t.Col`, `[Col]`, `schema.t.Col`. `name`/`quoted` describe the last part. */
export interface ColumnRef {
  readonly kind: "column";
  readonly schema?: Identifier;
  readonly table?: Identifier;
  readonly name: string;
  readonly quoted: boolean;
  readonly span: Span;
}

/** A whole number. `value` is exact; `number` is set only when the value is a safe JS integer. */
export interface IntegerLiteral {
  readonly kind: "literal";
  readonly type: "integer";
  /** Source digits, with a leading `-` when a minus sign was folded in. */
  readonly text: string;
  readonly value: bigint;
  readonly number: number | undefined;
  readonly span: Span;
}

/** `1.5`, `.5`, `1e5`, `2.5E-3`. `text` is exact; `value` is the nearest double. */
export interface DecimalLiteral {
  readonly kind: "literal";
  readonly type: "decimal";
  readonly text: string;
  readonly value: number;
  readonly span: Span;
}

export interface StringLiteral {
  readonly kind: "literal";
  readonly type: "string";
  readonly value: string;
  readonly span: Span;
}

export interface BooleanLiteral {
  readonly kind: "literal";
  readonly type: "boolean";
  readonly value: boolean;
  readonly span: Span;
}

export interface NullLiteral {
  readonly kind: "literal";
  readonly type: "null";
  readonly value: null;
  readonly span: Span;
}

/** `DATE '2026-01-01'`; `value` is the text between the quotes, checked to be a real date. */
export interface DateLiteral {
  readonly kind: "literal";
  readonly type: "date";
  readonly value: string;
  readonly span: Span;
}

/** `TIMESTAMP '2026-01-01 10:00:00+00'`; `value` is the text between the quotes, checked for shape. */
export interface TimestampLiteral {
  readonly kind: "literal";
  readonly type: "timestamp";
  readonly value: string;
  readonly span: Span;
}

export type Literal =
  | IntegerLiteral
  | DecimalLiteral
  | StringLiteral
  | BooleanLiteral
  | NullLiteral
  | DateLiteral
  | TimestampLiteral;

export type LiteralType = Literal["type"];

/** `@name`. */
export interface NamedParam {
  readonly kind: "param";
  readonly style: "named";
  readonly name: string;
  readonly span: Span;
}

/** `?`; `index` counts the statement's `?` markers from 0, left to right. */
export interface PositionalParam {
  readonly kind: "param";
  readonly style: "positional";
  readonly index: number;
  readonly span: Span;
}

export type Param = NamedParam | PositionalParam;

export type UnaryOp = "-" | "+" | "not";

export interface UnaryExpr {
  readonly kind: "unary";
  readonly op: UnaryOp;
  readonly operand: Expr;
  readonly span: Span;
}

export type LogicalOp = "or" | "and";
export type ComparisonOp = "=" | "<>" | "<" | "<=" | ">" | ">=";
export type ArithmeticOp = "+" | "-" | "*" | "/" | "%";
/** `!=` is read as `<>`. */
export type BinaryOp = LogicalOp | ComparisonOp | ArithmeticOp | "||";

export interface BinaryExpr {
  readonly kind: "binary";
  readonly op: BinaryOp;
  readonly left: Expr;
  readonly right: Expr;
  readonly span: Span;
}

/** `expr [NOT] IN (a, b, ...)`. */
export interface InExpr {
  readonly kind: "in";
  readonly expr: Expr;
  readonly list: readonly Expr[];
  readonly negated: boolean;
  readonly span: Span;
}

/** `expr [NOT] LIKE pattern [ESCAPE 'c']`. */
export interface LikeExpr {
  readonly kind: "like";
  readonly expr: Expr;
  readonly pattern: Expr;
  readonly escape?: Expr;
  readonly negated: boolean;
  readonly span: Span;
}

/** `expr [NOT] BETWEEN low AND high`. */
export interface BetweenExpr {
  readonly kind: "between";
  readonly expr: Expr;
  readonly low: Expr;
  readonly high: Expr;
  readonly negated: boolean;
  readonly span: Span;
}

/** `expr IS [NOT] NULL`. */
export interface IsNullExpr {
  readonly kind: "isNull";
  readonly expr: Expr;
  readonly negated: boolean;
  readonly span: Span;
}

/** `name(args)`, `COUNT(*)` (`star`), `COUNT(DISTINCT x)` (`distinct`). Which functions exist is the binder's call. */
export interface CallExpr {
  readonly kind: "call";
  readonly name: string;
  readonly args: readonly Expr[];
  readonly distinct: boolean;
  readonly star: boolean;
  readonly span: Span;
}

/** A type in `CAST(x AS type)` or `x::type`: upper-cased words (`DOUBLE PRECISION`) and size arguments. */
export interface TypeName {
  readonly kind: "typeName";
  readonly name: string;
  readonly args: readonly number[];
  readonly span: Span;
}

export interface CastExpr {
  readonly kind: "cast";
  readonly expr: Expr;
  readonly type: TypeName;
  readonly span: Span;
}

export interface WhenClause {
  readonly kind: "when";
  /** A condition (searched CASE) or a value compared with the operand (simple CASE). */
  readonly condition: Expr;
  readonly result: Expr;
  readonly span: Span;
}

/** `CASE [operand] WHEN ... THEN ... [ELSE ...] END`; `operand` is set for the simple form. */
export interface CaseExpr {
  readonly kind: "case";
  readonly operand?: Expr;
  readonly whens: readonly WhenClause[];
  readonly else?: Expr;
  readonly span: Span;
}

export type Expr =
  | ColumnRef
  | Literal
  | Param
  | UnaryExpr
  | BinaryExpr
  | InExpr
  | LikeExpr
  | BetweenExpr
  | IsNullExpr
  | CallExpr
  | CastExpr
  | CaseExpr;

export type ExprKind = Expr["kind"];

// ---- SELECT ------------------------------------------------------------------------------------

/** `*` or `t.*` in the select list. */
export interface AllColumns {
  readonly kind: "allColumns";
  readonly schema?: Identifier;
  readonly table?: Identifier;
  readonly span: Span;
}

/** `expr [AS alias]` in the select list. */
export interface SelectExpr {
  readonly kind: "selectExpr";
  readonly expr: Expr;
  readonly alias?: Identifier;
  readonly span: Span;
}

export type SelectItem = AllColumns | SelectExpr;

/** The one table after FROM: `Workspaces`, `[Information].[Workspaces]`, `acme_web.Commits c`. */
export interface TableRef {
  readonly kind: "table";
  readonly schema?: Identifier;
  readonly name: string;
  readonly quoted: boolean;
  readonly alias?: Identifier;
  readonly span: Span;
}

export interface OrderItem {
  readonly kind: "orderItem";
  readonly expr: Expr;
  readonly direction: "asc" | "desc";
  /** Only when written (`NULLS FIRST` / `NULLS LAST`). */
  readonly nulls?: "first" | "last";
  readonly span: Span;
}

/** What LIMIT, OFFSET and TOP accept: a non-negative whole number or a parameter. */
export type RowCount = IntegerLiteral | Param;

export interface SelectStatement {
  readonly kind: "select";
  readonly distinct: boolean;
  readonly columns: readonly SelectItem[];
  readonly from: TableRef;
  readonly where?: Expr;
  readonly groupBy: readonly Expr[];
  readonly having?: Expr;
  readonly orderBy: readonly OrderItem[];
  /** From `LIMIT n` or `SELECT TOP n`. */
  readonly limit?: RowCount;
  readonly offset?: RowCount;
  readonly span: Span;
}

export interface ExplainStatement {
  readonly kind: "explain";
  readonly statement: SelectStatement;
  readonly span: Span;
}

export type Statement = SelectStatement | ExplainStatement;

export type AstNode =
  | Statement
  | Expr
  | SelectItem
  | TableRef
  | OrderItem
  | Identifier
  | WhenClause
  | TypeName;

/** For exhaustive switches: adding a node kind without handling it is a compile error. */
export function assertNever(value: never): never {
  throw new Error(`Unexpected syntax tree node kind: ${String((value as { kind?: unknown }).kind)}`);
}
