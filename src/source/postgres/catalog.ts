import type pg from "pg";
import { BitbridgeError } from "../../app/errors.js";
import type { CatalogColumn, CatalogTable } from "../catalog.js";
import type { ColumnType } from "../table.js";

/**
 * A PostgreSQL schema as a bitbridge catalog: every table, view and materialized view with its columns,
 * shaped like the Bitbucket catalog so the binder, the row builder and the loader work unchanged. Rows
 * are plain objects keyed by column name, so each column's accessor reads one property.
 */
export interface PostgresColumn extends CatalogColumn {
  /** The type as PostgreSQL names it (the base type of a domain). */
  readonly pgType: string;
}

export type RelationKind = "table" | "view" | "materialized view" | "foreign table";

export interface PostgresTable extends CatalogTable {
  readonly columns: readonly PostgresColumn[];
  readonly relation: RelationKind;
  /** Whether the connected user may SELECT from it. */
  readonly readable: boolean;
}

export interface PostgresCatalog {
  /** The source schema, as PostgreSQL spells it. */
  readonly schema: string;
  readonly tables: readonly PostgresTable[];
}

const RELATIONS: Readonly<Record<string, RelationKind>> = {
  r: "table",
  p: "table",
  v: "view",
  m: "materialized view",
  f: "foreign table",
};

const TYPES: Readonly<Record<string, ColumnType>> = {
  int2: "integer",
  int4: "integer",
  int8: "bigint",
  numeric: "decimal",
  float4: "decimal",
  float8: "decimal",
  bool: "boolean",
  timestamptz: "datetime",
  timestamp: "datetime",
  date: "datetime",
  json: "json",
  jsonb: "json",
};

/** Arrays, uuid, text, intervals, enums...: read as their text form. */
export function columnType(pgType: string, category: string): ColumnType {
  if (category === "A") return "string";
  return TYPES[pgType] ?? "string";
}

interface RelationRow {
  oid: number;
  name: string;
  relkind: string;
  description: string | null;
  readable: boolean;
  key: string[] | null;
}

interface ColumnRow {
  relid: number;
  name: string;
  type: string;
  category: string;
  description: string | null;
}

/** Reads the schema's relations from pg_catalog (in the caller's transaction, so the read sees the same snapshot). */
export async function introspectSchema(client: pg.ClientBase, schema: string): Promise<PostgresCatalog> {
  const found = await client.query<{ usable: boolean | null; db: string; usr: string }>(
    `SELECT (SELECT has_schema_privilege(n.oid, 'USAGE') FROM pg_namespace n WHERE n.nspname = $1) AS usable,
            current_database() AS db, current_user AS usr`,
    [schema],
  );
  const info = found.rows[0];
  if (info?.usable === null || info?.usable === undefined) {
    throw new BitbridgeError(
      "SOURCE_SCHEMA_NOT_FOUND",
      `Schema ${schema} does not exist in the source database ${info?.db ?? ""}; set the source's Schema property.`,
      { property: "Schema" },
    );
  }
  if (!info.usable) {
    throw new BitbridgeError(
      "SOURCE_PRIVILEGE",
      `User ${info.usr} may not use schema ${schema} of the source database ${info.db} (GRANT USAGE ON SCHEMA ${schema} TO ${info.usr}).`,
      { property: "Schema" },
      403,
    );
  }
  const relations = await client.query<RelationRow>(
    `SELECT c.oid::integer AS oid, c.relname AS name, c.relkind::text AS relkind,
            obj_description(c.oid, 'pg_class') AS description,
            has_table_privilege(c.oid, 'SELECT') AS readable,
            (SELECT array_agg(a.attname::text ORDER BY k.ord)
               FROM pg_constraint con
               CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
              WHERE con.conrelid = c.oid AND con.contype = 'p') AS key
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition
      ORDER BY c.relname`,
    [schema],
  );
  const columns = await client.query<ColumnRow>(
    `SELECT a.attrelid::integer AS relid, a.attname AS name, t.typname AS type, t.typcategory AS category,
            col_description(a.attrelid, a.attnum) AS description
       FROM pg_attribute a
       JOIN pg_type declared ON declared.oid = a.atttypid
       JOIN pg_type t ON t.oid = CASE WHEN declared.typtype = 'd' THEN declared.typbasetype ELSE declared.oid END
      WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attrelid, a.attnum`,
    [relations.rows.map((r) => r.oid)],
  );
  const byRelation = new Map<number, ColumnRow[]>();
  for (const c of columns.rows) byRelation.set(c.relid, [...(byRelation.get(c.relid) ?? []), c]);
  return {
    schema,
    tables: relations.rows.map((r) => table(r, byRelation.get(r.oid) ?? [])),
  };
}

function table(row: RelationRow, rows: readonly ColumnRow[]): PostgresTable {
  const relation = RELATIONS[row.relkind] ?? "table";
  const primaryKey = row.key ?? viewKey(relation, rows);
  const columns = rows.map(
    (c, i): PostgresColumn => ({
      name: c.name,
      type: columnType(c.type, c.category),
      pgType: c.type,
      description: c.description ?? "",
      ordinal: i + 1,
      isKey: primaryKey.includes(c.name),
      field: c.name,
      reads: [c.name],
      filterable: false,
      sortable: false,
      get: (item) => (item as Record<string, unknown>)[c.name],
    }),
  );
  const description = row.description ?? `The ${relation} ${row.name} of the source schema.`;
  return {
    name: row.name,
    // The Bitbucket schema label: unused here, qualifiers are checked against the source schema.
    schema: "Information",
    description,
    columns,
    primaryKey,
    relation,
    readable: row.readable,
    def: {
      name: row.name,
      schema: "Information",
      description,
      level: { kind: "account" },
      path: "",
      pagination: "page",
      maxPageLength: 0,
      bbql: false,
      primaryKey,
      incremental: { kind: "full", reason: "IncrementalCheckColumn chooses the column" },
      columns: [],
    },
  };
}

/** Views carry no constraints: a column named id is taken as their key, as OData exposure expects. */
function viewKey(relation: RelationKind, rows: readonly ColumnRow[]): string[] {
  if (relation === "table") return [];
  const id = rows.find((c) => c.name.toLowerCase() === "id");
  return id ? [id.name] : [];
}
