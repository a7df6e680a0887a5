import { BitbridgeError } from "../app/errors.js";
import { assertNever, type CallExpr, type ColumnRef, type Expr, type Literal } from "./ast.js";

/**
 * In-memory evaluation of SQL expressions over rows read from the API, with SQL's three-valued logic
 * (null is "unknown"). Whatever the API filtered already is evaluated again here, so results are exact
 * whatever the API's own semantics.
 */
export interface EvalRow {
  readonly values: Readonly<Record<string, unknown>>;
  /** Aggregate results of the row's group, by slot. */
  readonly aggregates?: readonly unknown[];
}

export type Compiled = (row: EvalRow) => unknown;

export interface CompileContext {
  /** The row key of a column reference (binding errors are thrown here). */
  column(ref: ColumnRef): string;
  /** The catalog type of a column reference, when known. */
  columnType?(ref: ColumnRef): string | undefined;
  /** The slot of an aggregate call; absent where aggregates are not allowed. */
  aggregate?(call: CallExpr): number;
}

export const AGGREGATES = new Set(["count", "sum", "min", "max", "avg"]);

export function isAggregate(expr: Expr): expr is CallExpr {
  return expr.kind === "call" && AGGREGATES.has(expr.name.toLowerCase());
}

export function compile(expr: Expr, ctx: CompileContext): Compiled {
  switch (expr.kind) {
    case "column": {
      const key = ctx.column(expr);
      return (row) => row.values[key] ?? null;
    }
    case "literal": {
      const value = literalValue(expr);
      return () => value;
    }
    case "param":
      throw new BitbridgeError(
        "SQL_UNSUPPORTED",
        "Parameters (@name, ?) are not supported in queries; write the value.",
        {
          span: expr.span,
        },
      );
    case "unary": {
      const operand = compile(expr.operand, ctx);
      switch (expr.op) {
        case "not":
          return (row) => not(truth(operand(row)));
        case "-":
          return (row) => {
            const v = operand(row);
            return v === null ? null : -toNumber(v);
          };
        default: {
          const op: "+" = expr.op;
          void op;
          return (row) => {
            const v = operand(row);
            return v === null ? null : toNumber(v);
          };
        }
      }
    }
    case "binary": {
      const left = compile(expr.left, ctx);
      const right = compile(expr.right, ctx);
      switch (expr.op) {
        case "and":
          return (row) => and(truth(left(row)), truth(right(row)));
        case "or":
          return (row) => or(truth(left(row)), truth(right(row)));
        case "=":
        case "<>":
        case "<":
        case "<=":
        case ">":
        case ">=": {
          const op = expr.op;
          return (row) => {
            const a = left(row);
            const b = right(row);
            if (a === null || b === null) return null;
            const c = compareValues(a, b);
            return op === "="
              ? c === 0
              : op === "<>"
                ? c !== 0
                : op === "<"
                  ? c < 0
                  : op === "<="
                    ? c <= 0
                    : op === ">"
                      ? c > 0
                      : c >= 0;
          };
        }
        case "+":
        case "-":
        case "*":
        case "/":
        case "%": {
          const op = expr.op;
          // As in PostgreSQL, integer / integer truncates; decided by the operands' static types.
          const integers = isInteger(expr.left, ctx) && isInteger(expr.right, ctx);
          return (row) => arithmetic(op, left(row), right(row), integers);
        }
        default: {
          const op: "||" = expr.op;
          void op;
          return (row) => {
            const a = left(row);
            const b = right(row);
            return a === null || b === null ? null : toText(a) + toText(b);
          };
        }
      }
    }
    case "in": {
      const value = compile(expr.expr, ctx);
      const list = expr.list.map((e) => compile(e, ctx));
      const negated = expr.negated;
      return (row) => {
        const v = value(row);
        if (v === null) return null;
        let sawNull = false;
        for (const item of list) {
          const x = item(row);
          if (x === null) sawNull = true;
          else if (compareValues(v, x) === 0) return !negated;
        }
        return sawNull ? null : negated;
      };
    }
    case "like": {
      const value = compile(expr.expr, ctx);
      const pattern = compile(expr.pattern, ctx);
      const escapeChar = expr.escape ? compile(expr.escape, ctx) : undefined;
      const negated = expr.negated;
      const cache = new Map<string, RegExp>();
      return (row) => {
        const v = value(row);
        const p = pattern(row);
        const e = escapeChar ? escapeChar(row) : "\\";
        if (v === null || p === null || e === null) return null;
        const key = `${toText(e)}\u0000${toText(p)}`;
        let re = cache.get(key);
        if (!re) {
          re = likeToRegExp(toText(p), toText(e));
          cache.set(key, re);
        }
        return re.test(toText(v)) !== negated;
      };
    }
    case "between": {
      const value = compile(expr.expr, ctx);
      const low = compile(expr.low, ctx);
      const high = compile(expr.high, ctx);
      const negated = expr.negated;
      return (row) => {
        const v = value(row);
        const lo = low(row);
        const hi = high(row);
        const inside = and(
          v === null || lo === null ? null : compareValues(v, lo) >= 0,
          v === null || hi === null ? null : compareValues(v, hi) <= 0,
        );
        return negated ? not(inside) : inside;
      };
    }
    case "isNull": {
      const value = compile(expr.expr, ctx);
      const negated = expr.negated;
      return (row) => (value(row) === null) !== negated;
    }
    case "call":
      return compileCall(expr, ctx);
    case "cast": {
      const value = compile(expr.expr, ctx);
      const type = expr.type.name.toLowerCase();
      return (row) => cast(value(row), type, expr);
    }
    case "case": {
      const operand = expr.operand ? compile(expr.operand, ctx) : undefined;
      const whens = expr.whens.map((w) => ({
        condition: compile(w.condition, ctx),
        result: compile(w.result, ctx),
      }));
      const otherwise = expr.else ? compile(expr.else, ctx) : () => null;
      return (row) => {
        const subject = operand?.(row);
        for (const w of whens) {
          const c = w.condition(row);
          const hit = operand
            ? subject !== null && c !== null && compareValues(subject, c) === 0
            : truth(c) === true;
          if (hit) return w.result(row);
        }
        return otherwise(row);
      };
    }
    default:
      return assertNever(expr);
  }
}

function compileCall(call: CallExpr, ctx: CompileContext): Compiled {
  const name = call.name.toLowerCase();
  if (AGGREGATES.has(name)) {
    if (!ctx.aggregate) {
      throw new BitbridgeError(
        "SQL_AGGREGATE",
        `${call.name.toUpperCase()}() is not allowed here (aggregates belong in SELECT, HAVING or ORDER BY).`,
        {
          span: call.span,
        },
      );
    }
    const slot = ctx.aggregate(call);
    return (row) => row.aggregates?.[slot] ?? null;
  }
  const fn = SCALAR_FUNCTIONS[name];
  if (!fn) {
    throw new BitbridgeError(
      "SQL_UNKNOWN_FUNCTION",
      `Unknown function ${call.name}(); available: ${Object.keys(SCALAR_FUNCTIONS).join(", ")}, and COUNT, SUM, MIN, MAX, AVG.`,
      {
        span: call.span,
      },
    );
  }
  if (call.args.length < fn.min || call.args.length > fn.max) {
    const arity =
      fn.min === fn.max
        ? `${fn.min}`
        : `${fn.min} to ${fn.max === Number.POSITIVE_INFINITY ? "any number of" : fn.max}`;
    throw new BitbridgeError(
      "SQL_ARGUMENTS",
      `${call.name.toUpperCase()}() takes ${arity} argument(s), not ${call.args.length}.`,
      {
        span: call.span,
      },
    );
  }
  const args = call.args.map((a) => compile(a, ctx));
  return (row) => fn.apply(args.map((a) => a(row)));
}

interface ScalarFunction {
  readonly min: number;
  readonly max: number;
  apply(args: unknown[]): unknown;
}

const strict = (min: number, max: number, body: (args: unknown[]) => unknown): ScalarFunction => ({
  min,
  max,
  apply: (args) => (args.some((a) => a === null) ? null : body(args)),
});

const SCALAR_FUNCTIONS: Record<string, ScalarFunction> = {
  lower: strict(1, 1, ([s]) => toText(s).toLowerCase()),
  upper: strict(1, 1, ([s]) => toText(s).toUpperCase()),
  length: strict(1, 1, ([s]) => [...toText(s)].length),
  len: strict(1, 1, ([s]) => [...toText(s)].length),
  trim: strict(1, 1, ([s]) => toText(s).trim()),
  ltrim: strict(1, 1, ([s]) => toText(s).trimStart()),
  rtrim: strict(1, 1, ([s]) => toText(s).trimEnd()),
  substring: strict(2, 3, ([s, start, len]) =>
    substring(toText(s), toNumber(start), len === undefined ? undefined : toNumber(len)),
  ),
  substr: strict(2, 3, ([s, start, len]) =>
    substring(toText(s), toNumber(start), len === undefined ? undefined : toNumber(len)),
  ),
  concat: {
    min: 1,
    max: Number.POSITIVE_INFINITY,
    apply: (args) => args.map((a) => (a === null ? "" : toText(a))).join(""),
  },
  coalesce: { min: 1, max: Number.POSITIVE_INFINITY, apply: (args) => args.find((a) => a !== null) ?? null },
  ifnull: { min: 2, max: 2, apply: ([a, b]) => a ?? b ?? null },
  abs: strict(1, 1, ([x]) => Math.abs(toNumber(x))),
  round: strict(1, 2, ([x, n]) => {
    const f = 10 ** (n === undefined ? 0 : toNumber(n));
    return Math.round(toNumber(x) * f) / f;
  }),
  floor: strict(1, 1, ([x]) => Math.floor(toNumber(x))),
  ceiling: strict(1, 1, ([x]) => Math.ceil(toNumber(x))),
  ceil: strict(1, 1, ([x]) => Math.ceil(toNumber(x))),
  now: { min: 0, max: 0, apply: () => new Date() },
  year: strict(1, 1, ([d]) => toDate(d).getUTCFullYear()),
  month: strict(1, 1, ([d]) => toDate(d).getUTCMonth() + 1),
  day: strict(1, 1, ([d]) => toDate(d).getUTCDate()),
  date: strict(1, 1, ([d]) => toDate(d).toISOString().slice(0, 10)),
};

export const FUNCTION_NAMES = [...Object.keys(SCALAR_FUNCTIONS), ...AGGREGATES];

function substring(s: string, start: number, len: number | undefined): string {
  const chars = [...s];
  const from = Math.max(0, start - 1);
  return chars.slice(from, len === undefined ? undefined : Math.max(from, start - 1 + len)).join("");
}

// ---- values --------------------------------------------------------------------------------------

export function literalValue(lit: Literal): unknown {
  switch (lit.type) {
    case "integer":
      return lit.number ?? Number(lit.value);
    case "decimal":
      return lit.value;
    case "string":
    case "boolean":
      return lit.value;
    case "null":
      return null;
    case "date":
    case "timestamp":
      return toDate(lit.value);
    default:
      return assertNever(lit);
  }
}

function truth(v: unknown): boolean | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "boolean") return v;
  if (typeof v === "number") return v !== 0;
  if (typeof v === "string") {
    const s = v.toLowerCase();
    if (s === "true" || s === "t" || s === "1") return true;
    if (s === "false" || s === "f" || s === "0") return false;
  }
  throw new BitbridgeError("SQL_TYPE", `Expected a true/false value, found ${JSON.stringify(v)}.`);
}

function not(v: boolean | null): boolean | null {
  return v === null ? null : !v;
}

function and(a: boolean | null, b: boolean | null): boolean | null {
  if (a === false || b === false) return false;
  if (a === null || b === null) return null;
  return true;
}

function or(a: boolean | null, b: boolean | null): boolean | null {
  if (a === true || b === true) return true;
  if (a === null || b === null) return null;
  return false;
}

/** Orders two non-null values: dates as instants (strings parsed), numbers numerically, text by code point. */
export function compareValues(a: unknown, b: unknown): number {
  if (a instanceof Date || b instanceof Date) {
    const x = toDate(a).getTime();
    const y = toDate(b).getTime();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === "number" || typeof b === "number") {
    const x = toNumber(a);
    const y = toNumber(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === "boolean" || typeof b === "boolean") {
    const x = truth(a) ? 1 : 0;
    const y = truth(b) ? 1 : 0;
    return x - y;
  }
  const x = toText(a);
  const y = toText(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Whether an expression is integer-valued whatever the row: integer literals, integer columns, COUNT. */
function isInteger(expr: Expr, ctx: CompileContext): boolean {
  switch (expr.kind) {
    case "literal":
      return expr.type === "integer";
    case "column": {
      const type = ctx.columnType?.(expr);
      return type === "integer" || type === "bigint";
    }
    case "unary":
      return expr.op !== "not" && isInteger(expr.operand, ctx);
    case "binary":
      return (
        ["+", "-", "*", "/", "%"].includes(expr.op) && isInteger(expr.left, ctx) && isInteger(expr.right, ctx)
      );
    case "call":
      return expr.name.toLowerCase() === "count";
    default:
      return false;
  }
}

function arithmetic(op: string, a: unknown, b: unknown, integers: boolean): unknown {
  if (a === null || b === null) return null;
  const x = toNumber(a);
  const y = toNumber(b);
  switch (op) {
    case "+":
      return x + y;
    case "-":
      return x - y;
    case "*":
      return x * y;
    case "/":
      if (y === 0) throw new BitbridgeError("SQL_DIVISION_BY_ZERO", "Division by zero.");
      return integers ? Math.trunc(x / y) : x / y;
    default:
      if (y === 0) throw new BitbridgeError("SQL_DIVISION_BY_ZERO", "Division by zero.");
      return x % y;
  }
}

export function toNumber(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (v instanceof Date) return v.getTime();
  const n = Number(v);
  if (typeof v === "string" && v.trim() !== "" && !Number.isNaN(n)) return n;
  throw new BitbridgeError("SQL_TYPE", `Expected a number, found ${JSON.stringify(v)}.`);
}

export function toText(v: unknown): string {
  if (v instanceof Date) return v.toISOString();
  if (typeof v === "object" && v !== null) return JSON.stringify(v);
  return String(v);
}

export function toDate(v: unknown): Date {
  if (v instanceof Date) return v;
  if (typeof v === "number") return new Date(v);
  const text = String(v).trim();
  let ms: number;
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) {
    // A date alone is midnight UTC.
    ms = Date.parse(`${text}T00:00:00Z`);
  } else {
    // SQL style `2026-01-01 10:00:00+00` as well as ISO; no offset means UTC.
    const iso = text.replace(/^(\d{4}-\d{2}-\d{2}) /, "$1T").replace(/T(.*[+-]\d{2})$/, "T$1:00");
    ms = Date.parse(/[zZ]$|[+-]\d{2}:?\d{2}$/.test(iso) ? iso : `${iso}Z`);
  }
  if (Number.isNaN(ms))
    throw new BitbridgeError("SQL_TYPE", `Expected a date or timestamp, found ${JSON.stringify(v)}.`);
  return new Date(ms);
}

function cast(v: unknown, type: string, expr: Expr): unknown {
  if (v === null) return null;
  if (/^(int|integer|bigint|smallint)/.test(type)) return Math.trunc(toNumber(v));
  if (/^(decimal|numeric|float|double|real)/.test(type)) return toNumber(v);
  if (/^(varchar|text|string|char|nvarchar)/.test(type)) return toText(v);
  if (/^bool/.test(type)) return truth(v);
  if (/^(timestamp|datetime)/.test(type)) return toDate(v);
  if (type === "date") return toDate(v).toISOString().slice(0, 10);
  throw new BitbridgeError(
    "SQL_TYPE",
    `Cannot CAST to ${type.toUpperCase()}; use INTEGER, DECIMAL, VARCHAR, BOOLEAN, DATE or TIMESTAMP.`,
    {
      span: expr.span,
    },
  );
}

/** SQL LIKE to an anchored regular expression: `%` any run, `_` one character, `escape` quotes the next. */
export function likeToRegExp(pattern: string, escapeChar: string): RegExp {
  let source = "";
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (escapeChar !== "" && c === escapeChar && i + 1 < chars.length) {
      source += escapeRegExp(chars[++i] as string);
    } else if (c === "%") source += "[\\s\\S]*";
    else if (c === "_") source += "[\\s\\S]";
    else source += escapeRegExp(c);
  }
  return new RegExp(`^${source}$`, "u");
}

function escapeRegExp(c: string): string {
  return c.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
}
