/**
 * Credentials per AuthScheme, as `Authorization` header values:
 *
 * - APIToken: `Basic base64(email:token)`.
 * - AccessToken: `Bearer <token>`.
 * - client: OAuth client credentials, exchanged at the token endpoint, refreshed before expiry.
 * - OAuth: the authorization-code flow once in a browser (`authorizeInteractive`), then refresh tokens,
 *   which Bitbucket rotates: every new one goes to the TokenStore straight away.
 *
 * No secret ever reaches a message: errors go through `redactSecrets`.
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { BitbridgeError } from "../app/errors.js";
import { redactSecrets } from "../app/secrets.js";
import type { AuthScheme, ConnectionProperties } from "./connection-properties.js";
import {
  backoffDelay,
  type Clock,
  DEFAULT_MAX_ATTEMPTS,
  describeNetworkError,
  type Log,
  parseRetryAfter,
  RETRYABLE_STATUSES,
  realSleep,
  type Sleep,
} from "./retry.js";
import type { StoredTokens, TokenStore } from "./token-store.js";

export interface CredentialProvider {
  readonly scheme: AuthScheme;
  /**
   * Who the request budget belongs to, as Bitbucket counts it: the user (API tokens), the token (access
   * tokens) or the consumer (OAuth). Never contains a secret.
   */
  readonly budgetKey: string;
  /** The `Authorization` header value for the next request. */
  authorization(): Promise<string>;
  /**
   * Bitbucket answered 401 to a request sent with `used`. Resolves true when fresh credentials are worth one
   * more try (an expired OAuth access token); false when retrying cannot help.
   */
  onUnauthorized(used: string, message: string): Promise<boolean>;
  /** Every secret this provider knows (for redaction). */
  secrets(): string[];
}

export interface AuthOptions {
  readonly tokenStore?: TokenStore;
  readonly now?: Clock;
  readonly sleep?: Sleep;
  readonly log?: Log;
  readonly random?: () => number;
  readonly maxAttempts?: number;
  /** Refresh this long before expiry (capped at half the token's lifetime). Default 5 minutes. */
  readonly refreshMarginMs?: number;
}

function hashed(value: string): string {
  return createHash("sha256").update(value).digest("hex").slice(0, 16);
}

// ---------------------------------------------------------------------------------------------------------
// Static credentials
// ---------------------------------------------------------------------------------------------------------

export class ApiTokenCredentials implements CredentialProvider {
  readonly scheme = "APIToken" as const;
  readonly budgetKey: string;
  private readonly header: string;

  constructor(
    email: string,
    private readonly token: string,
  ) {
    this.header = `Basic ${Buffer.from(`${email}:${token}`, "utf8").toString("base64")}`;
    this.budgetKey = `api_token:${email.toLowerCase()}`;
  }

  async authorization(): Promise<string> {
    return this.header;
  }

  async onUnauthorized(): Promise<boolean> {
    return false;
  }

  secrets(): string[] {
    return [this.token, this.header, this.header.slice("Basic ".length)];
  }
}

export class AccessTokenCredentials implements CredentialProvider {
  readonly scheme = "AccessToken" as const;
  readonly budgetKey: string;

  constructor(private readonly token: string) {
    this.budgetKey = `access_token:${hashed(token)}`;
  }

  async authorization(): Promise<string> {
    return `Bearer ${this.token}`;
  }

  async onUnauthorized(): Promise<boolean> {
    return false;
  }

  secrets(): string[] {
    return [this.token];
  }
}

// ---------------------------------------------------------------------------------------------------------
// OAuth token endpoint
// ---------------------------------------------------------------------------------------------------------

/** What the token endpoint answers, narrowed to what bitbridge uses. */
export interface OAuthTokens {
  readonly accessToken: string;
  readonly refreshToken?: string;
  /** Epoch milliseconds on the caller's clock. */
  readonly expiresAt: number;
  readonly scopes?: string;
}

interface TokenCallOptions {
  readonly now: Clock;
  readonly sleep: Sleep;
  readonly random: () => number;
  readonly maxAttempts: number;
  readonly log?: Log;
}

export function tokenEndpoint(props: ConnectionProperties): string {
  return `${props.authUrl}/site/oauth2/access_token`;
}

export function authorizeEndpoint(props: ConnectionProperties): string {
  return `${props.authUrl}/site/oauth2/authorize`;
}

function clientSecrets(props: ConnectionProperties): { id: string; secret: string } {
  const id = props.oauthClientId;
  const secret = props.oauthClientSecret;
  if (!id || !secret) {
    throw new BitbridgeError(
      "CONNECTION_PROPERTY_MISSING",
      `AuthScheme=${props.authScheme} needs OAuthClientId and OAuthClientSecret.`,
      { property: id ? "OAuthClientSecret" : "OAuthClientId" },
    );
  }
  return { id, secret };
}

/**
 * POSTs a grant to the token endpoint (Basic client authentication, form body), retrying transient failures.
 * `purpose` says which grant failed, for the messages.
 */
export async function requestTokens(
  props: ConnectionProperties,
  form: Record<string, string>,
  options: Partial<TokenCallOptions> = {},
): Promise<OAuthTokens> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const { id, secret } = clientSecrets(props);
  const basic = `Basic ${Buffer.from(`${id}:${secret}`, "utf8").toString("base64")}`;
  const secrets = [secret, basic, basic.slice(6), form.code, form.refresh_token];
  const url = tokenEndpoint(props);
  const grant = form.grant_type ?? "";
  const timeoutMs = props.timeoutSeconds > 0 ? props.timeoutSeconds * 1000 : undefined;

  let lastCause = "";
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    let status: number;
    let text: string;
    let retryAfter: string | null = null;
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: {
          authorization: basic,
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json",
          "user-agent": "bitbridge",
        },
        body: new URLSearchParams(form).toString(),
        ...(timeoutMs !== undefined && { signal: AbortSignal.timeout(timeoutMs) }),
      });
      status = response.status;
      retryAfter = response.headers.get("retry-after");
      text = await response.text();
    } catch (error) {
      lastCause = describeNetworkError(error);
      if (attempt < maxAttempts) {
        options.log?.(`token endpoint: ${lastCause}; retrying`);
        await sleep(backoffDelay(attempt, random));
        continue;
      }
      break;
    }
    if (RETRYABLE_STATUSES.has(status)) {
      lastCause = `HTTP ${status}`;
      if (attempt < maxAttempts) {
        options.log?.(`token endpoint: ${lastCause}; retrying`);
        await sleep(parseRetryAfter(retryAfter, now()) ?? backoffDelay(attempt, random));
        continue;
      }
      break;
    }
    let body: Record<string, unknown> | undefined;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = undefined;
    }
    if (status === 200 && body && typeof body.access_token === "string") {
      const expiresIn = typeof body.expires_in === "number" ? body.expires_in : 3600;
      return {
        accessToken: body.access_token,
        ...(typeof body.refresh_token === "string" && { refreshToken: body.refresh_token }),
        expiresAt: now() + expiresIn * 1000,
        ...(typeof body.scopes === "string" && { scopes: body.scopes }),
      };
    }
    const error = typeof body?.error === "string" ? body.error : undefined;
    const description = redactSecrets(
      typeof body?.error_description === "string" ? body.error_description : text.slice(0, 200),
      secrets,
    );
    const details = { status, grant, error, description, endpoint: url };
    if (status === 401 || error === "invalid_client" || error === "unauthorized_client") {
      throw new BitbridgeError(
        "BITBUCKET_OAUTH_CLIENT_INVALID",
        `Bitbucket refused the OAuth consumer (${description}). Check OAuthClientId and OAuthClientSecret: ` +
          "they are the consumer's Key and Secret (Workspace settings > OAuth consumers).",
        details,
        401,
      );
    }
    if (grant === "refresh_token") {
      throw new BitbridgeError(
        "BITBUCKET_OAUTH_REAUTHORIZE",
        `Bitbucket no longer accepts the saved refresh token (${description}). Refresh tokens stop working ` +
          "when revoked, when replaced by a newer one, or after 3 months unused; authorize the connection again.",
        details,
        401,
      );
    }
    if (grant === "authorization_code") {
      throw new BitbridgeError(
        "BITBUCKET_OAUTH_GRANT_INVALID",
        `Bitbucket refused the authorization code (${description}). Codes are single-use and expire after ` +
          "10 minutes; start the authorization again.",
        details,
        400,
      );
    }
    throw new BitbridgeError(
      "BITBUCKET_OAUTH_TOKEN_ERROR",
      `The token endpoint refused grant_type=${grant}: HTTP ${status}, ${error ?? "error"}: ${description}` +
        (grant === "client_credentials"
          ? ". AuthScheme=client needs a private consumer (tick 'This is a private consumer')."
          : "."),
      details,
      502,
    );
  }
  throw new BitbridgeError(
    "BITBUCKET_OAUTH_TOKEN_ERROR",
    `POST ${url} (grant_type=${grant}) failed after ${maxAttempts} attempts: ${lastCause}. Check AuthUrl.`,
    { endpoint: url, grant, cause: lastCause, attempts: maxAttempts },
    502,
  );
}

// ---------------------------------------------------------------------------------------------------------
// OAuth credentials (authorization code and client credentials)
// ---------------------------------------------------------------------------------------------------------

const DEFAULT_REFRESH_MARGIN_MS = 5 * 60_000;

interface CurrentTokens {
  readonly accessToken: string;
  readonly refreshToken?: string;
  readonly expiresAt: number;
  /** When it was issued, to cap the refresh margin at half the lifetime. */
  readonly issuedAt: number;
}

export class OAuthCredentials implements CredentialProvider {
  readonly scheme: "OAuth" | "client";
  readonly budgetKey: string;
  private tokens: CurrentTokens | undefined;
  private renewing: Promise<CurrentTokens> | undefined;
  private loaded = false;
  private readonly now: Clock;
  private readonly call: TokenCallOptions;
  private readonly margin: number;
  private readonly known = new Set<string>();

  constructor(
    private readonly props: ConnectionProperties,
    private readonly options: AuthOptions = {},
  ) {
    if (props.authScheme !== "OAuth" && props.authScheme !== "client") {
      throw new TypeError(`OAuthCredentials does not handle AuthScheme=${props.authScheme}`);
    }
    clientSecrets(props);
    this.scheme = props.authScheme;
    this.budgetKey = `oauth:${props.oauthClientId}`;
    this.now = options.now ?? Date.now;
    this.margin = options.refreshMarginMs ?? DEFAULT_REFRESH_MARGIN_MS;
    this.call = {
      now: this.now,
      sleep: options.sleep ?? realSleep,
      random: options.random ?? Math.random,
      maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      ...(options.log && { log: options.log }),
    };
  }

  async authorization(): Promise<string> {
    const tokens = await this.current();
    return `Bearer ${tokens.accessToken}`;
  }

  async onUnauthorized(used: string): Promise<boolean> {
    // Only drop the token the failed request used; a concurrent request may already have replaced it.
    if (this.tokens && used === `Bearer ${this.tokens.accessToken}`) {
      this.tokens = { ...this.tokens, expiresAt: 0 };
    }
    return true;
  }

  secrets(): string[] {
    return [this.props.oauthClientSecret ?? "", ...this.known];
  }

  /**
   * Runs the authorization-code flow in a browser (see `authorizeInteractive`), then keeps and stores the
   * tokens.
   */
  async authorizeInteractive(options: AuthorizeInteractiveOptions): Promise<OAuthTokens> {
    const tokens = await authorizeInteractive(this.props, { ...options, now: this.now });
    await this.accept(tokens);
    return tokens;
  }

  /** Adopts tokens obtained elsewhere (a web callback, a test), storing them like a refresh would. */
  async accept(tokens: OAuthTokens): Promise<void> {
    const refreshToken = tokens.refreshToken ?? this.tokens?.refreshToken;
    this.tokens = {
      accessToken: tokens.accessToken,
      expiresAt: tokens.expiresAt,
      issuedAt: this.now(),
      ...(refreshToken !== undefined && { refreshToken }),
    };
    this.remember(tokens.accessToken, refreshToken);
    this.loaded = true;
    if (this.options.tokenStore && refreshToken !== undefined) {
      await this.options.tokenStore.save({
        refreshToken,
        accessToken: tokens.accessToken,
        expiresAt: tokens.expiresAt,
      });
    }
  }

  private remember(...values: (string | undefined)[]): void {
    for (const v of values) if (v) this.known.add(v);
  }

  private fresh(tokens: CurrentTokens | undefined): tokens is CurrentTokens {
    if (tokens === undefined) return false;
    const lifetime = Math.max(0, tokens.expiresAt - tokens.issuedAt);
    return this.now() < tokens.expiresAt - Math.min(this.margin, lifetime / 2);
  }

  private async current(): Promise<CurrentTokens> {
    if (this.fresh(this.tokens)) return this.tokens;
    this.renewing ??= this.renew().finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  private async renew(): Promise<CurrentTokens> {
    if (!this.loaded) {
      this.loaded = true;
      const stored: StoredTokens | undefined = await this.options.tokenStore?.load();
      if (stored) {
        this.remember(stored.refreshToken, stored.accessToken);
        this.tokens = {
          accessToken: stored.accessToken ?? "",
          refreshToken: stored.refreshToken,
          expiresAt: stored.accessToken ? (stored.expiresAt ?? 0) : 0,
          issuedAt: this.now() - 3_600_000,
        };
        if (this.fresh(this.tokens)) return this.tokens;
      }
    }
    const refreshToken = this.tokens?.refreshToken;
    if (refreshToken !== undefined) {
      try {
        const tokens = await requestTokens(
          this.props,
          { grant_type: "refresh_token", refresh_token: refreshToken },
          this.call,
        );
        this.options.log?.("OAuth access token refreshed");
        await this.accept(tokens);
        return this.tokens as CurrentTokens;
      } catch (error) {
        // A client-credentials connection can always start over; an authorization-code one cannot.
        if (
          !(
            this.scheme === "client" &&
            error instanceof BitbridgeError &&
            error.code === "BITBUCKET_OAUTH_REAUTHORIZE"
          )
        )
          throw error;
      }
    }
    if (this.scheme === "client") {
      const tokens = await requestTokens(this.props, { grant_type: "client_credentials" }, this.call);
      await this.accept(tokens);
      return this.tokens as CurrentTokens;
    }
    throw new BitbridgeError(
      "BITBUCKET_OAUTH_NOT_AUTHORIZED",
      "AuthScheme=OAuth needs a one-time authorization in a browser, and no saved authorization was found for " +
        "this connection. Run the OAuth authorization for it (it prints a Bitbucket consent URL), or use " +
        "AuthScheme=client for unattended access with a private consumer.",
      { property: "AuthScheme" },
      401,
    );
  }
}

// ---------------------------------------------------------------------------------------------------------
// Authorization-code flow
// ---------------------------------------------------------------------------------------------------------

export interface AuthorizeInteractiveOptions {
  /** Try to open the consent page in a browser (only where one is available). Default false. */
  readonly openBrowser?: boolean;
  /** Where the instructions go (the consent URL included). Never receives a secret. */
  readonly log: Log;
  /** Give up after this long. Default 5 minutes. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Called once the callback listener is up. */
  readonly onReady?: (info: { readonly authorizeUrl: string; readonly callbackUrl: string }) => void;
  /** How to open a browser; defaults to the platform's opener. Resolves false when it could not. */
  readonly openUrl?: (url: string) => Promise<boolean>;
  readonly now?: Clock;
}

/** The consent page URL for a `state`. */
export function buildAuthorizeUrl(props: ConnectionProperties, state: string): string {
  const { id } = clientSecrets(props);
  const query = new URLSearchParams({ client_id: id, response_type: "code", state });
  return `${authorizeEndpoint(props)}?${query.toString()}`;
}

/** Exchanges an authorization code for tokens. */
export function exchangeCode(
  props: ConnectionProperties,
  code: string,
  options: Partial<TokenCallOptions> = {},
): Promise<OAuthTokens> {
  return requestTokens(props, { grant_type: "authorization_code", code }, options);
}

/**
 * Builds the consent URL with a random `state`, prints it (and opens a browser when asked and possible),
 * listens on CallbackURL's port for Bitbucket's redirect, checks `state`, exchanges the code and returns the
 * tokens. The OAuth consumer's callback URL must be CallbackURL.
 */
export async function authorizeInteractive(
  props: ConnectionProperties,
  options: AuthorizeInteractiveOptions,
): Promise<OAuthTokens> {
  if (props.authScheme !== "OAuth") {
    throw new BitbridgeError(
      "CONNECTION_PROPERTY_INVALID",
      `The browser authorization is for AuthScheme=OAuth (this connection uses AuthScheme=${props.authScheme}).`,
      { property: "AuthScheme" },
    );
  }
  const callback = new URL(props.callbackUrl);
  if (callback.protocol !== "http:") {
    throw new BitbridgeError(
      "BITBUCKET_OAUTH_CALLBACK_UNSUPPORTED",
      `CallbackURL ${props.callbackUrl} is not an http:// address this process can listen on; use ` +
        "http://localhost:<port> here, and set the OAuth consumer's callback URL to the same value.",
      { property: "CallbackURL" },
    );
  }
  const port = Number(callback.port || 80);
  const state = randomBytes(24).toString("base64url");
  const authorizeUrl = buildAuthorizeUrl(props, state);
  const expectedPath = callback.pathname.replace(/\/+$/, "") || "/";
  const timeoutMs = options.timeoutMs ?? 5 * 60_000;

  let settle: { resolve: (code: string) => void; reject: (error: unknown) => void } | undefined;
  const codePromise = new Promise<string>((resolve, reject) => {
    settle = { resolve, reject };
  });
  // Awaited below; a rejection that arrives before that must not count as unhandled.
  codePromise.catch(() => undefined);

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://callback.invalid");
    const pathname = url.pathname.replace(/\/+$/, "") || "/";
    const params = url.searchParams;
    if (req.method !== "GET" || pathname !== expectedPath || (!params.has("code") && !params.has("error"))) {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("Not found\n");
      return;
    }
    if (params.get("state") !== state) {
      page(res, 400, "Authorization failed", "The answer does not belong to this authorization request.");
      settle?.reject(
        new BitbridgeError(
          "BITBUCKET_OAUTH_STATE_MISMATCH",
          "The OAuth callback carried a different state than the one bitbridge sent, so it was rejected " +
            "(it may be a stale or forged redirect). Start the authorization again.",
          {},
          400,
        ),
      );
      return;
    }
    const error = params.get("error");
    if (error !== null) {
      const description = params.get("error_description") ?? error;
      page(res, 400, "Authorization not granted", description);
      settle?.reject(
        new BitbridgeError(
          error === "access_denied" ? "BITBUCKET_OAUTH_DENIED" : "BITBUCKET_OAUTH_FAILED",
          error === "access_denied"
            ? "Access was not granted on Bitbucket's consent page; run the authorization again and choose Grant access."
            : `Bitbucket's authorization answered ${error}: ${description}`,
          { error },
          401,
        ),
      );
      return;
    }
    page(res, 200, "bitbridge is authorized", "You can close this tab and return to bitbridge.");
    settle?.resolve(params.get("code") as string);
  };

  const servers = await listenCallback(callback.hostname, port, handler, props.callbackUrl);
  const timer = setTimeout(() => {
    settle?.reject(
      new BitbridgeError(
        "BITBUCKET_OAUTH_TIMEOUT",
        `No answer from Bitbucket's consent page within ${Math.round(timeoutMs / 1000)} s. Open the URL, choose ` +
          `Grant access, and check that the OAuth consumer's callback URL is ${props.callbackUrl} (CallbackURL).`,
        { property: "CallbackURL" },
        408,
      ),
    );
  }, timeoutMs);
  const onAbort = () =>
    settle?.reject(new BitbridgeError("BITBUCKET_OAUTH_CANCELLED", "Authorization cancelled."));
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  try {
    options.log(`Open this URL in a browser and choose Grant access:\n  ${authorizeUrl}`);
    options.log(`Waiting for Bitbucket to redirect to ${props.callbackUrl} ...`);
    options.onReady?.({ authorizeUrl, callbackUrl: props.callbackUrl });
    if (options.openBrowser) {
      const opened = await (options.openUrl ?? openInBrowser)(authorizeUrl).catch(() => false);
      if (!opened) options.log("Could not open a browser here; open the URL above yourself.");
    }
    const code = await codePromise;
    const tokens = await exchangeCode(props, code, options.now ? { now: options.now } : {});
    options.log("Authorized.");
    return tokens;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
    await Promise.all(servers.map(closeServer));
  }
}

function page(res: ServerResponse, status: number, title: string, text: string): void {
  const html = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  res
    .writeHead(status, {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "referrer-policy": "no-referrer",
    })
    .end(
      `<!doctype html><html><head><meta charset="utf-8"><title>${html(title)}</title></head>` +
        `<body><h1>${html(title)}</h1><p>${html(text)}</p></body></html>\n`,
    );
}

/** `localhost` listens on both loopback addresses, so whichever the browser resolves answers. */
async function listenCallback(
  hostname: string,
  port: number,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  callbackUrl: string,
): Promise<Server[]> {
  const host = hostname.replace(/^\[|\]$/g, "");
  const hosts = host === "localhost" ? ["127.0.0.1", "::1"] : [host];
  const servers: Server[] = [];
  for (const [i, h] of hosts.entries()) {
    const server = createServer(handler);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, h, () => {
          server.off("error", reject);
          resolve();
        });
      });
      servers.push(server);
    } catch (error) {
      // IPv6 may be missing; the first (IPv4) address must work.
      if (i > 0 && servers.length > 0) continue;
      await Promise.all(servers.map(closeServer));
      const code = (error as NodeJS.ErrnoException).code;
      throw new BitbridgeError(
        "BITBUCKET_OAUTH_CALLBACK_UNAVAILABLE",
        `Cannot listen for the OAuth callback on ${h}:${port} (${code ?? String(error)}). ` +
          (code === "EADDRINUSE"
            ? "Another program uses that port: stop it, or change CallbackURL and the consumer's callback URL."
            : `Check CallbackURL (${callbackUrl}).`),
        { property: "CallbackURL", port },
        409,
        { cause: error },
      );
    }
  }
  return servers;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Opens a URL with the platform's opener when a desktop is plausibly there. */
export async function openInBrowser(url: string): Promise<boolean> {
  let command: string;
  let args: string[];
  if (process.platform === "darwin") {
    command = "open";
    args = [url];
  } else if (process.platform === "win32") {
    command = "rundll32";
    args = ["url.dll,FileProtocolHandler", url];
  } else {
    if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return false;
    command = "xdg-open";
    args = [url];
  }
  return new Promise((resolve) => {
    try {
      const child = spawn(command, args, { stdio: "ignore", detached: true });
      child.once("error", () => resolve(false));
      child.once("spawn", () => {
        child.unref();
        resolve(true);
      });
    } catch {
      resolve(false);
    }
  });
}

// ---------------------------------------------------------------------------------------------------------
// Factory
// ---------------------------------------------------------------------------------------------------------

export function createCredentialProvider(
  props: ConnectionProperties,
  options: AuthOptions = {},
): CredentialProvider {
  switch (props.authScheme) {
    case "APIToken":
      return new ApiTokenCredentials(props.user ?? "", props.apiToken ?? "");
    case "AccessToken":
      return new AccessTokenCredentials(props.accessToken ?? "");
    case "OAuth":
    case "client":
      return new OAuthCredentials(props, options);
  }
}
