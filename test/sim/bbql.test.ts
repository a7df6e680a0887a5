import { describe, expect, it } from "vitest";
import { DATETIME_WHOLE, datetimeFromMatch } from "../../sim/bbql/datetime.js";
import {
  BbqlError,
  compareByPath,
  compileBbql,
  formatBbql,
  parseBbql,
  parseIsoDatetime,
  parseSort,
} from "../../sim/bbql/index.js";

const show = (q: string) => formatBbql(parseBbql(q));

function errorOf(fn: () => unknown): BbqlError {
  try {
    fn();
  } catch (e) {
    if (e instanceof BbqlError) return e;
    throw e;
  }
  throw new Error("expected a BbqlError");
}

const parseError = (q: string) => {
  const e = errorOf(() => parseBbql(q));
  return `${e.position}: ${e.message}`;
};

describe("BBQL parser", () => {
  it("parses comparisons with every operator", () => {
    expect(show('state = "OPEN"')).toBe('(= state "OPEN")');
    expect(show('state!="OPEN"')).toBe('(!= state "OPEN")');
    expect(show('title ~ "Fix"')).toBe('(~ title "Fix")');
    expect(show('title !~ "wip"')).toBe('(!~ title "wip")');
    expect(show("id > 5")).toBe("(> id 5)");
    expect(show("id >= -5")).toBe("(>= id -5)");
    expect(show("id<10.25")).toBe("(< id 10.25)");
    expect(show("id <= 1e3")).toBe("(<= id 1000)");
  });

  it("parses IN and NOT IN lists with mixed literals", () => {
    expect(show('state IN ("OPEN", "MERGED")')).toBe('(in state ["OPEN" "MERGED"])');
    expect(show("id not in (1,-2.5, null, TRUE)")).toBe("(not-in id [1 -2.5 null true])");
    expect(show('state in ("OPEN")')).toBe('(in state ["OPEN"])');
  });

  it("gives AND precedence over OR and flattens chains", () => {
    expect(show("a = 1 OR b = 2 AND c = 3")).toBe("(or (= a 1) (and (= b 2) (= c 3)))");
    expect(show("a = 1 AND b = 2 OR c = 3")).toBe("(or (and (= a 1) (= b 2)) (= c 3))");
    expect(show("(a = 1 OR b = 2) AND c = 3")).toBe("(and (or (= a 1) (= b 2)) (= c 3))");
    expect(show("a = 1 and b = 2 AND (c = 3 and d = 4)")).toBe("(and (= a 1) (= b 2) (= c 3) (= d 4))");
    expect(show("((a = 1))")).toBe("(= a 1)");
  });

  it("treats keywords case-insensitively", () => {
    expect(show("a = NULL or b = True And c = FALSE")).toBe("(or (= a null) (and (= b true) (= c false)))");
  });

  it("decodes string escapes", () => {
    expect(show(String.raw`title = "say \"hi\" \\ \u00e9\n"`)).toBe(
      String.raw`(= title "say \"hi\" \\ é\n")`,
    );
    expect(show('title = ""')).toBe('(= title "")');
    expect(show('title = "AND OR ( ) ,"')).toBe('(= title "AND OR ( ) ,")');
  });

  it("reads unquoted dates and datetimes as UTC unless an offset is given", () => {
    expect(show("updated_on > 2026-01-02")).toBe("(> updated_on 2026-01-02T00:00:00Z)");
    expect(show("updated_on > 2026-01-02T03:04:05")).toBe("(> updated_on 2026-01-02T03:04:05Z)");
    expect(show("updated_on > 2026-01-02T03:04")).toBe("(> updated_on 2026-01-02T03:04:00Z)");
    expect(show("updated_on > 2026-01-02T03:04:05Z")).toBe("(> updated_on 2026-01-02T03:04:05Z)");
    expect(show("updated_on > 2026-01-02T03:04:05.123+02:00")).toBe(
      "(> updated_on 2026-01-02T01:04:05.123Z)",
    );
    expect(show("updated_on > 2015-10-04T14:00:00-07:00")).toBe("(> updated_on 2015-10-04T21:00:00Z)");
    expect(show("updated_on > 2026-03-05T14:07:31.123456+00:00")).toBe(
      "(> updated_on 2026-03-05T14:07:31.123456Z)",
    );
    expect(show("d = 2024-02-29T23:30:00-01:00")).toBe("(= d 2024-03-01T00:30:00Z)");
  });

  it("accepts dotted paths and the documented examples", () => {
    expect(
      show(
        'source.repository.full_name != "main/repo" AND state = "OPEN" AND reviewers.nickname = "evzijst" AND destination.branch.name = "master"',
      ),
    ).toBe(
      '(and (!= source.repository.full_name "main/repo") (= state "OPEN") (= reviewers.nickname "evzijst") (= destination.branch.name "master"))',
    );
    expect(
      show(
        'state IN ("new", "on hold") AND assignee = null AND component = "UI" and updated_on > 2015-11-11T00:00:00-07:00',
      ),
    ).toBe(
      '(and (in state ["new" "on hold"]) (= assignee null) (= component "UI") (> updated_on 2015-11-11T07:00:00Z))',
    );
  });

  it("reports what was expected and where", () => {
    expect(parseError('state IN ("A", )')).toBe("15: Expecting a value at position 15 but found ')'");
    expect(parseError("")).toBe("0: Expecting a field name or '(' at position 0 but found end of input");
    expect(parseError("   ")).toBe("3: Expecting a field name or '(' at position 3 but found end of input");
    expect(parseError("(a = 1")).toBe("6: Expecting AND, OR or ')' at position 6 but found end of input");
    expect(parseError("a = 1)")).toBe("5: Expecting AND, OR or end of input at position 5 but found ')'");
    expect(parseError('a = 1 b = "x"')).toBe(
      "6: Expecting AND, OR or end of input at position 6 but found 'b'",
    );
    expect(parseError("a = 1 AND")).toBe(
      "9: Expecting a field name or '(' at position 9 but found end of input",
    );
    expect(parseError("a = 1 OR OR b = 2")).toBe(
      "9: Expecting a field name or '(' at position 9 but found 'OR'",
    );
    expect(parseError('a "x"')).toMatch(/^2: Expecting an operator \(.*\) at position 2 but found '"x"'$/);
    expect(parseError('a NOT ("x")')).toBe("6: Expecting IN after NOT at position 6 but found '('");
    expect(parseError('a IN "x"')).toBe("5: Expecting '(' to start the list at position 5 but found '\"x\"'");
    expect(parseError("a IN ()")).toBe("6: Expecting a value at position 6 but found ')'");
    expect(parseError('a IN ("x" "y")')).toBe("10: Expecting ',' or ')' at position 10 but found '\"y\"'");
    expect(parseError("a = OPEN")).toBe(
      "4: Expecting a value at position 4 but found 'OPEN' (strings must be double-quoted)",
    );
    expect(parseError("a = ")).toBe("4: Expecting a value at position 4 but found end of input");
    expect(parseError("a ! 1")).toBe("3: Expecting '=' or '~' after '!' at position 3 but found ' '");
    expect(parseError("a = 1 # b")).toBe("6: Unexpected character '#' at position 6");
    expect(parseError("a = 'x'")).toBe("4: Unexpected character ''' at position 4");
  });

  it("rejects unterminated strings and bad escapes", () => {
    expect(parseError('title = "abc')).toBe(
      "12: Expecting '\"' to close the string opened at position 8 but found end of input at position 12",
    );
    expect(parseError('title = "abc\\')).toMatch(
      /^13: Expecting '"' to close the string opened at position 8/,
    );
    expect(parseError('title = "a\\qb"')).toMatch(/^10: Invalid escape '\\q' at position 10/);
    expect(parseError('title = "\\u12"')).toBe("11: Expecting 4 hex digits after '\\u' at position 11");
  });

  it("rejects malformed literals and paths", () => {
    expect(parseError("d > 2026-13-01")).toMatch(/^4: Invalid datetime '2026-13-01' at position 4/);
    expect(parseError("d > 2026-02-30")).toMatch(/^4: Invalid datetime/);
    expect(parseError("d > 2026-01-02T25:00:00")).toMatch(/^4: Invalid datetime '2026-01-02T25:00:00'/);
    expect(parseError("d > 2026-01-02T03")).toMatch(/^4: Invalid datetime '2026-01-02T03'/);
    expect(parseError("d > 2026-01-02T03:04:05+25:00")).toMatch(/^4: Invalid datetime/);
    expect(parseError("id = 12abc")).toBe("5: Invalid number '12abc' at position 5");
    expect(parseError("id = 1.2.3")).toBe("5: Invalid number '1.2.3' at position 5");
    expect(parseError("a. = 1")).toBe("2: Expecting a field name after '.' at position 2 but found ' '");
    expect(parseError("a..b = 1")).toBe("2: Expecting a field name after '.' at position 2 but found '.'");
    expect(parseError('values.state = "OPEN"')).toMatch(/^0: Invalid field 'values\.state' at position 0/);
    expect(parseError("title ~ 5")).toBe("8: Expecting a string after '~' at position 8 but found '5'");
    expect(parseError("id > null")).toBe(
      "5: Expecting a string, number or datetime after '>' at position 5 but found 'null'",
    );
    expect(parseError("NOT a = 1")).toBe("0: Expecting a field name or '(' at position 0 but found 'NOT'");
    expect(parseError("null = 1")).toBe("0: Expecting a field name or '(' at position 0 but found 'null'");
  });

  it("throws instances of Error carrying a position", () => {
    const e = errorOf(() => parseBbql("a = "));
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe("BbqlError");
    expect(e.position).toBe(4);
  });
});

const PRS = [
  {
    id: 1,
    title: "Fix the Unicode bug",
    state: "OPEN",
    draft: false,
    author: { uuid: "{a}", display_name: "Ann" },
    reviewers: [{ uuid: "{b}" }, { uuid: "{c}" }],
    destination: { branch: { name: "main" } },
    updated_on: "2026-03-05T14:07:31.123456+00:00",
    closed_by: null,
    comment_count: 3,
    task_count: 0.5,
  },
  {
    id: 2,
    title: "Add feature",
    state: "MERGED",
    draft: true,
    author: { uuid: "{b}", display_name: "Bob" },
    reviewers: [],
    destination: { branch: { name: "develop" } },
    updated_on: "2026-03-05T16:07:31.123457+02:00",
    closed_by: { uuid: "{a}" },
    comment_count: 10,
  },
  {
    id: 3,
    title: "unicode: more",
    state: "DECLINED",
    draft: false,
    author: { uuid: "{c}", display_name: "Cy" },
    reviewers: [{ uuid: "{a}" }],
    destination: { branch: { name: "main" } },
    updated_on: "2026-03-06T00:00:00Z",
    closed_by: null,
    comment_count: 2,
  },
];

const ids = (q: string, options?: Parameters<typeof compileBbql>[1]) => {
  const predicate = compileBbql(parseBbql(q), options);
  return PRS.filter(predicate).map((pr) => pr.id);
};

describe("BBQL evaluation", () => {
  it("compares strings case-sensitively with = and insensitively with ~", () => {
    expect(ids('state = "OPEN"')).toEqual([1]);
    expect(ids('state = "open"')).toEqual([]);
    expect(ids('state != "OPEN"')).toEqual([2, 3]);
    expect(ids('title ~ "UNICODE"')).toEqual([1, 3]);
    expect(ids('title !~ "unicode"')).toEqual([2]);
    expect(ids('title ~ ""')).toEqual([1, 2, 3]);
  });

  it("walks nested paths; missing and non-object steps count as null", () => {
    expect(ids('destination.branch.name = "main"')).toEqual([1, 3]);
    expect(ids('author.display_name ~ "b"')).toEqual([2]);
    expect(ids("closed_by = null")).toEqual([1, 3]);
    expect(ids("closed_by != null")).toEqual([2]);
    expect(ids("closed_by.uuid = null")).toEqual([1, 3]);
    expect(ids("no_such_field = null")).toEqual([1, 2, 3]);
    expect(ids("title.length = null")).toEqual([1, 2, 3]);
    expect(ids("constructor = null")).toEqual([1, 2, 3]);
    expect(ids("__proto__ = null AND author.toString = null")).toEqual([1, 2, 3]);
    expect(ids("task_count = null")).toEqual([2, 3]);
  });

  it("matches arrays when any element matches, and negates as 'none matches'", () => {
    expect(ids('reviewers.uuid = "{c}"')).toEqual([1]);
    expect(ids('reviewers.uuid = "{a}"')).toEqual([3]);
    expect(ids('reviewers.uuid != "{c}"')).toEqual([2, 3]);
    expect(ids('reviewers.uuid IN ("{a}", "{b}")')).toEqual([1, 3]);
    expect(ids('reviewers.uuid NOT IN ("{a}", "{b}")')).toEqual([2]);
    expect(ids("reviewers.uuid = null")).toEqual([2]);
    expect(ids("reviewers = null")).toEqual([2]);
    expect(ids('reviewers.uuid > "{a}"')).toEqual([1]);
  });

  it("compares numbers numerically and rejects mismatched types", () => {
    expect(ids("comment_count > 2")).toEqual([1, 2]);
    expect(ids("comment_count >= 2")).toEqual([1, 2, 3]);
    expect(ids("comment_count < 10")).toEqual([1, 3]);
    expect(ids("comment_count <= 2.0")).toEqual([3]);
    expect(ids("task_count = 0.5")).toEqual([1]);
    expect(ids('comment_count > "2"')).toEqual([]);
    expect(ids('comment_count = "3"')).toEqual([]);
    expect(ids('comment_count != "3"')).toEqual([1, 2, 3]);
    expect(ids("title > 5")).toEqual([]);
    expect(ids('id IN (1, "2", 3)')).toEqual([1, 3]);
    expect(ids("id NOT IN (1, 3)")).toEqual([2]);
  });

  it("compares strings by code unit for ordering operators", () => {
    expect(ids('state > "MERGED"')).toEqual([1]);
    expect(ids('state <= "MERGED"')).toEqual([2, 3]);
  });

  it("matches booleans and null in lists", () => {
    expect(ids("draft = true")).toEqual([2]);
    expect(ids("draft != true")).toEqual([1, 3]);
    expect(ids("draft = FALSE")).toEqual([1, 3]);
    expect(ids('draft = "true"')).toEqual([]);
    expect(ids('closed_by IN (null, "x")')).toEqual([1, 3]);
    expect(ids("task_count IN (null)")).toEqual([2, 3]);
  });

  it("compares datetimes as instants across offsets, to the microsecond", () => {
    // PR 2 is 2026-03-05T14:07:31.123457Z, one microsecond after PR 1.
    expect(ids("updated_on > 2026-03-05T14:07:31.123456+00:00")).toEqual([2, 3]);
    expect(ids("updated_on >= 2026-03-05T14:07:31.123456Z")).toEqual([1, 2, 3]);
    expect(ids("updated_on = 2026-03-05T16:07:31.123456+02:00")).toEqual([1]);
    expect(ids("updated_on = 2026-03-05T14:07:31.123457")).toEqual([2]);
    expect(ids("updated_on < 2026-03-05T14:07:31.124")).toEqual([1, 2]);
    expect(ids("updated_on > 2026-03-05")).toEqual([1, 2, 3]);
    expect(ids("updated_on >= 2026-03-06")).toEqual([3]);
    expect(ids("updated_on < 2026-03-05T23:00:00-01:00")).toEqual([1, 2]);
    expect(ids("updated_on != 2026-03-06T01:00:00+01:00")).toEqual([1, 2]);
    expect(ids("title > 2026-01-01")).toEqual([]);
    expect(ids("comment_count > 2026-01-01")).toEqual([]);
  });

  it("keeps string literals as strings even if they look like dates", () => {
    expect(ids('updated_on = "2026-03-06T00:00:00Z"')).toEqual([3]);
    expect(ids('updated_on = "2026-03-06T00:00:00+00:00"')).toEqual([]);
  });

  it("applies AND before OR", () => {
    expect(ids('state = "OPEN" OR state = "DECLINED" AND comment_count > 5')).toEqual([1]);
    expect(ids('(state = "OPEN" OR state = "DECLINED") AND comment_count > 2')).toEqual([1]);
    expect(ids('state = "MERGED" OR author.uuid = "{c}" AND draft = false OR id = 1')).toEqual([1, 2, 3]);
    expect(ids('state = "MERGED" AND (author.uuid = "{c}" OR id = 1)')).toEqual([]);
  });

  it("checks fields against an allow-list", () => {
    const fields = new Set(["state", "author.uuid"]);
    expect(ids('state = "OPEN" AND author.uuid = "{a}"', { fields })).toEqual([1]);
    const e = errorOf(() => compileBbql(parseBbql('state = "OPEN" AND title ~ "x"'), { fields }));
    expect(e.message).toBe("Invalid field 'title' at position 19: this resource cannot be filtered on it");
    expect(e.position).toBe(19);
    const byPredicate = (path: string) => path.startsWith("author.");
    expect(ids('author.uuid IN ("{b}")', { fields: byPredicate })).toEqual([2]);
    expect(() => compileBbql(parseBbql("id NOT IN (1)"), { fields: byPredicate })).toThrow(
      "Invalid field 'id' at position 0",
    );
  });

  it("evaluates non-objects without throwing", () => {
    const predicate = compileBbql(parseBbql('a.b = null AND c != "x"'));
    expect([null, undefined, 5, "s", [], {}].map(predicate)).toEqual([true, true, true, true, true, true]);
  });
});

describe("parseIsoDatetime", () => {
  it("parses Bitbucket timestamps to epoch microseconds", () => {
    expect(parseIsoDatetime("1970-01-01T00:00:00.000001+00:00")).toBe(1);
    expect(parseIsoDatetime("1970-01-01T01:00:00+01:00")).toBe(0);
    expect(parseIsoDatetime("1969-12-31T23:59:59Z")).toBe(-1_000_000);
    expect(parseIsoDatetime("2026-03-05T14:07:31.123456+00:00")).toBe(
      Date.UTC(2026, 2, 5, 14, 7, 31) * 1000 + 123456,
    );
    expect(parseIsoDatetime("0050-01-01")).toBe(Date.parse("0050-01-01T00:00:00Z") * 1000);
    expect(parseIsoDatetime("2026-03-05T14:07:31+0530")).toBe(parseIsoDatetime("2026-03-05T08:37:31Z"));
    expect(parseIsoDatetime("2026-03-05T14:07:31+05")).toBe(parseIsoDatetime("2026-03-05T09:07:31Z"));
    expect(parseIsoDatetime("2026-03-05t14:07:31.5z")).toBe(parseIsoDatetime("2026-03-05T14:07:31.500Z"));
    expect(parseIsoDatetime("2026-03-05T14:07")).toBe(parseIsoDatetime("2026-03-05T14:07:00"));
  });

  it("agrees with the lexer's pattern on generated strings", () => {
    const pieces = [
      "2026",
      "-",
      "02",
      "29",
      "2024",
      "T",
      "t",
      ":",
      "23",
      "59",
      "60",
      "07",
      ".",
      "5",
      "123456789",
      "Z",
      "z",
      "+",
      "+05",
      "-07:30",
      "0530",
      "1",
      " ",
      "",
    ];
    let seed = 12345;
    const pick = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return pieces[seed % pieces.length] as string;
    };
    const bases = ["2024-02-29", "2026-03-05T14:07", "2026-03-05T14:07:31", "2026-03-05T14:07:31.123456"];
    let accepted = 0;
    for (let n = 0; n < 20000; n++) {
      let text = bases[n % bases.length] as string;
      for (let k = n % 4; k > 0; k--) text += pick();
      const m = DATETIME_WHOLE.exec(text);
      const expected = m === null ? undefined : datetimeFromMatch(m);
      if (expected !== undefined) accepted++;
      expect(parseIsoDatetime(text), text).toBe(expected);
    }
    expect(accepted).toBeGreaterThan(1000);
  });

  it("rejects anything else", () => {
    for (const text of [
      "",
      "2026",
      "March 5, 2026",
      "2026-03-05T",
      "2026-03-05 14:07:31",
      "2026-02-29",
      "x2026-03-05",
      "2026-03-05T14:07:31.",
      "2026-03-05T14:07:31.5+",
      "2026-03-05T14:07:31Zx",
      "2026-03-05T14:07:31+05:3",
      "2026-03-05T14:07:31+05:300",
    ]) {
      expect(parseIsoDatetime(text), text).toBeUndefined();
    }
  });
});

describe("sorting", () => {
  it("parses one field with an optional minus", () => {
    expect(parseSort("updated_on")).toEqual({ path: "updated_on", descending: false });
    expect(parseSort("-updated_on")).toEqual({ path: "updated_on", descending: true });
    expect(parseSort("-destination.branch.name")).toEqual({
      path: "destination.branch.name",
      descending: true,
    });
  });

  it("rejects invalid sort expressions", () => {
    expect(errorOf(() => parseSort("")).message).toBe(
      "Expecting a field name at position 0 but found end of input",
    );
    expect(errorOf(() => parseSort("-")).message).toBe(
      "Expecting a field name at position 1 but found end of input",
    );
    expect(errorOf(() => parseSort("--id")).position).toBe(1);
    expect(errorOf(() => parseSort("+id")).message).toBe(
      "Expecting a field name at position 0 but found '+'",
    );
    expect(errorOf(() => parseSort("state,-id")).message).toBe(
      "Only one sort field is supported: unexpected ',' at position 5",
    );
    expect(errorOf(() => parseSort("id desc")).message).toBe(
      "Expecting end of sort field at position 2 but found ' '",
    );
    expect(errorOf(() => parseSort("-values.id")).message).toMatch(
      /^Invalid field 'values\.id' at position 1/,
    );
    expect(errorOf(() => parseSort("title", { fields: new Set(["id"]) })).message).toBe(
      "Invalid field 'title' at position 0: this resource cannot be sorted on it",
    );
  });

  const items = [
    { id: 1, n: 10, at: "2026-03-05T14:07:31.123456+00:00", s: "b", x: { y: "B" } },
    { id: 2, n: 9, at: "2026-03-05T15:07:31.000000+02:00", s: "a", x: null },
    { id: 3, n: null, at: "2026-03-05T14:07:31.123457+00:00", s: "c", x: { y: "A" } },
    { id: 4, n: 100, at: null, s: "B", x: { y: "C" } },
    { id: 5, at: "2026-03-04", s: "ä", x: { y: null } },
  ];
  const order = (sort: string) => {
    const { path, descending } = parseSort(sort);
    return [...items].sort(compareByPath(path, descending)).map((item) => item.id);
  };

  it("orders numbers numerically, nulls last ascending and first descending", () => {
    expect(order("n")).toEqual([2, 1, 4, 3, 5]);
    expect(order("-n")).toEqual([3, 5, 4, 1, 2]);
  });

  it("orders datetimes as instants", () => {
    expect(order("at")).toEqual([5, 2, 1, 3, 4]);
    expect(order("-at")).toEqual([4, 3, 1, 2, 5]);
  });

  it("orders strings by code unit and follows nested paths", () => {
    expect(order("s")).toEqual([4, 2, 1, 3, 5]);
    expect(order("x.y")).toEqual([3, 1, 4, 2, 5]);
  });

  it("is stable for equal keys and uses the first element of arrays", () => {
    const rows = [
      { id: 1, r: [{ u: "b" }, { u: "a" }] },
      { id: 2, r: [] },
      { id: 3, r: [{ u: "a" }] },
      { id: 4, r: [{ u: "a" }] },
    ];
    expect(rows.sort(compareByPath("r.u")).map((row) => row.id)).toEqual([3, 4, 1, 2]);
  });

  it("orders mixed types boolean < number < string", () => {
    const rows = [{ v: "1" }, { v: 2 }, { v: true }, { v: false }, { v: 1 }];
    expect(rows.sort(compareByPath("v")).map((row) => row.v)).toEqual([false, true, 1, 2, "1"]);
  });
});
