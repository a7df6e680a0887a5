import { type SymbolText, type Token, tokenize } from "./lexer.js";

/** A cursor over the tokens of one statement, with keyword and symbol look-ahead. Never moves past `eof`. */
export class TokenStream {
  private readonly tokens: readonly Token[];
  private position = 0;

  constructor(readonly sql: string) {
    this.tokens = tokenize(sql);
  }

  /** How many tokens have been consumed. */
  get index(): number {
    return this.position;
  }

  /** The token `ahead` places after the current one (`eof` past the end). */
  peek(ahead = 0): Token {
    const last = this.tokens.length - 1;
    return this.tokens[Math.min(this.position + ahead, last)] ?? this.eof();
  }

  /** The current token; moves on unless it is `eof`. */
  next(): Token {
    const token = this.peek();
    if (token.kind !== "eof") this.position++;
    return token;
  }

  /** The last consumed token. */
  previous(): Token | undefined {
    return this.position === 0 ? undefined : this.tokens[this.position - 1];
  }

  atEnd(): boolean {
    return this.peek().kind === "eof";
  }

  /** Whether the token `ahead` is the bare word `word` (any case; quoted names never are). */
  isKeyword(word: string, ahead = 0): boolean {
    const token = this.peek(ahead);
    return token.kind === "word" && token.value.toUpperCase() === word;
  }

  acceptKeyword(word: string): Token | undefined {
    return this.isKeyword(word) ? this.next() : undefined;
  }

  isSymbol(symbol: SymbolText, ahead = 0): boolean {
    const token = this.peek(ahead);
    return token.kind === "symbol" && token.value === symbol;
  }

  acceptSymbol(symbol: SymbolText): Token | undefined {
    return this.isSymbol(symbol) ? this.next() : undefined;
  }

  /** The token as written in the statement. */
  text(token: Token): string {
    return this.sql.slice(token.start, token.end);
  }

  private eof(): Token {
    return { kind: "eof", value: "", start: this.sql.length, end: this.sql.length };
  }
}
