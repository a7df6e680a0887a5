import { describe, expect, it } from "vitest";
import { compile } from "../../src/sql/evaluate.js";
import { parseExpression } from "../../src/sql/index.js";

/** Evaluates an expression over one row whose columns are referenced by name. */
function evaluate(sql: string, values: Record<string, unknown> = {}): unknown {
  const expr = parseExpression(sql);
  return compile(expr, { column: (ref) => ref.name })({ values });
}

describe("expression evaluation", () => {
  it("follows SQL's three-valued logic", () => {
    expect(evaluate("a = 1", { a: null })).toBeNull();
    expect(evaluate("a = 1 OR TRUE", { a: null })).toBe(true);
    expect(evaluate("a = 1 AND FALSE", { a: null })).toBe(false);
    expect(evaluate("NOT (a = 1)", { a: null })).toBeNull();
    expect(evaluate("a IS NULL", { a: null })).toBe(true);
    expect(evaluate("a IN (1, NULL)", { a: 2 })).toBeNull();
    expect(evaluate("a NOT IN (1, 2)", { a: 3 })).toBe(true);
    expect(evaluate("a BETWEEN 1 AND 3", { a: 3 })).toBe(true);
    expect(evaluate("a NOT BETWEEN 1 AND 3", { a: 4 })).toBe(true);
  });

  it("compares timestamps as instants, whatever their notation", () => {
    const d = new Date("2026-03-05T14:07:31.123Z");
    expect(evaluate("d > '2026-03-05'", { d })).toBe(true);
    expect(evaluate("d < '2026-03-05 16:00:00+02'", { d })).toBe(false);
    expect(evaluate("d = TIMESTAMP '2026-03-05 14:07:31.123+00'", { d })).toBe(true);
    expect(evaluate("YEAR(d) * 100 + MONTH(d)", { d })).toBe(202603);
  });

  it("matches LIKE exactly: case-sensitive, % and _, escapes", () => {
    expect(evaluate("s LIKE 'web%'", { s: "web-app" })).toBe(true);
    expect(evaluate("s LIKE 'Web%'", { s: "web-app" })).toBe(false);
    expect(evaluate("s LIKE 'w_b%'", { s: "web" })).toBe(true);
    expect(evaluate("s LIKE '100!%' ESCAPE '!'", { s: "100%" })).toBe(true);
    expect(evaluate("s LIKE '100!%' ESCAPE '!'", { s: "1000" })).toBe(false);
    expect(evaluate("s NOT LIKE '%.*%'", { s: "a.b" })).toBe(true);
  });

  it("evaluates CASE, CAST, arithmetic and string functions", () => {
    expect(evaluate("CASE WHEN n > 10 THEN 'big' WHEN n > 1 THEN 'some' ELSE 'one' END", { n: 5 })).toBe(
      "some",
    );
    expect(evaluate("CASE s WHEN 'OPEN' THEN 1 ELSE 0 END", { s: "OPEN" })).toBe(1);
    expect(evaluate("CAST('42' AS INTEGER) + 1")).toBe(43);
    expect(evaluate("7 / 2")).toBe(3);
    expect(evaluate("7.0 / 2")).toBe(3.5);
    expect(evaluate("LOWER(s) || '-' || UPPER(SUBSTRING(s, 2, 3))", { s: "Bitbucket" })).toBe(
      "bitbucket-ITB",
    );
    expect(evaluate("COALESCE(a, b, 'x')", { a: null, b: null })).toBe("x");
    expect(evaluate("LENGTH('héllo')")).toBe(5);
  });

  it("reports errors that say what is wrong", () => {
    expect(() => evaluate("1 / 0")).toThrow(/Division by zero/);
    expect(() => evaluate("NOPE(1)")).toThrow(/Unknown function NOPE\(\)/);
    expect(() => evaluate("LOWER(1, 2)")).toThrow(/takes 1 argument/);
    expect(() => evaluate("CAST(1 AS BLOB)")).toThrow(/Cannot CAST to BLOB/);
    expect(() => evaluate("COUNT(*)")).toThrow(/not allowed here/);
  });
});
