import { badRequest } from "../errors.js";

/**
 * Caps that keep a hostile query from costing more than a normal one. Salesforce turns SOQL `IN (...)` into
 * OR-ed `eq` terms (four nodes each), so the node cap leaves room for a few hundred keys.
 */
export const MAX_OPTION_LENGTH = 16 * 1024;
export const MAX_NODES = 1000;
export const MAX_DEPTH = 50;
export const MAX_TOP = 1_000_000;

export function checkLength(target: string, text: string): void {
  if (text.length > MAX_OPTION_LENGTH) {
    throw badRequest(
      "QueryTooLarge",
      `${target}: the value is ${text.length} characters long; the limit is ${MAX_OPTION_LENGTH}`,
      target,
    );
  }
}

/** Counts nodes and nesting for one option value and fails with 400 before recursion could get deep. */
export class Budget {
  private nodes = 0;
  private depth = 0;

  constructor(private readonly target: string) {}

  node(): void {
    if (++this.nodes > MAX_NODES) {
      throw badRequest(
        "QueryTooComplex",
        `${this.target}: the expression has more than ${MAX_NODES} nodes`,
        this.target,
      );
    }
  }

  nest<T>(position: number, parse: () => T): T {
    if (++this.depth > MAX_DEPTH) {
      throw badRequest(
        "QueryTooComplex",
        `${this.target}: the expression is nested more than ${MAX_DEPTH} levels deep at position ${position + 1}`,
        this.target,
      );
    }
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }
}
