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
      const fields = fieldErrors(error.validationContext ?? "body", error.validation);
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

/**
 * A connector's complaint about its properties (a BitbridgeError naming `property`, or several in
 * `missing`) as a 400 whose fields name `body.properties.<Name>`, so a form can mark the inputs at fault.
 */
export function propertyError(error: unknown): unknown {
  if (!(error instanceof BitbridgeError) || error.status !== 400) return error;
  const { property, missing } = error.details as { property?: unknown; missing?: unknown };
  const names = Array.isArray(missing) ? missing : typeof property === "string" ? [property] : [];
  if (names.length === 0) return error;
  return new BitbridgeError(error.code, error.message, {
    ...error.details,
    fields: names.map((name) => ({ field: `body.properties.${String(name)}`, message: error.message })),
  });
}

type Violation = NonNullable<FastifyError["validation"]>[number];

/**
 * One entry per field at fault. A union of literals fails once per member: those become one "must be
 * one of" message, and the union's own "must match a schema in anyOf" is dropped when there is more to say.
 */
function fieldErrors(context: string, violations: readonly Violation[]): FieldError[] {
  const byField = new Map<string, { messages: string[]; allowed: unknown[] }>();
  for (const v of violations) {
    const missing =
      v.keyword === "required" ? (v.params as { missingProperty?: string }).missingProperty : undefined;
    const path = [context, ...v.instancePath.split("/").filter(Boolean)];
    if (missing) path.push(missing);
    const field = path.join(".");
    const entry = byField.get(field) ?? { messages: [], allowed: [] };
    byField.set(field, entry);
    if (v.keyword === "const") entry.allowed.push((v.params as { allowedValue?: unknown }).allowedValue);
    else if (v.keyword !== "anyOf")
      entry.messages.push(missing ? "is required" : (v.message ?? "is invalid"));
  }
  return [...byField].map(([field, { messages, allowed }]) => ({
    field,
    message:
      allowed.length > 0
        ? `must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`
        : [...new Set(messages)].join("; ") || "does not match any allowed form",
  }));
}
