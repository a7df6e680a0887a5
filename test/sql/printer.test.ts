import { describe, expect, it } from "vitest";
import { formatAst, parseExpression, parseStatement, quoteIdentifier, toSql } from "../../src/sql/index.js";

const sqlOf = (text: string) => toSql(parseExpression(text));

describe("toSql", () => {
  it("renders expressions with only the parentheses precedence needs", () => {
    expect(sqlOf("a OR b AND c")).toBe("a OR b AND c");
    expect(sqlOf("(a OR b) AND c")).toBe("(a OR b) AND c");
    expect(sqlOf("a OR (b OR c)")).toBe("a OR (b OR c)");
    expect(sqlOf("((a))")).toBe("a");
    expect(sqlOf("NOT (a AND b)")).toBe("NOT (a AND b)");
    expect(sqlOf("not a = 1")).toBe("NOT a = 1");
    expect(sqlOf("(a = 1) = TRUE")).toBe("(a = 1) = TRUE");
    expect(sqlOf("1 - (2 - 3)")).toBe("1 - (2 - 3)");
    expect(sqlOf("(1 + 2) * 3")).toBe("(1 + 2) * 3");
    expect(sqlOf("-(a + b)")).toBe("-(a + b)");
    expect(sqlOf("- -a")).toBe("- -a");
    expect(sqlOf("-(-5)")).toBe("-(-5)");
    expect(sqlOf("-(5)")).toBe("-(5)");
    expect(sqlOf("(a || b) LIKE 'x%' ESCAPE '!'")).toBe("a || b LIKE 'x%' ESCAPE '!'");
    expect(sqlOf("(a = b) IS NULL")).toBe("(a = b) IS NULL");
    expect(sqlOf("a != b")).toBe("a <> b");
  });

  it("renders every kind of expression", () => {
    expect(sqlOf("x not in (1, 'a''b', null, true)")).toBe("x NOT IN (1, 'a''b', NULL, TRUE)");
    expect(sqlOf("x not between 1 and 2")).toBe("x NOT BETWEEN 1 AND 2");
    expect(sqlOf("x is not null")).toBe("x IS NOT NULL");
    expect(sqlOf("count(distinct x) + count(*) + now()")).toBe("count(DISTINCT x) + count(*) + now()");
    expect(sqlOf("x::int")).toBe("CAST(x AS INT)");
    expect(sqlOf("cast(x as numeric(10,2))")).toBe("CAST(x AS NUMERIC(10, 2))");
    expect(sqlOf("case x when 1 then 'a' else 'b' end")).toBe("CASE x WHEN 1 THEN 'a' ELSE 'b' END");
    expect(sqlOf("date '2026-01-01' < timestamp '2026-01-02 00:00:00Z'")).toBe(
      "DATE '2026-01-01' < TIMESTAMP '2026-01-02 00:00:00Z'",
    );
    expect(sqlOf("@since < ? + ?")).toBe("@since < ? + ?");
    expect(sqlOf("1e5 + .5 + 9007199254740993")).toBe("1e5 + .5 + 9007199254740993");
  });

  it("keeps quoted names quoted and quotes names that need it", () => {
    expect(sqlOf('[Pull Requests].Id + "x" + `y` + [a]]b]')).toBe("[Pull Requests].Id + [x] + [y] + [a]]b]");
    expect(sqlOf("[Order]")).toBe("[Order]");
    expect(quoteIdentifier("Order", false)).toBe("[Order]");
    expect(quoteIdentifier("Title", false)).toBe("Title");
    expect(quoteIdentifier("Title")).toBe("[Title]");
    expect(quoteIdentifier("has space", false)).toBe("[has space]");
  });

  it("renders statements", () => {
    expect(
      toSql(
        parseStatement(
          "explain select top 5 distinct_count, c.* , x as [y z] from [acme].Commits c where a=1 order by x desc nulls first, y",
        ),
      ),
    ).toBe(
      "EXPLAIN SELECT distinct_count, c.*, x AS [y z] FROM [acme].Commits AS c WHERE a = 1 ORDER BY x DESC NULLS FIRST, y LIMIT 5",
    );
  });

  const statements = [
    "SELECT * FROM Workspaces",
    "SELECT [Title], [ContentRaw] FROM [Issues] WHERE [Id] = 1",
    "SELECT COUNT(*) AS n, State FROM PullRequests WHERE UpdatedOn >= '2026-01-01' AND State IN ('OPEN','MERGED') GROUP BY State ORDER BY n DESC LIMIT 10",
    "SELECT * FROM [Information].[Repositories] WHERE Name LIKE 'web%' OR NOT IsPrivate",
    "EXPLAIN SELECT Hash FROM Commits LIMIT 5",
    "SELECT DISTINCT a, b.* FROM s.t b WHERE (a OR b) AND NOT (c OR d) GROUP BY a HAVING SUM(x) > 1 ORDER BY 1 NULLS LAST OFFSET 3",
    "SELECT -a - -1 - (-2) * +3, 'it''s' || x, CASE WHEN a BETWEEN 1 AND 2 THEN - -x END FROM t LIMIT @n OFFSET ?",
    "SELECT a FROM t WHERE a NOT LIKE '%x' ESCAPE '\\' AND b IS NULL AND (c = d) IS NOT NULL",
    "SELECT CAST(a AS TIMESTAMP WITH TIME ZONE), a::double precision FROM t WHERE d > DATE '2026-01-01'",
  ];

  it.each(statements)("round-trips %s", (sql) => {
    const first = parseStatement(sql);
    const again = parseStatement(toSql(first));
    expect(formatAst(again)).toBe(formatAst(first));
    expect(toSql(again)).toBe(toSql(first));
  });
});

describe("formatAst", () => {
  it("prints names that need it in brackets", () => {
    expect(formatAst(parseStatement("SELECT [a b] FROM [x y].[p q] AS [r s]"))).toBe(
      "(select (cols (col [a b])) (from (as [x y].[p q] [r s])))",
    );
  });

  it("prints every node kind", () => {
    const node = parseExpression(
      "CASE WHEN a IS NOT NULL THEN CAST(b AS INT) END = -1 OR c NOT BETWEEN @lo AND ? AND d NOT LIKE 'x' AND e NOT IN (TRUE, NULL, 1.5)",
    );
    expect(formatAst(node)).toBe(
      "(or (= (case (when (is-not-null (col a)) (cast (col b) INT))) -1) (and (and (not-between (col c) @lo ?1) (not-like (col d) 'x')) (not-in (col e) true null 1.5)))",
    );
  });
});
