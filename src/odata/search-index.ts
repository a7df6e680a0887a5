import { createHash } from "node:crypto";
import type pg from "pg";
import { qualifiedName, quoteIdent } from "../destination/postgres/naming.js";
import { searchDocument } from "./compile.js";
import type { EntitySet } from "./model.js";

/**
 * A GIN index on exactly the document `$search` queries (see `searchDocument`), so a search reads the
 * index instead of building every row's text vector. Returns the index name, or undefined when the set
 * has no text properties. Needs a connection allowed to create indexes on the table.
 */
export async function createSearchIndex(client: pg.ClientBase, set: EntitySet): Promise<string | undefined> {
  const document = searchDocument(set);
  if (!document) return undefined;
  const digest = createHash("sha1")
    .update(`${set.schema}.${set.table}:${document}`)
    .digest("hex")
    .slice(0, 10);
  const name = `bb_search_${digest}`;
  await client.query(
    `CREATE INDEX IF NOT EXISTS ${quoteIdent(name)} ON ${qualifiedName(set.schema, set.table)} USING gin (${document})`,
  );
  return name;
}
