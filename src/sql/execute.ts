import type { BitbucketClient } from "../bitbucket/types.js";
import { readTable, type SourceRow } from "../source/reader.js";
import type { ColumnType } from "../source/table.js";
import type { ColumnRef, SelectStatement } from "./ast.js";
import { type BoundQuery, bindSelect } from "./bind.js";
import { type Compiled, compareValues, compile, type EvalRow, toDate, toText } from "./evaluate.js";
import { describeRead } from "./explain.js";
import { parseStatement } from "./parser.js";
import { type PlanOptions, planRead, type ReadPlan } from "./pushdown.js";

export interface QueryOptions extends PlanOptions {
  readonly client: BitbucketClient;
}

export interface QueryResult {
  readonly kind: "rows";
  readonly columns: readonly { readonly name: string; readonly type?: ColumnType }[];
  readonly rows: readonly unknown[][];
  /** API requests this query made (retries included). */
  readonly requests: number;
  readonly pushed: readonly string[];
}

export interface ExplainResult {
  readonly kind: "explain";
  readonly lines: readonly string[];
}

/** Parses, binds, plans and runs one statement against the source. */
export async function runQuery(sql: string, options: QueryOptions): Promise<QueryResult | ExplainResult> {
  const statement = parseStatement(sql);
  const select = statement.kind === "explain" ? statement.statement : statement;
  const bound = bindSelect(sql, select);
  const plan =
    bound.source.kind === "api"
      ? planRead(bound, bound.source.table, bound.source.repository, options)
      : undefined;
  if (statement.kind === "explain") {
    return { kind: "explain", lines: describeRead(bound, plan, options.client.baseUrl) };
  }
  const before = options.client.counts();
  const rows = await execute(bound, plan, options.client);
  const after = options.client.counts();
  return {
    kind: "rows",
    columns: bound.output.map((o) => ({ name: o.name, type: o.type })),
    rows,
    requests: after.requests - before.requests,
    pushed: plan?.pushed ?? [],
  };
}

async function execute(
  bound: BoundQuery,
  plan: ReadPlan | undefined,
  client: BitbucketClient,
): Promise<unknown[][]> {
  const statement = bound.statement;
  const columnType = (ref: ColumnRef) => bound.referenced.get(bound.columnOf(ref))?.type;
  const ctx = {
    column: (ref: ColumnRef) => bound.columnOf(ref),
    columnType,
    aggregate: (call: Parameters<BoundQuery["slotOf"]>[0]) => bound.slotOf(call),
  };
  const where = statement.where ? compile(statement.where, { column: ctx.column, columnType }) : undefined;
  const outputs = bound.output.map((o) => compile(o.expr, ctx));
  const order = statement.orderBy.map((o) => ({
    key: compile(o.expr, ctx),
    desc: o.direction === "desc",
    nulls: o.nulls,
  }));
  const having = statement.having ? compile(statement.having, ctx) : undefined;
  const limit = count(statement.limit);
  const offset = count(statement.offset) ?? 0;

  const inputs = materialise(bound, plan, client);
  let results: { row: EvalRow; out: unknown[] }[] = [];

  if (bound.grouped) {
    const groupKeys = statement.groupBy.map((g) => compile(g, { column: ctx.column, columnType }));
    const aggregates = bound.aggregates.map((a) => ({
      name: a.name.toLowerCase(),
      star: a.star,
      distinct: a.distinct,
      arg: a.args[0] ? compile(a.args[0], { column: ctx.column, columnType }) : undefined,
    }));
    const groups = new Map<string, { values: Record<string, unknown>; states: AggregateState[] }>();
    for await (const values of inputs) {
      const row = { values };
      if (where && where(row) !== true) continue;
      const keyValues = groupKeys.map((k) => k(row));
      const key = JSON.stringify(keyValues.map((v) => (v === null ? null : toText(v))));
      let group = groups.get(key);
      if (!group) {
        group = { values, states: aggregates.map(() => newState()) };
        groups.set(key, group);
      }
      for (const [i, a] of aggregates.entries()) accumulate(group.states[i] as AggregateState, a, row);
    }
    if (groups.size === 0 && statement.groupBy.length === 0) {
      groups.set("", { values: {}, states: aggregates.map(() => newState()) });
    }
    for (const group of groups.values()) {
      const row: EvalRow = {
        values: group.values,
        aggregates: group.states.map((s, i) => finish(s, aggregates[i]?.name ?? "")),
      };
      if (having && having(row) !== true) continue;
      results.push({ row: withAliases(row, bound, outputs), out: outputs.map((o) => o(row)) });
    }
  } else {
    let passed = 0;
    for await (const values of inputs) {
      const row = { values };
      if (where && where(row) !== true) continue;
      results.push({ row: withAliases(row, bound, outputs), out: outputs.map((o) => o(row)) });
      passed++;
      if (plan?.stopAfter !== undefined && passed >= plan.stopAfter) break;
    }
  }

  if (statement.distinct) {
    const seen = new Set<string>();
    results = results.filter((r) => {
      const key = JSON.stringify(r.out.map((v) => (v === null ? null : toText(v))));
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }
  if (order.length > 0) {
    const keyed = results.map((r) => ({ r, keys: order.map((o) => o.key(r.row)) }));
    keyed.sort((a, b) => {
      for (const [i, o] of order.entries()) {
        const c = compareNullable(a.keys[i], b.keys[i], o.desc, o.nulls);
        if (c !== 0) return c;
      }
      return 0;
    });
    results = keyed.map((k) => k.r);
  }
  const sliced = results.slice(offset, limit === undefined ? undefined : offset + limit);
  return sliced.map((r) => r.out.map(present));
}

/** Rows as column values, for the columns the query references; datetimes become Dates. */
async function* materialise(
  bound: BoundQuery,
  plan: ReadPlan | undefined,
  client: BitbucketClient,
): AsyncGenerator<Record<string, unknown>> {
  const columns = [...bound.referenced.values()];
  if (bound.source.kind === "system") {
    for (const row of bound.source.table.rows()) yield row;
    return;
  }
  if (!plan) return;
  const source = readTable(client, plan.request);
  for await (const { item, ctx } of source as AsyncIterable<SourceRow>) {
    const values: Record<string, unknown> = {};
    for (const c of columns) {
      const raw = c.api ? c.api.get(item, ctx) : undefined;
      values[c.name] = normalise(raw, c.type);
    }
    yield values;
  }
}

function normalise(value: unknown, type: ColumnType): unknown {
  if (value === undefined || value === null) return null;
  if (type === "datetime" && typeof value === "string") return toDate(value);
  return value;
}

function withAliases(row: EvalRow, bound: BoundQuery, outputs: readonly Compiled[]): EvalRow {
  const aliases = bound.statement.columns.flatMap((c) =>
    c.kind === "selectExpr" && c.alias ? [c.alias.name.toLowerCase()] : [],
  );
  if (aliases.length === 0) return row;
  const values: Record<string, unknown> = { ...row.values };
  bound.statement.columns.forEach((c, i) => {
    if (c.kind === "selectExpr" && c.alias)
      values[`@alias:${c.alias.name.toLowerCase()}`] = outputs[i]?.(row) ?? null;
  });
  return { values, aggregates: row.aggregates };
}

function present(value: unknown): unknown {
  return value instanceof Date ? value.toISOString() : value;
}

function compareNullable(a: unknown, b: unknown, desc: boolean, nulls: "first" | "last" | undefined): number {
  // PostgreSQL's default: nulls sort as if larger than any value.
  const nullsFirst = nulls ? nulls === "first" : desc;
  if (a === null || a === undefined) return b === null || b === undefined ? 0 : nullsFirst ? -1 : 1;
  if (b === null || b === undefined) return nullsFirst ? 1 : -1;
  const c = compareValues(a, b);
  return desc ? -c : c;
}

function count(expr: SelectStatement["limit"]): number | undefined {
  if (!expr) return undefined;
  if (expr.kind === "literal") return Number(expr.value);
  return undefined;
}

interface AggregateState {
  count: number;
  sum: number;
  min: unknown;
  max: unknown;
  seen?: Set<string>;
}

function newState(): AggregateState {
  return { count: 0, sum: 0, min: null, max: null };
}

function accumulate(
  state: AggregateState,
  a: { name: string; star: boolean; distinct: boolean; arg?: Compiled },
  row: EvalRow,
): void {
  if (a.star) {
    state.count++;
    return;
  }
  const value = a.arg?.(row) ?? null;
  if (value === null) return;
  if (a.distinct) {
    state.seen ??= new Set();
    const key = toText(value);
    if (state.seen.has(key)) return;
    state.seen.add(key);
  }
  state.count++;
  if (a.name === "sum" || a.name === "avg") state.sum += typeof value === "number" ? value : Number(value);
  if (a.name === "min" && (state.min === null || compareValues(value, state.min) < 0)) state.min = value;
  if (a.name === "max" && (state.max === null || compareValues(value, state.max) > 0)) state.max = value;
}

function finish(state: AggregateState, name: string): unknown {
  switch (name) {
    case "count":
      return state.count;
    case "sum":
      return state.count === 0 ? null : state.sum;
    case "avg":
      return state.count === 0 ? null : state.sum / state.count;
    case "min":
      return state.min;
    default:
      return state.max;
  }
}
