/** The PostgreSQL destination's load path: naming, DDL, transactional batch loads, deletes. */
export {
  type EnsureTableInput,
  type EnsureTableOptions,
  type EnsureTableResult,
  ensureTable,
} from "./ddl.js";
export { DestinationErrorCode, isConnectionError, toDestinationError } from "./errors.js";
export {
  batchFor,
  type Checkpoint,
  type DeleteMode,
  type DeleteReconciliation,
  EncodedRows,
  keysFor,
  type LoadResult,
  loadBatch,
  markDeleted,
  type Row,
  type Rows,
} from "./load.js";
export {
  DELETED_AT_COLUMN,
  destinationName,
  METADATA_COLUMNS,
  type NamingPolicy,
  qualifiedName,
  quoteIdent,
  SYNCED_AT_COLUMN,
} from "./naming.js";
export { type ResolvedTable, resolveTarget, type TableTarget, type TargetColumn } from "./target.js";
