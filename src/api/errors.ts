import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { BitbridgeError } from "../app/errors.js";

/** One problem with one input field, named like `body.properties.Server` or `query.limit`. */
export interface FieldError {
  readonly field: string;
  readonly message: string;
}

/** The body of every API error: a stable code, a message that says how to fix it, and details. */
export interface ApiErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly fields?: readonly FieldError[];
    readonly [detail: string]: unknown;
  };
}

export function notFound(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(404).send({ error: { code: "NOT_FOUND", message } } satisfies ApiErrorBody);
}

/**
 * Maps whatever a route threw to JSON: schema violations to 400 with every field at fault, the product's
 * own errors to their status and code, anything else to a 500 that reveals nothing (the log has it).
 */
export function apiErrorHandler(log: (line: string) => void) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error.validation) {
      const fields = error.validation.map((v) => {
        const missing =
          v.keyword === "required" ? (v.params as { missingProperty?: string }).missingProperty : undefined;
        const path = [error.validationContext ?? "body", ...v.instancePath.split("/").filter(Boolean)];
        if (missing) path.push(missing);
        return { field: path.join("."), message: missing ? "is required" : (v.message ?? "is invalid") };
      });
      const message = fields.map((f) => `${f.field}: ${f.message}`).join("; ");
      return reply.code(400).send({ error: { code: "VALIDATION", message, fields } } satisfies ApiErrorBody);
    }
    if (error instanceof BitbridgeError) {
      return reply
        .code(error.status)
        .send({ error: { ...error.details, code: error.code, message: error.message } });
    }
    const status = typeof error.statusCode === "number" && error.statusCode < 500 ? error.statusCode : 500;
    if (status < 500) {
      // Fastify's own client errors: malformed JSON, body too large, unsupported media type.
      return reply
        .code(status)
        .send({ error: { code: error.code ?? "BAD_REQUEST", message: error.message } });
    }
    log(`API ${request.method} ${request.url.split("?")[0]} failed: ${error.stack ?? error.message}`);
    return reply
      .code(500)
      .send({ error: { code: "INTERNAL", message: "The server failed to answer; its log says why" } });
  };
}
