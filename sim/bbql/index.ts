export type { BbqlLiteral, BbqlNode, CompareNode, CompareOp, InNode, LogicalNode } from "./ast.js";
export { formatMicros, parseIsoDatetime } from "./datetime.js";
export { BbqlError } from "./error.js";
export { type BbqlPredicate, type CompileOptions, compileBbql } from "./evaluate.js";
export { formatBbql, formatLiteral } from "./format.js";
export { parseBbql } from "./parser.js";
export type { FieldFilter } from "./path.js";
export { type Comparator, compareByPath, compareValues, parseSort, type SortSpec } from "./sort.js";
