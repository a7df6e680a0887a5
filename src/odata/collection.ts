import { createHash } from "node:crypto";
import type pg from "pg";
import { DELETED_AT_COLUMN, qualifiedName, quoteIdent } from "../destination/postgres/naming.js";
import type { KeyPredicate, ODataExpr, QueryOptions, SearchExpr } from "./ast.js";
import { versionSql } from "./change-versions.js";
import { afterSql, columnSql, ExpressionCompiler, orderBySql, SqlParams } from "./compile.js";
import { type CountCache, type CountQuery, plainCount } from "./count-cache.js";
import { badRequest, ODataError } from "./errors.js";
import { rowJsonSql } from "./json-row.js";
import type { EdmProperty, EntitySet } from "./model.js";
import type { PageToken } from "./skiptoken.js";
import type { Statements } from "./statement-lanes.js";

/** Server-driven pages never hold more rows than this (Salesforce's own batch limit). */
export const MAX_PAGE_SIZE = 2000;
/** Nor more bytes than this, well under Salesforce's 8 MB response limit. */
export const MAX_PAGE_BYTES = 4 * 1024 * 1024;

export interface PageRequest {
  readonly set: EntitySet;
  readonly options: QueryOptions;
  readonly pageSize: number;
  readonly ieee754: boolean;
  /** From a verified `$skiptoken`. */
  readonly token?: PageToken;
  /** At most how many matches are read first, then sorted (default FILTER_FIRST_MAX_ROWS). */
  readonly filterFirstMaxRows?: number;
}

export interface Page {
  /** Each entity's JSON object, as PostgreSQL wrote it. */
  readonly rows: readonly string[];
  /** Key values of each row (for `@odata.id` with full metadata). */
  readonly keys: readonly (readonly unknown[])[];
  readonly selected: readonly EdmProperty[];
  readonly count?: number;
  /** Where the next page starts, when there is one. */
  readonly next?: PageToken;
}

/** The query options as SQL: WHERE (filter, search, soft deletes) and ORDER BY, parameters shared. */
function plan(set: EntitySet, options: QueryOptions, params: SqlParams) {
  const compiler = new ExpressionCompiler(set, params);
  const where: string[] = [];
  if (set.hidesDeleted) where.push(`${quoteIdent(DELETED_AT_COLUMN)} IS NULL`);
  if (options.filter) where.push(compiler.filter(options.filter));
  if (options.search) where.push(compiler.search(options.search));
  const order = compiler.orderBy(options.orderby ?? []);
  return { compiler, where, order };
}

export function selectedProperties(set: EntitySet, options: QueryOptions): EdmProperty[] {
  const names = options.select;
  if (!names || names.includes("*")) return [...set.properties];
  const compiler = new ExpressionCompiler(set, new SqlParams(), "$select");
  const chosen = new Set(names.map((n) => compiler.property(n, "$select")));
  return set.properties.filter((p) => chosen.has(p));
}

function from(set: EntitySet): string {
  return qualifiedName(set.schema, set.table);
}

/**
 * A page whose count is at most this is read filter-first (see `pageQuery`); above it, the matches are
 * common enough that walking the sort order finds a page of them quickly.
 */
const FILTER_FIRST_MAX_ROWS = 100_000;

/** The SQL of one page (and of its count, with `$count=true`): what `readPage` runs. */
export function pageQuery(request: PageRequest) {
  const { set, options, token } = request;
  const params = new SqlParams();
  const { where, order } = plan(set, options, params);
  const countWhere = [...where];
  const countParams = params.values.length;
  if (token) where.push(afterSql(order, token.after, params));
  const sent = token?.sent ?? 0;
  const remaining = options.top === undefined ? Number.POSITIVE_INFINITY : Math.max(0, options.top - sent);
  const limit = Math.min(request.pageSize, remaining);
  const selected = selectedProperties(set, options);
  const keyColumns = set.key.map((k) => set.properties.find((p) => p.name === k) as EdmProperty);
  const offset = !token && options.skip ? ` OFFSET ${params.add(options.skip, "bigint")}` : "";
  const select = `SELECT ${selectJsonSql(set, selected, request.ieee754)} AS j,
    ${order.map((t, i) => `(${t.sql})::text AS o${i}`).join(", ")},
    ${keyColumns.map((k, i) => `${columnSql(k)} AS k${i}`).join(", ")}`;
  const filtered = `${from(set)}${where.length > 0 ? ` WHERE ${where.join(" AND ")}` : ""}`;
  const tail = `ORDER BY ${orderBySql(order)} LIMIT ${params.add(limit + 1, "bigint")}${offset}`;
  const text = `${select}\n  FROM ${filtered}\n  ${tail}`;
  // PostgreSQL walks the sort order's index when it expects matches to be spread evenly, and a search whose
  // matches cluster (one customer's name in one repository's pull requests) then reads most of the table.
  // When an index finds the matches and they are few, they are read first, then sorted: with `$count=true`
  // the count says how many; without, at most FILTER_FIRST_MAX_ROWS + 1 are read first, and a page whose
  // matches went past that is read PostgreSQL's way after all (`boundedFirst`, see `readPage`).
  const indexed = indexLed(set, options);
  const matchesFirst = (bound: string) =>
    `WITH bb_matches AS MATERIALIZED (SELECT * FROM ${filtered}${bound})\n  ${select}${bound ? ",\n    (SELECT count(*) FROM bb_matches) AS bb_found" : ""}\n  FROM bb_matches\n  ${tail}`;
  const cap = request.filterFirstMaxRows ?? FILTER_FIRST_MAX_ROWS;
  const filterFirst =
    indexed && options.count === true
      ? { statement: prepared(matchesFirst(""), params.values), cap }
      : undefined;
  const boundedFirst =
    indexed && options.count !== true
      ? {
          statement: prepared(matchesFirst(` LIMIT $${params.values.length + 1}::bigint`), [
            ...params.values,
            cap + 1,
          ]),
          cap,
          skipped: token ? 0 : (options.skip ?? 0),
        }
      : undefined;
  const count =
    options.count === true
      ? countQuery(set, countWhere, params.values.slice(0, countParams), params.timeDependent)
      : undefined;
  // The page with its table's change version read in the same statement: a remembered count at that
  // version then needs no statement of its own. Built only when a count is remembered.
  const tracked = count?.tracked;
  const pageWithVersion = tracked
    ? () =>
        prepared(
          `${select},\n    (SELECT ${versionSql(`$${params.values.length + 1}::text`)}) AS bb_v\n  FROM ${filtered}\n  ${tail}`,
          [...params.values, tracked.relation],
        )
    : undefined;
  return {
    page: prepared(text, params.values),
    pageWithVersion,
    filterFirst,
    boundedFirst,
    count,
    limit,
    sent,
    order,
    selected,
    keyColumns,
  };
}

/** Whether bitbridge's text indexes can find every row the filter and search keep. */
function indexLed(set: EntitySet, options: QueryOptions): boolean {
  const indexes = set.textIndexes;
  const served = (expr: ODataExpr): boolean => {
    if (expr.kind === "binary") {
      if (expr.op === "and") return served(expr.left) || served(expr.right);
      if (expr.op === "or") return served(expr.left) && served(expr.right);
      if (expr.op === "eq" && expr.right.kind === "literal" && expr.right.value === true)
        return served(expr.left);
      return false;
    }
    if (expr.kind !== "call" || !["contains", "startswith", "endswith"].includes(expr.name)) return false;
    const [property, needle] = expr.args;
    if (property?.kind !== "property" || needle?.kind !== "literal" || needle.type !== "string") return false;
    // Bound as the compiler binds names: the exact name first, then case-insensitively (4.01).
    const bound =
      set.properties.find((p) => p.name === property.name) ??
      set.properties.find((p) => p.name.toLowerCase() === property.name.toLowerCase());
    return bound !== undefined && indexes.contains.has(bound.name);
  };
  const searched = (expr: SearchExpr): boolean => {
    if (expr.kind === "term") return true;
    if (expr.kind === "and") return searched(expr.left) || searched(expr.right);
    if (expr.kind === "or") return searched(expr.left) && searched(expr.right);
    return false;
  };
  return (
    (options.filter !== undefined && served(options.filter)) ||
    (options.search !== undefined && indexes.search && searched(options.search))
  );
}

/** One page; with `counts`, a `$count` of a tracked table is answered from memory while the table is unchanged. */
export async function readPage(db: Statements, request: PageRequest, counts?: CountCache): Promise<Page> {
  const { options } = request;
  const query = pageQuery(request);
  const { limit, sent, order, selected, keyColumns } = query;
  const { result, counted } = await pageRows(db, query, counts);
  const rows: string[] = [];
  const keys: unknown[][] = [];
  let bytes = 0;
  let last: Record<string, unknown> | undefined;
  for (const row of result.rows.slice(0, limit)) {
    const json = row.j as string;
    if (rows.length > 0 && bytes + json.length > MAX_PAGE_BYTES) break;
    rows.push(json);
    keys.push(keyColumns.map((_, i) => row[`k${i}`]));
    bytes += json.length;
    last = row;
  }
  const more =
    result.rows.length > rows.length && sent + rows.length < (options.top ?? Number.POSITIVE_INFINITY);
  return {
    rows,
    keys,
    selected,
    count: counted,
    next:
      more && last
        ? { after: order.map((_, i) => (last?.[`o${i}`] as string | null) ?? null), sent: sent + rows.length }
        : undefined,
  };
}

/** Runs the statements that read a page's rows and count, in the cheapest order that is still exact. */
async function pageRows(
  db: Statements,
  query: ReturnType<typeof pageQuery>,
  counts: CountCache | undefined,
): Promise<{ result: { rows: Record<string, unknown>[] }; counted?: number }> {
  const { page, pageWithVersion, filterFirst, boundedFirst, count } = query;
  if (query.limit === 0)
    return { result: { rows: [] }, counted: count && (await runCount(db, count, counts)) };
  if (filterFirst && count) {
    const counted = await runCount(db, count, counts);
    return { result: await db.query(counted <= filterFirst.cap ? filterFirst.statement : page), counted };
  }
  if (boundedFirst) {
    const first = await db.query(boundedFirst.statement);
    // No row: the matches ended before $skip did, so there were at most $skip of them.
    const found = first.rows.length > 0 ? Number(first.rows[0]?.bb_found) : boundedFirst.skipped;
    return { result: found > boundedFirst.cap ? await db.query(page) : first };
  }
  const remembered = count && pageWithVersion ? counts?.remembered(count) : undefined;
  if (count && counts && pageWithVersion && remembered) {
    try {
      const result = await db.query(pageWithVersion());
      // No row to carry the version, or the table changed since: counted as any request would be.
      const same = result.rows[0]?.bb_v === remembered.version;
      return { result, counted: same ? remembered.count : await runCount(db, count, counts) };
    } catch (error) {
      if (!counts.versionsUnreadable(count, error)) throw error;
    }
  }
  const [result, counted] = await Promise.all([db.query(page), count && runCount(db, count, counts)]);
  return { result, counted };
}

/**
 * Statements by a name derived from their text: each pooled connection parses and plans a query shape
 * once, and Salesforce repeats the same few shapes with other values. Names are remembered per text, so a
 * repeated shape is not hashed again (the map is emptied when it grows past what any set of clients repeats).
 */
function prepared(text: string, values: unknown[]): pg.QueryConfig {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `odata_${createHash("sha1").update(text).digest("base64url")}`;
    if (statementNames.size >= 2000) statementNames.clear();
    statementNames.set(text, name);
  }
  return { name, text, values };
}

const statementNames = new Map<string, string>();

/**
 * The JSON object of the selected properties, as SQL; built once per entity set, selection and number
 * format (a new model after a share changes brings new sets, and the old ones' entries go with them).
 */
function selectJsonSql(set: EntitySet, selected: readonly EdmProperty[], ieee754: boolean): string {
  let bySelection = selectJsonCache.get(set);
  if (!bySelection) {
    bySelection = new Map();
    selectJsonCache.set(set, bySelection);
  }
  const key = `${ieee754 ? 1 : 0}${selected.map((p) => p.name).join(",")}`;
  let sql = bySelection.get(key);
  if (sql === undefined) {
    sql = rowJsonSql(selected, { ieee754 });
    if (bySelection.size >= 500) bySelection.clear();
    bySelection.set(key, sql);
  }
  return sql;
}

const selectJsonCache = new WeakMap<EntitySet, Map<string, string>>();

/** `/Set/$count`: rows after `$filter` and `$search`, paging options ignored. */
export async function countRows(
  db: Statements,
  set: EntitySet,
  options: QueryOptions,
  counts?: CountCache,
): Promise<number> {
  const params = new SqlParams();
  const { where } = plan(set, options, params);
  return runCount(db, countQuery(set, where, params.values, params.timeDependent), counts);
}

/**
 * The count of the rows matching `where`. A table with the change-version trigger also gets the statements
 * that tie the count to the version it was read at, unless the answer depends on the time (`now()`).
 */
export function countQuery(
  set: EntitySet,
  where: readonly string[],
  values: readonly unknown[],
  timeDependent: boolean,
): CountQuery {
  const rest = `FROM ${from(set)}${where.length > 0 ? ` WHERE ${where.join(" AND ")}` : ""}`;
  const plain = prepared(`SELECT count(*) AS n ${rest}`, [...values]);
  if (!set.tracksChanges || timeDependent) return { plain };
  const relation = from(set);
  return {
    plain,
    tracked: {
      relation,
      withVersion: () =>
        prepared(`SELECT count(*) AS n, (SELECT ${versionSql(`$${values.length + 1}::text`)}) AS v ${rest}`, [
          ...values,
          relation,
        ]),
      version: prepared(`SELECT ${versionSql("$1::text")} AS v`, [relation]),
    },
  };
}

function runCount(db: Statements, query: CountQuery, counts: CountCache | undefined): Promise<number> {
  return counts ? counts.count(db, query) : plainCount(db, query);
}

/** `Set(key)`: the entity's JSON, or undefined when no row has that key. */
/** The SQL of one entity by key: what `readEntity` runs. */
export function entityQuery(set: EntitySet, key: KeyPredicate, options: QueryOptions, ieee754: boolean) {
  const params = new SqlParams();
  const compiler = new ExpressionCompiler(set, params, "key");
  const conditions = keyConditions(set, key).map(({ property, value }) =>
    compiler.filter({
      kind: "binary",
      op: "eq",
      left: { kind: "property", name: property.name, span: value.span },
      right: value,
      span: value.span,
    }),
  );
  if (set.hidesDeleted) conditions.push(`${quoteIdent(DELETED_AT_COLUMN)} IS NULL`);
  const selected = selectedProperties(set, options);
  const keyColumns = set.key.map((k) => set.properties.find((p) => p.name === k) as EdmProperty);
  const statement = prepared(
    `SELECT ${selectJsonSql(set, selected, ieee754)} AS j, ${keyColumns.map((k, i) => `${columnSql(k)} AS k${i}`).join(", ")}
     FROM ${from(set)} WHERE ${conditions.join(" AND ")} LIMIT 1`,
    params.values,
  );
  return { statement, keyCount: keyColumns.length, selected };
}

export async function readEntity(
  db: Statements,
  set: EntitySet,
  key: KeyPredicate,
  options: QueryOptions,
  ieee754: boolean,
): Promise<{ json: string; keys: unknown[]; selected: EdmProperty[] } | undefined> {
  const { statement, keyCount, selected } = entityQuery(set, key, options, ieee754);
  const result = await db.query(statement);
  const row = result.rows[0];
  if (!row) return undefined;
  return { json: row.j as string, keys: Array.from({ length: keyCount }, (_, i) => row[`k${i}`]), selected };
}

function keyConditions(set: EntitySet, key: KeyPredicate) {
  const keyProperties = set.key.map((k) => set.properties.find((p) => p.name === k) as EdmProperty);
  if (key.kind === "single") {
    const only = keyProperties[0];
    if (keyProperties.length !== 1 || !only)
      throw badRequest(
        "InvalidKey",
        `${set.name} has a key of ${keyProperties.length} properties: write ${set.name}(${set.key.map((k) => `${k}=…`).join(",")})`,
        "key",
      );
    return [{ property: only, value: key.value }];
  }
  const byName = new Map([...key.values].map(([name, value]) => [name.toLowerCase(), value]));
  if (byName.size !== keyProperties.length || keyProperties.some((p) => !byName.has(p.name.toLowerCase())))
    throw badRequest(
      "InvalidKey",
      `${set.name}'s key is (${set.key.join(", ")}); the request gave (${[...key.values.keys()].join(", ")})`,
      "key",
    );
  return keyProperties.map((property) => {
    const value = byName.get(property.name.toLowerCase());
    if (!value || value.type === "null")
      throw badRequest("InvalidKey", `${set.name}: key property ${property.name} cannot be null`, "key");
    return { property, value };
  });
}

/** The canonical key segment of an entity (`(42)`, `(RepositoryUuid='x',Id=1)`) for `@odata.id`. */
export function keySegment(set: EntitySet, values: readonly unknown[]): string {
  const literal = (p: EdmProperty, v: unknown) => {
    if (v === null || v === undefined) return "null";
    if (["integer", "bigint", "decimal", "double", "boolean"].includes(p.kind)) return String(v);
    if (p.kind === "date" || p.kind === "timestamp")
      return v instanceof Date ? v.toISOString() : encodeURIComponent(String(v));
    return `'${encodeURIComponent(String(v).replaceAll("'", "''"))}'`;
  };
  const props = set.key.map((k) => set.properties.find((p) => p.name === k) as EdmProperty);
  if (props.length === 1 && props[0]) return `(${literal(props[0], values[0])})`;
  return `(${props.map((p, i) => `${p.name}=${literal(p, values[i])}`).join(",")})`;
}

/** PostgreSQL errors a request can cause, as OData errors; anything else is the service's fault. */
export function queryError(error: unknown): ODataError | undefined {
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === "22012") return badRequest("DivisionByZero", `Division by zero in $filter`, "$filter");
  if (code === "57014")
    return new ODataError(
      503,
      "QueryTimeout",
      "The query took too long and was stopped; narrow $filter or $search",
    );
  if (code?.startsWith("22"))
    return badRequest("InvalidValue", `A value in the request is not valid: ${message}`);
  if (code === "42501")
    return new ODataError(
      503,
      "NotReadable",
      "The service's database role may not read this table; share it again (bitbridge odata share) with a connection that may grant access",
    );
  return undefined;
}
