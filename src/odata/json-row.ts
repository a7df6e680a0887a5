import { quoteIdent } from "../destination/postgres/naming.js";
import { stringConstant } from "../sql/to-postgres.js";
import type { EdmProperty } from "./model.js";

export interface JsonOptions {
  /** `IEEE754Compatible=true`: Int64 and Decimal values as strings, so no client rounds them. */
  readonly ieee754: boolean;
}

/**
 * One entity's JSON object built by PostgreSQL (`'{"Id":' || ... || '}'`): the values are encoded where
 * they are, and the service only joins rows. Timestamps go out in UTC with `Z` and microseconds, as the
 * `Precision="6"` in `$metadata` says; JSON and arrays as their text.
 */
export function rowJsonSql(properties: readonly EdmProperty[], options: JsonOptions): string {
  if (properties.length === 0) return "'{}'";
  const parts = properties.map(
    (p, i) =>
      `${stringConstant(`${i === 0 ? "{" : ","}${JSON.stringify(p.name)}:`)} || coalesce(${valueJson(p, options)}, 'null')`,
  );
  return `(${parts.join(" || ")} || '}')`;
}

function valueJson(p: EdmProperty, options: JsonOptions): string {
  const c = quoteIdent(p.column);
  switch (p.kind) {
    case "boolean":
    case "integer":
      return `to_json(${c})::text`;
    case "bigint":
    case "decimal":
      return options.ieee754 ? `to_json((${c})::text)::text` : `to_json(${c})::text`;
    case "double":
      return `CASE WHEN ${c} IN ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8) THEN to_json(replace((${c})::text, 'Infinity', 'INF'))::text ELSE to_json(${c})::text END`;
    case "date":
      return `to_json(to_char(${c}, 'YYYY-MM-DD'))::text`;
    case "timestamp":
      return `to_json(to_char(${p.pgType === "timestamp with time zone" ? `${c} AT TIME ZONE 'UTC'` : c}, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text`;
    case "json":
      // An Edm.String holding JSON text: arrays as JSON arrays, not PostgreSQL's `{1,2}`.
      return `to_json(to_json(${c})::text)::text`;
    case "bytes":
      return `to_json(translate(encode(${c}, 'base64'), E'\\n', ''))::text`;
    default:
      return `to_json((${c})::text)::text`;
  }
}
