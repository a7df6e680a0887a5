/**
 * The Bitbucket connection string: `Prop=Value;Prop=Value`, names case-insensitive, values trimmed and
 * optionally quoted with `'` or `"` (a doubled quote inside stands for itself) so they may contain `;`.
 * Parsing validates everything up front, so a bad property fails here with its name and the fix rather than
 * later as an HTTP error.
 */
import { closest } from "../app/closest.js";
import { BitbridgeError } from "../app/errors.js";

export type AuthScheme = "OAuth" | "client" | "APIToken" | "AccessToken";

export const AUTH_SCHEMES: readonly AuthScheme[] = ["OAuth", "client", "APIToken", "AccessToken"];

export interface ConnectionProperties {
  readonly authScheme: AuthScheme;
  readonly oauthClientId?: string;
  readonly oauthClientSecret?: string;
  /** Where Bitbucket sends the browser back in the authorization-code flow. */
  readonly callbackUrl: string;
  readonly workspace?: string;
  /** `Information` (workspace-level tables) or a repository slug. */
  readonly schema?: string;
  /** Atlassian account email (APIToken). */
  readonly user?: string;
  readonly apiToken?: string;
  readonly accessToken?: string;
  /** REST base, without a trailing slash. */
  readonly url: string;
  /** OAuth host (`/site/oauth2/...`), without a trailing slash. */
  readonly authUrl: string;
  readonly requestsPerHour: number;
  readonly maxConcurrency: number;
  /** Per-request timeout in seconds; 0 = none. */
  readonly timeoutSeconds: number;
}

export const DEFAULTS = {
  callbackUrl: "http://localhost:33333",
  url: "https://api.bitbucket.org/2.0",
  authUrl: "https://bitbucket.org",
  requestsPerHour: 1000,
  maxConcurrency: 4,
  timeoutSeconds: 60,
} as const;

type Key = keyof ConnectionProperties;

interface PropertySpec {
  readonly name: string;
  readonly key: Key;
  readonly secret?: boolean;
  readonly description: string;
  /** Needed whatever the AuthScheme (the others depend on it). */
  readonly required?: boolean;
  /** What an absent value means, for forms. */
  readonly default?: string;
  readonly choices?: readonly string[];
}

/** Every property, in display order. */
export const CONNECTION_PROPERTIES: readonly PropertySpec[] = [
  {
    name: "AuthScheme",
    key: "authScheme",
    required: true,
    choices: AUTH_SCHEMES,
    description: "OAuth, client, APIToken or AccessToken",
  },
  { name: "OAuthClientId", key: "oauthClientId", description: "OAuth consumer key (OAuth, client)" },
  {
    name: "OAuthClientSecret",
    key: "oauthClientSecret",
    secret: true,
    description: "OAuth consumer secret (OAuth, client)",
  },
  {
    name: "CallbackURL",
    key: "callbackUrl",
    default: DEFAULTS.callbackUrl,
    description: "OAuth consumer callback URL (OAuth)",
  },
  { name: "Workspace", key: "workspace", description: "workspace slug or {uuid}" },
  { name: "Schema", key: "schema", description: "Information, or a repository slug" },
  { name: "User", key: "user", description: "Atlassian account email (APIToken)" },
  { name: "APIToken", key: "apiToken", secret: true, description: "Atlassian API token (APIToken)" },
  {
    name: "AccessToken",
    key: "accessToken",
    secret: true,
    description: "workspace, project or repository access token (AccessToken)",
  },
  { name: "Url", key: "url", default: DEFAULTS.url, description: "REST API base URL" },
  { name: "AuthUrl", key: "authUrl", default: DEFAULTS.authUrl, description: "OAuth server URL" },
  {
    name: "RequestsPerHour",
    key: "requestsPerHour",
    default: String(DEFAULTS.requestsPerHour),
    description: "request budget per credential",
  },
  {
    name: "MaxConcurrency",
    key: "maxConcurrency",
    default: String(DEFAULTS.maxConcurrency),
    description: "parallel requests",
  },
  {
    name: "Timeout",
    key: "timeoutSeconds",
    default: String(DEFAULTS.timeoutSeconds),
    description: "seconds per request, 0 = none",
  },
];

const BY_LOWER = new Map(CONNECTION_PROPERTIES.map((p) => [p.name.toLowerCase(), p]));

/** Properties each scheme needs, and the ones it cannot use. */
const SCHEME_PROPS: Record<AuthScheme, { needs: readonly Key[]; uses: readonly Key[] }> = {
  OAuth: { needs: ["oauthClientId", "oauthClientSecret"], uses: ["callbackUrl"] },
  client: { needs: ["oauthClientId", "oauthClientSecret"], uses: [] },
  APIToken: { needs: ["user", "apiToken"], uses: [] },
  AccessToken: { needs: ["accessToken", "workspace"], uses: [] },
};
/** Checked for use with the wrong scheme (CallbackURL is harmless elsewhere, and forms often send it). */
const CREDENTIAL_KEYS: readonly Key[] = [
  "oauthClientId",
  "oauthClientSecret",
  "user",
  "apiToken",
  "accessToken",
];

const APP_PASSWORDS_REMOVED =
  "Bitbucket removed app passwords on 2026-07-28. Create an Atlassian API token " +
  "(id.atlassian.com > Security > API tokens, with the read:*:bitbucket scopes) and use " +
  "AuthScheme=APIToken;User=<your Atlassian account email>;APIToken=<token>, or use AuthScheme=OAuth, " +
  "AuthScheme=client or AuthScheme=AccessToken.";

function fail(code: string, message: string, details: Record<string, unknown> = {}): never {
  throw new BitbridgeError(code, message, details, 400);
}

// ---------------------------------------------------------------------------------------------------------
// Tokenizer
// ---------------------------------------------------------------------------------------------------------

/** The raw `name → value` pairs in order; names as written. Syntax errors only, no validation. */
export function splitConnectionString(text: string): { name: string; value: string }[] {
  const out: { name: string; value: string }[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    // Skip separators and blanks between properties (`;;` and a trailing `;` are fine).
    while (i < n && (text[i] === ";" || /\s/.test(text[i] as string))) i++;
    if (i >= n) break;
    const eq = text.indexOf("=", i);
    const semi = text.indexOf(";", i);
    if (eq < 0 || (semi >= 0 && semi < eq)) {
      const bare = text.slice(i, semi < 0 ? n : semi).trim();
      fail(
        "CONNECTION_STRING_SYNTAX",
        `"${bare}" in the connection string has no value; write it as ${bare}=<value> (properties are ` +
          "separated by ';').",
        { property: bare },
      );
    }
    const name = text.slice(i, eq).trim();
    if (name === "") fail("CONNECTION_STRING_SYNTAX", `A value at position ${eq + 1} has no property name.`);
    i = eq + 1;
    while (i < n && (text[i] === " " || text[i] === "\t")) i++;
    const quote = text[i];
    let value: string;
    if (quote === '"' || quote === "'") {
      let j = i + 1;
      let buf = "";
      for (;;) {
        if (j >= n) {
          fail(
            "CONNECTION_STRING_SYNTAX",
            `The value of ${name} opens a ${quote} quote that is never closed; close it, and double a ` +
              `${quote} that is part of the value.`,
            { property: name },
          );
        }
        const c = text[j] as string;
        if (c === quote) {
          if (text[j + 1] === quote) {
            buf += quote;
            j += 2;
            continue;
          }
          j++;
          break;
        }
        buf += c;
        j++;
      }
      while (j < n && /\s/.test(text[j] as string)) j++;
      if (j < n && text[j] !== ";") {
        fail(
          "CONNECTION_STRING_SYNTAX",
          `Unexpected text after the quoted value of ${name}; put ';' between properties.`,
          { property: name },
        );
      }
      value = buf;
      i = j;
    } else {
      const end = text.indexOf(";", i);
      value = text.slice(i, end < 0 ? n : end).trim();
      i = end < 0 ? n : end;
    }
    out.push({ name, value });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Parsing and validation
// ---------------------------------------------------------------------------------------------------------

/** Parses and validates a connection string. Throws BitbridgeError naming the property to fix. */
export function parseConnectionString(text: string): ConnectionProperties {
  const raw = new Map<Key, string>();
  for (const { name, value } of splitConnectionString(text)) {
    const lower = name.toLowerCase();
    if (lower === "password" || lower === "apppassword" || lower === "app password") {
      fail("CONNECTION_APP_PASSWORDS_REMOVED", `${name} is not supported. ${APP_PASSWORDS_REMOVED}`, {
        property: name,
      });
    }
    const spec = BY_LOWER.get(lower);
    if (spec === undefined) {
      const suggestion = closest(
        name,
        CONNECTION_PROPERTIES.map((p) => p.name),
      );
      fail(
        "CONNECTION_PROPERTY_UNKNOWN",
        `Unknown connection property "${name}".` +
          (suggestion
            ? ` Did you mean ${suggestion}?`
            : ` Valid properties: ${CONNECTION_PROPERTIES.map((p) => p.name).join(", ")}.`),
        { property: name, ...(suggestion && { suggestion }) },
      );
    }
    if (raw.has(spec.key)) {
      fail(
        "CONNECTION_PROPERTY_DUPLICATE",
        `${spec.name} is given twice in the connection string; keep one.`,
        { property: spec.name },
      );
    }
    raw.set(spec.key, value);
  }
  return validateConnectionProperties(raw);
}

/** Validates properties given as `{ PropertyName: value }` (names case-insensitive), e.g. from a form. */
export function connectionPropertiesFrom(
  values: Readonly<Record<string, string | undefined>>,
): ConnectionProperties {
  const text = Object.entries(values)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `${name}=${quote(value)}`)
    .join(";");
  return parseConnectionString(text);
}

function validateConnectionProperties(raw: Map<Key, string>): ConnectionProperties {
  const get = (key: Key): string | undefined => {
    const v = raw.get(key);
    return v === undefined || v === "" ? undefined : v;
  };

  const schemeText = get("authScheme");
  if (schemeText === undefined) {
    fail(
      "CONNECTION_PROPERTY_MISSING",
      "AuthScheme is missing. Set AuthScheme=APIToken (Atlassian API token), AccessToken (workspace, project " +
        "or repository access token), OAuth (authorization code, in a browser) or client (OAuth client " +
        "credentials).",
      { property: "AuthScheme" },
    );
  }
  const authScheme = parseScheme(schemeText);
  const { needs, uses } = SCHEME_PROPS[authScheme];

  const missing = needs.filter((key) => get(key) === undefined);
  if (missing.length > 0) {
    fail("CONNECTION_PROPERTY_MISSING", missingMessage(authScheme, missing), {
      property: nameOf(missing[0] as Key),
      missing: missing.map(nameOf),
    });
  }
  for (const key of CREDENTIAL_KEYS) {
    if (get(key) !== undefined && !needs.includes(key) && !uses.includes(key)) {
      fail(
        "CONNECTION_PROPERTY_CONFLICT",
        `${nameOf(key)} is not used with AuthScheme=${authScheme}; remove it, or change AuthScheme to the ` +
          `scheme it belongs to (${schemesUsing(key).join(" or ")}).`,
        { property: nameOf(key), authScheme },
      );
    }
  }

  const user = get("user");
  if (authScheme === "APIToken" && user !== undefined && !/^[^@\s]+@[^@\s]+$/.test(user)) {
    fail(
      "CONNECTION_APP_PASSWORDS_REMOVED",
      `User must be your Atlassian account email address, not a Bitbucket username ("${user}"). ` +
        APP_PASSWORDS_REMOVED,
      { property: "User" },
    );
  }

  const workspace = get("workspace");
  if (workspace !== undefined && !/^(\{[0-9a-fA-F-]{36}\}|[A-Za-z0-9_.-]+)$/.test(workspace)) {
    fail(
      "CONNECTION_PROPERTY_INVALID",
      `Workspace "${workspace}" is not a workspace slug or {uuid}; use the ID from the workspace URL ` +
        "(bitbucket.org/<workspace>).",
      { property: "Workspace" },
    );
  }
  let schema = get("schema");
  if (schema !== undefined) {
    if (schema.toLowerCase() === "information") schema = "Information";
    else if (!/^(\{[0-9a-fA-F-]{36}\}|[A-Za-z0-9_.-]+)$/.test(schema)) {
      fail(
        "CONNECTION_PROPERTY_INVALID",
        `Schema "${schema}" must be Information or a repository slug (bitbucket.org/<workspace>/<slug>).`,
        { property: "Schema" },
      );
    }
    if (schema !== "Information" && workspace === undefined) {
      fail("CONNECTION_PROPERTY_MISSING", `Schema=${schema} names a repository; set Workspace too.`, {
        property: "Workspace",
      });
    }
  }

  const props: ConnectionProperties = {
    authScheme,
    callbackUrl: httpUrl("CallbackURL", get("callbackUrl") ?? DEFAULTS.callbackUrl, false),
    url: httpUrl("Url", get("url") ?? DEFAULTS.url, true),
    authUrl: httpUrl("AuthUrl", get("authUrl") ?? DEFAULTS.authUrl, true),
    requestsPerHour: integer(
      "RequestsPerHour",
      get("requestsPerHour"),
      DEFAULTS.requestsPerHour,
      1,
      1_000_000,
    ),
    maxConcurrency: integer("MaxConcurrency", get("maxConcurrency"), DEFAULTS.maxConcurrency, 1, 64),
    timeoutSeconds: seconds(get("timeoutSeconds")),
    ...(get("oauthClientId") !== undefined && { oauthClientId: get("oauthClientId") }),
    ...(get("oauthClientSecret") !== undefined && { oauthClientSecret: get("oauthClientSecret") }),
    ...(workspace !== undefined && { workspace }),
    ...(schema !== undefined && { schema }),
    ...(user !== undefined && { user }),
    ...(get("apiToken") !== undefined && { apiToken: get("apiToken") }),
    ...(get("accessToken") !== undefined && { accessToken: get("accessToken") }),
  };
  return props;
}

function parseScheme(text: string): AuthScheme {
  const lower = text.toLowerCase().replace(/[\s_-]/g, "");
  switch (lower) {
    case "oauth":
    case "oauthcode":
    case "authorizationcode":
      return "OAuth";
    case "client":
    case "clientcredentials":
    case "oauthclient":
      return "client";
    case "apitoken":
      return "APIToken";
    case "accesstoken":
      return "AccessToken";
    case "basic":
    case "apppassword":
    case "password":
      fail(
        "CONNECTION_APP_PASSWORDS_REMOVED",
        `AuthScheme=${text} is not supported. ${APP_PASSWORDS_REMOVED}`,
        {
          property: "AuthScheme",
        },
      );
  }
  const suggestion = closest(text, AUTH_SCHEMES);
  fail(
    "CONNECTION_PROPERTY_INVALID",
    `AuthScheme=${text} is not a known scheme${suggestion ? ` (did you mean ${suggestion}?)` : ""}. Use ` +
      "APIToken, AccessToken, OAuth or client.",
    { property: "AuthScheme", ...(suggestion && { suggestion }) },
  );
}

function missingMessage(scheme: AuthScheme, missing: readonly Key[]): string {
  switch (scheme) {
    case "APIToken":
      return "AuthScheme=APIToken needs User (your Atlassian account email) and APIToken (an Atlassian API token).";
    case "AccessToken":
      return missing.includes("accessToken")
        ? "AuthScheme=AccessToken needs AccessToken (a workspace, project or repository access token) and " +
            "Workspace (the workspace it belongs to)."
        : "AuthScheme=AccessToken needs Workspace: access tokens belong to one workspace; set Workspace to its slug.";
    case "OAuth":
    case "client":
      return (
        `AuthScheme=${scheme} needs OAuthClientId and OAuthClientSecret (the key and secret of an OAuth ` +
        "consumer, from Workspace settings > OAuth consumers)."
      );
  }
}

function schemesUsing(key: Key): string[] {
  return AUTH_SCHEMES.filter(
    (s) => SCHEME_PROPS[s].needs.includes(key) || SCHEME_PROPS[s].uses.includes(key),
  ).map((s) => `AuthScheme=${s}`);
}

function nameOf(key: Key): string {
  return CONNECTION_PROPERTIES.find((p) => p.key === key)?.name ?? key;
}

function httpUrl(name: string, value: string, stripSlash: boolean): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    fail("CONNECTION_PROPERTY_INVALID", `${name}="${value}" is not a URL; write it as https://host/path.`, {
      property: name,
    });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    fail("CONNECTION_PROPERTY_INVALID", `${name} must be an http:// or https:// URL (got ${url.protocol}).`, {
      property: name,
    });
  }
  if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "") {
    fail(
      "CONNECTION_PROPERTY_INVALID",
      `${name} must be a plain URL without credentials, query or fragment; put credentials in their own properties.`,
      { property: name },
    );
  }
  return stripSlash ? value.replace(/\/+$/, "") : value;
}

function integer(
  name: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
    fail("CONNECTION_PROPERTY_INVALID", `${name}=${value} must be a whole number from ${min} to ${max}.`, {
      property: name,
    });
  }
  return n;
}

function seconds(value: string | undefined): number {
  if (value === undefined) return DEFAULTS.timeoutSeconds;
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(n) || n > 3600) {
    fail(
      "CONNECTION_PROPERTY_INVALID",
      `Timeout=${value} must be a number of seconds from 0 (no timeout) to 3600.`,
      { property: "Timeout" },
    );
  }
  return n;
}

// ---------------------------------------------------------------------------------------------------------
// Suggestions
// ---------------------------------------------------------------------------------------------------------

/** The candidate nearest to `input` (case-insensitive edit distance), when it is plausibly a typo. */

// ---------------------------------------------------------------------------------------------------------
// Display
// ---------------------------------------------------------------------------------------------------------

const MASK = "********";

/** A copy with every secret replaced by `********`; safe to log or show. */
export function redact(props: ConnectionProperties): ConnectionProperties {
  const out: Record<string, unknown> = { ...props };
  for (const spec of CONNECTION_PROPERTIES)
    if (spec.secret && out[spec.key] !== undefined) out[spec.key] = MASK;
  return out as unknown as ConnectionProperties;
}

/** The secret values of a connection, for `redactSecrets`. */
export function secretValues(props: ConnectionProperties): string[] {
  return CONNECTION_PROPERTIES.flatMap((spec) => {
    const v = props[spec.key];
    return spec.secret && typeof v === "string" ? [v] : [];
  });
}

/**
 * A connection string for display: secrets masked, defaults left out, values quoted when needed. Never
 * contains a secret, so it cannot be parsed back into a working connection.
 */
export function toDisplayString(props: ConnectionProperties): string {
  const shown = redact(props);
  const parts: string[] = [];
  for (const spec of CONNECTION_PROPERTIES) {
    const value = shown[spec.key];
    if (value === undefined) continue;
    const isDefault = (DEFAULTS as Record<string, unknown>)[spec.key] === value;
    if (isDefault && spec.key !== "url") continue;
    parts.push(`${spec.name}=${quote(String(value))}`);
  }
  return parts.join(";");
}

function quote(value: string): string {
  if (!/[;"']|^\s|\s$/.test(value)) return value;
  return `"${value.replace(/"/g, '""')}"`;
}
