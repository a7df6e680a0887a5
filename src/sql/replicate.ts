import { closest } from "../app/closest.js";
import { convertName, type NamingPolicy } from "../destination/postgres/naming.js";
import { type CatalogTable, findColumn } from "../source/catalog.js";
import type { ColumnType } from "../source/table.js";
import type { ColumnRef, Expr, Identifier, SelectStatement, Span, TableRef } from "./ast.js";
import { type BoundQuery, bindSelect, SqlBindError, walk } from "./bind.js";
import { SqlParser } from "./parser.js";
import { quoteIdentifier, toSql } from "./printer.js";
import {
  formatReplicateOption,
  parseReplicateOptions,
  type ReplicateOptionSetting,
  type ReplicateOptions,
  resolveReplicateOptions,
} from "./replicate-options.js";
import { positionAt } from "./syntax-error.js";

export * from "./replicate-options.js";

/**
 * REPLICATE, the statement behind each task of a replication job:
 *
 *     REPLICATE [Issues]                                            -- every column of Issues into issues
 *     REPLICATE [Issues] SELECT [Title], [ContentRaw] FROM [Issues] WHERE [Id] = 1
 *     REPLICATE [OpenPrs] SELECT Id, Title AS PrTitle FROM PullRequests WHERE State = 'OPEN'
 *     REPLICATE [Prs] FROM [PullRequests]                           -- every column, another name
 *     ... WITH BatchSize=1000, DeletePolicy='hard', IncrementalCheckColumn='UpdatedOn'
 *
 * Parsing checks the grammar and the option values; `bindReplicate` checks the statement against the
 * catalog and works out the destination columns. Spans are offsets into the text that was parsed (the
 * whole script for `parseReplicateScript`), so errors report lines and columns of that text.
 */
export interface ReplicateStatement {
  readonly kind: "replicate";
  /** The destination table as written (the naming policy and TableNamePrefix apply when binding). */
  readonly destination: Identifier;
  /** The query; `SELECT * FROM <table>` synthesised for `REPLICATE T` and `REPLICATE T FROM S`. */
  readonly select: SelectStatement;
  /** True when no SELECT was written. */
  readonly implicitSelect: boolean;
  /** Typed options with defaults applied. */
  readonly options: ReplicateOptions;
  /** The options as written, in order (what `formatReplicate` prints). */
  readonly settings: readonly ReplicateOptionSetting[];
  readonly span: Span;
}

const RESERVED = ["REPLICATE"];

/** One REPLICATE statement, optionally followed by `;`. Throws SqlSyntaxError. */
export function parseReplicate(sql: string): ReplicateStatement {
  const parser = new SqlParser(sql, { reservedWords: RESERVED });
  const first = parser.tokens.peek();
  if (first.kind === "eof" || (parser.tokens.isSymbol(";") && parser.tokens.peek(1).kind === "eof")) {
    throw parser.spanError(first, "Empty statement: expected REPLICATE");
  }
  const { statement, following } = parseOne(parser);
  parser.expectEnd(following);
  return statement;
}

/**
 * REPLICATE statements separated by `;` (empty statements and comments are fine; an empty script gives
 * none). Each statement's spans are offsets into the whole script. Throws SqlSyntaxError at the first error.
 */
export function parseReplicateScript(sql: string): ReplicateStatement[] {
  const parser = new SqlParser(sql, { reservedWords: RESERVED });
  const statements: ReplicateStatement[] = [];
  for (;;) {
    while (parser.tokens.acceptSymbol(";")) {
      // empty statement
    }
    if (parser.tokens.atEnd()) return statements;
    const { statement, following } = parseOne(parser);
    statements.push(statement);
    if (parser.tokens.atEnd()) return statements;
    if (!parser.tokens.isSymbol(";")) {
      if (parser.tokens.isKeyword("REPLICATE")) {
        throw parser.tokenError(parser.tokens.peek(), "Expected ';' before the next statement", {
          hint: "End each REPLICATE statement with ;",
        });
      }
      throw parser.expected("';' or the end of the script", following);
    }
  }
}

function parseOne(parser: SqlParser): { statement: ReplicateStatement; following: readonly string[] } {
  const t = parser.tokens;
  if (!t.isKeyword("REPLICATE")) {
    throw parser.expected("REPLICATE", ["REPLICATE"], "Each task is one REPLICATE statement");
  }
  const keyword = t.next();
  const destination = parser.parseIdentifier("a destination table name after REPLICATE");
  if (t.isSymbol(".")) {
    throw parser.tokenError(t.peek(), "The destination table is one name", {
      hint: "Choose the PostgreSQL schema with WITH DestinationSchema='name'",
    });
  }
  let select: SelectStatement;
  let implicitSelect = false;
  let following: readonly string[];
  if (t.isKeyword("SELECT")) {
    select = parser.parseSelect();
    const limit = select.limit ?? select.offset;
    if (limit !== undefined) {
      throw parser.spanError(limit.span, "LIMIT, TOP and OFFSET are not allowed in REPLICATE", {
        hint: "A replication copies every row the WHERE clause selects",
      });
    }
    following = [...parser.keywordsAfterSelect(), "WITH"];
  } else if (t.acceptKeyword("FROM")) {
    select = selectAll(parser.parseTableRef());
    implicitSelect = true;
    following = ["WITH"];
  } else if (t.isKeyword("WITH") || t.isSymbol(";") || t.atEnd()) {
    const from: TableRef = {
      kind: "table",
      name: destination.name,
      quoted: destination.quoted,
      span: destination.span,
    };
    select = selectAll(from);
    implicitSelect = true;
    following = ["SELECT", "FROM", "WITH"];
  } else if (t.isKeyword("REPLICATE")) {
    throw parser.tokenError(t.peek(), "Expected ';' before the next statement", {
      hint: "End each REPLICATE statement with ;",
    });
  } else {
    throw parser.expected("SELECT, FROM, WITH or the end of the statement after the destination table", [
      "SELECT",
      "FROM",
      "WITH",
    ]);
  }
  let settings: readonly ReplicateOptionSetting[] = [];
  if (t.acceptKeyword("WITH")) {
    settings = parseReplicateOptions(parser);
    following = [];
  }
  const end = t.previous()?.end ?? keyword.end;
  return {
    statement: {
      kind: "replicate",
      destination,
      select,
      implicitSelect,
      options: resolveReplicateOptions(settings),
      settings,
      span: { start: keyword.start, end },
    },
    following,
  };
}

function selectAll(from: TableRef): SelectStatement {
  return {
    kind: "select",
    distinct: false,
    columns: [{ kind: "allColumns", span: from.span }],
    from,
    where: undefined,
    groupBy: [],
    having: undefined,
    orderBy: [],
    limit: undefined,
    offset: undefined,
    span: from.span,
  };
}

// ---- Printing ------------------------------------------------------------------------------------

/**
 * Canonical text that parses back to the same statement (apart from spans and option spelling):
 * `REPLICATE Dest [SELECT ... | FROM Src] [WITH Name=value, ...]`, options in the order written.
 */
export function formatReplicate(statement: ReplicateStatement): string {
  const parts = [`REPLICATE ${quoteIdentifier(statement.destination.name, statement.destination.quoted)}`];
  const from = statement.select.from;
  if (!statement.implicitSelect) {
    parts.push(toSql(statement.select));
  } else if (
    from.schema !== undefined ||
    from.alias !== undefined ||
    from.name !== statement.destination.name ||
    from.quoted !== statement.destination.quoted
  ) {
    const schema = from.schema ? `${quoteIdentifier(from.schema.name, from.schema.quoted)}.` : "";
    const alias = from.alias ? ` AS ${quoteIdentifier(from.alias.name, from.alias.quoted)}` : "";
    parts.push(`FROM ${schema}${quoteIdentifier(from.name, from.quoted)}${alias}`);
  }
  if (statement.settings.length > 0) {
    parts.push(`WITH ${statement.settings.map(formatReplicateOption).join(", ")}`);
  }
  return parts.join(" ");
}

/** Statements as a script, one per line, each ended by `;`. */
export function formatReplicateScript(statements: readonly ReplicateStatement[]): string {
  return statements.map((s) => `${formatReplicate(s)};\n`).join("");
}

// ---- Naming --------------------------------------------------------------------------------------

/** PostgreSQL truncates longer identifiers (NAMEDATALEN - 1 bytes). */
export const MAX_IDENTIFIER_BYTES = 63;

// ---- Binding -------------------------------------------------------------------------------------

export interface ReplicateColumn {
  /** The destination column's name in the statement: the alias, or the source column's catalog name. */
  readonly name: string;
  /** The PostgreSQL column name after the naming policy (`content_raw`). */
  readonly destinationName: string;
  /** The source column's catalog name when the value is a plain column, else undefined. */
  readonly sourceColumn: string | undefined;
  /** The value: a column reference or an expression for PostgreSQL to evaluate. */
  readonly expr: Expr;
  /** The catalog type of a plain column; "unknown" for expressions. */
  readonly type: ColumnType | "unknown";
  /** Where the column comes from in the statement (the alias, the column, or the `*`). */
  readonly span: Span;
}

export interface BoundReplicate {
  readonly statement: ReplicateStatement;
  readonly query: BoundQuery;
  readonly table: CatalogTable;
  /** The destination table: schema (undefined: the job's) and name after the prefix and the naming policy. */
  readonly destination: { readonly schema: string | undefined; readonly name: string };
  readonly columns: readonly ReplicateColumn[];
  /**
   * The selected column driving incremental runs: IncrementalCheckColumn, or else the table's own change
   * column when it is selected; undefined for full reloads (and always for GROUP BY or aggregates).
   */
  readonly incrementalColumn: ReplicateColumn | undefined;
  /** Destination names of the table's primary key when every key column is selected as is; else empty. */
  readonly primaryKey: readonly string[];
}

export interface BindReplicateOptions {
  readonly naming?: NamingPolicy;
  /** Another source's tables (a PostgreSQL schema) instead of the Bitbucket catalog. */
  readonly catalog?: Parameters<typeof bindSelect>[2];
}

/**
 * Checks a parsed REPLICATE against the catalog: the source table and every column exist (errors with
 * position and suggestion, from `bindSelect`), every destination column has a name (alias needed for
 * expressions), destination names are unique and usable in PostgreSQL after the naming policy, and
 * IncrementalCheckColumn is a selected datetime column. `sql` is the text the statement was parsed
 * from. Throws SqlBindError.
 */
export function bindReplicate(
  sql: string,
  statement: ReplicateStatement,
  options: BindReplicateOptions = {},
): BoundReplicate {
  const naming = options.naming ?? "snake";
  const select = statement.select;
  const query = bindSelect(sql, select, options.catalog);
  if (query.source.kind !== "api") {
    throw new SqlBindError(
      "SQL_REPLICATE_SOURCE",
      sql,
      select.from.span,
      `${query.source.table.name} is a system table; only Bitbucket tables can be replicated`,
    );
  }
  const table = query.source.table;
  rejectParameters(sql, select);

  const columns: ReplicateColumn[] = [];
  for (const item of select.columns) {
    if (item.kind === "allColumns") {
      for (const c of table.columns) {
        const ref: ColumnRef = { kind: "column", name: c.name, quoted: false, span: item.span };
        columns.push(column(c.name, c.name, ref, c.type, item.span));
      }
      continue;
    }
    const { expr, alias } = item;
    const sourceColumn = expr.kind === "column" ? query.columnOf(expr) : undefined;
    const type =
      sourceColumn === undefined ? "unknown" : (findColumn(table, sourceColumn)?.type ?? "unknown");
    if (alias !== undefined) {
      columns.push(column(alias.name, sourceColumn, expr, type, alias.span));
    } else if (sourceColumn !== undefined) {
      columns.push(column(sourceColumn, sourceColumn, expr, type, expr.span));
    } else {
      throw new SqlBindError(
        "SQL_REPLICATE_COLUMN_NAME",
        sql,
        expr.span,
        "This expression needs a destination column name (give the expression a name with AS)",
      );
    }
  }

  function column(
    name: string,
    sourceColumn: string | undefined,
    expr: Expr,
    type: ColumnType | "unknown",
    span: Span,
  ): ReplicateColumn {
    return { name, destinationName: convertName(name, naming), sourceColumn, expr, type, span };
  }

  const seen = new Map<string, ReplicateColumn>();
  for (const c of columns) {
    checkIdentifier(sql, c.span, c.name, c.destinationName, "column");
    const key = c.destinationName.toLowerCase();
    const first = seen.get(key);
    if (first !== undefined) {
      const at = lineColumn(sql, first.span.start);
      const reason =
        first.name === c.name
          ? `${c.name} is selected twice (first at ${at})`
          : `${c.name} and ${first.name} (at ${at}) both become ${c.destinationName}`;
      throw new SqlBindError(
        "SQL_REPLICATE_DUPLICATE_COLUMN",
        sql,
        c.span,
        `Duplicate destination column ${c.destinationName}: ${reason}; rename one with AS`,
      );
    }
    seen.set(key, c);
  }

  const destinationName = `${statement.options.tableNamePrefix}${convertName(statement.destination.name, naming)}`;
  checkIdentifier(sql, statement.destination.span, statement.destination.name, destinationName, "table");

  const incrementalColumn = incremental(sql, statement, query, table, columns);
  const keyColumns = query.grouped
    ? []
    : table.primaryKey.map((key) => columns.find((c) => c.sourceColumn === key && c.expr.kind === "column"));
  const primaryKey = keyColumns.every((c) => c !== undefined) ? keyColumns.map((c) => c.destinationName) : [];

  return {
    statement,
    query,
    table,
    destination: { schema: statement.options.destinationSchema, name: destinationName },
    columns,
    incrementalColumn,
    primaryKey,
  };
}

/** Parses and binds every statement of a script. */
export function bindReplicateScript(sql: string, options: BindReplicateOptions = {}): BoundReplicate[] {
  return parseReplicateScript(sql).map((statement) => bindReplicate(sql, statement, options));
}

function incremental(
  sql: string,
  statement: ReplicateStatement,
  query: BoundQuery,
  table: CatalogTable,
  columns: readonly ReplicateColumn[],
): ReplicateColumn | undefined {
  const setting = statement.settings.find((s) => s.name === "IncrementalCheckColumn");
  const selected = (name: string) => columns.find((c) => c.sourceColumn === name && c.expr.kind === "column");
  if (setting === undefined) {
    if (query.grouped) return undefined;
    const own = table.def.incremental;
    return own.kind === "updated" || own.kind === "created" ? selected(own.column) : undefined;
  }
  const span = setting.valueSpan;
  const wanted = String(setting.value);
  const catalogColumn = findColumn(table, wanted);
  if (catalogColumn === undefined) {
    throw new SqlBindError(
      "SQL_UNKNOWN_COLUMN",
      sql,
      span,
      `Unknown column ${wanted} in ${table.name} (IncrementalCheckColumn)`,
      closest(
        wanted,
        table.columns.map((c) => c.name),
      ),
    );
  }
  if (catalogColumn.type !== "datetime") {
    const datetimes = table.columns.filter((c) => c.type === "datetime").map((c) => c.name);
    const choice = datetimes.length === 0 ? `${table.name} has none` : `such as ${datetimes.join(", ")}`;
    throw new SqlBindError(
      "SQL_REPLICATE_OPTION",
      sql,
      span,
      `IncrementalCheckColumn must be a datetime column (${choice}); ${catalogColumn.name} is ${catalogColumn.type}`,
    );
  }
  if (query.grouped) {
    throw new SqlBindError(
      "SQL_REPLICATE_OPTION",
      sql,
      setting.span,
      "IncrementalCheckColumn cannot be used with GROUP BY or aggregates (their result is reloaded in full)",
    );
  }
  const column = selected(catalogColumn.name);
  if (column === undefined) {
    throw new SqlBindError(
      "SQL_REPLICATE_OPTION",
      sql,
      span,
      `IncrementalCheckColumn ${catalogColumn.name} must be selected; add it to the select list`,
    );
  }
  return column;
}

function rejectParameters(sql: string, select: SelectStatement): void {
  const exprs: Expr[] = [];
  for (const item of select.columns) if (item.kind === "selectExpr") exprs.push(item.expr);
  if (select.where) exprs.push(select.where);
  exprs.push(...select.groupBy);
  if (select.having) exprs.push(select.having);
  for (const o of select.orderBy) exprs.push(o.expr);
  for (const expr of exprs) {
    walk(expr, (node) => {
      if (node.kind === "param") {
        throw new SqlBindError(
          "SQL_REPLICATE_PARAMETER",
          sql,
          node.span,
          "Parameters are not allowed in REPLICATE (replication runs unattended); write the value",
        );
      }
      return true;
    });
  }
}

function checkIdentifier(
  sql: string,
  span: Span,
  written: string,
  name: string,
  what: "column" | "table",
): void {
  const fail = (problem: string) =>
    new SqlBindError(
      "SQL_REPLICATE_NAME",
      sql,
      span,
      `Destination ${what} name ${written} ${problem}; ${what === "column" ? "rename it with AS" : "choose another name"}`,
    );
  if (name === "") throw fail("has no letters or digits");
  if (Buffer.byteLength(name) > MAX_IDENTIFIER_BYTES) {
    throw fail(`is longer than PostgreSQL's ${MAX_IDENTIFIER_BYTES} bytes (${name})`);
  }
}

function lineColumn(sql: string, offset: number): string {
  const at = positionAt(sql, offset);
  return `line ${at.line}, column ${at.column}`;
}
