/**
 * OData names for PostgreSQL relations and columns.
 *
 * Salesforce turns entity set names into external object names (`pull_requests` → `pull_requests__x`) and property
 * names into field names (`title` → `title__c`), and a renamed set or property becomes a new object or field on
 * the next sync. So names are derived from the PostgreSQL name alone, the same way every time, and are never
 * re-cased (Salesforce names are case-sensitive): a name that is already acceptable is published unchanged.
 *
 * Acceptable means `[A-Za-z][A-Za-z0-9_]*`, no `__` (Salesforce reserves it for suffixes such as `__c`) and no
 * trailing `_` (which would form `___c`).
 *
 * Limits: entity sets at most 37 characters, because the object name including `__x` must stay within 40
 * (SALESFORCE-CONNECT.md §3); properties at most 40, Salesforce's limit for a custom field name without its
 * `__c` suffix.
 */
import { BitbridgeError } from "../app/errors.js";

/**
 * The entity container's name. Entity types share the schema namespace with it, so no entity set may take it:
 * `$metadata` would be invalid.
 */
export const CONTAINER_NAME = "Container";

export const MAX_ENTITY_SET_NAME = 37;
export const MAX_PROPERTY_NAME = 40;

/** Prepended to names that would otherwise start with a digit (same rule as the destination's snake case). */
const DIGIT_PREFIX = "c_";
/** Stands in for a name with no usable character at all (`"$$"`, `"日付"`). */
const EMPTY_NAME = "c";

const ACCEPTABLE = /^[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*$/;

export const NameErrorCode = {
  invalidName: "ODATA_INVALID_NAME",
  nameConflict: "ODATA_NAME_CONFLICT",
} as const;

/** Whether `name` can be published as is within `maxLength` characters. */
export function isAcceptableName(name: string, maxLength: number): boolean {
  return name.length <= maxLength && ACCEPTABLE.test(name);
}

/**
 * The acceptable name closest to `source`: accents dropped (`é` → `e`), every other run of characters outside
 * `[A-Za-z0-9]` becomes one `_`, leading and trailing `_` removed, `c_` before a leading digit, then cut to
 * `maxLength` (and any `_` left at the cut removed).
 */
export function odataName(source: string, maxLength: number): string {
  const ascii = source.normalize("NFKD").replace(/\p{M}+/gu, "");
  let name = ascii.replace(/[^A-Za-z0-9]+/g, "_").replace(/^_+|_+$/g, "");
  if (name === "") name = EMPTY_NAME;
  if (/^[0-9]/.test(name)) name = `${DIGIT_PREFIX}${name}`;
  return truncate(name, maxLength);
}

/**
 * Names for the columns of one relation, in the order given (attnum order, so a column added later never takes a
 * name from an existing one). Clashes are found ignoring case, because Salesforce field names and the service's
 * property binding are case-insensitive; the later column gets `_2`, `_3`, … (its base cut to make room).
 */
export function propertyNames(columns: readonly string[]): string[] {
  const taken = new Set<string>();
  return columns.map((column) => {
    const name = unique(odataName(column, MAX_PROPERTY_NAME), MAX_PROPERTY_NAME, taken);
    taken.add(name.toLowerCase());
    return name;
  });
}

/**
 * The entity set name of `schema.table` when the names in `taken` are already used (compared ignoring case): the
 * table's own name, or `schema_table` when that clashes, or a numbered variant of the latter. The container's
 * name counts as taken. The caller adds the result to `taken`.
 */
export function entitySetName(schema: string, table: string, taken: Iterable<string> = []): string {
  const used = new Set([CONTAINER_NAME, ...taken].map((name) => name.toLowerCase()));
  const plain = odataName(table, MAX_ENTITY_SET_NAME);
  if (!used.has(plain.toLowerCase())) return plain;
  return unique(odataName(`${schema}_${table}`, MAX_ENTITY_SET_NAME), MAX_ENTITY_SET_NAME, used);
}

/** Checks a name chosen by an operator (a share's explicit entity set name). */
export function assertEntitySetName(name: string): string {
  if (name.toLowerCase() === CONTAINER_NAME.toLowerCase())
    throw new BitbridgeError(
      NameErrorCode.invalidName,
      `"${name}" cannot be an entity set name: it is the entity container's name`,
      { name },
    );
  if (!isAcceptableName(name, MAX_ENTITY_SET_NAME))
    throw new BitbridgeError(
      NameErrorCode.invalidName,
      `"${name}" cannot be an entity set name: use at most ${MAX_ENTITY_SET_NAME} characters, a letter first, then letters, digits and single underscores, not ending with an underscore`,
      { name, maxLength: MAX_ENTITY_SET_NAME },
    );
  return name;
}

function unique(base: string, maxLength: number, takenLowerCase: ReadonlySet<string>): string {
  if (!takenLowerCase.has(base.toLowerCase())) return base;
  for (let n = 2; ; n++) {
    const suffix = `_${n}`;
    const candidate = `${truncate(base, maxLength - suffix.length)}${suffix}`;
    if (!takenLowerCase.has(candidate.toLowerCase())) return candidate;
  }
}

function truncate(name: string, maxLength: number): string {
  return name.length <= maxLength ? name : name.slice(0, maxLength).replace(/_+$/, "");
}
