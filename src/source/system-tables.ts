import { CATALOG, type CatalogTable } from "./catalog.js";
import type { ColumnType } from "./table.js";

/** A table answered from bitbridge's own metadata rather than the API. */
export interface SystemTable {
  readonly name: string;
  readonly schema: "System";
  readonly description: string;
  readonly columns: readonly {
    readonly name: string;
    readonly type: ColumnType;
    readonly description: string;
  }[];
  rows(): Record<string, unknown>[];
}

const SCHEMAS = [
  {
    SchemaName: "Information",
    Description: "Workspace-level tables: workspaces, projects, repositories, members.",
  },
  {
    SchemaName: "Repository",
    Description:
      "Tables read per repository (every repository of the workspace, or the one the Schema property names); rows carry WorkspaceSlug, RepositorySlug and RepositoryUuid.",
  },
  { SchemaName: "System", Description: "This catalog: schemas, tables and columns." },
];

function incremental(t: CatalogTable): string {
  const inc = t.def.incremental;
  switch (inc.kind) {
    case "updated":
      return `updated (${inc.column})`;
    case "created":
      return `append (${inc.column})`;
    case "commits":
      return "branch heads";
    case "full":
      return "full";
  }
}

export const SYSTEM_TABLES: readonly SystemTable[] = [
  {
    name: "sys_schemas",
    schema: "System",
    description: "The schemas of the catalog.",
    columns: [
      { name: "SchemaName", type: "string", description: "Schema name." },
      { name: "Description", type: "string", description: "What the schema holds." },
    ],
    rows: () => SCHEMAS.map((s) => ({ ...s })),
  },
  {
    name: "sys_tables",
    schema: "System",
    description: "Every table with its key, page size, query support and incremental strategy.",
    columns: [
      { name: "SchemaName", type: "string", description: "Schema of the table." },
      { name: "TableName", type: "string", description: "Table name." },
      { name: "Description", type: "string", description: "What the table holds." },
      { name: "PrimaryKey", type: "string", description: "Key columns, comma-separated." },
      { name: "Endpoint", type: "string", description: "The API list endpoint." },
      {
        name: "PageSize",
        type: "integer",
        description: "Largest page size the endpoint allows (always used).",
      },
      {
        name: "SupportsBbql",
        type: "boolean",
        description: "Filters and sorts can be pushed into q= and sort=.",
      },
      { name: "Incremental", type: "string", description: "How replication finds changes." },
      {
        name: "IsRetired",
        type: "boolean",
        description: "Retired by Bitbucket (answers 410 on the real service).",
      },
    ],
    rows: () => [
      ...CATALOG.map((t) => ({
        SchemaName: t.schema,
        TableName: t.name,
        Description: t.description,
        PrimaryKey: t.primaryKey.join(", "),
        Endpoint: t.def.path,
        PageSize: t.def.maxPageLength,
        SupportsBbql: t.def.bbql,
        Incremental: incremental(t),
        IsRetired: t.def.retired !== undefined,
      })),
      ...SYSTEM_TABLES.map((t) => ({
        SchemaName: "System",
        TableName: t.name,
        Description: t.description,
        PrimaryKey: "",
        Endpoint: null,
        PageSize: null,
        SupportsBbql: false,
        Incremental: "full",
        IsRetired: false,
      })),
    ],
  },
  {
    name: "sys_tablecolumns",
    schema: "System",
    description: "Every column of every table.",
    columns: [
      { name: "SchemaName", type: "string", description: "Schema of the table." },
      { name: "TableName", type: "string", description: "Table name." },
      { name: "ColumnName", type: "string", description: "Column name." },
      { name: "Ordinal", type: "integer", description: "Position in the table, from 1." },
      {
        name: "DataType",
        type: "string",
        description: "string, integer, bigint, boolean, datetime, decimal or json.",
      },
      { name: "Description", type: "string", description: "What the column holds." },
      { name: "IsKey", type: "boolean", description: "Part of the primary key." },
      { name: "IsFilterable", type: "boolean", description: "WHERE on it is pushed into the API's q=." },
      { name: "IsSortable", type: "boolean", description: "ORDER BY on it is pushed into the API's sort=." },
      { name: "ApiField", type: "string", description: "The API field behind the column, if one." },
    ],
    rows: () => [
      ...CATALOG.flatMap((t) =>
        t.columns.map((c) => ({
          SchemaName: t.schema,
          TableName: t.name,
          ColumnName: c.name,
          Ordinal: c.ordinal,
          DataType: c.type,
          Description: c.description,
          IsKey: c.isKey,
          IsFilterable: c.filterable,
          IsSortable: c.sortable,
          ApiField: c.field ?? null,
        })),
      ),
      ...SYSTEM_TABLES.flatMap((t) =>
        t.columns.map((c, i) => ({
          SchemaName: "System",
          TableName: t.name,
          ColumnName: c.name,
          Ordinal: i + 1,
          DataType: c.type,
          Description: c.description,
          IsKey: false,
          IsFilterable: false,
          IsSortable: false,
          ApiField: null,
        })),
      ),
    ],
  },
];
