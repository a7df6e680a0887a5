import { describe, expect, it } from "vitest";
import { ODataError } from "../../src/odata/errors.js";
import {
  parseFilter,
  parseKeyPredicate,
  parseOrderBy,
  parseQueryOptions,
  parseSearch,
} from "../../src/odata/parser/index.js";

/** A seeded generator, so a failure reproduces. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VALID = [
  "contains(CompanyName,'Acme') eq true or contains(Phone,'Acme') eq true",
  "Country eq 'USA' and (City ne null or Price add 2.45 gt 5.00)",
  "not startswith(Name,'A''s') and Id in ('a', 'b', 3)",
  "Created ge 2026-01-31T10:00:00.123+02:00 and Day lt 2026-02-01 and At eq 10:00:00",
  "Id eq 01234567-89ab-cdef-0123-456789abcdef or Span eq duration'P1DT2H'",
  "round(Price) mul -2 divby 3 mod 4 sub 1e-5 eq -INF",
  "substring(tolower(Name),1,2) eq concat('a',trim(City)) and year(Created) eq 2026",
];

const HOSTILE = [
  "'; DROP TABLE x;--",
  "Name eq ''; DROP TABLE users;--'",
  "Name eq 'x' or 1 eq 1; --",
  "' OR '1'='1",
  "Name eq 'a\\' or 1=1 --",
  "Name eq $$ || pg_sleep(10) $$",
  "Name eq 'x')) union select * from pg_user --",
  "%27%20OR%201%3D1--",
  "%00",
  "Name eq '%00'",
  "%",
  "%2",
  "%ZZ",
  "%C3",
  "%C3%28",
  "%FF%FE",
  "%ED%A0%80",
  "%C0%AF",
  "%F4%90%80%80",
  "%E2%80%AE",
  "</script><script>alert(1)</script>",
  "{{7*7}} $(id) `id`",
  "__proto__",
  "constructor eq 1",
  "toString()",
  "\u0000\u0001\u001f",
  "Name eq '\uD800'",
  "\uFEFFName eq 1",
  "a\r\nb",
  "#fragment",
  "&&&",
  "====",
];

/** Characters that break grammars in interesting ways. */
const NOISE = [
  "'",
  '"',
  "(",
  ")",
  ",",
  "/",
  "$",
  "@",
  "[",
  "]",
  "{",
  "}",
  "-",
  "+",
  ":",
  ";",
  "&",
  "=",
  "#",
  " ",
  "\t",
  "%",
  "%2",
  "%27",
  "%00",
  "%FF",
  "L",
  "e",
  ".",
  "*",
  "\\",
  "é",
  "😀",
  "\u0000",
];

function generate(): string[] {
  const next = random(20260131);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const int = (max: number) => Math.floor(next() * max);
  const inputs: string[] = [...HOSTILE];

  for (let i = 0; i < 800; i++) {
    const a = pick(VALID);
    const b = pick(VALID);
    switch (i % 4) {
      case 0:
        inputs.push(a.slice(0, int(a.length)));
        break;
      case 1:
        inputs.push(a.slice(int(a.length)));
        break;
      case 2:
        inputs.push(a.slice(0, int(a.length)) + b.slice(int(b.length)));
        break;
      default: {
        let text = a;
        for (let j = 0; j < 1 + int(4); j++) {
          const at = int(text.length);
          text = text.slice(0, at) + pick(NOISE) + text.slice(at + int(3));
        }
        inputs.push(text);
      }
    }
  }

  for (const depth of [10, 49, 50, 51, 100, 1000, 100_000]) {
    inputs.push("(".repeat(depth), `${"(".repeat(depth)}a${")".repeat(depth)}`, `${"not ".repeat(depth)}a`);
    inputs.push(`${"-".repeat(depth)}1`, "f(".repeat(depth), `${"NOT ".repeat(depth)}x`, ")".repeat(depth));
  }
  for (const length of [1000, 16 * 1024, 100_000]) {
    inputs.push(
      `Name eq '${"x".repeat(length)}'`,
      "x".repeat(length),
      "9".repeat(length),
      `'${"''".repeat(length / 2)}`,
    );
    inputs.push(`${"a".repeat(length)} eq 1`, `"${"y".repeat(length)}"`, "%41".repeat(length / 3));
  }
  inputs.push(
    "1e999999",
    "-1e-999999",
    "99999999999999999999999999999",
    "9223372036854775808L",
    "0x10",
    "1_000",
  );
  for (let i = 0; i < 300; i++) {
    inputs.push(Array.from({ length: 1 + int(12) }, () => pick(NOISE)).join(""));
  }
  return inputs;
}

/** Inputs with lone surrogates cannot be percent-encoded; they still run unencoded. */
function encode(input: string): string | undefined {
  try {
    return encodeURIComponent(input);
  } catch {
    return undefined;
  }
}

const OPTIONS = [
  "$filter",
  "$orderby",
  "$search",
  "$select",
  "$top",
  "$skip",
  "$count",
  "$format",
  "$skiptoken",
];

describe("parser fuzz", () => {
  const inputs = generate();

  it("generates enough cases from seeds that parse", () => {
    expect(inputs.length).toBeGreaterThanOrEqual(1000);
    for (const seed of VALID) expect(() => parseFilter(seed)).not.toThrow();
  });

  it("either parses or throws a 400/501 ODataError, for every entry point", () => {
    const surprises: string[] = [];
    let runs = 0;
    const attempt = (label: string, input: string, parse: () => unknown) => {
      runs++;
      try {
        parse();
      } catch (error) {
        if (error instanceof ODataError && (error.status === 400 || error.status === 501)) return;
        surprises.push(`${label} ${JSON.stringify(input.slice(0, 80))}: ${String(error)}`);
      }
    };
    for (const [index, input] of inputs.entries()) {
      const option = OPTIONS[index % OPTIONS.length] as string;
      attempt(option, input, () => parseQueryOptions(`${option}=${input}`));
      const encoded = encode(input);
      if (encoded !== undefined) {
        attempt(`${option} encoded`, input, () => parseQueryOptions(`${option}=${encoded}`));
      }
      attempt("raw query", input, () => parseQueryOptions(input));
      attempt("filter", input, () => parseFilter(input));
      attempt("orderby", input, () => parseOrderBy(input));
      attempt("search", input, () => parseSearch(input));
      attempt("key", input, () => parseKeyPredicate(input));
    }
    expect(surprises).toEqual([]);
    expect(runs).toBeGreaterThanOrEqual(7000);
  });
});
