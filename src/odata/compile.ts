import { closest } from "../app/closest.js";
import { quoteIdent } from "../destination/postgres/naming.js";
import type { LiteralExpr, ODataExpr, OrderByItem, SearchExpr } from "./ast.js";
import { badRequest, notImplemented } from "./errors.js";
import type { EdmProperty, EntitySet } from "./model.js";

/**
 * Bound OData expressions as PostgreSQL SQL. Every literal becomes a typed parameter (`$3::bigint`) and
 * every identifier comes from the entity set's properties, quoted; nothing from the URL reaches the SQL
 * text. OData's logic is two-valued (`null gt 5` is false, `not (null gt 5)` is true, `null ne 5` is
 * true), SQL's three-valued: predicates are compiled "loose" where a NULL can only mean "row excluded"
 * (plain, index-friendly SQL) and "exact" under `not`, where they must never be NULL.
 */

/** Collects parameter values; placeholders carry the cast that fixes the parameter's type. */
export class SqlParams {
  readonly values: unknown[] = [];
  /** The statement's answer depends on when it runs (`now()`), not only on the data: never cache it. */
  timeDependent = false;

  add(value: unknown, cast: string): string {
    this.values.push(value);
    return `$${this.values.length}::${cast}`;
  }
}

type ValueType =
  | "string"
  | "boolean"
  | "integer"
  | "decimal"
  | "double"
  | "date"
  | "datetime"
  | "binary"
  | "null";

interface Typed {
  readonly sql: string;
  readonly type: ValueType;
  /** True when the value can be NULL (a property or a function of one); literals other than null cannot. */
  readonly nullable: boolean;
  /** The null literal. */
  readonly isNull?: boolean;
}

type Mode = "loose" | "exact";

const NUMERIC: ReadonlySet<ValueType> = new Set(["integer", "decimal", "double"]);

const TEXT_TYPES = /^(text|character varying(\(\d+\))?|character(\(\d+\))?|citext|name)$/;

/** A property as SQL; columns published as strings without being text (uuid, jsonb, arrays) compare as text. */
export function columnSql(p: EdmProperty): string {
  const column = quoteIdent(p.column);
  return propertyType(p) === "string" && !TEXT_TYPES.test(p.pgType) ? `(${column})::text` : column;
}

/** The cast that turns a `$skiptoken` value (text) back into a value of the term's type. */
export function castFor(type: ValueType): string {
  return {
    string: "text",
    boolean: "boolean",
    integer: "numeric",
    decimal: "numeric",
    double: "float8",
    date: "date",
    datetime: "timestamptz",
    binary: "bytea",
    null: "text",
  }[type];
}

export function propertyType(p: EdmProperty): ValueType {
  switch (p.kind) {
    case "boolean":
      return "boolean";
    case "integer":
    case "bigint":
      return "integer";
    case "decimal":
      return "decimal";
    case "double":
      return "double";
    case "date":
      return "date";
    case "timestamp":
      return "datetime";
    case "bytes":
      return "binary";
    default:
      return "string";
  }
}

const EDM_NAMES: Record<ValueType, string> = {
  string: "Edm.String",
  boolean: "Edm.Boolean",
  integer: "an integer",
  decimal: "Edm.Decimal",
  double: "Edm.Double",
  date: "Edm.Date",
  datetime: "Edm.DateTimeOffset",
  binary: "Edm.Binary",
  null: "null",
};

/**
 * The text `$search` looks in: the searchable properties joined with `||` (not concat_ws, which is only
 * STABLE), so `bitbridge odata share --search-index` can build a GIN index on exactly this expression.
 */
export function searchDocument(set: Pick<EntitySet, "properties">): string | undefined {
  const columns = set.properties.filter((p) => p.searchable);
  if (columns.length === 0) return undefined;
  return `to_tsvector('simple'::regconfig, ${columns.map((c) => `coalesce(${columnSql(c)}, '')`).join(" || ' ' || ")})`;
}

/** Binds property names (case-insensitively, as OData 4.01 allows) and compiles expressions. */
export class ExpressionCompiler {
  private readonly byName: Map<string, EdmProperty>;

  constructor(
    private readonly set: EntitySet,
    private readonly params: SqlParams,
    /** The option being compiled, for error targets (`$filter`, `$orderby`). */
    private option = "$filter",
  ) {
    this.byName = new Map(set.properties.map((p) => [p.name.toLowerCase(), p]));
  }

  property(name: string, option = this.option): EdmProperty {
    const exact = this.set.properties.find((p) => p.name === name);
    const found = exact ?? this.byName.get(name.toLowerCase());
    if (found) return found;
    const suggestion = closest(
      name,
      this.set.properties.map((p) => p.name),
    );
    throw badRequest(
      "UnknownProperty",
      `${option}: ${this.set.name} has no property ${name}${suggestion ? `; did you mean ${suggestion}?` : ""}`,
      option,
    );
  }

  /** A `$filter`: a boolean expression, loose at the top. */
  filter(expr: ODataExpr): string {
    this.option = "$filter";
    return this.predicate(expr, "loose");
  }

  /** `$orderby` items with the key appended as the last tiebreaker; NULLs sort first ascending, as OData says. */
  orderBy(items: readonly OrderByItem[]): OrderTerm[] {
    this.option = "$orderby";
    const terms: OrderTerm[] = [];
    for (const item of items) {
      const value = this.value(item.expr);
      if (value.type === "null") continue;
      const property = item.expr.kind === "property" ? this.property(item.expr.name) : undefined;
      terms.push({
        sql: value.sql,
        descending: item.direction === "desc",
        nullable: value.nullable,
        cast: castFor(value.type),
        property,
      });
    }
    for (const keyName of this.set.key) {
      const key = this.property(keyName);
      if (!terms.some((t) => t.property === key))
        terms.push({
          sql: columnSql(key),
          descending: false,
          nullable: false,
          cast: castFor(propertyType(key)),
          property: key,
        });
    }
    return terms;
  }

  /** `$search` over the text properties, with PostgreSQL full-text search (`simple`: no stemming). */
  search(expr: SearchExpr): string {
    const document = searchDocument(this.set);
    if (!document)
      throw badRequest("SearchUnsupported", `$search: ${this.set.name} has no text properties`, "$search");
    return `${document} @@ ${this.tsquery(expr)}`;
  }

  private tsquery(expr: SearchExpr): string {
    switch (expr.kind) {
      case "term":
        return `${expr.phrase ? "phraseto_tsquery" : "plainto_tsquery"}('simple', ${this.params.add(expr.value, "text")})`;
      case "and":
        return `(${this.tsquery(expr.left)} && ${this.tsquery(expr.right)})`;
      case "or":
        return `(${this.tsquery(expr.left)} || ${this.tsquery(expr.right)})`;
      case "not":
        return `(!! ${this.tsquery(expr.operand)})`;
    }
  }

  private predicate(expr: ODataExpr, mode: Mode): string {
    switch (expr.kind) {
      case "binary":
        if (expr.op === "and" || expr.op === "or") {
          const op = expr.op.toUpperCase();
          return `(${this.predicate(expr.left, mode)} ${op} ${this.predicate(expr.right, mode)})`;
        }
        if (["eq", "ne", "gt", "ge", "lt", "le"].includes(expr.op)) return this.comparison(expr, mode);
        break;
      case "unary":
        if (expr.op === "not") return `(NOT ${this.predicate(expr.operand, "exact")})`;
        break;
      case "in":
        return this.inList(expr, mode);
      default:
        break;
    }
    const value = this.value(expr);
    if (value.isNull) return "FALSE";
    if (value.type !== "boolean")
      throw badRequest(
        "NotBoolean",
        `${this.option}: expected a condition, found ${EDM_NAMES[value.type]} at position ${expr.span.start + 1}`,
        this.option,
      );
    return this.exactly(value, mode);
  }

  private exactly(value: Typed, mode: Mode): string {
    return mode === "exact" && value.nullable ? `coalesce(${value.sql}, FALSE)` : value.sql;
  }

  private comparison(expr: Extract<ODataExpr, { kind: "binary" }>, mode: Mode): string {
    const left = this.value(expr.left);
    const right = this.value(expr.right);
    this.comparable(left, right, expr.op, expr.span.start);
    const op = expr.op;
    if (left.isNull || right.isNull) {
      const other = left.isNull ? right : left;
      if (left.isNull && right.isNull) return op === "eq" || op === "ge" || op === "le" ? "TRUE" : "FALSE";
      if (op === "eq") return `(${other.sql} IS NULL)`;
      if (op === "ne") return `(${other.sql} IS NOT NULL)`;
      return "FALSE";
    }
    if (op === "ne") return `(${left.sql} IS DISTINCT FROM ${right.sql})`;
    if (op === "eq" && left.nullable && right.nullable)
      return `(${left.sql} IS NOT DISTINCT FROM ${right.sql})`;
    const sqlOp = { eq: "=", gt: ">", ge: ">=", lt: "<", le: "<=" }[op as "eq"];
    return this.exactly(
      {
        sql: `(${left.sql} ${sqlOp} ${right.sql})`,
        type: "boolean",
        nullable: left.nullable || right.nullable,
      },
      mode,
    );
  }

  private inList(expr: Extract<ODataExpr, { kind: "in" }>, mode: Mode): string {
    const operand = this.value(expr.operand);
    const items = expr.list.map((e) => this.value(e));
    for (const item of items) this.comparable(operand, item, "in", expr.span.start);
    const present = items.filter((i) => !i.isNull);
    const withNull = items.length !== present.length;
    const list =
      present.length === 0 ? "FALSE" : `(${operand.sql} IN (${present.map((i) => i.sql).join(", ")}))`;
    const nullable = operand.nullable || present.some((i) => i.nullable);
    const test = this.exactly({ sql: list, type: "boolean", nullable }, mode);
    return withNull ? `(${operand.sql} IS NULL OR ${test})` : test;
  }

  private comparable(a: Typed, b: Typed, op: string, at: number): void {
    if (a.isNull || b.isNull) return;
    const ok =
      a.type === b.type ||
      (NUMERIC.has(a.type) && NUMERIC.has(b.type)) ||
      (a.type === "date" && b.type === "datetime") ||
      (a.type === "datetime" && b.type === "date");
    if (!ok)
      throw badRequest(
        "IncompatibleTypes",
        `${this.option}: cannot compare ${EDM_NAMES[a.type]} with ${EDM_NAMES[b.type]} (${op} at position ${at + 1})`,
        this.option,
      );
  }

  /** Any expression as a value. */
  value(expr: ODataExpr): Typed {
    switch (expr.kind) {
      case "literal":
        return this.literal(expr);
      case "property": {
        const p = this.property(expr.name);
        return { sql: columnSql(p), type: propertyType(p), nullable: p.nullable };
      }
      case "unary":
        if (expr.op === "not")
          return { sql: this.predicate(expr, "exact"), type: "boolean", nullable: false };
        return this.negate(this.value(expr.operand), expr.span.start);
      case "binary":
        if (["and", "or", "eq", "ne", "gt", "ge", "lt", "le"].includes(expr.op))
          return { sql: this.predicate(expr, "exact"), type: "boolean", nullable: false };
        return this.arithmetic(expr);
      case "in":
        return { sql: this.predicate(expr, "exact"), type: "boolean", nullable: false };
      case "call":
        return this.call(expr);
    }
  }

  private literal(lit: LiteralExpr): Typed {
    const value = lit.value;
    switch (lit.type) {
      case "null":
        return { sql: "NULL", type: "null", nullable: true, isNull: true };
      case "boolean":
        return { sql: value ? "TRUE" : "FALSE", type: "boolean", nullable: false };
      case "string":
        return { sql: this.params.add(value, "text"), type: "string", nullable: false };
      case "guid":
        return { sql: this.params.add(String(value).toLowerCase(), "text"), type: "string", nullable: false };
      case "integer": {
        const n = BigInt(String(value));
        if (n > 9223372036854775807n || n < -9223372036854775808n)
          throw badRequest(
            "LiteralOutOfRange",
            `${this.option}: ${value} does not fit Edm.Int64`,
            this.option,
          );
        return { sql: this.params.add(n.toString(), "bigint"), type: "integer", nullable: false };
      }
      case "decimal":
        return { sql: this.params.add(String(value), "numeric"), type: "decimal", nullable: false };
      case "double": {
        const text = String(value);
        const special = { INF: "Infinity", "-INF": "-Infinity", NaN: "NaN" }[text];
        return { sql: this.params.add(special ?? text, "float8"), type: "double", nullable: false };
      }
      case "date":
        return { sql: this.params.add(String(value), "date"), type: "date", nullable: false };
      case "dateTimeOffset":
        return { sql: this.params.add(String(value), "timestamptz"), type: "datetime", nullable: false };
      case "timeOfDay":
      case "duration":
        throw notImplemented(
          `${this.option}: ${lit.type === "duration" ? "Edm.Duration" : "Edm.TimeOfDay"} values are not supported (no property has that type)`,
          this.option,
        );
    }
  }

  private negate(operand: Typed, at: number): Typed {
    if (!NUMERIC.has(operand.type))
      throw badRequest(
        "IncompatibleTypes",
        `${this.option}: '-' needs a number at position ${at + 1}`,
        this.option,
      );
    return { ...operand, sql: `(-${operand.sql})` };
  }

  private arithmetic(expr: Extract<ODataExpr, { kind: "binary" }>): Typed {
    const left = this.value(expr.left);
    const right = this.value(expr.right);
    for (const side of [left, right]) {
      if (side.isNull) return { sql: "NULL", type: "null", nullable: true, isNull: true };
      if (!NUMERIC.has(side.type)) {
        if (side.type === "date" || side.type === "datetime")
          throw notImplemented(`${this.option}: date arithmetic is not supported`, this.option);
        throw badRequest(
          "IncompatibleTypes",
          `${this.option}: ${expr.op} needs numbers, found ${EDM_NAMES[side.type]} at position ${expr.span.start + 1}`,
          this.option,
        );
      }
    }
    const type: ValueType =
      expr.op === "divby"
        ? "decimal"
        : left.type === "double" || right.type === "double"
          ? "double"
          : left.type === "decimal" || right.type === "decimal"
            ? "decimal"
            : "integer";
    const nullable = left.nullable || right.nullable;
    const op = { add: "+", sub: "-", mul: "*", div: "/", mod: "%" }[expr.op as "add"];
    if (expr.op === "divby") return { sql: `((${left.sql})::numeric / ${right.sql})`, type, nullable };
    if (expr.op === "mod" && type === "double")
      return { sql: `mod((${left.sql})::numeric, (${right.sql})::numeric)`, type: "decimal", nullable };
    return { sql: `(${left.sql} ${op} ${right.sql})`, type, nullable };
  }

  private call(expr: Extract<ODataExpr, { kind: "call" }>): Typed {
    const fn = FUNCTIONS[expr.name];
    if (!fn) {
      if (OTHER_ODATA_FUNCTIONS.has(expr.name))
        throw notImplemented(`${this.option}: the function ${expr.name} is not supported`, this.option);
      throw badRequest(
        "UnknownFunction",
        `${this.option}: unknown function ${expr.name} at position ${expr.span.start + 1}`,
        this.option,
      );
    }
    if (expr.args.length < fn.args.length - (fn.optional ?? 0) || expr.args.length > fn.args.length)
      throw badRequest(
        "WrongArguments",
        `${this.option}: ${expr.name} takes ${fn.optional ? `${fn.args.length - fn.optional} to ${fn.args.length}` : fn.args.length} argument(s), not ${expr.args.length}`,
        this.option,
      );
    if (fn.timeDependent) this.params.timeDependent = true;
    const pattern = LIKE_PATTERNS[expr.name];
    const needle = expr.args[1];
    if (
      pattern &&
      needle?.kind === "literal" &&
      typeof needle.value === "string" &&
      needle.type === "string"
    ) {
      const haystack = this.typedArgs(expr, fn, expr.args.slice(0, 1))[0] as Typed;
      const like = this.params.add(pattern(escapeLike(needle.value)), "text");
      return {
        sql: `(${haystack.sql} LIKE ${like})`,
        type: "boolean",
        nullable: haystack.nullable || !!haystack.isNull,
      };
    }
    const args = this.typedArgs(expr, fn, expr.args);
    const result = fn.sql(args);
    return {
      sql: result.sql,
      type: result.type,
      nullable: fn.nullable === false ? false : args.some((a) => a.nullable || a.isNull),
    };
  }

  /** The arguments compiled and checked against the function's signature. */
  private typedArgs(
    expr: Extract<ODataExpr, { kind: "call" }>,
    fn: FunctionSpec,
    given: readonly ODataExpr[],
  ): Typed[] {
    const args = given.map((a) => this.value(a));
    args.forEach((arg, i) => {
      const wanted = fn.args[i] as readonly ValueType[];
      if (!arg.isNull && !wanted.includes(arg.type))
        throw badRequest(
          "IncompatibleTypes",
          `${this.option}: argument ${i + 1} of ${expr.name} must be ${wanted.map((t) => EDM_NAMES[t]).join(" or ")}, not ${EDM_NAMES[arg.type]}`,
          this.option,
        );
    });
    return args;
  }
}

export interface OrderTerm {
  readonly sql: string;
  readonly descending: boolean;
  readonly nullable: boolean;
  /** Cast of a `$skiptoken` value back to the term's type. */
  readonly cast: string;
  readonly property?: EdmProperty;
}

/**
 * Rows after the one whose ORDER BY values are `after` (keyset paging): the first term that differs is
 * past it, in its direction, with NULLs where OData sorts them (first ascending, last descending). With
 * one direction and no NULLs possible it is a row comparison an index can serve.
 */
export function afterSql(
  terms: readonly OrderTerm[],
  after: readonly (string | null)[],
  params: SqlParams,
): string {
  if (after.length !== terms.length)
    throw badRequest("InvalidSkipToken", "$skiptoken does not match this query", "$skiptoken");
  const values = terms.map((t, i) => {
    const v = after[i];
    return v === null || v === undefined ? null : params.add(v, t.cast);
  });
  const first = terms[0];
  if (
    first &&
    values.every((v) => v !== null) &&
    terms.every((t) => !t.nullable && t.descending === first.descending)
  ) {
    return `(${terms.map((t) => t.sql).join(", ")}) ${first.descending ? "<" : ">"} (${values.join(", ")})`;
  }
  const equal = (t: OrderTerm, v: string | null) => (v === null ? `${t.sql} IS NULL` : `${t.sql} = ${v}`);
  const past = (t: OrderTerm, v: string | null): string | undefined => {
    if (v === null) return t.descending ? undefined : `${t.sql} IS NOT NULL`;
    if (t.descending) return t.nullable ? `(${t.sql} < ${v} OR ${t.sql} IS NULL)` : `${t.sql} < ${v}`;
    return `${t.sql} > ${v}`;
  };
  const alternatives: string[] = [];
  terms.forEach((t, i) => {
    const beyond = past(t, values[i] ?? null);
    if (!beyond) return;
    const prefix = terms.slice(0, i).map((p, j) => equal(p, values[j] ?? null));
    alternatives.push(`(${[...prefix, beyond].join(" AND ")})`);
  });
  return alternatives.length === 0 ? "FALSE" : `(${alternatives.join(" OR ")})`;
}

/** `ORDER BY` text: NULLs first ascending and last descending (OData's order), left out where no NULL can occur. */
export function orderBySql(terms: readonly OrderTerm[]): string {
  return terms
    .map(
      (t) =>
        `${t.sql} ${t.descending ? "DESC" : "ASC"}${t.nullable ? (t.descending ? " NULLS LAST" : " NULLS FIRST") : ""}`,
    )
    .join(", ");
}

interface FunctionSpec {
  readonly args: readonly (readonly ValueType[])[];
  readonly optional?: number;
  readonly nullable?: boolean;
  readonly timeDependent?: boolean;
  readonly sql: (args: readonly Typed[]) => { sql: string; type: ValueType };
}

const TEXT: readonly ValueType[] = ["string"];
const NUMBER: readonly ValueType[] = ["integer", "decimal", "double"];
const INSTANT: readonly ValueType[] = ["datetime", "date"];
const TIME: readonly ValueType[] = ["datetime"];

const utc = (a: Typed) => (a.type === "date" ? a.sql : `(${a.sql} AT TIME ZONE 'UTC')`);
const part = (field: string) => (args: readonly Typed[]) => ({
  sql: `(extract(${field} FROM ${utc(args[0] as Typed)}))::integer`,
  type: "integer" as ValueType,
});
const text = (name: string) => (args: readonly Typed[]) => ({
  sql: `${name}(${(args[0] as Typed).sql})`,
  type: "string" as ValueType,
});
const sameNumber = (name: string) => (args: readonly Typed[]) => ({
  sql: `${name}(${(args[0] as Typed).sql})`,
  type: (args[0] as Typed).type,
});

/**
 * `contains`, `startswith` and `endswith` of a literal become LIKE patterns: same answers as strpos and
 * friends, but a trigram index (`bitbridge odata share --contains-index`) can serve them.
 */
const LIKE_PATTERNS: Readonly<Record<string, (needle: string) => string>> = {
  contains: (needle) => `%${needle}%`,
  startswith: (needle) => `${needle}%`,
  endswith: (needle) => `%${needle}`,
};

/** LIKE's default escape character is the backslash. */
const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/** The OData functions the service implements, as PostgreSQL. Case-sensitive, as OData's are. */
const FUNCTIONS: Record<string, FunctionSpec> = {
  contains: {
    args: [TEXT, TEXT],
    sql: ([a, b]) => ({ sql: `(strpos(${a?.sql}, ${b?.sql}) > 0)`, type: "boolean" }),
  },
  startswith: {
    args: [TEXT, TEXT],
    sql: ([a, b]) => ({ sql: `starts_with(${a?.sql}, ${b?.sql})`, type: "boolean" }),
  },
  endswith: {
    args: [TEXT, TEXT],
    sql: ([a, b]) => ({ sql: `(right(${a?.sql}, char_length(${b?.sql})) = ${b?.sql})`, type: "boolean" }),
  },
  length: { args: [TEXT], sql: ([a]) => ({ sql: `char_length(${a?.sql})`, type: "integer" }) },
  indexof: {
    args: [TEXT, TEXT],
    sql: ([a, b]) => ({ sql: `(strpos(${a?.sql}, ${b?.sql}) - 1)`, type: "integer" }),
  },
  substring: {
    args: [TEXT, ["integer"], ["integer"]],
    optional: 1,
    sql: ([s, start, length]) => ({
      sql: length
        ? `substr(${s?.sql}, greatest((${start?.sql})::integer, 0) + 1, greatest((${length.sql})::integer, 0))`
        : `substr(${s?.sql}, greatest((${start?.sql})::integer, 0) + 1)`,
      type: "string",
    }),
  },
  tolower: { args: [TEXT], sql: text("lower") },
  toupper: { args: [TEXT], sql: text("upper") },
  trim: { args: [TEXT], sql: text("btrim") },
  concat: {
    args: [
      ["string", "integer", "decimal", "double", "boolean", "date", "datetime"],
      ["string", "integer", "decimal", "double", "boolean", "date", "datetime"],
    ],
    sql: ([a, b]) => ({ sql: `((${a?.sql})::text || (${b?.sql})::text)`, type: "string" }),
  },
  year: { args: [INSTANT], sql: part("year") },
  month: { args: [INSTANT], sql: part("month") },
  day: { args: [INSTANT], sql: part("day") },
  hour: { args: [TIME], sql: part("hour") },
  minute: { args: [TIME], sql: part("minute") },
  second: {
    args: [TIME],
    sql: ([a]) => ({ sql: `(floor(extract(second FROM ${utc(a as Typed)})))::integer`, type: "integer" }),
  },
  fractionalseconds: {
    args: [TIME],
    sql: ([a]) => ({
      sql: `(extract(microseconds FROM ${utc(a as Typed)})::numeric % 1000000 / 1000000)`,
      type: "decimal",
    }),
  },
  date: { args: [INSTANT], sql: ([a]) => ({ sql: `(${utc(a as Typed)})::date`, type: "date" }) },
  totaloffsetminutes: { args: [TIME], sql: () => ({ sql: "0", type: "integer" }) },
  now: { args: [], nullable: false, timeDependent: true, sql: () => ({ sql: "now()", type: "datetime" }) },
  round: { args: [NUMBER], sql: sameNumber("round") },
  floor: { args: [NUMBER], sql: sameNumber("floor") },
  ceiling: { args: [NUMBER], sql: sameNumber("ceiling") },
};

/** Standard functions answered 501 rather than "unknown". */
const OTHER_ODATA_FUNCTIONS = new Set([
  "matchespattern",
  "time",
  "maxdatetime",
  "mindatetime",
  "isof",
  "cast",
  "hassubset",
  "hassubsequence",
  "geo.distance",
  "geo.intersects",
  "geo.length",
  "case",
]);
