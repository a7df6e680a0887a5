/**
 * Words with a fixed meaning in the grammar. Reserved words cannot be bare names (write `[Order]`);
 * every other keyword (`DATE`, `TOP`, `NULLS`, `LEFT`...) is recognised only where it makes sense and
 * otherwise stays usable as a column or table name.
 */
export const RESERVED_WORDS: ReadonlySet<string> = new Set([
  "ALL",
  "AND",
  "AS",
  "BETWEEN",
  "BY",
  "CASE",
  "CAST",
  "DISTINCT",
  "ELSE",
  "END",
  "EXCEPT",
  "FALSE",
  "FROM",
  "GROUP",
  "HAVING",
  "IN",
  "INTERSECT",
  "IS",
  "JOIN",
  "LIKE",
  "LIMIT",
  "NOT",
  "NULL",
  "OFFSET",
  "ON",
  "OR",
  "ORDER",
  "SELECT",
  "THEN",
  "TRUE",
  "UNION",
  "WHEN",
  "WHERE",
  "WITH",
]);

/** Words that start a join; they are never taken as an implicit alias (`FROM a LEFT JOIN b`). */
export const JOIN_WORDS: ReadonlySet<string> = new Set([
  "JOIN",
  "INNER",
  "LEFT",
  "RIGHT",
  "FULL",
  "CROSS",
  "NATURAL",
  "OUTER",
]);

/** Words that may follow an expression or table, so `expr word` must not read them as an alias. */
export const NOT_IMPLICIT_ALIAS: ReadonlySet<string> = new Set([
  ...JOIN_WORDS,
  "ASC",
  "DESC",
  "NULLS",
  "ESCAPE",
  "OVER",
  "FILTER",
]);

export function isReservedWord(word: string): boolean {
  return RESERVED_WORDS.has(word.toUpperCase());
}
