import { createHash } from "node:crypto";
import type pg from "pg";
import { BitbridgeError } from "../app/errors.js";
import { qualifiedName, quoteIdent } from "../destination/postgres/naming.js";
import { columnSql, searchDocument } from "./compile.js";
import type { EdmProperty, EntitySet, TextIndexes } from "./model.js";

/** What an index name is derived from. */
type Indexed = Pick<EntitySet, "schema" | "table" | "properties">;

/**
 * A GIN index on exactly the document `$search` queries (see `searchDocument`), so a search reads the
 * index instead of building every row's text vector. Returns the index name, or undefined when the set
 * has no text properties. Needs a connection allowed to create indexes on the table.
 */
export async function createSearchIndex(client: pg.ClientBase, set: EntitySet): Promise<string | undefined> {
  const document = searchDocument(set);
  const name = searchIndexName(set);
  if (!document || !name) return undefined;
  await client.query(
    `CREATE INDEX IF NOT EXISTS ${quoteIdent(name)} ON ${qualifiedName(set.schema, set.table)} USING gin (${document})`,
  );
  return name;
}

/**
 * A trigram GIN index per named string property, so `contains`, `startswith` and `endswith` (compiled to
 * LIKE) read an index instead of scanning the table. pg_trgm is a trusted extension: the database's owner
 * can create it. Returns the index names, in the order of `properties`.
 */
export async function createContainsIndexes(
  client: pg.ClientBase,
  set: EntitySet,
  properties: readonly string[],
): Promise<string[]> {
  const chosen = properties.map((name) => {
    const property = set.properties.find((p) => p.name.toLowerCase() === name.toLowerCase());
    if (property?.type !== "Edm.String")
      throw new BitbridgeError(
        "ODATA_CONTAINS_INDEX_PROPERTY",
        `${set.name} has no string property ${name}; string properties: ${set.properties
          .filter((p) => p.type === "Edm.String")
          .map((p) => p.name)
          .join(", ")}`,
      );
    return property;
  });
  try {
    await client.query("CREATE EXTENSION IF NOT EXISTS pg_trgm");
  } catch (error) {
    throw new BitbridgeError(
      "ODATA_TRGM_UNAVAILABLE",
      `The contains index needs PostgreSQL's pg_trgm extension, which could not be created: ${(error as Error).message}. ` +
        "Ask the database owner to run CREATE EXTENSION pg_trgm.",
    );
  }
  const names: string[] = [];
  for (const property of chosen) {
    const expression = columnSql(property);
    const name = containsIndexName(set, property);
    await client.query(
      `CREATE INDEX IF NOT EXISTS ${quoteIdent(name)} ON ${qualifiedName(set.schema, set.table)} USING gin ((${expression}) gin_trgm_ops)`,
    );
    names.push(name);
  }
  return names;
}

/** The index names derive from what they index, so finding one by name proves it serves that expression. */
function searchIndexName(set: Indexed): string | undefined {
  const document = searchDocument(set);
  return document && `bb_search_${digest(`${set.schema}.${set.table}:${document}`)}`;
}

function containsIndexName(set: Indexed, property: EdmProperty): string {
  return `bb_trgm_${digest(`${set.schema}.${set.table}:${columnSql(property)}`)}`;
}

function digest(text: string): string {
  return createHash("sha1").update(text).digest("hex").slice(0, 10);
}

/**
 * Which of bitbridge's text indexes exist (and are valid) on the set's table, `relation` by its oid: catalogs
 * answer any role, where a lookup by name would need rights on a schema that is not shared yet.
 */
export async function findTextIndexes(
  client: pg.ClientBase,
  relation: number,
  set: Indexed,
): Promise<TextIndexes> {
  const result = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
     WHERE i.indrelid = $1 AND i.indisvalid`,
    [relation],
  );
  const names = new Set(result.rows.map((r) => r.name));
  const search = searchIndexName(set);
  return {
    search: search !== undefined && names.has(search),
    contains: new Set(set.properties.filter((p) => names.has(containsIndexName(set, p))).map((p) => p.name)),
  };
}
