import { type TSchema, Type } from "@sinclair/typebox";

/** Timestamps leave as ISO 8601 strings in UTC (fast-json-stringify formats Dates with date-time). */
export const Timestamp = Type.Unsafe<Date | string>({ type: "string", format: "date-time" });

/** The schema of an empty 204 answer. */
export const NoContent = Type.Null({ description: "No content" });

export function Nullable<T extends TSchema>(schema: T) {
  return Type.Union([schema, Type.Null()]);
}

/** Names of connections, jobs and OData users: what the CLI accepts. */
export const Name = Type.String({ pattern: "^[A-Za-z][A-Za-z0-9_.-]{0,62}$", minLength: 1, maxLength: 63 });

export const ErrorBody = Type.Object(
  {
    error: Type.Object(
      {
        code: Type.String(),
        message: Type.String(),
        fields: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
      },
      { additionalProperties: true },
    ),
  },
  { description: "Every error: a stable code and a message saying how to fix it" },
);
