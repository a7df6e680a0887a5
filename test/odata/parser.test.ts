import { describe, expect, it } from "vitest";
import type { ODataExpr, SearchExpr } from "../../src/odata/ast.js";
import { ODataError } from "../../src/odata/errors.js";
import {
  decodeComponent,
  MAX_DEPTH,
  MAX_NODES,
  MAX_OPTION_LENGTH,
  parseFilter,
  parseKeyPredicate,
  parseOrderBy,
  parseQueryOptions,
  parseSearch,
} from "../../src/odata/parser/index.js";

/** A compact rendering of an expression: operators and calls in prefix form, literals as `type:value`. */
function show(expr: ODataExpr): string {
  switch (expr.kind) {
    case "literal":
      return `${expr.type}:${String(expr.value)}`;
    case "property":
      return expr.name;
    case "unary":
      return `(${expr.op} ${show(expr.operand)})`;
    case "binary":
      return `(${expr.op} ${show(expr.left)} ${show(expr.right)})`;
    case "in":
      return `(in ${show(expr.operand)} [${expr.list.map(show).join(" ")}])`;
    case "call":
      return `${expr.name}(${expr.args.map(show).join(" ")})`;
  }
}

function showSearch(expr: SearchExpr): string {
  switch (expr.kind) {
    case "term":
      return expr.phrase ? `"${expr.value}"` : expr.value;
    case "not":
      return `(NOT ${showSearch(expr.operand)})`;
    default:
      return `(${expr.kind.toUpperCase()} ${showSearch(expr.left)} ${showSearch(expr.right)})`;
  }
}

const filter = (text: string) => show(parseFilter(text));

/** Runs `parse` and returns the ODataError it throws. */
function failure(parse: () => unknown): ODataError {
  try {
    parse();
  } catch (error) {
    if (error instanceof ODataError) return error;
    throw error;
  }
  throw new Error("expected an ODataError");
}

function expectError(parse: () => unknown, status: number, message: string | RegExp, target?: string) {
  const error = failure(parse);
  expect({ status: error.status, message: error.message }).toEqual({
    status,
    message: typeof message === "string" ? message : expect.stringMatching(message),
  });
  if (target !== undefined) expect(error.target).toBe(target);
}

describe("Salesforce Connect request shapes", () => {
  it("parses the default search as OR-ed contains() over text properties", () => {
    const options = parseQueryOptions(
      "$select=CompanyName,Phone,ShipperID&$count=true&$filter=contains(CompanyName,'Acme') eq true or contains(Phone,'Acme') eq true&$top=25",
    );
    expect(options.select).toEqual(["CompanyName", "Phone", "ShipperID"]);
    expect(options.count).toBe(true);
    expect(options.top).toBe(25);
    expect(show(options.filter as ODataExpr)).toBe(
      "(or (eq contains(CompanyName string:Acme) boolean:true) (eq contains(Phone string:Acme) boolean:true))",
    );
  });

  it("parses a SOQL query turned into OData, percent-encoded as sent", () => {
    const options = parseQueryOptions(
      "$select=City&$filter=Country%20eq%20%27USA%27&$orderby=City%20asc&$top=26&$skip=0&$count=false",
    );
    expect(options).toMatchObject({ select: ["City"], top: 26, skip: 0, count: false });
    expect(show(options.filter as ODataExpr)).toBe("(eq Country string:USA)");
    expect(options.orderby?.map((item) => [show(item.expr), item.direction])).toEqual([["City", "asc"]]);
  });

  it("parses LIKE, IN and NOT translations and the detail-page key filter", () => {
    expect(filter("startswith(Name,'Ac') and not endswith(Name,'me')")).toBe(
      "(and startswith(Name string:Ac) (not endswith(Name string:me)))",
    );
    expect(filter("(Id eq 'a' or Id eq 'b') and Amount ne null")).toBe(
      "(and (or (eq Id string:a) (eq Id string:b)) (ne Amount null:null))",
    );
    expect(filter("Id eq 'x'")).toBe("(eq Id string:x)");
  });

  it("accepts free-text search", () => {
    expect(showSearch(parseQueryOptions("$search=Sales%20Marketing").search as SearchExpr)).toBe(
      "(AND Sales Marketing)",
    );
  });
});

describe("$filter expressions", () => {
  it("applies OData precedence, left to right within a level", () => {
    expect(filter("a or b and c")).toBe("(or a (and b c))");
    expect(filter("a and b or c and d")).toBe("(or (and a b) (and c d))");
    expect(filter("a eq 1 and b gt 2")).toBe("(and (eq a integer:1) (gt b integer:2))");
    expect(filter("a eq b gt c")).toBe("(eq a (gt b c))");
    expect(filter("1 add 2 mul 3 eq 7")).toBe("(eq (add integer:1 (mul integer:2 integer:3)) integer:7)");
    expect(filter("a sub b sub c")).toBe("(sub (sub a b) c)");
    expect(filter("a div b divby c mod d")).toBe("(mod (divby (div a b) c) d)");
    expect(filter("-a mul 2")).toBe("(mul (- a) integer:2)");
    expect(filter("not a eq b")).toBe("(eq (not a) b)");
    expect(filter("a in ('x') eq true")).toBe("(eq (in a [string:x]) boolean:true)");
    expect(filter("(a or b) and c")).toBe("(and (or a b) c)");
    expect(filter("( a )")).toBe("a");
  });

  it("treats operators, keywords and function names case-insensitively", () => {
    expect(filter("Name EQ 'Milk' AND Price Lt 2.55")).toBe(
      "(and (eq Name string:Milk) (lt Price decimal:2.55))",
    );
    expect(filter("NOT Contains(Name,'x')")).toBe("(not contains(Name string:x))");
    expect(filter("matchesPattern(Name,'^A')")).toBe("matchespattern(Name string:^A)");
    expect(filter("Flag eq TRUE")).toBe("(eq Flag boolean:true)");
  });

  it("parses function calls with any number of arguments, leaving unknown names to the binder", () => {
    expect(filter("now()")).toBe("now()");
    expect(filter("substring( Name , 1, 2 ) eq 'b'")).toBe(
      "(eq substring(Name integer:1 integer:2) string:b)",
    );
    expect(filter("concat(concat(Street,'-'),City)")).toBe("concat(concat(Street string:-) City)");
    expect(filter("year(Created) eq 2026 and round(Price) ge 3")).toBe(
      "(and (eq year(Created) integer:2026) (ge round(Price) integer:3))",
    );
    expect(filter("frobnicate(1)")).toBe("frobnicate(integer:1)");
    expect(filter("not(Done)")).toBe("(not Done)");
  });

  it("parses in-lists of literals", () => {
    expect(filter("Name in ('Milk', 'Cheese')")).toBe("(in Name [string:Milk string:Cheese])");
    expect(filter("Id in ()")).toBe("(in Id [])");
    expect(filter("Id in (1,-2,3.5)")).toBe("(in Id [integer:1 integer:-2 decimal:3.5])");
  });

  it("parses every literal type, keeping number text exact", () => {
    const cases: Record<string, string> = {
      null: "null:null",
      true: "boolean:true",
      False: "boolean:false",
      "42": "integer:42",
      "-42": "integer:-42",
      "+42": "integer:+42",
      "10L": "integer:10",
      "-9223372036854775808l": "integer:-9223372036854775808",
      "123456789012345678901234567890": "integer:123456789012345678901234567890",
      "1.50": "decimal:1.50",
      "-0.25": "decimal:-0.25",
      "1e5": "double:1e5",
      "2.5E-3": "double:2.5E-3",
      INF: "double:INF",
      "-INF": "double:-INF",
      NaN: "double:NaN",
      "'it''s'": "string:it's",
      "''": "string:",
      "'a%20b'": "string:a%20b",
      "2026-01-31": "date:2026-01-31",
      "-0044-03-15": "date:-0044-03-15",
      "2026-01-31T10:00:00Z": "dateTimeOffset:2026-01-31T10:00:00Z",
      "2026-01-31T10:00Z": "dateTimeOffset:2026-01-31T10:00Z",
      "2026-01-31T10:00:00.123456789012+02:00": "dateTimeOffset:2026-01-31T10:00:00.123456789012+02:00",
      "2026-01-31T10:00:00-05:30": "dateTimeOffset:2026-01-31T10:00:00-05:30",
      "1972-06-30T23:59:60Z": "dateTimeOffset:1972-06-30T23:59:60Z",
      "10:00": "timeOfDay:10:00",
      "23:59:59.5": "timeOfDay:23:59:59.5",
      "01234567-89ab-cdef-0123-456789ABCDEF": "guid:01234567-89ab-cdef-0123-456789ABCDEF",
      "abcdef01-2345-6789-abcd-ef0123456789": "guid:abcdef01-2345-6789-abcd-ef0123456789",
      "duration'P1DT2H'": "duration:P1DT2H",
      "Duration'-PT0.5S'": "duration:-PT0.5S",
    };
    for (const [text, expected] of Object.entries(cases)) expect(filter(text), text).toBe(expected);
  });

  it("tells properties from literal keywords the way the ABNF does", () => {
    expect(filter("NULL eq Nullable")).toBe("(eq NULL Nullable)");
    expect(filter("INFO eq trueish")).toBe("(eq INFO trueish)");
    expect(filter("Größe gt 3")).toBe("(gt Größe integer:3)");
  });

  it("records spans in the decoded value", () => {
    const expr = parseFilter("contains(Name,'x') eq true");
    expect(expr.span).toEqual({ start: 0, end: 26 });
    if (expr.kind !== "binary" || expr.left.kind !== "call") throw new Error("unexpected shape");
    expect(expr.left.span).toEqual({ start: 0, end: 18 });
    expect(expr.left.args[1]?.span).toEqual({ start: 14, end: 17 });
    expect(parseFilter("x eq duration'P1D'").span).toEqual({ start: 0, end: 18 });
  });

  it("reports syntax errors with a 1-based position and the option as target", () => {
    expectError(
      () => parseFilter("Name eq"),
      400,
      "$filter: expected a value after 'eq' at position 8",
      "$filter",
    );
    expectError(
      () => parseFilter("Name eq )"),
      400,
      "$filter: expected a value after 'eq', found ')' at position 9",
    );
    expectError(
      () => parseFilter("Name eq 'x' and"),
      400,
      "$filter: expected a value after 'and' at position 16",
    );
    expectError(
      () => parseFilter("Name eq 'abc"),
      400,
      "$filter: unterminated string literal starting at position 9",
    );
    expectError(() => parseFilter("(Name eq 1"), 400, "$filter: expected ')' at position 11");
    expectError(
      () => parseFilter("Name eq'x'"),
      400,
      "$filter: expected whitespace after 'eq' at position 8",
    );
    expectError(
      () => parseFilter("'x'eq Name"),
      400,
      "$filter: expected whitespace before 'eq' at position 4",
    );
    expectError(
      () => parseFilter("Name eqq 'x'"),
      400,
      "$filter: unexpected 'eqq'; expected an operator at position 6",
    );
    expectError(
      () => parseFilter("Name eq 'x' 'y'"),
      400,
      "$filter: unexpected a value; expected an operator at position 13",
    );
    expectError(() => parseFilter(" Name eq 1"), 400, "$filter: unexpected whitespace at position 1");
    expectError(
      () => parseFilter("Name eq 1 "),
      400,
      "$filter: unexpected trailing whitespace at position 10",
    );
    expectError(() => parseFilter(""), 400, "$filter: expected a value at position 1");
    expectError(
      () => parseFilter('Name eq "x"'),
      400,
      "$filter: strings are written in single quotes at position 9",
    );
    expectError(() => parseFilter("a ; b"), 400, "$filter: unexpected character ';' at position 3");
    expectError(
      () => parseFilter("f(a b)"),
      400,
      "$filter: expected ',' or ')' in the argument list at position 5",
    );
    expectError(
      () => parseFilter("Id in (Name, 'x')"),
      400,
      "$filter: the list after 'in' may contain only literals at position 8",
    );
    expectError(() => parseFilter("Id eq ('a','b')"), 400, "$filter: expected ')' at position 11");
    expectError(() => parseFilter("any(x:true)"), 400, /needs a collection path/);
    expectError(
      () => parseFilter("No.Dot eq 1"),
      400,
      "$filter: 'No.Dot' is not a property name at position 1",
    );
    expectError(() => parseFilter(`${"a".repeat(129)} eq 1`), 400, /identifier longer than 128 characters/);
  });

  it("rejects malformed and OData 2 literals", () => {
    expectError(
      () => parseFilter("d eq 2011-12-31T24:00Z"),
      400,
      /'2011-12-31T24:00Z' is not a valid number, date/,
    );
    expectError(() => parseFilter("d eq 2026-13-01"), 400, /'2026-13-01' is not a valid/);
    expectError(() => parseFilter("t eq 24:00"), 400, /'24:00' is not a valid/);
    expectError(() => parseFilter("n eq 42."), 400, /'42\.' is not a valid/);
    expectError(() => parseFilter("n eq .5"), 400, /expected a value after 'eq', found '\.'/);
    expectError(() => parseFilter("n eq 1.5M"), 400, /'1\.5M' is not a valid/);
    expectError(() => parseFilter("n eq 1.5L"), 400, /'1\.5L' is not a valid/);
    expectError(() => parseFilter("g eq 01234g67-89ab-cdef-0123-456789abcdef"), 400, /is not a valid/);
    expectError(
      () => parseFilter("d eq datetime'2026-01-31T10:00:00'"),
      400,
      /datetime'\.\.\.' is not an OData 4 literal/,
    );
    expectError(
      () => parseFilter("g eq guid'01234567-89ab-cdef-0123-456789abcdef'"),
      400,
      /is not an OData 4 literal/,
    );
    expectError(() => parseFilter("x eq duration'P1Y'"), 400, /malformed duration literal/);
    expectError(() => parseFilter("x eq duration'P'"), 400, /malformed duration literal/);
    expectError(() => parseFilter("x eq +y"), 400, "$filter: unexpected character '+' at position 6");
  });

  it("answers 501 for valid OData it does not implement", () => {
    const unsupported: Record<string, RegExp> = {
      "Address/City eq 'x'": /property paths \(Address\/\.\.\.\) are not supported/,
      "Items/any(i:i/Qty gt 1)": /property paths/,
      "$it/Name eq 'x'": /\$it is not supported/,
      "$root/People eq null": /\$root is not supported/,
      "cast(Price,Edm.String) eq '1'": /cast\(\) is not supported/,
      "isof(Model.Customer)": /isof\(\) is not supported/,
      "style has Sales.Pattern'Yellow'": /the has operator is not supported/,
      "Name in ['a','b']": /JSON arrays after 'in'/,
      'Name eq {"a":1}': /JSON arrays and objects/,
      "Name eq @word": /parameter aliases \(@word\)/,
      "Model.Available()": /function Model\.Available is not supported/,
      "style eq Sales.Pattern'Yellow'": /enumeration literals/,
      "Data eq binary'Zm9v'": /binary literals are not supported/,
      "geo.distance(A,B) lt 1": /function geo\.distance is not supported/,
      "Fn(x=1)": /named function parameters/,
      "Name in Names": /'in' with a collection-valued expression/,
      "Name in (Other)": /'in' with a collection-valued expression/,
      "Fn()/Name eq 1": /paths after a function call/,
    };
    for (const [text, message] of Object.entries(unsupported)) {
      const error = failure(() => parseFilter(text));
      expect({ text, status: error.status }).toEqual({ text, status: 501 });
      expect(error.message).toMatch(message);
    }
  });
});

describe("$orderby", () => {
  it("parses items with optional directions", () => {
    const items = parseOrderBy("Name asc,Rating,tolower(City) DESC,Cost ge Revenue\tasc");
    expect(items.map((item) => `${show(item.expr)} ${item.direction}`)).toEqual([
      "Name asc",
      "Rating asc",
      "tolower(City) desc",
      "(ge Cost Revenue) asc",
    ]);
  });

  it("rejects malformed lists", () => {
    expectError(
      () => parseOrderBy("Name up"),
      400,
      "$orderby: unexpected 'up'; expected an operator, asc, desc or ',' at position 6",
    );
    expectError(() => parseOrderBy("Name asc desc"), 400, /unexpected 'desc'/);
    expectError(() => parseOrderBy("Name,"), 400, "$orderby: expected a value at position 6");
    expectError(
      () => parseOrderBy("Name ,Age"),
      400,
      "$orderby: unexpected whitespace before ',' at position 6",
    );
    expectError(
      () => parseOrderBy("Name, Age"),
      400,
      "$orderby: unexpected whitespace after ',' at position 6",
    );
    expectError(() => parseOrderBy(""), 400, "$orderby: expected a value at position 1");
  });
});

describe("$search", () => {
  const search = (text: string) => showSearch(parseSearch(text));

  it("parses terms, phrases and operators with NOT > AND > OR", () => {
    expect(search("blue")).toBe("blue");
    expect(search('"blue green"')).toBe('"blue green"');
    expect(search("blue green")).toBe("(AND blue green)");
    expect(search("blue AND green OR red")).toBe("(OR (AND blue green) red)");
    expect(search("a OR b c")).toBe("(OR a (AND b c))");
    expect(search("NOT blue green")).toBe("(AND (NOT blue) green)");
    expect(search("blue NOT green")).toBe("(AND blue (NOT green))");
    expect(search("(foo OR that) AND (bar OR baz) AND NOT quux")).toBe(
      "(AND (AND (OR foo that) (OR bar baz)) (NOT quux))",
    );
    expect(search("( foo )")).toBe("foo");
  });

  it("reads AND, OR, NOT as words where no operand follows, and lower case always as words", () => {
    expect(search("AND")).toBe("AND");
    expect(search("NOT")).toBe("NOT");
    expect(search("NOT ")).toBe("NOT");
    expect(search("blue OR")).toBe("(AND blue OR)");
    expect(search("blue or green")).toBe("(AND (AND blue or) green)");
  });

  it("keeps punctuation inside words and searches a single-quoted value as one phrase", () => {
    expect(search("Daniel's 08/15 brand-new 3.14 $search")).toBe(
      "(AND (AND (AND (AND Daniel's 08/15) brand-new) 3.14) $search)",
    );
    expect(search(`'"blue" (green'`)).toBe(`""blue" (green"`);
    expect(search("'it''s'")).toBe('"it\'s"');
  });

  it("rejects malformed searches", () => {
    expectError(
      () => parseSearch('"blue'),
      400,
      "$search: unterminated phrase starting at position 1",
      "$search",
    );
    expectError(() => parseSearch('""'), 400, "$search: empty phrase at position 1");
    expectError(
      () => parseSearch('"blue"green'),
      400,
      "$search: expected whitespace before 'green' at position 7",
    );
    expectError(() => parseSearch("(blue"), 400, "$search: expected ')' at position 6");
    expectError(() => parseSearch("blue)"), 400, "$search: unexpected ')' at position 5");
    expectError(() => parseSearch("a(b)"), 400, "$search: expected whitespace before '(' at position 2");
    expectError(() => parseSearch("''"), 400, /expected a search term/);
    expectError(() => parseSearch("'it's'"), 400, /must be one quoted string/);
    expectError(() => parseSearch("   "), 400, "$search: expected a search term at position 4");
    expectError(
      () => parseSearch("blue 'x'"),
      400,
      "$search: a search word cannot start with ' at position 6",
    );
  });
});

describe("key predicates", () => {
  it("parses single and named keys", () => {
    expect(parseKeyPredicate("42")).toEqual({
      kind: "single",
      value: { kind: "literal", type: "integer", value: "42", span: { start: 0, end: 2 } },
    });
    const single = parseKeyPredicate("'it''s'");
    expect(single.kind === "single" && single.value.value).toBe("it's");
    const named = parseKeyPredicate("OrderID=10248L,Code='x',Id=01234567-89ab-cdef-0123-456789abcdef");
    if (named.kind !== "named") throw new Error("expected named");
    expect([...named.values].map(([name, literal]) => `${name}=${literal.type}:${literal.value}`)).toEqual([
      "OrderID=integer:10248",
      "Code=string:x",
      "Id=guid:01234567-89ab-cdef-0123-456789abcdef",
    ]);
    const negative = parseKeyPredicate("-5");
    expect(negative.kind === "single" && negative.value.value).toBe("-5");
  });

  it("rejects malformed keys", () => {
    expectError(
      () => parseKeyPredicate(""),
      400,
      "key predicate: expected a literal key value at position 1",
    );
    expectError(
      () => parseKeyPredicate("Name"),
      400,
      "key predicate: expected a literal key value at position 1",
    );
    expectError(
      () => parseKeyPredicate("'a'b"),
      400,
      "key predicate: expected the end of the key at position 4",
    );
    expectError(
      () => parseKeyPredicate("A=1,A=2"),
      400,
      "key predicate: key property A given twice at position 5",
    );
    expectError(
      () => parseKeyPredicate("A=1,"),
      400,
      "key predicate: expected a key property name at position 5",
    );
    expectError(
      () => parseKeyPredicate("A="),
      400,
      "key predicate: expected a literal key value at position 3",
    );
    expectError(
      () => parseKeyPredicate("A=1;B=2"),
      400,
      "key predicate: unexpected character ';' at position 4",
    );
    expectError(() => parseKeyPredicate("A= 1"), 400, /unexpected whitespace/);
    expectError(() => parseKeyPredicate("1 "), 400, /unexpected whitespace/);
    expectError(() => parseKeyPredicate("@key"), 501, /parameter aliases/);
  });
});

describe("parseQueryOptions", () => {
  it("returns nothing for an empty query and ignores empty pairs, custom options and aliases", () => {
    expect(parseQueryOptions("")).toEqual({});
    expect(parseQueryOptions("&&find=O%27Neil&!special&@word='x'&$top=1&")).toEqual({ top: 1 });
    expectError(() => parseQueryOptions("=x"), 400, "a query option has an empty name");
    expectError(
      () => parseQueryOptions("$filter="),
      400,
      "$filter: expected a value at position 1",
      "$filter",
    );
    expectError(() => parseQueryOptions("$search="), 400, "$search: expected a search term at position 1");
  });

  it("accepts system option names in any case, with or without $ (4.01)", () => {
    const options = parseQueryOptions(
      "filter=a%20eq%201&Top=5&$SKIP=2&ORDERBY=a&Count=TRUE&sElEcT=*&search=x",
    );
    expect(options).toMatchObject({ top: 5, skip: 2, count: true, select: ["*"] });
    expect(options.filter && show(options.filter)).toBe("(eq a integer:1)");
    expect(options.orderby).toHaveLength(1);
    expect(options.search).toEqual({ kind: "term", value: "x", phrase: false });
  });

  it("rejects an option given twice, whatever its spelling", () => {
    expectError(() => parseQueryOptions("$top=1&top=2"), 400, "$top is given more than once", "$top");
    expectError(() => parseQueryOptions("$count=true&$inlinecount=allpages"), 400, /given more than once/);
  });

  it("answers 501 for system options it does not implement and 400 for unknown $ names", () => {
    for (const query of [
      "$expand=Orders",
      "expand=Orders",
      "$apply=groupby((A))",
      "$compute=a as b",
      "$levels=2",
      "$index=1",
      "$id=x",
      "$deltatoken=x",
      "$schemaversion=1",
    ]) {
      const error = failure(() => parseQueryOptions(query));
      expect({ query, status: error.status }).toEqual({ query, status: 501 });
    }
    expect(parseQueryOptions("$schemaversion=*")).toEqual({});
    expectError(() => parseQueryOptions("$foo=1"), 400, "unknown system query option '$foo'", "$foo");
    expectError(() => parseQueryOptions("$filter%20=true"), 400, "unknown system query option '$filter '");
  });

  it("maps the OData 2 $inlinecount that Salesforce's 2.0 adapter sends onto $count", () => {
    expect(parseQueryOptions("$inlinecount=allpages").count).toBe(true);
    expect(parseQueryOptions("$inlinecount=none").count).toBe(false);
    expectError(() => parseQueryOptions("$inlinecount=some"), 400, /\$inlinecount must be allpages or none/);
    expect(parseQueryOptions("inlinecount=allpages")).toEqual({});
  });

  it("validates $top, $skip and $count", () => {
    expect(parseQueryOptions("$top=0&$skip=007").top).toBe(0);
    expect(parseQueryOptions("$top=1000000").top).toBe(1_000_000);
    expectError(
      () => parseQueryOptions("$top=1000001"),
      400,
      "$top must be at most 1000000, not 1000001",
      "$top",
    );
    expectError(() => parseQueryOptions("$top=-1"), 400, "$top must be a non-negative integer, not '-1'");
    expectError(() => parseQueryOptions("$top=1.5"), 400, /non-negative integer/);
    expectError(() => parseQueryOptions("$top=%2B1"), 400, /non-negative integer/);
    expectError(
      () => parseQueryOptions("$skip=abc"),
      400,
      "$skip must be a non-negative integer, not 'abc'",
      "$skip",
    );
    expectError(() => parseQueryOptions("$skip=99999999999999999999"), 400, /\$skip must be at most/);
    expectError(() => parseQueryOptions("$top="), 400, /non-negative integer, not ''/);
    expectError(() => parseQueryOptions("$count"), 400, "$count needs a value ($count=...)", "$count");
    expectError(() => parseQueryOptions("$count=yes"), 400, "$count must be true or false, not 'yes'");
  });

  it("parses $select lists", () => {
    expect(parseQueryOptions("$select=*").select).toEqual(["*"]);
    expect(parseQueryOptions("$select=Name,%20Größe,_id").select).toEqual(["Name", "Größe", "_id"]);
    expectError(
      () => parseQueryOptions("$select=Address/City"),
      501,
      /item 1 \('Address\/City'\): paths/,
      "$select",
    );
    expectError(() => parseQueryOptions("$select=Orders($top=1)"), 501, /nested options/);
    expectError(() => parseQueryOptions("$select=Model.*"), 501, /are not supported/);
    expectError(
      () => parseQueryOptions("$select=A,,B"),
      400,
      "$select: item 2 ('') is not a property name or *",
    );
    expectError(() => parseQueryOptions("$select=A B"), 400, /item 1 \('A B'\) is not a property name/);
    expectError(() => parseQueryOptions("$select="), 400, /item 1 \(''\)/);
  });

  it("parses $format", () => {
    expect(parseQueryOptions("$format=JSON").format).toBe("json");
    expect(parseQueryOptions("$format=xml").format).toBe("xml");
    expect(
      parseQueryOptions("$format=application/json;odata.metadata=minimal;%20IEEE754Compatible=true").format,
    ).toBe("application/json;odata.metadata=minimal;ieee754compatible=true");
    expectError(
      () => parseQueryOptions("$format=atom"),
      501,
      "$format=atom is not supported; use json",
      "$format",
    );
    expectError(() => parseQueryOptions("$format=text/html"), 501, /not supported/);
    expectError(() => parseQueryOptions("$format=json;x"), 400, /must be json, xml or a media type/);
    expectError(() => parseQueryOptions("$format=bogus"), 400, /must be json, xml or a media type/);
  });

  it("keeps $skiptoken opaque", () => {
    expect(parseQueryOptions("$skiptoken=abc%3D%3D.sig").skiptoken).toBe("abc==.sig");
    expectError(() => parseQueryOptions("$skiptoken="), 400, "$skiptoken needs a value");
  });

  it("decodes names and values once, keeping + as a plus", () => {
    const options = parseQueryOptions("%24filter=d%20eq%202026-01-31T10:00:00+02:00%20and%20n%20eq%20%2B1");
    expect(options.filter && show(options.filter)).toBe(
      "(and (eq d dateTimeOffset:2026-01-31T10:00:00+02:00) (eq n integer:+1))",
    );
    expect(parseQueryOptions("$search=%CE%94").search).toEqual({ kind: "term", value: "Δ", phrase: false });
    expect(decodeComponent("a%2Fb%25", "x")).toBe("a/b%");
  });

  it("rejects broken percent-encoding, invalid UTF-8, NUL and raw # naming the option", () => {
    expectError(
      () => parseQueryOptions("$filter=a%G1"),
      400,
      "$filter: malformed percent-encoding '%G1' at position 2",
      "$filter",
    );
    expectError(
      () => parseQueryOptions("$filter=a%2"),
      400,
      "$filter: malformed percent-encoding '%2' at position 2",
    );
    expectError(
      () => parseQueryOptions("$filter=%C3%28"),
      400,
      "$filter: percent-encoded bytes at position 1 are not valid UTF-8",
    );
    expectError(() => parseQueryOptions("$search=%ED%A0%80"), 400, /not valid UTF-8/, "$search");
    expectError(
      () => parseQueryOptions("$filter=Name%20eq%20%27a%00%27"),
      400,
      "$filter: NUL character at position 11",
    );
    expectError(
      () => parseQueryOptions("$search=#1"),
      400,
      "$search: unencoded '#' at position 1; write %23",
    );
    expectError(
      () => parseQueryOptions("%ZZ=1"),
      400,
      "%ZZ: malformed percent-encoding '%ZZ' at position 1",
      "%ZZ",
    );
    expect(parseQueryOptions("custom=%ZZ")).toEqual({});
  });
});

describe("safety caps", () => {
  it("limits the length of an option value", () => {
    const long = `Name eq '${"x".repeat(MAX_OPTION_LENGTH)}'`;
    expectError(
      () => parseQueryOptions(`$filter=${long}`),
      400,
      /the value is \d+ characters long; the limit is 16384/,
      "$filter",
    );
    expectError(() => parseFilter(long), 400, /the limit is 16384/);
    expectError(() => parseSearch("x".repeat(MAX_OPTION_LENGTH + 1)), 400, /the limit is 16384/);
  });

  it("limits nesting depth", () => {
    const nested = (depth: number) => `${"(".repeat(depth)}a${")".repeat(depth)}`;
    expect(filter(nested(MAX_DEPTH))).toBe("a");
    expectError(
      () => parseFilter(nested(MAX_DEPTH + 1)),
      400,
      `$filter: the expression is nested more than ${MAX_DEPTH} levels deep at position ${MAX_DEPTH + 1}`,
    );
    expectError(() => parseFilter("(".repeat(10_000)), 400, /nested more than/);
    expectError(() => parseFilter(`${"not ".repeat(60)}a`), 400, /nested more than/);
    expectError(() => parseFilter(`${"-".repeat(60)}a`), 400, /nested more than/);
    expectError(() => parseFilter(`${"f(".repeat(60)}`), 400, /nested more than/);
    expectError(() => parseSearch(`${"(".repeat(60)}a${")".repeat(60)}`), 400, /nested more than/);
    expectError(() => parseSearch(`${"NOT ".repeat(60)}a`), 400, /nested more than/);
  });

  it("limits node count but leaves room for Salesforce's OR-ed key lists", () => {
    const ors = (count: number) => Array.from({ length: count }, (_, i) => `Id eq '${i}'`).join(" or ");
    expect(parseFilter(ors(200)).kind).toBe("binary");
    expectError(() => parseFilter(ors(400)), 400, `$filter: the expression has more than ${MAX_NODES} nodes`);
    expectError(
      () => parseSearch(Array.from({ length: 1200 }, () => "a").join(" ")),
      400,
      /more than 1000 nodes/,
    );
  });
});
