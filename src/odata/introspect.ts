/**
 * Entity sets from the PostgreSQL catalog: a shared table, view or materialized view becomes an entity type with
 * one property per column (attnum order), typed by `edm-types.ts` and named by `names.ts`.
 *
 * Keys follow Heroku External Objects: a table's primary key; for views, materialized views and tables without
 * one, the column named `id` (any case; an exact `id` wins).
 */
import type pg from "pg";
import { BitbridgeError } from "../app/errors.js";
import { DELETED_AT_COLUMN, qualifiedName, quoteIdent } from "../destination/postgres/naming.js";
import { CHANGE_TRIGGER } from "./change-versions.js";
import {
  declaredTextLength,
  edmTypeOf,
  isTextLike,
  lengthForLongest,
  type PgTypeInfo,
  SHORT_TEXT_LENGTH,
} from "./edm-types.js";
import type { EdmProperty, EdmType, EntitySet } from "./model.js";
import { assertEntitySetName, MAX_ENTITY_SET_NAME, odataName, propertyNames } from "./names.js";
import { findTextIndexes } from "./search-index.js";

export const IntrospectErrorCode = {
  notFound: "ODATA_RELATION_NOT_FOUND",
  notShareable: "ODATA_NOT_SHAREABLE",
  noKey: "ODATA_NO_KEY",
  invalidKey: "ODATA_INVALID_KEY",
} as const;

export interface ShareSpec {
  readonly schema: string;
  readonly table: string;
  /** Entity set name; default: derived from the table name. */
  readonly name?: string;
  /** Per column name, the MaxLength `chooseMaxLengths` picked when the relation was shared. */
  readonly maxLengths?: Readonly<Record<string, number>>;
}

/** CSDL allows no other primitive types in a key (Binary, Single and Double are the ones we could produce). */
const KEY_TYPES: ReadonlySet<EdmType> = new Set<EdmType>([
  "Edm.String",
  "Edm.Boolean",
  "Edm.Int16",
  "Edm.Int32",
  "Edm.Int64",
  "Edm.Decimal",
  "Edm.Date",
  "Edm.DateTimeOffset",
  "Edm.Guid",
]);

const RELKINDS: Readonly<Record<string, EntitySet["relkind"]>> = {
  r: "table",
  p: "table",
  f: "table",
  v: "view",
  m: "materialized view",
};

interface Relation {
  readonly oid: number;
  readonly relkind: EntitySet["relkind"];
  readonly tracksChanges: boolean;
  readonly description?: string;
  readonly columns: readonly Column[];
}

interface Column {
  readonly name: string;
  readonly pgType: string;
  readonly type: PgTypeInfo;
  readonly notNull: boolean;
  /** 1-based position in the primary key. */
  readonly keyPosition: number | null;
  readonly description?: string;
}

/** The entity set publishing `share.schema.share.table`. */
export async function describeEntitySet(client: pg.ClientBase, share: ShareSpec): Promise<EntitySet> {
  const { schema, table } = share;
  const name =
    share.name === undefined ? odataName(table, MAX_ENTITY_SET_NAME) : assertEntitySetName(share.name);
  const relation = await readRelation(client, schema, table);
  const names = propertyNames(relation.columns.map((column) => column.name));
  const keyColumns = keyColumnsOf(relation, schema, table);

  const properties = relation.columns.map((column, index): EdmProperty => {
    const isKey = keyColumns.includes(column);
    const mapping = edmTypeOf(column.type, share.maxLengths?.[column.name]);
    return {
      name: names[index] as string,
      column: column.name,
      pgType: column.pgType,
      ...mapping,
      nullable: !isKey && !column.notNull,
      ...(column.description === undefined ? {} : { description: column.description }),
    };
  });
  const key = keyColumns.map((column) => properties[relation.columns.indexOf(column)] as EdmProperty);
  for (const property of key) {
    if (!KEY_TYPES.has(property.type))
      throw new BitbridgeError(
        IntrospectErrorCode.invalidKey,
        `${schema}.${table} cannot be shared: its key column ${property.column} (${property.pgType}) maps to ${property.type}, which OData does not allow in keys`,
        { schema, table, column: property.column, type: property.pgType },
      );
  }

  const hidesDeleted = relation.columns.some((column) => column.name === DELETED_AT_COLUMN);
  const set = {
    name,
    schema,
    table,
    relkind: relation.relkind,
    key: key.map((property) => property.name),
    // Rows with bb_deleted_at set are never served, so the column would always read null: not published.
    properties: hidesDeleted ? properties.filter((p) => p.column !== DELETED_AT_COLUMN) : properties,
    hidesDeleted,
    tracksChanges: relation.tracksChanges,
    ...(relation.description === undefined ? {} : { description: relation.description }),
  };
  return { ...set, textIndexes: await findTextIndexes(client, relation.oid, set) };
}

/**
 * MaxLengths for the text columns of unbounded (or longer than 255) type, measured once when the relation is
 * shared and stored with the share, so that `$metadata`, and the Salesforce fields synced from it, stay the same
 * as rows come and go: 255 (Salesforce Text, filterable) when no value is longer, else 131072 (LongTextArea).
 * A column without values gets 131072, since nothing bounds what will arrive. Soft-deleted rows are measured
 * too: they come back when the source restores them. One sequential scan of the relation.
 */
export async function chooseMaxLengths(
  client: pg.ClientBase,
  schema: string,
  table: string,
): Promise<Record<string, number>> {
  const relation = await readRelation(client, schema, table);
  const measured = relation.columns.filter((column) => {
    if (!isTextLike(column.type)) return false;
    const declared = declaredTextLength(column.type);
    return declared === undefined || declared > SHORT_TEXT_LENGTH;
  });
  if (measured.length === 0) return {};
  const selects = measured.map(
    (column, index) => `max(char_length(${quoteIdent(column.name)})) AS m${index}`,
  );
  const result = await client.query<Record<string, number | null>>(
    `SELECT ${selects.join(", ")} FROM ${qualifiedName(schema, table)}`,
  );
  const row = result.rows[0] ?? {};
  return Object.fromEntries(
    measured.map((column, index) => [column.name, lengthForLongest(row[`m${index}`] ?? null)]),
  );
}

function keyColumnsOf(relation: Relation, schema: string, table: string): Column[] {
  const primary = relation.columns
    .filter((column) => column.keyPosition !== null)
    .sort((a, b) => (a.keyPosition as number) - (b.keyPosition as number));
  if (relation.relkind === "table" && primary.length > 0) return primary;
  const id =
    relation.columns.find((column) => column.name === "id") ??
    relation.columns.find((column) => column.name.toLowerCase() === "id");
  if (id !== undefined) return [id];
  const what = relation.relkind === "table" ? "table without a primary key" : relation.relkind;
  throw new BitbridgeError(
    IntrospectErrorCode.noKey,
    `${schema}.${table} cannot be shared: it is a ${what} and has no column named id; views need a unique id column; tables need a primary key`,
    { schema, table, relkind: relation.relkind },
  );
}

interface RelationRow {
  oid: number;
  relkind: string;
  description: string | null;
  tracked: boolean;
}

interface ColumnRow {
  attname: string;
  pg_type: string;
  not_null: boolean;
  description: string | null;
  key_position: number | null;
  typname: string;
  type_schema: string;
  typtype: string;
  is_array: boolean;
  typmod: number;
}

// Domains are unwrapped to their base type (a domain over a domain too); the innermost type modifier is the
// one that applies, and a NOT NULL anywhere in the chain makes the column non-nullable.
const COLUMNS_SQL = `
WITH RECURSIVE chain AS (
  SELECT a.attnum, a.atttypid AS typid, a.atttypmod AS typmod, a.attnotnull AS not_null, 0 AS depth
  FROM pg_attribute a
  WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT c.attnum, t.typbasetype, t.typtypmod, c.not_null OR t.typnotnull, c.depth + 1
  FROM chain c JOIN pg_type t ON t.oid = c.typid
  WHERE t.typtype = 'd'
), base AS (
  SELECT DISTINCT ON (attnum) attnum, typid, typmod, not_null
  FROM chain
  ORDER BY attnum, depth DESC
)
SELECT a.attname,
       format_type(a.atttypid, a.atttypmod) AS pg_type,
       b.not_null,
       col_description(a.attrelid, a.attnum) AS description,
       (SELECT k.position::int
          FROM pg_index i, unnest(i.indkey) WITH ORDINALITY AS k(attnum, position)
         WHERE i.indrelid = a.attrelid AND i.indisprimary AND k.attnum = a.attnum) AS key_position,
       t.typname,
       tn.nspname AS type_schema,
       t.typtype::text AS typtype,
       t.typcategory = 'A' AS is_array,
       b.typmod
FROM pg_attribute a
JOIN base b ON b.attnum = a.attnum
JOIN pg_type t ON t.oid = b.typid
JOIN pg_namespace tn ON tn.oid = t.typnamespace
WHERE a.attrelid = $1
ORDER BY a.attnum`;

async function readRelation(client: pg.ClientBase, schema: string, table: string): Promise<Relation> {
  const found = await client.query<RelationRow>(
    `SELECT c.oid, c.relkind::text AS relkind, obj_description(c.oid, 'pg_class') AS description,
            EXISTS (SELECT FROM pg_trigger t
                    WHERE t.tgrelid = c.oid AND t.tgname = $3 AND t.tgenabled = 'A') AS tracked
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2`,
    [schema, table, CHANGE_TRIGGER],
  );
  const row = found.rows[0];
  if (row === undefined)
    throw new BitbridgeError(
      IntrospectErrorCode.notFound,
      `no table or view ${schema}.${table} exists (names are case-sensitive)`,
      { schema, table },
      404,
    );
  const relkind = RELKINDS[row.relkind];
  if (relkind === undefined)
    throw new BitbridgeError(
      IntrospectErrorCode.notShareable,
      `${schema}.${table} cannot be shared: only tables, views and materialized views can`,
      { schema, table, relkind: row.relkind },
    );
  const columns = await client.query<ColumnRow>(COLUMNS_SQL, [row.oid]);
  return {
    oid: row.oid,
    relkind,
    tracksChanges: row.tracked,
    ...described(row.description),
    columns: columns.rows.map(
      (column): Column => ({
        name: column.attname,
        pgType: column.pg_type,
        type: {
          name: column.typname,
          namespace: column.type_schema,
          typtype: column.typtype,
          isArray: column.is_array,
          typmod: column.typmod,
        },
        notNull: column.not_null,
        keyPosition: column.key_position,
        ...described(column.description),
      }),
    ),
  };
}

/** Comments that are blank publish no description. */
function described(comment: string | null): { description?: string } {
  const text = comment?.trim();
  return text ? { description: text } : {};
}
