import { assertNever, type BbqlLiteral, type BbqlNode, type CompareOp } from "./ast.js";
import { parseIsoDatetime } from "./datetime.js";
import { BbqlError } from "./error.js";
import { type FieldFilter, getField, isFieldAllowed } from "./path.js";

export interface CompileOptions {
  /** Fields the resource can be filtered on; naming any other field throws BbqlError (a 400). */
  readonly fields?: FieldFilter;
}

export type BbqlPredicate = (obj: unknown) => boolean;

type LeafTest = (value: unknown) => boolean;

const NO_MATCH = 0;
const MATCH = 1;
/** The path fanned out over arrays and reached no value at all (an empty array somewhere). */
const EMPTY = 2;
type Outcome = typeof NO_MATCH | typeof MATCH | typeof EMPTY;

/**
 * Compiles a parsed query once into a predicate over API-shaped JSON objects.
 *
 * Semantics:
 * - Paths walk nested objects; a missing key or a non-object on the way yields null.
 * - Arrays anywhere on the path (or at its end) fan out: `=`, `~`, `IN` and the ordering operators hold when
 *   any element holds. If the fan-out reaches no element (empty array) the value counts as null.
 * - `!=`, `!~` and `NOT IN` are the negations of `=`, `~` and `IN`: `reviewers.uuid != "{u}"` means "u is
 *   not a reviewer".
 * - `=` on strings is case-sensitive; `~` is case-insensitive "contains".
 * - A datetime literal matches string values that are ISO-8601 datetimes, compared as instants (to the
 *   microsecond). Numbers compare numerically, strings by UTF-16 code units.
 * - Type mismatches (e.g. `id > "5"` against a number) are simply false, so their negations are true.
 */
export function compileBbql(ast: BbqlNode, options: CompileOptions = {}): BbqlPredicate {
  return compileNode(ast, options.fields);
}

function compileNode(node: BbqlNode, fields: FieldFilter | undefined): BbqlPredicate {
  switch (node.kind) {
    case "and":
    case "or": {
      const parts = node.operands.map((operand) => compileNode(operand, fields));
      if (node.kind === "and") {
        return (obj) => {
          for (const part of parts) if (!part(obj)) return false;
          return true;
        };
      }
      return (obj) => {
        for (const part of parts) if (part(obj)) return true;
        return false;
      };
    }
    case "compare": {
      const segments = fieldSegments(node.path, node.position, fields);
      const negated = node.op === "!=" || node.op === "!~";
      const test = leafTest(node.op, node.value);
      return negated ? (obj) => !matchesPath(obj, segments, test) : (obj) => matchesPath(obj, segments, test);
    }
    case "in": {
      const segments = fieldSegments(node.path, node.position, fields);
      const test = inTest(node.values);
      return node.negated
        ? (obj) => !matchesPath(obj, segments, test)
        : (obj) => matchesPath(obj, segments, test);
    }
    default:
      return assertNever(node);
  }
}

function fieldSegments(path: string, position: number, fields: FieldFilter | undefined): readonly string[] {
  if (!isFieldAllowed(fields, path)) {
    throw new BbqlError(
      `Invalid field '${path}' at position ${position}: this resource cannot be filtered on it`,
      position,
    );
  }
  return path.split(".");
}

function matchesPath(obj: unknown, segments: readonly string[], test: LeafTest): boolean {
  const outcome = walk(obj, segments, 0, test);
  return outcome === EMPTY ? test(null) : outcome === MATCH;
}

function walk(value: unknown, segments: readonly string[], index: number, test: LeafTest): Outcome {
  if (Array.isArray(value)) {
    let outcome: Outcome = EMPTY;
    for (const element of value) {
      const result = walk(element, segments, index, test);
      if (result === MATCH) return MATCH;
      if (result === NO_MATCH) outcome = NO_MATCH;
    }
    return outcome;
  }
  if (index === segments.length) return test(value === undefined ? null : value) ? MATCH : NO_MATCH;
  const child = getField(value, segments[index] as string);
  if (child === undefined) return test(null) ? MATCH : NO_MATCH;
  return walk(child, segments, index + 1, test);
}

/** The positive test behind an operator (`!=` and `!~` are negated by the caller). */
function leafTest(op: CompareOp, literal: BbqlLiteral): LeafTest {
  switch (op) {
    case "=":
    case "!=":
      return equalityTest(literal);
    case "~":
    case "!~": {
      if (literal.kind !== "string") return () => false;
      const needle = literal.value.toLowerCase();
      return (value) => typeof value === "string" && value.toLowerCase().includes(needle);
    }
    case ">":
      return orderingTest(literal, (c) => c > 0);
    case ">=":
      return orderingTest(literal, (c) => c >= 0);
    case "<":
      return orderingTest(literal, (c) => c < 0);
    case "<=":
      return orderingTest(literal, (c) => c <= 0);
    default:
      return assertNever(op);
  }
}

function equalityTest(literal: BbqlLiteral): LeafTest {
  switch (literal.kind) {
    case "null":
      return (value) => value === null;
    case "string":
    case "number":
    case "boolean": {
      const expected = literal.value;
      return (value) => value === expected;
    }
    case "datetime": {
      const expected = literal.micros;
      return (value) => typeof value === "string" && parseIsoDatetime(value) === expected;
    }
    default:
      return assertNever(literal);
  }
}

/** `accept` receives sign(value - literal); values of another type never match. */
function orderingTest(literal: BbqlLiteral, accept: (comparison: number) => boolean): LeafTest {
  switch (literal.kind) {
    case "number": {
      const expected = literal.value;
      return (value) => typeof value === "number" && accept(value - expected);
    }
    case "string": {
      const expected = literal.value;
      return (value) => typeof value === "string" && accept(value < expected ? -1 : value > expected ? 1 : 0);
    }
    case "datetime": {
      const expected = literal.micros;
      return (value) => {
        if (typeof value !== "string") return false;
        const micros = parseIsoDatetime(value);
        return micros !== undefined && accept(micros - expected);
      };
    }
    case "null":
    case "boolean":
      return () => false;
    default:
      return assertNever(literal);
  }
}

function inTest(literals: readonly BbqlLiteral[]): LeafTest {
  if (literals.every((literal) => literal.kind === "string")) {
    const set = new Set(literals.map((literal) => literal.value));
    return (value) => typeof value === "string" && set.has(value);
  }
  const tests = literals.map(equalityTest);
  return (value) => {
    for (const test of tests) if (test(value)) return true;
    return false;
  };
}
