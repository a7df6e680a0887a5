import { createHash, randomBytes } from "node:crypto";

/** 256 random bits, URL- and header-safe. */
export function newSecret(): string {
  return randomBytes(32).toString("base64url");
}

/** What is stored in place of a session id, token or OAuth state. */
export function digest(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}
