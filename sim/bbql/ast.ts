/** Comparison operators of BBQL. `~` and `!~` are case-insensitive "contains". */
export type CompareOp = "=" | "!=" | "~" | "!~" | ">" | ">=" | "<" | "<=";

export type BbqlLiteral =
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "number"; readonly value: number }
  | { readonly kind: "boolean"; readonly value: boolean }
  | { readonly kind: "null" }
  /** An unquoted ISO-8601 date or datetime; `micros` is the instant in microseconds since the epoch (UTC). */
  | { readonly kind: "datetime"; readonly micros: number; readonly text: string };

/** `path op value`. `position` is where the field path starts in the query text. */
export interface CompareNode {
  readonly kind: "compare";
  readonly path: string;
  readonly op: CompareOp;
  readonly value: BbqlLiteral;
  readonly position: number;
}

/** `path IN (...)`, or `path NOT IN (...)` when `negated`. */
export interface InNode {
  readonly kind: "in";
  readonly path: string;
  readonly negated: boolean;
  readonly values: readonly BbqlLiteral[];
  readonly position: number;
}

/** `a AND b AND ...` / `a OR b OR ...`, flattened: operands never hold a node of the same kind. */
export interface LogicalNode {
  readonly kind: "and" | "or";
  readonly operands: readonly BbqlNode[];
}

export type BbqlNode = CompareNode | InNode | LogicalNode;

export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
