import { closest } from "../app/closest.js";
import type {
  AllColumns,
  BinaryOp,
  CallExpr,
  CaseExpr,
  CastExpr,
  ComparisonOp,
  DecimalLiteral,
  Expr,
  Identifier,
  IntegerLiteral,
  OrderItem,
  Param,
  RowCount,
  SelectItem,
  SelectStatement,
  Span,
  Statement,
  TableRef,
  TypeName,
  WhenClause,
} from "./ast.js";
import { JOIN_WORDS, NOT_IMPLICIT_ALIAS, RESERVED_WORDS } from "./keywords.js";
import type { SymbolText, Token } from "./lexer.js";
import { positionAt, type SqlSyntaxError, sqlSyntaxError } from "./syntax-error.js";
import { TokenStream } from "./token-stream.js";

export interface SqlParserOptions {
  /** More words to reserve, for a statement grammar built on this one (they stop aliases and expressions). */
  readonly reservedWords?: Iterable<string>;
}

/** The optional clauses after FROM, in the order they must appear (LIMIT and OFFSET in either order). */
const CLAUSES = ["WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "OFFSET"] as const;
type Clause = (typeof CLAUSES)[number];
const CLAUSE_NAMES: Readonly<Record<Clause, string>> = {
  WHERE: "WHERE",
  GROUP: "GROUP BY",
  HAVING: "HAVING",
  ORDER: "ORDER BY",
  LIMIT: "LIMIT",
  OFFSET: "OFFSET",
};

const COMPARISONS: Readonly<Partial<Record<string, ComparisonOp>>> = {
  "=": "=",
  "<>": "<>",
  "!=": "<>",
  "<": "<",
  "<=": "<=",
  ">": ">",
  ">=": ">=",
};
const NEGATABLE = new Set(["IN", "LIKE", "BETWEEN"]);
/** Words that may continue an expression, offered as "did you mean" after a WHERE or HAVING condition. */
const EXPRESSION_CONTINUATIONS = ["AND", "OR", "IS", "IN", "LIKE", "BETWEEN", "NOT"];

const FOUND_WIDTH = 40;

/**
 * Recursive-descent parser for the bitbridge SQL dialect. `parseStatement` reads a whole SELECT or
 * EXPLAIN SELECT; the other public methods (expressions, names, types, SELECT without the end check,
 * keyword and error helpers) are the pieces another statement grammar, such as REPLICATE, builds on:
 *
 *     const parser = new SqlParser(sql, { reservedWords: ["REPLICATE"] });
 *     parser.expectKeyword("REPLICATE");
 *     const select = parser.parseSelect();
 *     if (parser.tokens.acceptKeyword("WITH")) { ...parser.parseIdentifier("an option"), parser.parseExpression()... }
 *     parser.expectEnd([...parser.keywordsAfterSelect(), "WITH"]);
 */
export class SqlParser {
  readonly tokens: TokenStream;
  private readonly reserved: ReadonlySet<string>;
  private positionalParams = 0;
  /** The last alias written without AS, and the token index it was read at: a likely misspelt keyword. */
  private implicitAlias: { readonly token: Token; readonly index: number } | undefined;
  private afterSelect: readonly string[] = [];

  constructor(
    readonly sql: string,
    options: SqlParserOptions = {},
  ) {
    this.tokens = new TokenStream(sql);
    this.reserved = new Set([
      ...RESERVED_WORDS,
      ...[...(options.reservedWords ?? [])].map((w) => w.toUpperCase()),
    ]);
  }

  // ---- Statements --------------------------------------------------------------------------------

  /** `[EXPLAIN] SELECT ...` followed by an optional `;` and nothing else. */
  parseStatement(): Statement {
    const first = this.tokens.peek();
    if (first.kind === "eof" || (this.tokens.isSymbol(";") && this.tokens.peek(1).kind === "eof")) {
      throw this.spanError(first, "Empty statement: expected SELECT");
    }
    let statement: Statement;
    const explain = this.tokens.acceptKeyword("EXPLAIN");
    if (explain) {
      if (!this.tokens.isKeyword("SELECT")) throw this.expected("SELECT after EXPLAIN", ["SELECT"]);
      const select = this.parseSelect();
      statement = {
        kind: "explain",
        statement: select,
        span: { start: explain.start, end: select.span.end },
      };
    } else if (this.tokens.isKeyword("SELECT")) {
      statement = this.parseSelect();
    } else {
      throw this.expected(
        "SELECT",
        ["SELECT", "EXPLAIN"],
        "Only SELECT statements (optionally after EXPLAIN) can run here",
      );
    }
    this.expectEnd(this.afterSelect);
    return statement;
  }

  /** An expression and the end of the input (no `;`). */
  parseStandaloneExpression(): Expr {
    const expr = this.parseExpression();
    if (!this.tokens.atEnd()) throw this.expected("end of expression", EXPRESSION_CONTINUATIONS);
    return expr;
  }

  /**
   * An optional `;`, then the end of the input. `candidates` are keywords that could have come
   * instead, for a "did you mean" on a misspelt one.
   */
  expectEnd(candidates: readonly string[] = []): void {
    const semicolon = this.tokens.acceptSymbol(";");
    const token = this.tokens.peek();
    if (token.kind === "eof") return;
    if (semicolon) {
      throw this.tokenError(token, "Only one statement is allowed", { hint: "Run statements one at a time" });
    }
    throw this.expected("end of statement", candidates);
  }

  /** Keywords that could have followed the SELECT just parsed (for `expectEnd`). */
  keywordsAfterSelect(): readonly string[] {
    return this.afterSelect;
  }

  /** `SELECT [DISTINCT|ALL] [TOP n] items FROM table [WHERE] [GROUP BY] [HAVING] [ORDER BY] [LIMIT] [OFFSET]`. */
  parseSelect(): SelectStatement {
    const select = this.expectKeyword("SELECT");
    let distinct = false;
    if (this.tokens.acceptKeyword("DISTINCT")) distinct = true;
    else this.tokens.acceptKeyword("ALL");
    const top = this.parseTop();
    const columns = this.parseSelectList();
    if (!this.tokens.isKeyword("FROM")) throw this.expected("FROM after the select list", ["FROM"]);
    this.tokens.next();
    const from = this.parseTableRef();

    const seen: Clause[] = [];
    let where: Expr | undefined;
    let groupBy: readonly Expr[] = [];
    let having: Expr | undefined;
    let orderBy: readonly OrderItem[] = [];
    let limit: RowCount | undefined = top;
    let offset: RowCount | undefined;
    if (this.tokens.acceptKeyword("WHERE")) {
      where = this.parseExpression();
      seen.push("WHERE");
    }
    if (this.tokens.acceptKeyword("GROUP")) {
      this.expectKeyword("BY", "after GROUP");
      groupBy = this.parseList(() => this.parseExpression());
      seen.push("GROUP");
    }
    if (this.tokens.acceptKeyword("HAVING")) {
      having = this.parseExpression();
      seen.push("HAVING");
    }
    if (this.tokens.acceptKeyword("ORDER")) {
      this.expectKeyword("BY", "after ORDER");
      orderBy = this.parseList(() => this.parseOrderItem());
      seen.push("ORDER");
    }
    for (;;) {
      if (!seen.includes("LIMIT") && this.tokens.isKeyword("LIMIT")) {
        const keyword = this.tokens.next();
        if (top) throw this.tokenError(keyword, "Use either TOP or LIMIT, not both");
        limit = this.parseRowCount("LIMIT");
        seen.push("LIMIT");
      } else if (!seen.includes("OFFSET") && this.tokens.acceptKeyword("OFFSET")) {
        offset = this.parseRowCount("OFFSET");
        if (!this.tokens.acceptKeyword("ROWS")) this.tokens.acceptKeyword("ROW");
        seen.push("OFFSET");
      } else {
        break;
      }
    }
    this.rejectMisplacedClause(seen);
    this.afterSelect = followingKeywords(seen, top !== undefined);

    return {
      kind: "select",
      distinct,
      columns,
      from,
      where,
      groupBy,
      having,
      orderBy,
      limit,
      offset,
      span: { start: select.start, end: this.previousEnd() },
    };
  }

  private parseTop(): RowCount | undefined {
    if (!this.tokens.isKeyword("TOP")) return undefined;
    const bare = isRowCountToken(this.tokens.peek(1));
    const parenthesised =
      this.tokens.isSymbol("(", 1) && isRowCountToken(this.tokens.peek(2)) && this.tokens.isSymbol(")", 3);
    if (!bare && !parenthesised) return undefined; // a column called Top
    this.tokens.next();
    if (parenthesised) this.tokens.next();
    const count = this.parseRowCount("TOP");
    if (parenthesised) this.tokens.next();
    if (this.tokens.isKeyword("PERCENT")) {
      throw this.tokenError(this.tokens.peek(), "TOP ... PERCENT is not supported", {
        hint: "Use TOP n or LIMIT n",
      });
    }
    if (this.tokens.isKeyword("WITH") && this.tokens.isKeyword("TIES", 1)) {
      throw this.tokenError(this.tokens.peek(), "TOP ... WITH TIES is not supported", {
        hint: "Use TOP n or LIMIT n",
      });
    }
    return count;
  }

  private parseRowCount(clause: string): RowCount {
    const token = this.tokens.peek();
    if (token.kind === "integer") return this.integerLiteral(this.tokens.next(), "");
    if (token.kind === "namedParam" || token.kind === "positionalParam") return this.parseParam();
    throw this.expected(`a whole number after ${clause}`);
  }

  private parseSelectList(): readonly SelectItem[] {
    const items: SelectItem[] = [this.parseSelectItem()];
    while (this.tokens.acceptSymbol(",")) {
      if (this.tokens.isKeyword("FROM")) {
        throw this.expected("an expression after ','", [], "Remove the comma before FROM");
      }
      items.push(this.parseSelectItem());
    }
    return items;
  }

  private parseSelectItem(): SelectItem {
    const star = this.tokens.acceptSymbol("*");
    if (star) return { kind: "allColumns", span: spanOf(star) };
    const t = this.tokens;
    if (this.isName(t.peek()) && t.isSymbol(".", 1)) {
      if (t.isSymbol("*", 2)) {
        const table = this.parseIdentifier("a table name");
        t.next();
        return { kind: "allColumns", table, span: { start: table.span.start, end: t.next().end } };
      }
      if (this.isName(t.peek(2)) && t.isSymbol(".", 3) && t.isSymbol("*", 4)) {
        const schema = this.parseIdentifier("a schema name");
        t.next();
        const table = this.parseIdentifier("a table name");
        t.next();
        const item: AllColumns = {
          kind: "allColumns",
          schema,
          table,
          span: { start: schema.span.start, end: t.next().end },
        };
        return item;
      }
    }
    const expr = this.parseExpression();
    const alias = this.parseAlias();
    return {
      kind: "selectExpr",
      expr,
      alias,
      span: { start: expr.span.start, end: (alias ?? expr).span.end },
    };
  }

  /** `AS name`, or a name without AS (remembered: it may be a misspelt keyword). */
  parseAlias(): Identifier | undefined {
    if (this.tokens.acceptKeyword("AS")) return this.parseIdentifier("an alias after AS");
    const token = this.tokens.peek();
    if (token.kind === "quoted") return this.parseIdentifier("an alias");
    if (token.kind === "word" && this.isName(token) && !NOT_IMPLICIT_ALIAS.has(token.value.toUpperCase())) {
      this.implicitAlias = { token, index: this.tokens.index };
      return this.parseIdentifier("an alias");
    }
    return undefined;
  }

  /** One table, `[schema.]name [[AS] alias]`; a join or a subquery is an error. */
  parseTableRef(): TableRef {
    if (this.tokens.isSymbol("(")) {
      throw this.tokenError(this.tokens.peek(), "Subqueries are not supported yet", {
        hint: "Select from one table",
      });
    }
    const first = this.parseIdentifier("a table name after FROM");
    let schema: Identifier | undefined;
    let name = first;
    if (this.tokens.acceptSymbol(".")) {
      schema = first;
      name = this.parseIdentifier("a table name after '.'");
    }
    if (this.tokens.isSymbol(".")) {
      throw this.tokenError(this.tokens.peek(), "A table name has at most two parts (schema.table)");
    }
    this.rejectJoin();
    const alias = this.parseAlias();
    this.rejectJoin();
    return {
      kind: "table",
      schema,
      name: name.name,
      quoted: name.quoted,
      alias,
      span: { start: first.span.start, end: (alias ?? name).span.end },
    };
  }

  private rejectJoin(): void {
    const token = this.tokens.peek();
    const join =
      (token.kind === "symbol" && token.value === ",") ||
      (token.kind === "word" && JOIN_WORDS.has(token.value.toUpperCase()));
    if (join)
      throw this.tokenError(token, "Joins are not supported yet", { hint: "Query one table per statement" });
  }

  private parseOrderItem(): OrderItem {
    const expr = this.parseExpression();
    let direction: "asc" | "desc" = "asc";
    if (this.tokens.acceptKeyword("DESC")) direction = "desc";
    else this.tokens.acceptKeyword("ASC");
    let nulls: "first" | "last" | undefined;
    if (this.tokens.acceptKeyword("NULLS")) {
      if (this.tokens.acceptKeyword("FIRST")) nulls = "first";
      else if (this.tokens.acceptKeyword("LAST")) nulls = "last";
      else throw this.expected("FIRST or LAST after NULLS", ["FIRST", "LAST"]);
    }
    return {
      kind: "orderItem",
      expr,
      direction,
      nulls,
      span: { start: expr.span.start, end: this.previousEnd() },
    };
  }

  /** A clause keyword still waiting after the last clause read is out of order or repeated. */
  private rejectMisplacedClause(seen: readonly Clause[]): void {
    const token = this.tokens.peek();
    if (token.kind !== "word") return;
    const clause = CLAUSES.find((c) => c === token.value.toUpperCase());
    if (clause === undefined) return;
    if (seen.includes(clause)) {
      const hint = clause === "WHERE" || clause === "HAVING" ? "Combine the conditions with AND" : undefined;
      throw this.tokenError(token, `Only one ${CLAUSE_NAMES[clause]} clause is allowed`, { hint });
    }
    const position = CLAUSES.indexOf(clause);
    const later = seen.find((c) => CLAUSES.indexOf(c) > position);
    const name = later === undefined ? "" : ` ${CLAUSE_NAMES[later]}`;
    throw this.tokenError(token, `${CLAUSE_NAMES[clause]} must come before${name}`);
  }

  // ---- Names and types -------------------------------------------------------------------------------

  /** A bare (non-reserved) or quoted name. `what` completes "Expected ..." in the error. */
  parseIdentifier(what: string): Identifier {
    const token = this.tokens.peek();
    if (token.kind === "quoted" || (token.kind === "word" && !this.isReserved(token.value))) {
      this.tokens.next();
      return { kind: "identifier", name: token.value, quoted: token.kind === "quoted", span: spanOf(token) };
    }
    if (token.kind === "word") {
      throw this.tokenError(token, `Expected ${what}`, {
        hint: `${token.value.toUpperCase()} is a reserved word; write [${token.value}] to use it as a name`,
      });
    }
    throw this.expected(what);
  }

  /** `INTEGER`, `VARCHAR(100)`, `NUMERIC(10, 2)`, `DOUBLE PRECISION`, `TIMESTAMP WITH TIME ZONE`... */
  parseTypeName(): TypeName {
    const first = this.tokens.peek();
    if (first.kind !== "word") throw this.expected("a type name");
    this.tokens.next();
    const words = [first.value.toUpperCase()];
    for (;;) {
      if (this.tokens.isKeyword("PRECISION") || this.tokens.isKeyword("VARYING")) {
        words.push(this.tokens.next().value.toUpperCase());
      } else if (
        (this.tokens.isKeyword("WITH") || this.tokens.isKeyword("WITHOUT")) &&
        this.tokens.isKeyword("TIME", 1) &&
        this.tokens.isKeyword("ZONE", 2)
      ) {
        words.push(this.tokens.next().value.toUpperCase(), "TIME", "ZONE");
        this.tokens.next();
        this.tokens.next();
      } else {
        break;
      }
    }
    const args: number[] = [];
    if (this.tokens.acceptSymbol("(")) {
      do {
        const size = this.tokens.peek();
        if (size.kind !== "integer") throw this.expected(`a whole number in ${words.join(" ")}(...)`);
        args.push(Number(this.tokens.next().value));
      } while (this.tokens.acceptSymbol(","));
      this.expectSymbol(")", `to close ${words.join(" ")}(...)`);
    }
    return {
      kind: "typeName",
      name: words.join(" "),
      args,
      span: { start: first.start, end: this.previousEnd() },
    };
  }

  // ---- Expressions -----------------------------------------------------------------------------------

  /** A full expression: OR < AND < NOT < comparison < || < + - < * / % < unary < primary. */
  parseExpression(): Expr {
    return this.parseOr();
  }

  private parseOr(): Expr {
    let left = this.parseAnd();
    while (this.tokens.acceptKeyword("OR")) left = binary("or", left, this.parseAnd());
    return left;
  }

  private parseAnd(): Expr {
    let left = this.parseNot();
    while (this.tokens.acceptKeyword("AND")) left = binary("and", left, this.parseNot());
    return left;
  }

  private parseNot(): Expr {
    const not = this.tokens.acceptKeyword("NOT");
    if (!not) return this.parseComparison();
    const operand = this.parseNot();
    return { kind: "unary", op: "not", operand, span: { start: not.start, end: operand.span.end } };
  }

  /** At most one comparison: `a = b = c` is an error rather than a guess. */
  private parseComparison(): Expr {
    const left = this.parseConcat();
    const result = this.parseComparisonTail(left);
    if (result !== left && this.atComparison()) {
      throw this.tokenError(this.tokens.peek(), "Comparison operators cannot be chained", {
        hint: "Add parentheses, or combine the conditions with AND",
      });
    }
    return result;
  }

  private atComparison(): boolean {
    const token = this.tokens.peek();
    if (token.kind === "symbol") return COMPARISONS[token.value] !== undefined;
    if (token.kind !== "word") return false;
    const word = token.value.toUpperCase();
    if (word === "IS" || NEGATABLE.has(word)) return true;
    const after = this.tokens.peek(1);
    return word === "NOT" && after.kind === "word" && NEGATABLE.has(after.value.toUpperCase());
  }

  private parseComparisonTail(left: Expr): Expr {
    const token = this.tokens.peek();
    if (token.kind === "symbol") {
      const op = COMPARISONS[token.value];
      if (op === undefined) return left;
      this.tokens.next();
      return binary(op, left, this.parseConcat());
    }
    if (token.kind !== "word") return left;
    const start = left.span.start;
    if (this.tokens.acceptKeyword("IS")) {
      const negated = this.tokens.acceptKeyword("NOT") !== undefined;
      if (!this.tokens.acceptKeyword("NULL"))
        throw this.expected(negated ? "NULL after IS NOT" : "NULL after IS", ["NULL"]);
      return { kind: "isNull", expr: left, negated, span: { start, end: this.previousEnd() } };
    }
    let negated = false;
    if (this.tokens.isKeyword("NOT")) {
      const after = this.tokens.peek(1);
      if (after.kind !== "word" || !NEGATABLE.has(after.value.toUpperCase())) return left;
      this.tokens.next();
      negated = true;
    }
    if (this.tokens.acceptKeyword("IN")) {
      this.expectSymbol("(", "after IN");
      if (this.tokens.isKeyword("SELECT")) {
        throw this.tokenError(this.tokens.peek(), "Subqueries are not supported yet", {
          hint: "List the values",
        });
      }
      if (this.tokens.isSymbol(")")) throw this.expected("at least one value in the IN list");
      const list = this.parseList(() => this.parseExpression());
      this.expectSymbol(")", "to close the IN list");
      return { kind: "in", expr: left, list, negated, span: { start, end: this.previousEnd() } };
    }
    if (this.tokens.acceptKeyword("LIKE")) {
      const pattern = this.parseConcat();
      const escapeChar = this.tokens.acceptKeyword("ESCAPE") ? this.parseConcat() : undefined;
      return {
        kind: "like",
        expr: left,
        pattern,
        escape: escapeChar,
        negated,
        span: { start, end: this.previousEnd() },
      };
    }
    if (this.tokens.acceptKeyword("BETWEEN")) {
      const low = this.parseConcat();
      this.expectKeyword("AND", "between the bounds of BETWEEN");
      const high = this.parseConcat();
      return { kind: "between", expr: left, low, high, negated, span: { start, end: high.span.end } };
    }
    return left;
  }

  private parseConcat(): Expr {
    let left = this.parseAdditive();
    while (this.tokens.acceptSymbol("||")) left = binary("||", left, this.parseAdditive());
    return left;
  }

  private parseAdditive(): Expr {
    let left = this.parseMultiplicative();
    for (;;) {
      const op = this.tokens.acceptSymbol("+") ?? this.tokens.acceptSymbol("-");
      if (!op) return left;
      left = binary(op.value as BinaryOp, left, this.parseMultiplicative());
    }
  }

  private parseMultiplicative(): Expr {
    let left = this.parseUnary();
    for (;;) {
      const op =
        this.tokens.acceptSymbol("*") ?? this.tokens.acceptSymbol("/") ?? this.tokens.acceptSymbol("%");
      if (!op) return left;
      left = binary(op.value as BinaryOp, left, this.parseUnary());
    }
  }

  /** `-x`, `+x`; a minus directly before a number becomes part of the literal (`-5`). */
  private parseUnary(): Expr {
    const sign = this.tokens.acceptSymbol("-") ?? this.tokens.acceptSymbol("+");
    if (!sign) return this.parsePostfix(this.parsePrimary());
    const number = this.tokens.peek();
    if (sign.value === "-" && (number.kind === "integer" || number.kind === "decimal")) {
      this.tokens.next();
      const literal =
        number.kind === "integer"
          ? this.integerLiteral(number, "-", sign.start)
          : this.decimalLiteral(number, "-", sign.start);
      return this.parsePostfix(literal);
    }
    const operand = this.parseUnary();
    return {
      kind: "unary",
      op: sign.value === "-" ? "-" : "+",
      operand,
      span: { start: sign.start, end: operand.span.end },
    };
  }

  /** PostgreSQL's `x::type`, read as CAST. */
  private parsePostfix(expr: Expr): Expr {
    let result = expr;
    while (this.tokens.acceptSymbol("::")) {
      const type = this.parseTypeName();
      const cast: CastExpr = {
        kind: "cast",
        expr: result,
        type,
        span: { start: result.span.start, end: type.span.end },
      };
      result = cast;
    }
    return result;
  }

  private parsePrimary(): Expr {
    const token = this.tokens.peek();
    switch (token.kind) {
      case "integer":
        return this.integerLiteral(this.tokens.next(), "");
      case "decimal":
        return this.decimalLiteral(this.tokens.next(), "");
      case "string":
        this.tokens.next();
        return { kind: "literal", type: "string", value: token.value, span: spanOf(token) };
      case "namedParam":
      case "positionalParam":
        return this.parseParam();
      case "quoted":
        return this.parseColumnRef();
      case "symbol":
        return this.parseParenthesised(token);
      case "word":
        return this.parseWord(token);
      case "eof":
        throw this.expected("an expression");
    }
  }

  private parseParenthesised(token: Token): Expr {
    if (token.value === "*") {
      throw this.tokenError(token, "Expected an expression", {
        hint: "* is allowed only as a select list item (*, t.*) and in COUNT(*)",
      });
    }
    if (token.value !== "(") throw this.expected("an expression");
    this.tokens.next();
    if (this.tokens.isKeyword("SELECT")) {
      throw this.tokenError(this.tokens.peek(), "Subqueries are not supported yet");
    }
    const inner = this.parseExpression();
    const close = this.expectSymbol(")", "to close the parenthesis");
    return { ...inner, span: { start: token.start, end: close.end } };
  }

  private parseWord(token: Token): Expr {
    const word = token.value.toUpperCase();
    const span = spanOf(token);
    switch (word) {
      case "TRUE":
      case "FALSE":
        this.tokens.next();
        return { kind: "literal", type: "boolean", value: word === "TRUE", span };
      case "NULL":
        this.tokens.next();
        return { kind: "literal", type: "null", value: null, span };
      case "CASE":
        return this.parseCase();
      case "CAST":
        return this.parseCast();
      case "DATE":
      case "TIMESTAMP":
        if (this.tokens.peek(1).kind === "string") return this.parseTypedLiteral();
        break;
    }
    if (this.isReserved(word)) {
      const next = this.tokens.peek(1);
      const usedAsName =
        next.kind === "eof" ||
        (next.kind === "symbol" && [",", ".", ")", "="].includes(next.value)) ||
        (next.kind === "word" && ["FROM", "AS"].includes(next.value.toUpperCase()));
      const hint = usedAsName
        ? `${word} is a reserved word; write [${token.value}] to use it as a name`
        : undefined;
      throw this.tokenError(token, "Expected an expression", { hint });
    }
    if (this.tokens.isSymbol("(", 1)) return this.parseCall();
    return this.parseColumnRef();
  }

  private parseColumnRef(): Expr {
    const parts = [this.parseIdentifier("a column name")];
    while (this.tokens.isSymbol(".")) {
      if (this.tokens.isSymbol("*", 1)) {
        throw this.tokenError(this.tokens.peek(1), "Expected a column name after '.'", {
          hint: "t.* is allowed only as a select list item",
        });
      }
      this.tokens.next();
      parts.push(this.parseIdentifier("a column name after '.'"));
    }
    const [first, second, third, fourth] = parts;
    if (fourth !== undefined) {
      throw this.spanError(fourth.span, "A column reference has at most three parts (schema.table.column)");
    }
    const last = third ?? second ?? first;
    if (first === undefined || last === undefined) throw this.expected("a column name");
    return {
      kind: "column",
      schema: third === undefined ? undefined : first,
      table: third === undefined ? (second === undefined ? undefined : first) : second,
      name: last.name,
      quoted: last.quoted,
      span: { start: first.span.start, end: last.span.end },
    };
  }

  private parseCall(): CallExpr {
    const name = this.tokens.next();
    this.tokens.next(); // (
    let distinct = false;
    let star = false;
    let args: readonly Expr[] = [];
    if (this.tokens.acceptSymbol("*")) {
      star = true;
    } else if (!this.tokens.isSymbol(")")) {
      if (this.tokens.acceptKeyword("DISTINCT")) distinct = true;
      else this.tokens.acceptKeyword("ALL");
      args = this.parseList(() => this.parseExpression());
    }
    const close = this.expectSymbol(")", `to close the call to ${name.value}`);
    if (this.tokens.isSymbol("(", 1)) {
      if (this.tokens.isKeyword("OVER")) {
        throw this.tokenError(this.tokens.peek(), "Window functions (OVER) are not supported yet");
      }
      if (this.tokens.isKeyword("FILTER")) {
        throw this.tokenError(this.tokens.peek(), "FILTER clauses are not supported yet", {
          hint: "Use CASE inside the aggregate",
        });
      }
    }
    return {
      kind: "call",
      name: name.value,
      args,
      distinct,
      star,
      span: { start: name.start, end: close.end },
    };
  }

  private parseCast(): CastExpr {
    const cast = this.tokens.next();
    this.expectSymbol("(", "after CAST");
    const expr = this.parseExpression();
    this.expectKeyword("AS", "and a type in CAST(... AS type)");
    const type = this.parseTypeName();
    const close = this.expectSymbol(")", "to close CAST(...)");
    return { kind: "cast", expr, type, span: { start: cast.start, end: close.end } };
  }

  private parseCase(): CaseExpr {
    const keyword = this.tokens.next();
    if (["END", "ELSE", "THEN"].some((word) => this.tokens.isKeyword(word))) {
      throw this.expected("WHEN after CASE", ["WHEN"]);
    }
    const operand = this.tokens.isKeyword("WHEN") ? undefined : this.parseExpression();
    const whens: WhenClause[] = [];
    for (let when = this.tokens.acceptKeyword("WHEN"); when; when = this.tokens.acceptKeyword("WHEN")) {
      const condition = this.parseExpression();
      this.expectKeyword("THEN", "after the WHEN condition");
      const result = this.parseExpression();
      whens.push({ kind: "when", condition, result, span: { start: when.start, end: result.span.end } });
    }
    if (whens.length === 0) throw this.expected(operand ? "WHEN" : "WHEN after CASE", ["WHEN"]);
    const otherwise = this.tokens.acceptKeyword("ELSE") ? this.parseExpression() : undefined;
    const where = positionAt(this.sql, keyword.start);
    const end = this.expectKeyword(
      "END",
      `to close the CASE that starts at line ${where.line}, column ${where.column}`,
    );
    return { kind: "case", operand, whens, else: otherwise, span: { start: keyword.start, end: end.end } };
  }

  private parseTypedLiteral(): Expr {
    const keyword = this.tokens.next();
    const text = this.tokens.next();
    const type = keyword.value.toUpperCase() === "DATE" ? "date" : "timestamp";
    const valid = type === "date" ? isDate(text.value) : isTimestamp(text.value);
    if (!valid) {
      const shape =
        type === "date" ? "YYYY-MM-DD" : "YYYY-MM-DD HH:MM:SS with an optional fraction and time zone";
      throw this.spanError(text, `Invalid ${type.toUpperCase()} literal '${text.value}': expected ${shape}`);
    }
    return { kind: "literal", type, value: text.value, span: { start: keyword.start, end: text.end } };
  }

  private parseParam(): Param {
    const token = this.tokens.next();
    if (token.kind === "namedParam")
      return { kind: "param", style: "named", name: token.value, span: spanOf(token) };
    return { kind: "param", style: "positional", index: this.positionalParams++, span: spanOf(token) };
  }

  private integerLiteral(token: Token, sign: "" | "-", start = token.start): IntegerLiteral {
    const text = `${sign}${token.value}`;
    const value = BigInt(text);
    const number = Number(value);
    return {
      kind: "literal",
      type: "integer",
      text,
      value,
      number: Number.isSafeInteger(number) ? number : undefined,
      span: { start, end: token.end },
    };
  }

  private decimalLiteral(token: Token, sign: "" | "-", start = token.start): DecimalLiteral {
    const text = `${sign}${token.value}`;
    return { kind: "literal", type: "decimal", text, value: Number(text), span: { start, end: token.end } };
  }

  // ---- Helpers for statement grammars -----------------------------------------------------------------

  /** `item, item, ...` (at least one). */
  parseList<T>(parse: () => T): readonly T[] {
    const items = [parse()];
    while (this.tokens.acceptSymbol(",")) items.push(parse());
    return items;
  }

  /** The bare word `word` (any case), or an error saying it was expected `context` (with a typo suggestion). */
  expectKeyword(word: string, context?: string): Token {
    const token = this.tokens.acceptKeyword(word);
    if (token) return token;
    throw this.expected(context === undefined ? word : `${word} ${context}`, [word]);
  }

  expectSymbol(symbol: SymbolText, context: string): Token {
    const token = this.tokens.acceptSymbol(symbol);
    if (token) return token;
    throw this.expected(`'${symbol}' ${context}`);
  }

  /** Whether a token can be a name: a quoted name or a bare word that is not reserved. */
  isName(token: Token): boolean {
    return token.kind === "quoted" || (token.kind === "word" && !this.isReserved(token.value));
  }

  isReserved(word: string): boolean {
    return this.reserved.has(word.toUpperCase());
  }

  /**
   * "Expected <what> ..., found <current token>". `candidates` are the keywords that would fit here: a
   * close misspelling gets "Did you mean X?". When the word just before was read as an alias without
   * AS and is itself a misspelt candidate (`SELECT a FORM t`), the error points at that word instead.
   */
  expected(what: string, candidates: readonly string[] = [], hint?: string): SqlSyntaxError {
    const alias = this.implicitAlias;
    if (alias !== undefined && alias.index === this.tokens.index - 1) {
      const suggestion = suggestKeyword(alias.token.value, candidates);
      if (suggestion !== undefined) return this.tokenError(alias.token, `Expected ${what}`, { suggestion });
    }
    const token = this.tokens.peek();
    const suggestion = token.kind === "word" ? suggestKeyword(token.value, candidates) : undefined;
    // A likely typo needs no further advice.
    return this.tokenError(token, `Expected ${what}`, suggestion === undefined ? { hint } : { suggestion });
  }

  /** An error at `token` that quotes it as what was found. */
  tokenError(
    token: Token,
    reason: string,
    extras: { suggestion?: string; hint?: string } = {},
  ): SqlSyntaxError {
    return sqlSyntaxError(this.sql, token.start, token.end - token.start, reason, {
      found: this.foundText(token),
      suggestion: extras.suggestion,
      hint: extras.hint,
    });
  }

  /** An error covering `span` (a node or token), without a "found" part. */
  spanError(span: Span, reason: string, extras: { suggestion?: string; hint?: string } = {}): SqlSyntaxError {
    return sqlSyntaxError(this.sql, span.start, span.end - span.start, reason, extras);
  }

  private foundText(token: Token): string {
    const text = this.tokens.text(token).replace(/\s+/g, " ");
    return text.length > FOUND_WIDTH ? `${text.slice(0, FOUND_WIDTH - 3)}...` : text;
  }

  private previousEnd(): number {
    return this.tokens.previous()?.end ?? 0;
  }
}

/** Parses one `[EXPLAIN] SELECT` statement (optional trailing `;`). Throws SqlSyntaxError. */
export function parseStatement(sql: string): Statement {
  return new SqlParser(sql).parseStatement();
}

/** Parses one expression and nothing else. Throws SqlSyntaxError. */
export function parseExpression(sql: string): Expr {
  return new SqlParser(sql).parseStandaloneExpression();
}

/** The keyword `word` is probably a misspelling of (short keywords allow one edit too: `BI` → `BY`). */
function suggestKeyword(word: string, keywords: readonly string[]): string | undefined {
  if (keywords.length === 0 || word.length < 2) return undefined;
  const suggestion = closest(word, keywords, Math.max(1, Math.floor(word.length / 3)));
  return suggestion?.toUpperCase() === word.toUpperCase() ? undefined : suggestion;
}

function binary(op: BinaryOp, left: Expr, right: Expr): Expr {
  return { kind: "binary", op, left, right, span: { start: left.span.start, end: right.span.end } };
}

function spanOf(token: Token): Span {
  return { start: token.start, end: token.end };
}

function isRowCountToken(token: Token): boolean {
  return token.kind === "integer" || token.kind === "namedParam" || token.kind === "positionalParam";
}

/** Keywords that may follow a SELECT whose last clauses were `seen` (for "did you mean"). */
function followingKeywords(seen: readonly Clause[], top: boolean): readonly string[] {
  const last = seen.at(-1);
  const lastIndex = last === undefined ? -1 : CLAUSES.indexOf(last);
  const clauses = CLAUSES.filter((clause, index) => {
    if (seen.includes(clause) || (clause === "LIMIT" && top)) return false;
    return index > lastIndex || clause === "LIMIT" || clause === "OFFSET";
  });
  const words: string[] = [...clauses];
  if (last === "WHERE" || last === "HAVING") words.push(...EXPRESSION_CONTINUATIONS);
  if (last === "ORDER") words.push("ASC", "DESC", "NULLS");
  return words;
}

function isDate(text: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  return match !== null && isDay(Number(match[1]), Number(match[2]), Number(match[3]));
}

function isTimestamp(text: string): boolean {
  const match =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?)?(?:\s*(?:Z|[+-]\d{2}(?::?\d{2})?))?$/i.exec(
      text,
    );
  if (match === null || !isDay(Number(match[1]), Number(match[2]), Number(match[3]))) return false;
  return Number(match[4] ?? 0) <= 23 && Number(match[5] ?? 0) <= 59 && Number(match[6] ?? 0) <= 59;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isDay(year: number, month: number, day: number): boolean {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1];
  return days !== undefined && day >= 1 && day <= days;
}
