import { closest } from "../app/closest.js";
import type { Expr, Identifier, Span } from "./ast.js";
import type { SqlParser } from "./parser.js";

/**
 * The `WITH Name=value, ...` options of a REPLICATE statement: what each option accepts, how a written
 * value becomes a typed one, and the defaults. Values are literals (strings, numbers, true/false) or
 * bare/quoted names (`days`, `soft`, `[UpdatedOn]`); every error points at the option or its value.
 */

export const DELETE_POLICIES = ["soft", "hard", "ignore"] as const;
/** What happens to destination rows whose source row disappeared: mark them, delete them, or keep them as they are. */
export type DeletePolicy = (typeof DELETE_POLICIES)[number];

export const INTERVAL_UNITS = ["minutes", "hours", "days", "weeks", "months", "years"] as const;
export type IntervalUnit = (typeof INTERVAL_UNITS)[number];

/** The options of one REPLICATE statement with defaults applied. */
export interface ReplicateOptions {
  /** Drop and recreate the destination table at the start of each run. Default false. */
  readonly dropTable: boolean;
  /** Empty the destination table at the start of each run (full reload, table kept). Default false. */
  readonly truncateTableData: boolean;
  /** Add destination columns when the select list gains some. Default true; false makes a mismatch an error. */
  readonly alterSchema: boolean;
  /** Replicate rows changed from this date or timestamp on (text as written, checked to be real); undefined: all history. */
  readonly replicateStartDate: string | undefined;
  /** Split the initial load into windows of this many `replicateIntervalUnit`s; undefined: one window. */
  readonly replicateInterval: number | undefined;
  /** Unit of `replicateInterval`. Default "days". */
  readonly replicateIntervalUnit: IntervalUnit;
  /** Source column holding the change time; undefined: the table's own incremental column, when selected. */
  readonly incrementalCheckColumn: string | undefined;
  /** Rows written per destination transaction. Default 5000, 1 to 1,000,000. */
  readonly batchSize: number;
  /** Prepended to the destination table name as written. Default "". */
  readonly tableNamePrefix: string;
  /** PostgreSQL schema of the destination table; undefined: the job's schema. */
  readonly destinationSchema: string | undefined;
  /** Default "soft". */
  readonly deletePolicy: DeletePolicy;
  /**
   * How often tables read by change cursor are checked for deleted rows (a read of every key): every
   * `reconcileInterval` `reconcileIntervalUnit`s; 0 checks on every run. Default 24 hours.
   */
  readonly reconcileInterval: number;
  /** Unit of `reconcileInterval`. Default "hours". */
  readonly reconcileIntervalUnit: IntervalUnit;
}

export const DEFAULT_REPLICATE_OPTIONS: ReplicateOptions = {
  dropTable: false,
  truncateTableData: false,
  alterSchema: true,
  replicateStartDate: undefined,
  replicateInterval: undefined,
  replicateIntervalUnit: "days",
  incrementalCheckColumn: undefined,
  batchSize: 5000,
  tableNamePrefix: "",
  destinationSchema: undefined,
  deletePolicy: "soft",
  reconcileInterval: 24,
  reconcileIntervalUnit: "hours",
};

export const MAX_BATCH_SIZE = 1_000_000;
export const MAX_REPLICATE_INTERVAL = 100_000;

type OptionKind =
  | { readonly type: "boolean" }
  | { readonly type: "integer"; readonly min: number; readonly max: number }
  | { readonly type: "enum"; readonly values: readonly string[]; readonly aliases?: Record<string, string> }
  | { readonly type: "date" }
  | { readonly type: "column" }
  | { readonly type: "name"; readonly allowEmpty: boolean };

const UNIT_KIND = {
  type: "enum",
  values: INTERVAL_UNITS,
  aliases: {
    minute: "minutes",
    hour: "hours",
    day: "days",
    week: "weeks",
    month: "months",
    year: "years",
  },
} as const;

const OPTION_DEFS = {
  DropTable: { key: "dropTable", kind: { type: "boolean" } },
  TruncateTableData: { key: "truncateTableData", kind: { type: "boolean" } },
  AlterSchema: { key: "alterSchema", kind: { type: "boolean" } },
  ReplicateStartDate: { key: "replicateStartDate", kind: { type: "date" } },
  ReplicateInterval: {
    key: "replicateInterval",
    kind: { type: "integer", min: 1, max: MAX_REPLICATE_INTERVAL },
  },
  ReplicateIntervalUnit: { key: "replicateIntervalUnit", kind: UNIT_KIND },
  IncrementalCheckColumn: { key: "incrementalCheckColumn", kind: { type: "column" } },
  BatchSize: { key: "batchSize", kind: { type: "integer", min: 1, max: MAX_BATCH_SIZE } },
  TableNamePrefix: { key: "tableNamePrefix", kind: { type: "name", allowEmpty: true } },
  DestinationSchema: { key: "destinationSchema", kind: { type: "name", allowEmpty: false } },
  DeletePolicy: { key: "deletePolicy", kind: { type: "enum", values: DELETE_POLICIES } },
  ReconcileInterval: {
    key: "reconcileInterval",
    kind: { type: "integer", min: 0, max: MAX_REPLICATE_INTERVAL },
  },
  ReconcileIntervalUnit: { key: "reconcileIntervalUnit", kind: UNIT_KIND },
} as const satisfies Record<string, { key: keyof ReplicateOptions; kind: OptionKind }>;

export type ReplicateOptionName = keyof typeof OPTION_DEFS;

/** Every option name in its canonical spelling, in documentation order. */
export const REPLICATE_OPTION_NAMES = Object.keys(OPTION_DEFS) as readonly ReplicateOptionName[];

/** One `Name=value` as written, with its typed value (string for dates, names and enum values). */
export interface ReplicateOptionSetting {
  readonly name: ReplicateOptionName;
  /** The name as written, with its span. */
  readonly written: Identifier;
  readonly value: boolean | number | string;
  readonly valueSpan: Span;
  /** From the name to the end of the value. */
  readonly span: Span;
}

/** The canonical spelling of an option name (case-insensitive), or undefined. */
export function replicateOptionName(name: string): ReplicateOptionName | undefined {
  const key = name.toLowerCase();
  return REPLICATE_OPTION_NAMES.find((n) => n.toLowerCase() === key);
}

/** Reads `Name=value {, Name=value}` (after WITH) and checks every value, duplicates and conflicts. */
export function parseReplicateOptions(parser: SqlParser): readonly ReplicateOptionSetting[] {
  const settings: ReplicateOptionSetting[] = [];
  do {
    const token = parser.tokens.peek();
    if (!parser.isName(token)) throw parser.expected("an option name after WITH", REPLICATE_OPTION_NAMES);
    const written = parser.parseIdentifier("an option name");
    const name = replicateOptionName(written.name);
    if (name === undefined) {
      const suggestion = closest(written.name, REPLICATE_OPTION_NAMES);
      throw parser.tokenError(token, `Unknown option ${written.name}`, {
        suggestion,
        hint: suggestion === undefined ? `Options are ${REPLICATE_OPTION_NAMES.join(", ")}` : undefined,
      });
    }
    const earlier = settings.find((s) => s.name === name);
    if (earlier !== undefined) {
      throw parser.spanError(written.span, `Option ${name} is given twice`, {
        hint: "Keep one of them",
      });
    }
    parser.expectSymbol("=", `after ${name}`);
    const expr = parser.parseExpression();
    const value = optionValue(parser, name, expr);
    settings.push({
      name,
      written,
      value,
      valueSpan: expr.span,
      span: { start: written.span.start, end: expr.span.end },
    });
  } while (parser.tokens.acceptSymbol(","));
  checkCombinations(parser, settings);
  return settings;
}

/** The options with defaults applied for those not written. */
export function resolveReplicateOptions(settings: readonly ReplicateOptionSetting[]): ReplicateOptions {
  const options: Record<string, unknown> = { ...DEFAULT_REPLICATE_OPTIONS };
  for (const setting of settings) options[OPTION_DEFS[setting.name].key] = setting.value;
  return options as unknown as ReplicateOptions;
}

/** `Name=value` as canonical text: true/false, digits, or a quoted string. */
export function formatReplicateOption(setting: Pick<ReplicateOptionSetting, "name" | "value">): string {
  const { value } = setting;
  const text =
    typeof value === "string"
      ? `'${value.replaceAll("'", "''")}'`
      : typeof value === "number"
        ? String(value)
        : String(value);
  return `${setting.name}=${text}`;
}

function optionValue(parser: SqlParser, name: ReplicateOptionName, expr: Expr): boolean | number | string {
  const kind: OptionKind = OPTION_DEFS[name].kind;
  const written = parser.sql.slice(expr.span.start, expr.span.end);
  const invalid = (expectedText: string, suggestion?: string) =>
    parser.spanError(expr.span, `Invalid ${name} ${written}: expected ${expectedText}`, { suggestion });

  if (expr.kind === "literal" && expr.type === "null") {
    throw parser.spanError(expr.span, `${name} cannot be NULL`, {
      hint: "Leave the option out to use its default",
    });
  }
  const text = textOf(expr);
  switch (kind.type) {
    case "boolean": {
      if (expr.kind === "literal" && expr.type === "boolean") return expr.value;
      if (expr.kind === "literal" && expr.type === "string") {
        const lower = expr.value.toLowerCase();
        if (lower === "true" || lower === "false") return lower === "true";
      }
      throw invalid("true or false");
    }
    case "integer": {
      const range = `a whole number from ${group(kind.min)} to ${group(kind.max)}`;
      if (expr.kind === "literal" && expr.type === "integer") {
        const n = expr.number;
        if (n !== undefined && n >= kind.min && n <= kind.max) return n;
      }
      throw invalid(range);
    }
    case "enum": {
      const list = `${kind.values.slice(0, -1).join(", ")} or ${kind.values.at(-1) ?? ""}`;
      if (text !== undefined) {
        const lower = text.toLowerCase();
        const value = kind.values.find((v) => v === lower) ?? kind.aliases?.[lower];
        if (value !== undefined) return value;
        throw invalid(list, closest(text, kind.values));
      }
      throw invalid(list);
    }
    case "date": {
      const value =
        expr.kind === "literal" &&
        (expr.type === "string" || expr.type === "date" || expr.type === "timestamp")
          ? expr.value
          : undefined;
      if (value !== undefined && isRealTimestamp(value)) return value;
      throw invalid("a real date 'YYYY-MM-DD' or timestamp 'YYYY-MM-DD HH:MM[:SS][+HH:MM]'");
    }
    case "column": {
      if (text !== undefined && text.trim() !== "") return text;
      throw invalid("a column name");
    }
    case "name": {
      const valid = kind.allowEmpty ? /^(?:[A-Za-z_][A-Za-z0-9_]*)?$/ : /^[A-Za-z_][A-Za-z0-9_]*$/;
      if (text !== undefined && valid.test(text) && Buffer.byteLength(text) <= 63) return text;
      throw invalid(
        `${kind.allowEmpty ? "letters" : "a name of letters"}, digits and underscores, not starting with a digit (at most 63)`,
      );
    }
  }
}

/** A string literal, or a bare or quoted one-part name. */
function textOf(expr: Expr): string | undefined {
  if (expr.kind === "literal" && expr.type === "string") return expr.value;
  if (expr.kind === "column" && expr.table === undefined) return expr.name;
  return undefined;
}

function checkCombinations(parser: SqlParser, settings: readonly ReplicateOptionSetting[]): void {
  const get = (name: ReplicateOptionName) => settings.find((s) => s.name === name);
  const drop = get("DropTable");
  const truncate = get("TruncateTableData");
  if (drop?.value === true && truncate?.value === true) {
    const later = drop.span.start > truncate.span.start ? drop : truncate;
    throw parser.spanError(later.span, "DropTable=true and TruncateTableData=true cannot be combined", {
      hint: "DropTable already starts each run from an empty table; keep one of them",
    });
  }
  const unit = get("ReplicateIntervalUnit");
  if (unit !== undefined && get("ReplicateInterval") === undefined) {
    throw parser.spanError(unit.span, "ReplicateIntervalUnit needs ReplicateInterval", {
      hint: `Add ReplicateInterval=n to load ${String(unit.value)} n at a time`,
    });
  }
}

function group(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+$)/g, ",");
}

const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?)?(?:\s*(?:Z|[+-](\d{2})(?::?(\d{2}))?))?$/i;

/** `YYYY-MM-DD`, optionally with a time (`T` or space), seconds, fraction and zone; the day must exist. */
export function isRealTimestamp(text: string): boolean {
  const match = TIMESTAMP.exec(text.trim());
  if (match === null) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  if (days === undefined || day < 1 || day > days) return false;
  const within = (part: string | undefined, max: number) => Number(part ?? 0) <= max;
  return (
    within(match[4], 23) &&
    within(match[5], 59) &&
    within(match[6], 59) &&
    within(match[7], 14) &&
    within(match[8], 59)
  );
}
