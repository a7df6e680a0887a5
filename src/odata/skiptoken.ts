import { createHmac, timingSafeEqual } from "node:crypto";
import { badRequest } from "./errors.js";

/**
 * `$skiptoken`: where the next page starts (the order and key values of the last row sent) and how many
 * rows were sent so far (so `$top` still holds across pages). Signed with an HMAC, so a client can only
 * hand back tokens the service made, for the same query: a forged or edited token is a 400, never SQL.
 */
export interface PageToken {
  /** Values of the ORDER BY terms (key last) of the last row sent, as text. */
  readonly after: readonly (string | null)[];
  /** Rows sent on earlier pages. */
  readonly sent: number;
}

export class SkipTokens {
  constructor(private readonly key: Buffer) {}

  /** `query` binds the token to the request's own filter, order and selection. */
  sign(token: PageToken, query: string): string {
    const body = Buffer.from(JSON.stringify([token.after, token.sent])).toString("base64url");
    return `${body}.${this.mac(body, query)}`;
  }

  verify(text: string, query: string): PageToken {
    const [body, mac] = text.split(".");
    const invalid = () =>
      badRequest(
        "InvalidSkipToken",
        "$skiptoken is not one this service issued for this query",
        "$skiptoken",
      );
    if (!body || !mac || text.length > 8192) throw invalid();
    const expected = Buffer.from(this.mac(body, query));
    const actual = Buffer.from(mac);
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) throw invalid();
    const [after, sent] = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as [
      (string | null)[],
      number,
    ];
    return { after, sent };
  }

  private mac(body: string, query: string): string {
    return createHmac("sha256", this.key).update(query).update("\n").update(body).digest("base64url");
  }
}
