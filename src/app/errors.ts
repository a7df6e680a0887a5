/**
 * The one error type the product raises on purpose: a stable code, an HTTP status, a message that says
 * how to fix the problem, and structured details (SQL position, API status, SQLSTATE...). One place maps
 * these to HTTP/OData JSON and CLI exit codes; anything else reaching the top is a bug.
 */
export class BitbridgeError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
    readonly status = 400,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "BitbridgeError";
  }
}

export function isBitbridgeError(error: unknown): error is BitbridgeError {
  return error instanceof BitbridgeError;
}
