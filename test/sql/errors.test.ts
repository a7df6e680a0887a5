import { describe, expect, it } from "vitest";
import { BitbridgeError } from "../../src/app/errors.js";
import { formatSqlError, parseExpression, parseStatement, SqlSyntaxError } from "../../src/sql/index.js";

function syntaxError(sql: string, parse: (sql: string) => unknown = parseStatement): SqlSyntaxError {
  try {
    parse(sql);
  } catch (error) {
    if (error instanceof SqlSyntaxError) return error;
    throw error;
  }
  throw new Error(`expected a syntax error for: ${sql}`);
}

/** "line:column message" for compact assertions. */
function where(sql: string, parse?: (sql: string) => unknown): string {
  const error = syntaxError(sql, parse);
  return `${error.line}:${error.column} ${error.message}`;
}

describe("SqlSyntaxError", () => {
  it("is a BitbridgeError with code SQL_SYNTAX, status 400 and the position in details", () => {
    const error = syntaxError("SELECT Title, Body WHERE x = 1");
    expect(error).toBeInstanceOf(BitbridgeError);
    expect(error.code).toBe("SQL_SYNTAX");
    expect(error.status).toBe(400);
    expect(error.message).toBe("Expected FROM after the select list at line 1, column 20, found 'WHERE'");
    expect(error.reason).toBe("Expected FROM after the select list");
    expect([error.line, error.column, error.offset, error.length]).toEqual([1, 20, 19, 5]);
    expect(error.details).toEqual({ line: 1, column: 20, offset: 19, length: 5, found: "WHERE" });
  });
});

describe("positions in multi-line statements", () => {
  it("counts lines and columns from 1", () => {
    const sql = "SELECT Title,\n       State\n  FROM Issues\n WHERE Id = = 1";
    const error = syntaxError(sql);
    expect(error.message).toBe("Expected an expression at line 4, column 13, found '='");
    expect(error.offset).toBe(sql.lastIndexOf("="));
  });

  it("handles CRLF and CR line ends", () => {
    expect(where("SELECT a\r\nFROM t\r\nWHERE (a")).toBe(
      "3:9 Expected ')' to close the parenthesis at line 3, column 9, found end of input",
    );
    expect(where("SELECT a\rFROM t\rLIMIT x")).toBe(
      "3:7 Expected a whole number after LIMIT at line 3, column 7, found 'x'",
    );
  });

  it("counts characters, not UTF-16 units, in columns", () => {
    const error = syntaxError("SELECT '😀😀', # FROM t");
    expect(error.message).toBe("Unexpected character '#' at line 1, column 14. Comments start with -- or /*");
    expect(error.offset).toBe(15);
  });
});

describe("typo suggestions", () => {
  it.each([
    ["SELEC * FROM t", "1:1 Expected SELECT at line 1, column 1, found 'SELEC'. Did you mean SELECT?"],
    [
      "SELECT * FORM t",
      "1:10 Expected FROM after the select list at line 1, column 10, found 'FORM'. Did you mean FROM?",
    ],
    // FORM was read as an alias of Title; the error still points at it.
    [
      "SELECT Title FORM t",
      "1:14 Expected FROM after the select list at line 1, column 14, found 'FORM'. Did you mean FROM?",
    ],
    [
      "SELECT * FROM t WEHRE a = 1",
      "1:17 Expected end of statement at line 1, column 17, found 'WEHRE'. Did you mean WHERE?",
    ],
    [
      "SELECT * FROM t x WHER a = 1",
      "1:19 Expected end of statement at line 1, column 19, found 'WHER'. Did you mean WHERE?",
    ],
    [
      "SELECT * FROM t GROPU BY a",
      "1:17 Expected end of statement at line 1, column 17, found 'GROPU'. Did you mean GROUP?",
    ],
    [
      "SELECT * FROM t ORDER BY a DESK",
      "1:28 Expected end of statement at line 1, column 28, found 'DESK'. Did you mean DESC?",
    ],
    [
      "SELECT * FROM t WHERE a = 1 LIMT 5",
      "1:29 Expected end of statement at line 1, column 29, found 'LIMT'. Did you mean LIMIT?",
    ],
    [
      "SELECT * FROM t WHERE a = 1 ADN b",
      "1:29 Expected end of statement at line 1, column 29, found 'ADN'. Did you mean AND?",
    ],
    ["SELECT * FROM t ORDER a", "1:23 Expected BY after ORDER at line 1, column 23, found 'a'"],
    [
      "SELECT * FROM t ORDER BI a",
      "1:23 Expected BY after ORDER at line 1, column 23, found 'BI'. Did you mean BY?",
    ],
    ["EXPLIAN SELECT 1", "1:1 Expected SELECT at line 1, column 1, found 'EXPLIAN'. Did you mean EXPLAIN?"],
    [
      "SELECT * FROM t ORDER BY a NULLS FRIST",
      "1:34 Expected FIRST or LAST after NULLS at line 1, column 34, found 'FRIST'. Did you mean FIRST?",
    ],
    [
      "SELECT CASE WHEN a THNE 1 END FROM t",
      "1:20 Expected THEN after the WHEN condition at line 1, column 20, found 'THNE'. Did you mean THEN?",
    ],
  ])("%s", (sql, expected) => {
    expect(where(sql)).toBe(expected);
  });

  it("does not suggest anything for unrelated words", () => {
    const error = syntaxError("SELECT * FROM t banana split");
    expect(error.suggestion).toBeUndefined();
    expect(error.message).toBe("Expected end of statement at line 1, column 24, found 'split'");
  });

  it("exposes the suggestion", () => {
    expect(syntaxError("SELECT * FORM t").suggestion).toBe("FROM");
  });
});

describe("unterminated and stray input", () => {
  it.each([
    [
      "SELECT 'abc FROM t",
      "1:8 Unterminated string literal at line 1, column 8. Close it with ' (write '' for a quote inside the text)",
    ],
    [
      "SELECT [Title FROM t",
      "1:8 Unterminated quoted identifier at line 1, column 8. Close it with ] (write ]] for a ] inside the name)",
    ],
    [
      'SELECT "Title FROM t',
      '1:8 Unterminated quoted identifier at line 1, column 8. Close it with " (write "" for a " inside the name)',
    ],
    ["SELECT a FROM t /* note", "1:17 Unterminated block comment at line 1, column 17. Close it with */"],
    [
      "SELECT a FROM t /* a /* b */",
      "1:17 Unterminated block comment at line 1, column 17. Close it with */",
    ],
    ["SELECT [] FROM t", "1:8 Empty quoted identifier at line 1, column 8"],
    [
      "SELECT a FROM t WHERE a ! b",
      "1:25 Unexpected character '!' at line 1, column 25. Use NOT, or != for 'not equal'",
    ],
    [
      "SELECT a FROM t WHERE a = $1",
      "1:27 Unexpected character '$' at line 1, column 27. Parameters are written @name or ?",
    ],
    [
      "SELECT 12abc FROM t",
      "1:8 Invalid number '12abc' at line 1, column 8. Numbers are written like 42, 3.14 or 1e5; put a space between a number and a name",
    ],
    [
      "SELECT 1e FROM t",
      "1:8 Invalid number '1e' at line 1, column 8. Numbers are written like 42, 3.14 or 1e5; put a space between a number and a name",
    ],
    ["SELECT @ FROM t", "1:8 Expected a parameter name after '@' at line 1, column 8"],
  ])("%s", (sql, expected) => {
    expect(where(sql)).toBe(expected);
  });

  it("a string may span lines; the error points at its opening quote", () => {
    expect(where("SELECT a\nFROM t\nWHERE b = 'one\ntwo")).toBe(
      "3:11 Unterminated string literal at line 3, column 11. Close it with ' (write '' for a quote inside the text)",
    );
  });

  it("empty statements", () => {
    expect(where("")).toBe("1:1 Empty statement: expected SELECT at line 1, column 1");
    expect(where("   \n  ;")).toBe("2:3 Empty statement: expected SELECT at line 2, column 3");
    expect(where("-- only a comment\n/* and another */")).toBe(
      "2:18 Empty statement: expected SELECT at line 2, column 18",
    );
  });

  it("trailing garbage and second statements", () => {
    expect(where("SELECT a FROM t LIMIT 5 5")).toBe(
      "1:25 Expected end of statement at line 1, column 25, found '5'",
    );
    expect(where("SELECT a FROM t; SELECT b FROM u")).toBe(
      "1:18 Only one statement is allowed at line 1, column 18, found 'SELECT'. Run statements one at a time",
    );
    expect(where("SELECT a FROM t WHERE a = 1)")).toBe(
      "1:28 Expected end of statement at line 1, column 28, found ')'",
    );
  });

  it("a standalone expression must end", () => {
    expect(where("a = 1 b", parseExpression)).toBe(
      "1:7 Expected end of expression at line 1, column 7, found 'b'",
    );
    expect(where("a = 1;", parseExpression)).toBe(
      "1:6 Expected end of expression at line 1, column 6, found ';'",
    );
    expect(where("", parseExpression)).toBe(
      "1:1 Expected an expression at line 1, column 1, found end of input",
    );
  });
});

describe("grammar errors", () => {
  it.each([
    [
      "SELECT a FROM t JOIN u ON a = b",
      "1:17 Joins are not supported yet at line 1, column 17, found 'JOIN'. Query one table per statement",
    ],
    [
      "SELECT a FROM t x LEFT JOIN u",
      "1:19 Joins are not supported yet at line 1, column 19, found 'LEFT'. Query one table per statement",
    ],
    [
      "SELECT a FROM t, u",
      "1:16 Joins are not supported yet at line 1, column 16, found ','. Query one table per statement",
    ],
    [
      "SELECT a FROM (SELECT 1)",
      "1:15 Subqueries are not supported yet at line 1, column 15, found '('. Select from one table",
    ],
    [
      "SELECT a FROM t WHERE a IN (SELECT b FROM u)",
      "1:29 Subqueries are not supported yet at line 1, column 29, found 'SELECT'. List the values",
    ],
    ["SELECT a", "1:9 Expected FROM after the select list at line 1, column 9, found end of input"],
    ["SELECT FROM t", "1:8 Expected an expression at line 1, column 8, found 'FROM'"],
    [
      "SELECT a, FROM t",
      "1:11 Expected an expression after ',' at line 1, column 11, found 'FROM'. Remove the comma before FROM",
    ],
    [
      "SELECT Order FROM t",
      "1:8 Expected an expression at line 1, column 8, found 'Order'. ORDER is a reserved word; write [Order] to use it as a name",
    ],
    [
      "SELECT a FROM Group",
      "1:15 Expected a table name after FROM at line 1, column 15, found 'Group'. GROUP is a reserved word; write [Group] to use it as a name",
    ],
    [
      "SELECT a FROM t LIMIT 5 WHERE a = 1",
      "1:25 WHERE must come before LIMIT at line 1, column 25, found 'WHERE'",
    ],
    [
      "SELECT a FROM t ORDER BY a GROUP BY a",
      "1:28 GROUP BY must come before ORDER BY at line 1, column 28, found 'GROUP'",
    ],
    [
      "SELECT a FROM t WHERE a = 1 WHERE b = 2",
      "1:29 Only one WHERE clause is allowed at line 1, column 29, found 'WHERE'. Combine the conditions with AND",
    ],
    [
      "SELECT a FROM t LIMIT 1 LIMIT 2",
      "1:25 Only one LIMIT clause is allowed at line 1, column 25, found 'LIMIT'",
    ],
    [
      "SELECT TOP 5 a FROM t LIMIT 2",
      "1:23 Use either TOP or LIMIT, not both at line 1, column 23, found 'LIMIT'",
    ],
    [
      "SELECT TOP 5 PERCENT a FROM t",
      "1:14 TOP ... PERCENT is not supported at line 1, column 14, found 'PERCENT'. Use TOP n or LIMIT n",
    ],
    ["SELECT a FROM t LIMIT -1", "1:23 Expected a whole number after LIMIT at line 1, column 23, found '-'"],
    [
      "SELECT a FROM t LIMIT 2.5",
      "1:23 Expected a whole number after LIMIT at line 1, column 23, found '2.5'",
    ],
    [
      "SELECT a FROM a.b.c",
      "1:18 A table name has at most two parts (schema.table) at line 1, column 18, found '.'",
    ],
    [
      "SELECT a.b.c.d FROM t",
      "1:14 A column reference has at most three parts (schema.table.column) at line 1, column 14",
    ],
    [
      "SELECT a FROM t WHERE a = b = c",
      "1:29 Comparison operators cannot be chained at line 1, column 29, found '='. Add parentheses, or combine the conditions with AND",
    ],
    ["SELECT a FROM t WHERE a IS 1", "1:28 Expected NULL after IS at line 1, column 28, found '1'"],
    [
      "SELECT a FROM t WHERE a IS NOT NUL",
      "1:32 Expected NULL after IS NOT at line 1, column 32, found 'NUL'. Did you mean NULL?",
    ],
    [
      "SELECT a FROM t WHERE a IN ()",
      "1:29 Expected at least one value in the IN list at line 1, column 29, found ')'",
    ],
    [
      "SELECT a FROM t WHERE a IN (1, 2",
      "1:33 Expected ')' to close the IN list at line 1, column 33, found end of input",
    ],
    [
      "SELECT a FROM t WHERE a BETWEEN 1 OR 2",
      "1:35 Expected AND between the bounds of BETWEEN at line 1, column 35, found 'OR'",
    ],
    [
      "SELECT COUNT(* FROM t",
      "1:16 Expected ')' to close the call to COUNT at line 1, column 16, found 'FROM'",
    ],
    ["SELECT t.* + 1 FROM t", "1:12 Expected FROM after the select list at line 1, column 12, found '+'"],
    [
      "SELECT a + t.* FROM t",
      "1:14 Expected a column name after '.' at line 1, column 14, found '*'. t.* is allowed only as a select list item",
    ],
    [
      "SELECT a FROM t WHERE * = 1",
      "1:23 Expected an expression at line 1, column 23, found '*'. * is allowed only as a select list item (*, t.*) and in COUNT(*)",
    ],
    ["SELECT CAST(a AS) FROM t", "1:17 Expected a type name at line 1, column 17, found ')'"],
    [
      "SELECT CAST(a INT) FROM t",
      "1:15 Expected AS and a type in CAST(... AS type) at line 1, column 15, found 'INT'",
    ],
    ["SELECT CASE END FROM t", "1:13 Expected WHEN after CASE at line 1, column 13, found 'END'"],
    [
      "SELECT a FROM t WHERE DATE '2026-02-30' < a",
      "1:28 Invalid DATE literal '2026-02-30': expected YYYY-MM-DD at line 1, column 28",
    ],
    [
      "SELECT a FROM t WHERE TIMESTAMP '2026-01-01 25:00' < a",
      "1:33 Invalid TIMESTAMP literal '2026-01-01 25:00': expected YYYY-MM-DD HH:MM:SS with an optional fraction and time zone at line 1, column 33",
    ],
    [
      "SELECT COUNT(*) OVER (PARTITION BY a) FROM t",
      "1:17 Window functions (OVER) are not supported yet at line 1, column 17, found 'OVER'",
    ],
    [
      "EXPLAIN EXPLAIN SELECT a FROM t",
      "1:9 Expected SELECT after EXPLAIN at line 1, column 9, found 'EXPLAIN'",
    ],
    [
      "UPDATE t SET a = 1",
      "1:1 Expected SELECT at line 1, column 1, found 'UPDATE'. Only SELECT statements (optionally after EXPLAIN) can run here",
    ],
  ])("%s", (sql, expected) => {
    expect(where(sql)).toBe(expected);
  });

  it("an unclosed CASE says where it started", () => {
    expect(where("SELECT\n  CASE WHEN a THEN 1\nFROM t")).toBe(
      "3:1 Expected END to close the CASE that starts at line 2, column 3 at line 3, column 1, found 'FROM'",
    );
  });

  it("long tokens are shortened in the message", () => {
    const error = syntaxError(`SELECT a FROM t LIMIT '${"x".repeat(100)}'`);
    expect(error.found).toBe(`'${"x".repeat(36)}...`);
  });
});

describe("formatSqlError", () => {
  it("shows the offending line with carets under the token", () => {
    const sql = "SELECT Title\nFORM Issues\nWHERE Id = 1";
    const error = syntaxError(sql);
    expect(formatSqlError(sql, error)).toBe(
      [
        "Expected FROM after the select list at line 2, column 1, found 'FORM'. Did you mean FROM?",
        "2 | FORM Issues",
        "  | ^^^^",
      ].join("\n"),
    );
  });

  it("points past the last character at the end of the input", () => {
    const sql = "SELECT a FROM t WHERE";
    expect(formatSqlError(sql, syntaxError(sql))).toBe(
      [
        "Expected an expression at line 1, column 22, found end of input",
        "1 | SELECT a FROM t WHERE",
        "  |                      ^",
      ].join("\n"),
    );
  });

  it("keeps tabs so the caret lines up, and widens the gutter for long statements", () => {
    const sql = `${"\n".repeat(11)}\tSELECT a FROM t WHERE a = 'x`;
    expect(formatSqlError(sql, syntaxError(sql)).split("\n").slice(1)).toEqual([
      "12 | \tSELECT a FROM t WHERE a = 'x",
      "   | \t                          ^",
    ]);
  });

  it("cuts long lines around the error", () => {
    const sql = `SELECT ${Array.from({ length: 40 }, (_, i) => `c${i}`).join(", ")} FORM t`;
    const [, line, carets] = formatSqlError(sql, syntaxError(sql)).split("\n");
    expect(line?.startsWith("1 | ...")).toBe(true);
    expect(carets?.indexOf("^")).toBe(line?.indexOf("FORM"));
    expect(carets?.endsWith("^^^^")).toBe(true);
  });
});
