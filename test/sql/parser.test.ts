import { describe, expect, it } from "vitest";
import {
  type Expr,
  formatAst,
  parseExpression,
  parseStatement,
  type SelectStatement,
  SqlParser,
  type Statement,
} from "../../src/sql/index.js";

const tree = (sql: string) => formatAst(parseStatement(sql));
const expr = (sql: string) => formatAst(parseExpression(sql));

function select(statement: Statement): SelectStatement {
  if (statement.kind !== "select") throw new Error(`expected a SELECT, got ${statement.kind}`);
  return statement;
}

describe("statements that must parse verbatim", () => {
  it("SELECT * FROM Workspaces", () => {
    expect(tree("SELECT * FROM Workspaces")).toBe("(select (cols *) (from Workspaces))");
  });

  it("bracketed names", () => {
    expect(tree("SELECT [Title], [ContentRaw] FROM [Issues] WHERE [Id] = 1")).toBe(
      "(select (cols (col Title) (col ContentRaw)) (from Issues) (where (= (col Id) 1)))",
    );
  });

  it("aggregate, IN, GROUP BY, ORDER BY alias DESC, LIMIT", () => {
    expect(
      tree(
        "SELECT COUNT(*) AS n, State FROM PullRequests WHERE UpdatedOn >= '2026-01-01' AND State IN ('OPEN','MERGED') GROUP BY State ORDER BY n DESC LIMIT 10",
      ),
    ).toBe(
      "(select (cols (as (call COUNT *) n) (col State)) (from PullRequests)" +
        " (where (and (>= (col UpdatedOn) '2026-01-01') (in (col State) 'OPEN' 'MERGED')))" +
        " (group-by (col State)) (order-by (desc (col n))) (limit 10))",
    );
  });

  it("schema-qualified bracketed table, LIKE, OR NOT", () => {
    expect(tree("SELECT * FROM [Information].[Repositories] WHERE Name LIKE 'web%' OR NOT IsPrivate")).toBe(
      "(select (cols *) (from Information.Repositories) (where (or (like (col Name) 'web%') (not (col IsPrivate)))))",
    );
  });

  it("EXPLAIN", () => {
    const statement = parseStatement("EXPLAIN SELECT Hash FROM Commits LIMIT 5");
    expect(formatAst(statement)).toBe("(explain (select (cols (col Hash)) (from Commits) (limit 5)))");
    expect(statement.kind).toBe("explain");
    expect(statement.span).toEqual({ start: 0, end: 40 });
  });
});

describe("SELECT clauses", () => {
  it("keywords in any case, trailing semicolon", () => {
    expect(tree("select distinct State from PullRequests where Id=1;")).toBe(
      "(select distinct (cols (col State)) (from PullRequests) (where (= (col Id) 1)))",
    );
  });

  it("SELECT ALL is the default", () => {
    expect(tree("SELECT ALL a FROM t")).toBe("(select (cols (col a)) (from t))");
  });

  it("aliases with and without AS, quoted aliases", () => {
    expect(tree('SELECT a AS x, b y, c "z z", d [w] FROM t')).toBe(
      "(select (cols (as (col a) x) (as (col b) y) (as (col c) [z z]) (as (col d) w)) (from t))",
    );
  });

  it("t.* and schema.t.*", () => {
    expect(tree("SELECT c.*, acme.Commits.*, * FROM acme.Commits c")).toBe(
      "(select (cols c.* acme.Commits.* *) (from (as acme.Commits c)))",
    );
  });

  it("table forms", () => {
    expect(tree("SELECT * FROM [Pull Requests]")).toBe("(select (cols *) (from [Pull Requests]))");
    expect(tree('SELECT * FROM "Commits"')).toBe("(select (cols *) (from Commits))");
    expect(tree("SELECT * FROM Information.Workspaces")).toBe(
      "(select (cols *) (from Information.Workspaces))",
    );
    expect(tree("SELECT * FROM acme_web.Commits AS c")).toBe(
      "(select (cols *) (from (as acme_web.Commits c)))",
    );
    expect(tree("SELECT * FROM `Tags` t")).toBe("(select (cols *) (from (as Tags t)))");
  });

  it("table reference keeps spelling, quoting and parts", () => {
    const { from } = select(parseStatement("SELECT * FROM [Information].workspaces w"));
    expect(from.name).toBe("workspaces");
    expect(from.quoted).toBe(false);
    expect(from.schema).toMatchObject({ name: "Information", quoted: true, span: { start: 14, end: 27 } });
    expect(from.alias).toMatchObject({ name: "w", quoted: false });
    expect(from.span).toEqual({ start: 14, end: 40 });
  });

  it("all clauses", () => {
    expect(
      tree(
        "SELECT State, COUNT(*) FROM PullRequests WHERE Id > 5 GROUP BY State, Author HAVING COUNT(*) > 1 ORDER BY 2 DESC NULLS LAST, State ASC, Author NULLS FIRST LIMIT 10 OFFSET 20",
      ),
    ).toBe(
      "(select (cols (col State) (call COUNT *)) (from PullRequests) (where (> (col Id) 5))" +
        " (group-by (col State) (col Author)) (having (> (call COUNT *) 1))" +
        " (order-by (desc 2 nulls-last) (asc (col State)) (asc (col Author) nulls-first)) (limit 10) (offset 20))",
    );
  });

  it("OFFSET before LIMIT, OFFSET n ROWS, OFFSET alone", () => {
    expect(tree("SELECT a FROM t OFFSET 5 LIMIT 10")).toBe(
      "(select (cols (col a)) (from t) (limit 10) (offset 5))",
    );
    expect(tree("SELECT a FROM t OFFSET 5 ROWS")).toBe("(select (cols (col a)) (from t) (offset 5))");
  });

  it("TOP n, TOP (n) and a column called Top", () => {
    expect(tree("SELECT TOP 3 Title FROM Issues")).toBe(
      "(select (cols (col Title)) (from Issues) (limit 3))",
    );
    expect(tree("SELECT DISTINCT TOP (3) * FROM Issues")).toBe(
      "(select distinct (cols *) (from Issues) (limit 3))",
    );
    expect(tree("SELECT Top FROM t")).toBe("(select (cols (col Top)) (from t))");
    expect(tree("SELECT Top, x FROM t")).toBe("(select (cols (col Top) (col x)) (from t))");
  });

  it("LIMIT and OFFSET take parameters", () => {
    expect(tree("SELECT a FROM t LIMIT @n OFFSET ?")).toBe(
      "(select (cols (col a)) (from t) (limit @n) (offset ?1))",
    );
  });

  it("non-reserved keywords stay usable as names", () => {
    expect(tree("SELECT Date, Left, Nulls, First FROM Left")).toBe(
      "(select (cols (col Date) (col Left) (col Nulls) (col First)) (from Left))",
    );
    expect(tree("SELECT x FROM t WHERE Date > DATE '2026-01-01'")).toBe(
      "(select (cols (col x)) (from t) (where (> (col Date) (date '2026-01-01'))))",
    );
  });

  it("reserved words work when quoted", () => {
    expect(tree('SELECT [Order], "From" FROM [Select]')).toBe(
      "(select (cols (col Order) (col From)) (from Select))",
    );
  });

  it("comments anywhere", () => {
    const sql = `-- recent work
      SELECT /* the title */ Title, -- and the state
        State /* nested /* comment */ still comment */
      FROM Issues -- done
      `;
    expect(tree(sql)).toBe("(select (cols (col Title) (col State)) (from Issues))");
  });

  it("spans cover each node", () => {
    const sql = "SELECT Title AS t FROM Issues WHERE Id = 1 ORDER BY Title DESC";
    const statement = select(parseStatement(sql));
    const text = (span: { start: number; end: number }) => sql.slice(span.start, span.end);
    expect(text(statement.span)).toBe(sql);
    const [item] = statement.columns;
    expect(item && text(item.span)).toBe("Title AS t");
    expect(statement.where && text(statement.where.span)).toBe("Id = 1");
    const [order] = statement.orderBy;
    expect(order && text(order.span)).toBe("Title DESC");
    expect(text(statement.from.span)).toBe("Issues");
  });
});

describe("expression precedence", () => {
  it("OR < AND < NOT < comparison", () => {
    expect(expr("a OR b AND c")).toBe("(or (col a) (and (col b) (col c)))");
    expect(expr("a AND b OR c")).toBe("(or (and (col a) (col b)) (col c))");
    expect(expr("NOT a = 1 AND b")).toBe("(and (not (= (col a) 1)) (col b))");
    expect(expr("NOT NOT a")).toBe("(not (not (col a)))");
    expect(expr("a = 1 OR b = 2 AND c = 3")).toBe("(or (= (col a) 1) (and (= (col b) 2) (= (col c) 3)))");
  });

  it("comparison < || < + - < * / % < unary", () => {
    expect(expr("a || b = c || d")).toBe("(= (|| (col a) (col b)) (|| (col c) (col d)))");
    expect(expr("a + b || c")).toBe("(|| (+ (col a) (col b)) (col c))");
    expect(expr("1 + 2 * 3")).toBe("(+ 1 (* 2 3))");
    expect(expr("1 * 2 + 3")).toBe("(+ (* 1 2) 3)");
    expect(expr("a - b - c")).toBe("(- (- (col a) (col b)) (col c))");
    expect(expr("a / b % c * d")).toBe("(* (% (/ (col a) (col b)) (col c)) (col d))");
    expect(expr("-a * b")).toBe("(* (- (col a)) (col b))");
    expect(expr("- - a")).toBe("(- (- (col a)))");
    expect(expr("+a")).toBe("(+ (col a))");
    expect(expr("(1 + 2) * 3")).toBe("(* (+ 1 2) 3)");
    expect(expr("a <= b")).toBe("(<= (col a) (col b))");
    expect(expr("a != b")).toBe("(<> (col a) (col b))");
    expect(expr("a <> b")).toBe("(<> (col a) (col b))");
    expect(expr("a>=b")).toBe("(>= (col a) (col b))");
  });

  it("minus before a number is part of the literal", () => {
    expect(expr("-5")).toBe("-5");
    expect(expr("x - 5")).toBe("(- (col x) 5)");
    expect(expr("x-5")).toBe("(- (col x) 5)");
    expect(expr("2 * -1.5")).toBe("(* 2 -1.5)");
    expect(expr("-(5)")).toBe("(- 5)");
  });

  it("IS [NOT] NULL, [NOT] IN, [NOT] LIKE, [NOT] BETWEEN", () => {
    expect(expr("a IS NULL")).toBe("(is-null (col a))");
    expect(expr("a IS NOT NULL AND b is null")).toBe("(and (is-not-null (col a)) (is-null (col b)))");
    expect(expr("a NOT IN (1, 2, 3)")).toBe("(not-in (col a) 1 2 3)");
    expect(expr("a IN (b + 1)")).toBe("(in (col a) (+ (col b) 1))");
    expect(expr("a NOT LIKE 'x%'")).toBe("(not-like (col a) 'x%')");
    expect(expr("a LIKE '50!%%' ESCAPE '!'")).toBe("(like (col a) '50!%%' (escape '!'))");
    expect(expr("a || 'x' LIKE b || '%'")).toBe("(like (|| (col a) 'x') (|| (col b) '%'))");
    expect(expr("a BETWEEN 1 AND 10")).toBe("(between (col a) 1 10)");
    expect(expr("a NOT BETWEEN 1 + 1 AND 10 AND b")).toBe("(and (not-between (col a) (+ 1 1) 10) (col b))");
    expect(expr("NOT a IN (1)")).toBe("(not (in (col a) 1))");
  });
});

describe("primaries", () => {
  it("column references", () => {
    expect(expr("t.Col")).toBe("(col t.Col)");
    expect(expr("[t].[Col]")).toBe("(col t.Col)");
    expect(expr("acme.Commits.Hash")).toBe("(col acme.Commits.Hash)");
    const column = parseExpression("[My Table].[Col]");
    expect(column).toMatchObject({
      kind: "column",
      table: { name: "My Table", quoted: true },
      name: "Col",
      quoted: true,
      span: { start: 0, end: 16 },
    });
  });

  it("quoted identifiers with escapes keep spelling and quoting", () => {
    expect(parseExpression("[a]]b]")).toMatchObject({ name: "a]b", quoted: true });
    expect(parseExpression('"say ""hi"""')).toMatchObject({ name: 'say "hi"', quoted: true });
    expect(parseExpression("`back``tick`")).toMatchObject({ name: "back`tick", quoted: true });
    expect(parseExpression("MixedCase")).toMatchObject({ name: "MixedCase", quoted: false });
    expect(parseExpression("[select]")).toMatchObject({ name: "select", quoted: true });
    expect(expr("[a]]b]")).toBe("(col [a]]b])");
  });

  it("literals", () => {
    expect(parseExpression("42")).toMatchObject({ type: "integer", text: "42", value: 42n, number: 42 });
    expect(parseExpression("3.25")).toMatchObject({ type: "decimal", text: "3.25", value: 3.25 });
    expect(parseExpression(".5")).toMatchObject({ type: "decimal", text: ".5", value: 0.5 });
    expect(parseExpression("1e5")).toMatchObject({ type: "decimal", text: "1e5", value: 100000 });
    expect(parseExpression("2.5E-3")).toMatchObject({ type: "decimal", text: "2.5E-3", value: 0.0025 });
    expect(parseExpression("'it''s'")).toMatchObject({ type: "string", value: "it's" });
    expect(parseExpression("''")).toMatchObject({ type: "string", value: "" });
    expect(parseExpression("N'national'")).toMatchObject({ type: "string", value: "national" });
    expect(parseExpression("'two\nlines'")).toMatchObject({ type: "string", value: "two\nlines" });
    expect(parseExpression("TRUE")).toMatchObject({ type: "boolean", value: true });
    expect(parseExpression("false")).toMatchObject({ type: "boolean", value: false });
    expect(parseExpression("NULL")).toMatchObject({ type: "null", value: null });
    expect(parseExpression("DATE '2024-02-29'")).toMatchObject({
      type: "date",
      value: "2024-02-29",
      span: { start: 0, end: 17 },
    });
    expect(parseExpression("TIMESTAMP '2026-01-01 10:00:00+00'")).toMatchObject({
      type: "timestamp",
      value: "2026-01-01 10:00:00+00",
    });
    expect(parseExpression("timestamp '2026-01-01T10:00:00.123Z'")).toMatchObject({ type: "timestamp" });
  });

  it("integers beyond 2^53 keep every digit", () => {
    const big = parseExpression("9007199254740993");
    expect(big).toMatchObject({
      type: "integer",
      text: "9007199254740993",
      value: 9007199254740993n,
      number: undefined,
    });
    expect(parseExpression("-9223372036854775808")).toMatchObject({
      type: "integer",
      value: -9223372036854775808n,
      number: undefined,
    });
    expect(parseExpression("9007199254740991")).toMatchObject({ number: 9007199254740991 });
    expect(expr("123456789012345678901234567890 + 1")).toBe("(+ 123456789012345678901234567890 1)");
  });

  it("decimals keep their source text", () => {
    expect(parseExpression("0.1000000000000000055511151231257827")).toMatchObject({
      text: "0.1000000000000000055511151231257827",
    });
  });

  it("parameters", () => {
    expect(expr("a = @since AND b = ? AND c = ?")).toBe(
      "(and (and (= (col a) @since) (= (col b) ?1)) (= (col c) ?2))",
    );
    expect(parseExpression("?")).toMatchObject({ kind: "param", style: "positional", index: 0 });
    expect(parseExpression("@Page_size")).toMatchObject({ kind: "param", style: "named", name: "Page_size" });
  });

  it("function calls", () => {
    expect(expr("COUNT(*)")).toBe("(call COUNT *)");
    expect(expr("count(DISTINCT Author)")).toBe("(call count distinct (col Author))");
    expect(expr("SUM(ALL x)")).toBe("(call SUM (col x))");
    expect(expr("MAX(a) - MIN(a)")).toBe("(- (call MAX (col a)) (call MIN (col a)))");
    expect(expr("AVG(a * 2)")).toBe("(call AVG (* (col a) 2))");
    expect(expr("coalesce(a, b, 'x')")).toBe("(call coalesce (col a) (col b) 'x')");
    expect(expr("NOW()")).toBe("(call NOW)");
    expect(expr("LEFT(Title, 3)")).toBe("(call LEFT (col Title) 3)");
    expect(parseExpression("COUNT(*)")).toMatchObject({
      kind: "call",
      name: "COUNT",
      args: [],
      distinct: false,
      star: true,
    });
  });

  it("CAST and ::", () => {
    expect(expr("CAST(x AS INTEGER)")).toBe("(cast (col x) INTEGER)");
    expect(expr("cast(x as varchar(100))")).toBe("(cast (col x) VARCHAR(100))");
    expect(expr("CAST(x AS numeric(10, 2))")).toBe("(cast (col x) NUMERIC(10, 2))");
    expect(expr("CAST(x AS timestamp with time zone)")).toBe("(cast (col x) TIMESTAMP WITH TIME ZONE)");
    expect(expr("CAST(x AS double precision) / 2")).toBe("(/ (cast (col x) DOUBLE PRECISION) 2)");
    expect(expr("x::text || y")).toBe("(|| (cast (col x) TEXT) (col y))");
    expect(expr("-x::int")).toBe("(- (cast (col x) INT))");
  });

  it("CASE, searched and simple", () => {
    expect(expr("CASE WHEN a > 1 THEN 'big' WHEN a > 0 THEN 'small' ELSE 'none' END")).toBe(
      "(case (when (> (col a) 1) 'big') (when (> (col a) 0) 'small') (else 'none'))",
    );
    expect(expr("CASE State WHEN 'OPEN' THEN 1 WHEN 'MERGED' THEN 2 END")).toBe(
      "(case (col State) (when 'OPEN' 1) (when 'MERGED' 2))",
    );
    expect(expr("CASE WHEN a THEN b END + 1")).toBe("(+ (case (when (col a) (col b))) 1)");
    const node = parseExpression("CASE x WHEN 1 THEN 2 END");
    expect(node).toMatchObject({ kind: "case", operand: { kind: "column", name: "x" }, else: undefined });
  });

  it("parentheses widen the span but leave no node", () => {
    const node: Expr = parseExpression("(a + b) * c");
    expect(node.kind).toBe("binary");
    if (node.kind === "binary") expect(node.left.span).toEqual({ start: 0, end: 7 });
    expect(node.span).toEqual({ start: 0, end: 11 });
  });
});

describe("SqlParser as a building block", () => {
  it("a statement grammar can reuse the SELECT and expression parsers", () => {
    // A toy "REPLICATE [Dest] SELECT ... WITH Name = value, ..." built from the public pieces.
    const sql = "REPLICATE [Dest] SELECT * FROM Commits WHERE Id > 1 WITH Lookback = 30, Since = @since";
    const parser = new SqlParser(sql, { reservedWords: ["REPLICATE"] });
    parser.expectKeyword("REPLICATE");
    const destination = parser.parseIdentifier("a destination table");
    const query = parser.parseSelect();
    const options: string[] = [];
    if (parser.tokens.acceptKeyword("WITH")) {
      do {
        const name = parser.parseIdentifier("an option name");
        parser.expectSymbol("=", "after the option name");
        options.push(`${name.name}=${formatAst(parser.parseExpression())}`);
      } while (parser.tokens.acceptSymbol(","));
    }
    parser.expectEnd([...parser.keywordsAfterSelect(), "WITH"]);
    expect(destination.name).toBe("Dest");
    expect(formatAst(query)).toBe("(select (cols *) (from Commits) (where (> (col Id) 1)))");
    expect(options).toEqual(["Lookback=30", "Since=@since"]);
  });

  it("WITH is not taken as a table alias", () => {
    const parser = new SqlParser("SELECT * FROM Commits WITH x = 1");
    parser.parseSelect();
    expect(parser.tokens.isKeyword("WITH")).toBe(true);
  });
});
