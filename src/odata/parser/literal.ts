import type { LiteralExpr } from "../ast.js";
import { notImplemented } from "../errors.js";
import type { Lexer, Token } from "./lexer.js";

// The ABNF's durationValue: days, hours, minutes and seconds only (xs:dayTimeDuration), years and months never.
const DURATION = /^-?P(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?$/;

/** Literal prefixes OData 4 has but this service does not serve. */
const UNSUPPORTED_PREFIXES = new Set(["binary", "geography", "geometry"]);

/**
 * Reads a literal starting at `token` (already taken from the lexer), or returns undefined when the token
 * starts something else. Handles the prefixed forms (`duration'P1D'`), which are a name directly followed by
 * a string.
 */
export function readLiteral(lexer: Lexer, token: Token): LiteralExpr | undefined {
  if (token.kind === "literal") {
    return {
      kind: "literal",
      type: token.type,
      value: token.value,
      span: { start: token.start, end: token.end },
    };
  }
  if (token.kind === "string") {
    return {
      kind: "literal",
      type: "string",
      value: token.value,
      span: { start: token.start, end: token.end },
    };
  }
  if (token.kind !== "name" || lexer.charAfter(token) !== "'") return undefined;

  const prefix = token.text;
  if (token.qualified) {
    throw notImplemented(
      `${lexer.target}: enumeration literals (${prefix}'...') are not supported at position ${token.start + 1}`,
      lexer.target,
    );
  }
  const lower = prefix.toLowerCase();
  if (UNSUPPORTED_PREFIXES.has(lower)) {
    throw notImplemented(
      `${lexer.target}: ${lower} literals are not supported at position ${token.start + 1}`,
      lexer.target,
    );
  }
  if (lower !== "duration") {
    lexer.error(
      `${prefix}'...' is not an OData 4 literal (typed prefixes such as datetime'...' are OData 2 syntax; write the value unquoted, e.g. 2026-01-31T10:00:00Z)`,
      token.start,
    );
  }
  const quoted = lexer.next();
  if (quoted.kind !== "string" || !DURATION.test(quoted.value) || /^-?PT?$/.test(quoted.value)) {
    lexer.error("malformed duration literal; expected e.g. duration'P1DT2H30M'", quoted.start);
  }
  return {
    kind: "literal",
    type: "duration",
    value: quoted.value,
    span: { start: token.start, end: quoted.end },
  };
}
