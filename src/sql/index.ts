/**
 * The SQL front end: lexer, parser, syntax tree and printers for `bitbridge query` (SELECT, EXPLAIN) and
 * the building blocks later statement grammars (REPLICATE) reuse.
 */

export { closest, editDistance } from "../app/closest.js";
export * from "./ast.js";
export { isReservedWord, JOIN_WORDS, RESERVED_WORDS } from "./keywords.js";
export { SYMBOLS, type SymbolText, type Token, type TokenKind, tokenize } from "./lexer.js";
export { parseExpression, parseStatement, SqlParser, type SqlParserOptions } from "./parser.js";
export { formatAst, quoteIdentifier, toSql } from "./printer.js";
export * from "./replicate.js";
export {
  formatSqlError,
  positionAt,
  type SqlErrorExtras,
  type SqlPosition,
  SqlSyntaxError,
  sqlExcerpt,
  sqlSyntaxError,
} from "./syntax-error.js";
export { TokenStream } from "./token-stream.js";
