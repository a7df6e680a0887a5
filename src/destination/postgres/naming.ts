/**
 * Destination identifiers: how catalog names become PostgreSQL names, the metadata columns every
 * replicated table carries, and the one quoting function all generated SQL goes through.
 */
import { BitbridgeError } from "../../app/errors.js";
import { DestinationErrorCode } from "./errors.js";

/** `snake` (default): `ContentRaw` → `content_raw`; `source`: the catalog name unchanged. */
export type NamingPolicy = "snake" | "source";

/** When the row was last written by a load (insert, or update of a changed row). */
export const SYNCED_AT_COLUMN = "bb_synced_at";
/** When key reconciliation found the row gone at the source (soft delete); NULL while it exists. */
export const DELETED_AT_COLUMN = "bb_deleted_at";
export const METADATA_COLUMNS: readonly string[] = [SYNCED_AT_COLUMN, DELETED_AT_COLUMN];

/** PostgreSQL truncates longer identifiers silently (NAMEDATALEN - 1 bytes). */
export const MAX_IDENTIFIER_BYTES = 63;

/**
 * The destination name of a catalog table or column.
 *
 * Snake case splits words at lower→upper and acronym→word boundaries (`HTMLUrl` → `html_url`),
 * lower-cases, turns any other character run into one underscore, and never starts with a digit
 * or an underscore, nor ends with one, nor contains a double underscore (Salesforce external
 * object field names forbid those).
 */
export function destinationName(name: string, policy: NamingPolicy = "snake"): string {
  const result = convertName(name, policy);
  if (result === "" || result.includes("\0"))
    throw new BitbridgeError(
      DestinationErrorCode.invalidName,
      `"${name}" cannot be used as a destination name`,
      {
        name,
        policy,
      },
    );
  if (Buffer.byteLength(result, "utf8") > MAX_IDENTIFIER_BYTES)
    throw new BitbridgeError(
      DestinationErrorCode.invalidName,
      `the destination name "${result}" is longer than PostgreSQL's ${MAX_IDENTIFIER_BYTES}-byte identifier limit`,
      { name, policy, destinationName: result },
    );
  return result;
}

/** The conversion alone, without the checks (callers that report their own positioned errors). */
export function convertName(name: string, policy: NamingPolicy = "snake"): string {
  return policy === "source" ? name : snakeCase(name);
}

function snakeCase(name: string): string {
  const words = name
    .replace(/([\p{Ll}\p{Nd}])(\p{Lu})/gu, "$1_$2")
    .replace(/(\p{Lu}+)(\p{Lu}\p{Ll})/gu, "$1_$2")
    .toLowerCase()
    .replace(/[^\p{Ll}\p{Lo}\p{Nd}]+/gu, "_")
    .replace(/^_+|_+$/g, "");
  return /^\p{Nd}/u.test(words) ? `c_${words}` : words;
}

/** Quotes an identifier for PostgreSQL (always quoted, so case and reserved words are kept). */
export function quoteIdent(name: string): string {
  if (name === "" || name.includes("\0"))
    throw new BitbridgeError(
      DestinationErrorCode.invalidName,
      `"${name}" is not a valid PostgreSQL identifier`,
      {
        name,
      },
    );
  return `"${name.replaceAll('"', '""')}"`;
}

/** `"schema"."table"`. */
export function qualifiedName(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}
