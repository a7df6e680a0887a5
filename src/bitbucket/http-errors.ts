/**
 * Bitbucket's error answers as BitbridgeErrors with stable codes and messages that say what to change.
 * Envelope: `{"type":"error","error":{"message","detail","fields","id","data"}}`; some answers (429) are
 * plain text.
 */
import { BitbridgeError } from "../app/errors.js";
import { redactSecrets } from "../app/secrets.js";
import type { AuthScheme } from "./connection-properties.js";

export const BITBUCKET_ERROR_CODES = [
  "BITBUCKET_UNAUTHORIZED",
  "BITBUCKET_FORBIDDEN",
  "BITBUCKET_NOT_FOUND",
  "BITBUCKET_ISSUES_RETIRED",
  "BITBUCKET_GONE",
  "BITBUCKET_BAD_REQUEST",
  "BITBUCKET_HTTP_ERROR",
  "BITBUCKET_RATE_LIMITED",
  "BITBUCKET_SERVER_ERROR",
  "BITBUCKET_NETWORK_ERROR",
  "BITBUCKET_INVALID_RESPONSE",
  "BITBUCKET_FOREIGN_URL",
  "BITBUCKET_PAGING_LOOP",
  "BITBUCKET_TOO_MANY_REDIRECTS",
] as const;

export type BitbucketErrorCode = (typeof BITBUCKET_ERROR_CODES)[number];

export interface ServiceError {
  readonly message?: string;
  readonly detail?: string;
  readonly data?: Record<string, unknown>;
  readonly fields?: Record<string, unknown>;
}

/** The envelope's `error`, or the text itself when the body is not the envelope. */
export function parseServiceError(text: string): ServiceError {
  try {
    const body = JSON.parse(text) as { error?: unknown; error_description?: unknown };
    const error = body?.error;
    if (error && typeof error === "object") {
      const e = error as Record<string, unknown>;
      return {
        ...(typeof e.message === "string" && { message: e.message }),
        ...(typeof e.detail === "string" && { detail: e.detail }),
        ...(isObject(e.data) && { data: e.data }),
        ...(isObject(e.fields) && { fields: e.fields }),
      };
    }
    if (typeof error === "string") {
      return {
        message: typeof body.error_description === "string" ? `${error}: ${body.error_description}` : error,
      };
    }
  } catch {
    // not JSON
  }
  const trimmed = text.trim();
  if (trimmed === "" || trimmed.startsWith("<")) return {};
  return { message: trimmed.slice(0, 300) };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export interface ErrorContext {
  readonly method: string;
  /** Path below the base, e.g. `/repositories/acme/web/pullrequests`. */
  readonly path: string;
  /** Endpoint key, e.g. `/repositories/{w}/{r}/pullrequests`. */
  readonly endpoint: string;
  readonly status: number;
  readonly statusText: string;
  readonly body: string;
  readonly scheme: AuthScheme;
  readonly secrets: readonly string[];
}

function scopeList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/** Scope names from `data.missing`/`data.required`, else from the `detail` text. */
export function missingScopes(error: ServiceError): {
  missing: string[];
  required: string[];
  granted: string[];
} {
  const missing = scopeList(error.data?.missing);
  const required = scopeList(error.data?.required);
  const granted = scopeList(error.data?.granted);
  if (missing.length === 0 && error.detail) {
    const m = /missing (?:privilege )?scopes?:?\s*([\w:, -]+?)(?:\.|$)/i.exec(error.detail);
    if (m?.[1]) missing.push(...m[1].split(/[,\s]+/).filter(Boolean));
  }
  return { missing: missing.length > 0 ? missing : required, required, granted };
}

const UNAUTHORIZED_HINTS: Record<AuthScheme, string> = {
  APIToken:
    "Check that User is your Atlassian account email (not your Bitbucket username) and that APIToken is a " +
    "valid, unexpired Atlassian API token (app passwords stopped working on 2026-07-28).",
  AccessToken: "Check AccessToken: it may be mistyped, revoked or expired; create a new one if needed.",
  OAuth:
    "The OAuth authorization is no longer accepted: authorize the connection again in a browser, and check " +
    "OAuthClientId and OAuthClientSecret.",
  client: "Check OAuthClientId and OAuthClientSecret (the OAuth consumer's Key and Secret).",
};

const SCOPE_HINTS: Record<AuthScheme, string> = {
  APIToken: "Create an API token that includes it (API token scopes cannot be edited).",
  AccessToken: "Create an access token that includes it.",
  OAuth: "Add it to the OAuth consumer's permissions, then authorize the connection again.",
  client: "Add it to the OAuth consumer's permissions.",
};

/** Maps a non-retryable error answer (or a retryable one after the last attempt) to a BitbridgeError. */
export function mapHttpError(ctx: ErrorContext, attempts?: number): BitbridgeError {
  const service = parseServiceError(ctx.body);
  const redact = (s: string) => redactSecrets(s, ctx.secrets);
  const said = redact(
    [service.message, service.detail].filter((s): s is string => typeof s === "string" && s !== "").join(" "),
  );
  const where = `${ctx.method} ${ctx.path}`;
  const details: Record<string, unknown> = {
    status: ctx.status,
    method: ctx.method,
    path: ctx.path,
    endpoint: ctx.endpoint,
    ...(service.message !== undefined && { bitbucketMessage: redact(service.message) }),
    ...(service.detail !== undefined && { bitbucketDetail: redact(service.detail) }),
  };
  const quoted = said === "" ? `HTTP ${ctx.status} ${ctx.statusText}`.trim() : said;
  const status = ctx.status;

  if (status === 401) {
    return new BitbridgeError(
      "BITBUCKET_UNAUTHORIZED",
      `Bitbucket rejected the credentials (AuthScheme=${ctx.scheme}) on ${where}: ${quoted} ${UNAUTHORIZED_HINTS[ctx.scheme]}`,
      { ...details, property: propertyFor(ctx.scheme) },
      401,
    );
  }
  if (status === 403) {
    const scopes = missingScopes(service);
    if (scopes.missing.length > 0) {
      const names = scopes.missing.join(", ");
      return new BitbridgeError(
        "BITBUCKET_FORBIDDEN",
        `The credentials lack the scope${scopes.missing.length === 1 ? "" : "s"} ${names} needed for ${where}. ` +
          SCOPE_HINTS[ctx.scheme],
        {
          ...details,
          missingScopes: scopes.missing,
          requiredScopes: scopes.required,
          grantedScopes: scopes.granted,
        },
        403,
      );
    }
    return new BitbridgeError(
      "BITBUCKET_FORBIDDEN",
      `Bitbucket refused ${where}: ${quoted} The account behind these credentials lacks permission on this ` +
        "resource (workspace membership or repository access).",
      details,
      403,
    );
  }
  if (status === 404) {
    return new BitbridgeError(
      "BITBUCKET_NOT_FOUND",
      `Bitbucket has no ${ctx.path} (${quoted}). Check the workspace and repository names` +
        (ctx.scheme === "AccessToken"
          ? "; an access token sees only the workspace, project or repository it belongs to."
          : "."),
      details,
      404,
    );
  }
  if (status === 410 && /\/issues(\/|$)/.test(ctx.path)) {
    return new BitbridgeError(
      "BITBUCKET_ISSUES_RETIRED",
      "Bitbucket Cloud retired its issue tracker on 2026-08-20: issue data can no longer be read through the " +
        `API (${where} answered 410 Gone). Remove issue tables from the replication, or keep what was copied earlier.`,
      details,
      410,
    );
  }
  if (status === 410) {
    return new BitbridgeError(
      "BITBUCKET_GONE",
      `Bitbucket no longer serves ${where}: ${quoted}`,
      details,
      410,
    );
  }
  if (status === 400) {
    return new BitbridgeError("BITBUCKET_BAD_REQUEST", `Bitbucket refused ${where}: ${quoted}`, details, 400);
  }
  const after = attempts !== undefined ? ` after ${attempts} attempt${attempts === 1 ? "" : "s"}` : "";
  if (status === 429) {
    return new BitbridgeError(
      "BITBUCKET_RATE_LIMITED",
      `${where} was still rate limited${after} (${quoted}). Lower RequestsPerHour or MaxConcurrency, or wait ` +
        "for the hourly window to move on; other programs may be using the same credentials.",
      { ...details, attempts },
      429,
    );
  }
  if (status >= 500) {
    return new BitbridgeError(
      "BITBUCKET_SERVER_ERROR",
      `${where} failed${after}: HTTP ${status} ${ctx.statusText}${said ? ` (${said})` : ""}. Bitbucket may be ` +
        "having trouble; try again later.",
      { ...details, attempts },
      502,
    );
  }
  return new BitbridgeError(
    "BITBUCKET_HTTP_ERROR",
    `${where} answered HTTP ${status}: ${quoted}`,
    details,
    502,
  );
}

function propertyFor(scheme: AuthScheme): string {
  switch (scheme) {
    case "APIToken":
      return "APIToken";
    case "AccessToken":
      return "AccessToken";
    case "OAuth":
    case "client":
      return "OAuthClientSecret";
  }
}
