import { BitbridgeError } from "../../app/errors.js";
import { sqlExcerpt } from "../../sql/syntax-error.js";

/**
 * Runs `work`; a syntax or binding error in `sql` becomes a 400 that also carries the excerpt of `sql`
 * with a caret under the fault, and `field` (the request field `sql` came from) when given, so the UI
 * can mark the place without parsing the message.
 */
export async function withSqlErrors<T>(sql: string, work: () => T | Promise<T>, field?: string): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw sqlError(sql, error, field);
  }
}

/** `error` with the excerpt and field added when it points into `sql`; any other error unchanged. */
export function sqlError(sql: string, error: unknown, field?: string): unknown {
  if (!(error instanceof BitbridgeError) || typeof error.details.offset !== "number") return error;
  const length = typeof error.details.length === "number" ? error.details.length : 1;
  return new BitbridgeError(
    error.code,
    error.message,
    { ...error.details, excerpt: sqlExcerpt(sql, error.details.offset, length), ...(field && { field }) },
    400,
    { cause: error },
  );
}

/** A 400 naming one request field, shaped like the schema's validation errors. */
export function fieldError(field: string, message: string): BitbridgeError {
  return new BitbridgeError("VALIDATION", `${field}: ${message}`, { fields: [{ field, message }] });
}
