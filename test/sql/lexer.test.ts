import { describe, expect, it } from "vitest";
import { tokenize } from "../../src/sql/index.js";

const kinds = (sql: string) => tokenize(sql).map((t) => `${t.kind}:${t.value}`);

describe("tokenize", () => {
  it("splits words, names, numbers, strings, parameters and symbols", () => {
    expect(
      kinds("SELECT a_1, [b c], \"d\"\"e\", `f`, 12, 3.5, .5, 1e5, 'g''h', N'i', @p, ?, <=, <>, !=, ||, ::"),
    ).toEqual([
      "word:SELECT",
      "word:a_1",
      "symbol:,",
      "quoted:b c",
      "symbol:,",
      'quoted:d"e',
      "symbol:,",
      "quoted:f",
      "symbol:,",
      "integer:12",
      "symbol:,",
      "decimal:3.5",
      "symbol:,",
      "decimal:.5",
      "symbol:,",
      "decimal:1e5",
      "symbol:,",
      "string:g'h",
      "symbol:,",
      "string:i",
      "symbol:,",
      "namedParam:p",
      "symbol:,",
      "positionalParam:?",
      "symbol:,",
      "symbol:<=",
      "symbol:,",
      "symbol:<>",
      "symbol:,",
      "symbol:!=",
      "symbol:,",
      "symbol:||",
      "symbol:,",
      "symbol:::",
      "eof:",
    ]);
  });

  it("records offsets, skipping comments", () => {
    const tokens = tokenize("a /* x */ -- y\n  b");
    expect(tokens.map((t) => [t.start, t.end])).toEqual([
      [0, 1],
      [17, 18],
      [18, 18],
    ]);
  });

  it("reads letters beyond ASCII in bare names", () => {
    expect(kinds("Größe _x")).toEqual(["word:Größe", "word:_x", "eof:"]);
  });

  it("does not read a minus sign into a number, and a - - is not a comment", () => {
    expect(kinds("a-1")).toEqual(["word:a", "symbol:-", "integer:1", "eof:"]);
    expect(kinds("a - -1")).toEqual(["word:a", "symbol:-", "symbol:-", "integer:1", "eof:"]);
    expect(kinds("a --1")).toEqual(["word:a", "eof:"]);
  });
});
