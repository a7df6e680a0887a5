import { BitbridgeError } from "../app/errors.js";

/**
 * An error answered as an OData error body (`{"error":{"code","message","target"}}`) with its HTTP
 * status: 400 for requests that break the grammar or the model, 404 for unknown resources, 501 for valid
 * OData the service does not implement.
 */
export class ODataError extends BitbridgeError {
  constructor(
    status: number,
    code: string,
    message: string,
    /** The query option or property the error is about (`$filter`, `Title`). */
    readonly target?: string,
  ) {
    super(code, message, target === undefined ? {} : { target }, status);
    this.name = "ODataError";
  }
}

export const badRequest = (code: string, message: string, target?: string) =>
  new ODataError(400, code, message, target);

export const notImplemented = (message: string, target?: string) =>
  new ODataError(501, "NotImplemented", message, target);
