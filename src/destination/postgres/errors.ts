/** PostgreSQL errors → `BitbridgeError`, keeping SQLSTATE, detail, hint, table and column. */
import pg from "pg";
import { BitbridgeError } from "../../app/errors.js";
import type { ResolvedTable } from "./target.js";

/** What was being done when the error happened; shapes the message. */
export interface ErrorContext {
  readonly operation: "create-schema" | "create-table" | "alter-table" | "load" | "delete" | "checkpoint";
  readonly schema?: string;
  readonly table?: ResolvedTable;
  /** Name of the table a COPY writes to (staging, or the target itself), to recognise COPY errors. */
  readonly staging?: string;
}

/** Error codes this module raises. */
export const DestinationErrorCode = {
  permissionDenied: "DESTINATION_PERMISSION_DENIED",
  invalidValue: "DESTINATION_INVALID_VALUE",
  constraint: "DESTINATION_CONSTRAINT_VIOLATION",
  connectionLost: "DESTINATION_CONNECTION_LOST",
  /** The connection dropped during COMMIT: the outcome is unknown (the checkpoint tells). */
  commitUnknown: "DESTINATION_COMMIT_UNKNOWN",
  conflict: "DESTINATION_CONFLICT",
  notFound: "DESTINATION_NOT_FOUND",
  resources: "DESTINATION_RESOURCES",
  queryFailed: "DESTINATION_QUERY_FAILED",
  checkpointFailed: "DESTINATION_CHECKPOINT_FAILED",
  typeChange: "DESTINATION_TYPE_CHANGE",
  primaryKeyMismatch: "DESTINATION_PRIMARY_KEY_MISMATCH",
  invalidName: "DESTINATION_INVALID_NAME",
  nameConflict: "DESTINATION_NAME_CONFLICT",
  invalidTable: "DESTINATION_INVALID_TABLE",
  invalidScope: "DESTINATION_INVALID_SCOPE",
} as const;

const CONNECTION_MESSAGES =
  /connection terminated|connection (?:was )?closed|not queryable|ECONNRESET|EPIPE/i;

function isDatabaseError(error: unknown): error is pg.DatabaseError {
  return error instanceof pg.DatabaseError;
}

/** Whether the error means the connection is gone (the client must be discarded). */
/** The destination could not be reached at all (before any load): say so, with the driver's reason. */
export function destinationConnectError(error: unknown): BitbridgeError {
  const message = error instanceof Error ? error.message : String(error);
  return new BitbridgeError(
    "DESTINATION_CONNECT",
    `Cannot connect to the destination PostgreSQL: ${message}.`,
    {},
    503,
    { cause: error },
  );
}

export function isConnectionError(error: unknown): boolean {
  if (error instanceof BitbridgeError) return error.code === DestinationErrorCode.connectionLost;
  if (isDatabaseError(error)) return /^(08|57P0)/.test(error.code ?? "");
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return CONNECTION_MESSAGES.test(error.message) || code === "ECONNRESET" || code === "EPIPE";
  }
  return false;
}

/** Maps anything a destination operation threw to a `BitbridgeError` (which passes through). */
export function toDestinationError(error: unknown, context: ErrorContext): BitbridgeError {
  if (error instanceof BitbridgeError) return error;
  const where = context.table ? `${context.table.schema}.${context.table.table}` : context.schema;
  if (!isDatabaseError(error)) {
    if (isConnectionError(error))
      return new BitbridgeError(
        DestinationErrorCode.connectionLost,
        `the connection to PostgreSQL was lost during ${describe(context)}; the transaction was not committed, nothing of it was written`,
        { operation: context.operation, target: where, reason: errorMessage(error) },
        503,
        { cause: error },
      );
    return new BitbridgeError(
      DestinationErrorCode.queryFailed,
      `${describe(context)} failed: ${errorMessage(error)}`,
      { operation: context.operation, target: where },
      500,
      { cause: error },
    );
  }

  const sqlstate = error.code ?? "";
  const copy = copyPosition(error, context);
  const column = error.column ?? copy?.column;
  const sourceColumn = context.table?.columns.find((c) => c.name === column)?.source;
  const details: Record<string, unknown> = {
    operation: context.operation,
    target: where,
    sqlstate,
    ...defined({
      detail: error.detail,
      hint: error.hint,
      schema: error.schema,
      table: error.table,
      column,
      sourceColumn,
      constraint: error.constraint,
      where: error.where,
      batchRow: copy?.line,
    }),
  };
  const make = (code: string, message: string, status = 400) =>
    new BitbridgeError(code, message, details, status, { cause: error });
  const columnText = column
    ? ` column ${sourceColumn && sourceColumn !== column ? `${sourceColumn} (${column})` : column}`
    : "";

  if (sqlstate === "42501") {
    const schema = context.schema ?? context.table?.schema ?? "?";
    if (context.operation === "create-schema")
      return make(
        DestinationErrorCode.permissionDenied,
        `the destination user cannot create schema ${schema} (grant CREATE on the database, or create the schema and grant CREATE on it): ${error.message}`,
        403,
      );
    if (context.operation === "create-table" || context.operation === "alter-table")
      return make(
        DestinationErrorCode.permissionDenied,
        `the destination user cannot create tables in schema ${schema} (grant CREATE on schema ${schema}, or ownership of the table): ${error.message}`,
        403,
      );
    return make(
      DestinationErrorCode.permissionDenied,
      `the destination user lacks a privilege for ${describe(context)} (grant USAGE on schema ${schema} and SELECT, INSERT, UPDATE, DELETE on its tables): ${error.message}`,
      403,
    );
  }
  if (/^(08|57P0)/.test(sqlstate))
    return make(
      DestinationErrorCode.connectionLost,
      `the connection to PostgreSQL was lost during ${describe(context)}; the transaction was not committed, nothing of it was written: ${error.message}`,
      503,
    );
  if (sqlstate.startsWith("22"))
    return make(
      DestinationErrorCode.invalidValue,
      `${describe(context)} was rolled back: a value${copy ? ` in row ${copy.line} of the batch,` : ""}${columnText ? `${columnText},` : ""} is not valid: ${error.message}`,
    );
  if (sqlstate === "23502")
    return make(
      DestinationErrorCode.constraint,
      `${describe(context)} was rolled back:${columnText || " a column"} cannot be NULL${error.table ? ` in table ${error.table}` : ""}`,
    );
  if (sqlstate.startsWith("23"))
    return make(
      DestinationErrorCode.constraint,
      `${describe(context)} was rolled back: ${error.message}${error.detail ? ` (${error.detail})` : ""}`,
    );
  if (sqlstate === "40001" || sqlstate === "40P01" || sqlstate === "55P03")
    return make(
      DestinationErrorCode.conflict,
      `${describe(context)} was rolled back by a concurrent transaction (retry it): ${error.message}`,
      409,
    );
  if (sqlstate === "3F000" || sqlstate === "42P01" || sqlstate === "42703")
    return make(DestinationErrorCode.notFound, `${describe(context)} failed: ${error.message}`, 404);
  if (sqlstate.startsWith("53") || sqlstate.startsWith("54"))
    return make(
      DestinationErrorCode.resources,
      `${describe(context)} failed: the PostgreSQL server is out of a resource: ${error.message}`,
      503,
    );
  return make(DestinationErrorCode.queryFailed, `${describe(context)} failed: ${error.message}`, 500);
}

/** `COPY bb_stage, line 3, column count: "abc"` → line 3, column `count`. */
function copyPosition(
  error: pg.DatabaseError,
  context: ErrorContext,
): { line: number; column?: string } | undefined {
  if (!context.staging || !error.where) return undefined;
  const match = /COPY ([^,]+), line (\d+)(?:, column ([^:]+))?/.exec(error.where);
  if (!match || match[1]?.replace(/"/g, "") !== context.staging) return undefined;
  return { line: Number(match[2]), ...(match[3] ? { column: match[3] } : {}) };
}

function describe(context: ErrorContext): string {
  const target = context.table ? ` of ${context.table.schema}.${context.table.table}` : "";
  switch (context.operation) {
    case "create-schema":
      return `creating schema ${context.schema ?? ""}`.trimEnd();
    case "create-table":
    case "alter-table":
      return `preparing the table${target}`;
    case "load":
      return `the batch load${target}`;
    case "delete":
      return `the delete reconciliation${target}`;
    case "checkpoint":
      return `the checkpoint${target}`;
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function defined(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined && v !== null));
}
