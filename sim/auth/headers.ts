import type { SimRequest } from "../http/types.js";

/** `Authorization` split into its scheme (lower-cased) and credentials; undefined when absent or blank. */
export interface AuthorizationHeader {
  readonly scheme: string;
  readonly credentials: string;
}

export function readAuthorization(req: SimRequest): AuthorizationHeader | undefined {
  const raw = req.headers.authorization;
  if (raw === undefined || raw.trim() === "") return undefined;
  const match = /^\s*(\S+)(?:\s+(.*?))?\s*$/.exec(raw);
  return { scheme: (match?.[1] ?? "").toLowerCase(), credentials: match?.[2] ?? "" };
}

/**
 * Decodes HTTP Basic credentials (`base64(user:password)`). Returns undefined for anything that is not valid
 * base64 or has no colon. Missing `=` padding is tolerated, as most servers do.
 */
export function decodeBasic(credentials: string): { user: string; password: string } | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(credentials)) return undefined;
  const text = Buffer.from(credentials, "base64").toString("utf8");
  const colon = text.indexOf(":");
  if (colon < 0) return undefined;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** The `Authorization` value for HTTP Basic. */
export function basicAuthorization(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, "utf8").toString("base64")}`;
}

/**
 * The request body as form fields. Parsed when the content type is `application/x-www-form-urlencoded` or
 * absent; any other content type (JSON in particular) yields no fields, like Bitbucket, which then reports the
 * grant type as missing.
 */
export function readForm(req: SimRequest): URLSearchParams {
  const contentType = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (contentType !== "" && contentType !== "application/x-www-form-urlencoded") return new URLSearchParams();
  return new URLSearchParams(req.body);
}

/** Escapes text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}
