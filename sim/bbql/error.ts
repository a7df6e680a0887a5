/**
 * A malformed or unsupported BBQL query or sort expression. The simulator answers these with 400.
 * `position` is the 0-based character offset in the query text where the problem was detected.
 */
export class BbqlError extends Error {
  override readonly name = "BbqlError";

  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
  }
}

/** How a token or character shows up in error messages: quoted source text, or "end of input". */
export function describeFound(text: string | undefined): string {
  return text === undefined || text === "" ? "end of input" : `'${text}'`;
}

export function expecting(what: string, position: number, found: string | undefined, hint = ""): BbqlError {
  return new BbqlError(
    `Expecting ${what} at position ${position} but found ${describeFound(found)}${hint}`,
    position,
  );
}
