import { BitbridgeError } from "../../app/errors.js";
import type { AllColumns, Identifier, SelectItem, TableRef } from "../../sql/ast.js";
import { SqlParser } from "../../sql/parser.js";
import { quoteIdentifier, toSql } from "../../sql/printer.js";
import {
  formatReplicate,
  formatReplicateOption,
  parseReplicate,
  parseReplicateOptions,
  type ReplicateStatement,
} from "../../sql/replicate.js";
import { fieldError, sqlError } from "./errors.js";

export type OptionValue = boolean | number | string;

/**
 * A REPLICATE statement as the task editor's Columns and Query tabs edit it. Names (`target`, `table`,
 * aliases) and expressions are SQL text as the canonical statement writes them (`[Issues]`, `Title`,
 * `lower(Title)`), so quoting survives the round trip; `columns` empty means every column.
 */
export interface TaskModel {
  target: string;
  /** The source table after FROM: `[schema.]name [AS alias]`. */
  table: string;
  distinct: boolean;
  /** `*` and `t.*` are columns too (an explicit `SELECT *`). */
  columns: { expression: string; alias: string | null }[];
  where: string | null;
  groupBy: string[];
  having: string | null;
  orderBy: {
    expression: string;
    descending: boolean;
    nulls: "first" | "last" | null;
  }[];
  /** Canonical option names with their typed values. */
  options: Record<string, OptionValue>;
}

/** What `formatTaskModel` accepts: the model, with the rarely used parts optional. */
export type TaskModelInput = Omit<TaskModel, "distinct" | "having" | "orderBy"> & {
  distinct?: boolean;
  having?: string | null;
  orderBy: {
    expression: string;
    descending: boolean;
    nulls?: "first" | "last" | null;
  }[];
};

/** "REPLICATE" ends an expression in a script; the editor's pieces follow the same rule. */
const RESERVED = ["REPLICATE"];

export function taskModel(statement: ReplicateStatement): TaskModel {
  const { select } = statement;
  return {
    target: identifierText(statement.destination),
    table: tableText(select.from),
    distinct: select.distinct,
    columns: statement.implicitSelect ? [] : select.columns.map(columnModel),
    where: select.where === undefined ? null : toSql(select.where),
    groupBy: select.groupBy.map((e) => toSql(e)),
    having: select.having === undefined ? null : toSql(select.having),
    orderBy: select.orderBy.map((o) => ({
      expression: toSql(o.expr),
      descending: o.direction === "desc",
      nulls: o.nulls ?? null,
    })),
    options: Object.fromEntries(statement.settings.map((s) => [s.name, s.value])),
  };
}

/**
 * The canonical REPLICATE text of a model. Each piece is parsed on its own first, so an error names the
 * request field it is in (`body.where`, `body.columns.2.expression`, `body.options.BatchSize`) with a line
 * and column inside that piece, and no piece can spill into the next clause.
 */
export function formatTaskModel(model: TaskModelInput): string {
  const target = piece(model.target, "body.target", (p) => identifierText(p.parseIdentifier("a table name")));
  const table = piece(model.table, "body.table", (p) => tableText(p.parseTableRef()));
  const columns = model.columns.map((c, i) => {
    const field = `body.columns.${i}`;
    const column = columnText(c.expression, `${field}.expression`);
    if (c.alias === null) return column.text;
    if (column.star) throw fieldError(`${field}.alias`, "* takes no alias; remove it");
    const alias = piece(c.alias, `${field}.alias`, (p) => identifierText(p.parseIdentifier("an alias")));
    return `${column.text} AS ${alias}`;
  });
  const expression = (text: string, field: string) =>
    piece(text, field, (p) => toSql(p.parseStandaloneExpression()));
  const where = model.where === null ? undefined : expression(model.where, "body.where");
  const groupBy = model.groupBy.map((e, i) => expression(e, `body.groupBy.${i}`));
  const having =
    model.having === null || model.having === undefined ? undefined : expression(model.having, "body.having");
  const orderBy = model.orderBy.map((o, i) => {
    const nulls = o.nulls ? ` NULLS ${o.nulls.toUpperCase()}` : "";
    return `${expression(o.expression, `body.orderBy.${i}.expression`)}${o.descending ? " DESC" : ""}${nulls}`;
  });
  const distinct = model.distinct === true;

  const parts = [`REPLICATE ${target}`];
  if (
    columns.length === 0 &&
    !distinct &&
    where === undefined &&
    groupBy.length === 0 &&
    having === undefined &&
    orderBy.length === 0
  ) {
    parts.push(`FROM ${table}`);
  } else {
    parts.push(`SELECT ${distinct ? "DISTINCT " : ""}${columns.length === 0 ? "*" : columns.join(", ")}`);
    parts.push(`FROM ${table}`);
    if (where !== undefined) parts.push(`WHERE ${where}`);
    if (groupBy.length > 0) parts.push(`GROUP BY ${groupBy.join(", ")}`);
    if (having !== undefined) parts.push(`HAVING ${having}`);
    if (orderBy.length > 0) parts.push(`ORDER BY ${orderBy.join(", ")}`);
  }
  const options = optionsText(model.options);
  if (options !== "") parts.push(`WITH ${options}`);
  const text = parts.join(" ");
  try {
    return formatReplicate(parseReplicate(text));
  } catch (error) {
    throw sqlError(text, error);
  }
}

/** Parses `text` alone with `parse`, which must read all of it; errors point into `text` and name `field`. */
function piece<T>(text: string, field: string | undefined, parse: (parser: SqlParser) => T): T {
  try {
    const parser = new SqlParser(text, { reservedWords: RESERVED });
    const value = parse(parser);
    if (!parser.tokens.atEnd()) throw parser.expected("the end of the text");
    return value;
  } catch (error) {
    throw sqlError(text, error, field);
  }
}

/** A select-list entry: an expression, or `*` / `t.*` / `s.t.*`. */
function columnText(text: string, field: string): { text: string; star: boolean } {
  return piece(text, field, (parser) => {
    const t = parser.tokens;
    let ahead = 0;
    while (parser.isName(t.peek(ahead)) && t.isSymbol(".", ahead + 1)) ahead += 2;
    if (!t.isSymbol("*", ahead)) return { text: toSql(parser.parseStandaloneExpression()), star: false };
    const qualifiers: Identifier[] = [];
    while (!t.isSymbol("*")) {
      qualifiers.push(parser.parseIdentifier("a table name"));
      t.next();
    }
    const star = t.next();
    if (qualifiers.length > 2) {
      throw parser.spanError({ start: 0, end: star.end }, "Write *, table.* or schema.table.*");
    }
    return { text: [...qualifiers.map(identifierText), "*"].join("."), star: true };
  });
}

/**
 * The options as canonical `Name=value` text. Strings of digits are written as numbers, so a form field's
 * "1000" sets BatchSize; every other string is a string literal (which also reads as true/false).
 */
function optionsText(options: Record<string, OptionValue>): string {
  const entries = Object.entries(options);
  if (entries.length === 0) return "";
  const ranges: { name: string; start: number; end: number }[] = [];
  let text = "";
  for (const [name, value] of entries) {
    if (text !== "") text += ", ";
    const written =
      typeof value === "string" && !/^\d+$/.test(value) ? `'${value.replaceAll("'", "''")}'` : String(value);
    ranges.push({ name, start: text.length, end: text.length + name.length + 1 + written.length });
    text += `${name}=${written}`;
  }
  try {
    const parser = new SqlParser(text, { reservedWords: RESERVED });
    const settings = parseReplicateOptions(parser);
    if (!parser.tokens.atEnd()) throw parser.expected("',' or the end of the options");
    return settings.map(formatReplicateOption).join(", ");
  } catch (error) {
    const offset = error instanceof BitbridgeError ? error.details.offset : undefined;
    const at = ranges.find((r) => typeof offset === "number" && offset >= r.start && offset < r.end);
    throw sqlError(text, error, at ? `body.options.${at.name}` : "body.options");
  }
}

function columnModel(item: SelectItem): TaskModel["columns"][number] {
  if (item.kind === "allColumns") return { expression: starText(item), alias: null };
  return {
    expression: toSql(item.expr),
    alias: item.alias === undefined ? null : identifierText(item.alias),
  };
}

function starText(item: AllColumns): string {
  return [item.schema, item.table]
    .filter((part) => part !== undefined)
    .map((part) => `${identifierText(part)}.`)
    .concat("*")
    .join("");
}

function tableText(table: TableRef): string {
  const schema = table.schema ? `${identifierText(table.schema)}.` : "";
  const alias = table.alias ? ` AS ${identifierText(table.alias)}` : "";
  return `${schema}${quoteIdentifier(table.name, table.quoted)}${alias}`;
}

function identifierText(identifier: Identifier): string {
  return quoteIdentifier(identifier.name, identifier.quoted);
}
