/**
 * The entity data model the service publishes: one entity set per shared table or view, its
 * properties typed with what Salesforce Connect accepts (see shared/odata/SALESFORCE-CONNECT.md §4).
 */

export type EdmType =
  | "Edm.String"
  | "Edm.Boolean"
  | "Edm.Int16"
  | "Edm.Int32"
  | "Edm.Int64"
  | "Edm.Decimal"
  | "Edm.Single"
  | "Edm.Double"
  | "Edm.Date"
  | "Edm.DateTimeOffset"
  | "Edm.Guid"
  | "Edm.Binary";

/** How a column's value is written out: PostgreSQL types without an Edm twin travel as text. */
export type ValueKind =
  | "text"
  | "json"
  | "boolean"
  | "integer"
  | "bigint"
  | "decimal"
  | "double"
  | "date"
  | "timestamp"
  | "uuid"
  | "bytes";

export interface EdmProperty {
  /** OData name: a letter first, letters, digits and single underscores; stable for a given column name. */
  readonly name: string;
  /** PostgreSQL column name. */
  readonly column: string;
  /** `format_type` of the column (`character varying(40)`, `timestamp with time zone`). */
  readonly pgType: string;
  readonly type: EdmType;
  readonly kind: ValueKind;
  readonly nullable: boolean;
  readonly maxLength?: number;
  readonly precision?: number;
  readonly scale?: number | "variable";
  /** Text-like: `$search` and `contains` look here. */
  readonly searchable: boolean;
  /** From the column's COMMENT. */
  readonly description?: string;
}

export interface EntitySet {
  /** Entity set name (also the entity type's name). */
  readonly name: string;
  readonly schema: string;
  readonly table: string;
  readonly relkind: "table" | "view" | "materialized view";
  /** Property names of the key, in order. */
  readonly key: readonly string[];
  readonly properties: readonly EdmProperty[];
  /** Rows with `bb_deleted_at` set are hidden (bitbridge's soft deletes). */
  readonly hidesDeleted: boolean;
  /** The table has bitbridge's change-version trigger: counts are cached until it changes. */
  readonly tracksChanges: boolean;
  /** bitbridge's `$search` and `contains` indexes on the table. */
  readonly textIndexes: TextIndexes;
  readonly description?: string;
}

export interface TextIndexes {
  /** The `$search` document is indexed. */
  readonly search: boolean;
  /** Properties with a trigram index (`contains`, `startswith`, `endswith`). */
  readonly contains: ReadonlySet<string>;
}

export interface EdmModel {
  /** Schema namespace, e.g. `bitbridge`. */
  readonly namespace: string;
  /** Entity container name, e.g. `Container`. */
  readonly container: string;
  readonly entitySets: readonly EntitySet[];
}
