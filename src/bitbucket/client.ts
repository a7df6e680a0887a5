/**
 * The Bitbucket client: authenticated, paced (request budget + MaxConcurrency), retrying, counted.
 *
 * One request goes: concurrency slot → budget slot (time waited = throttledMs) → Authorization header →
 * GET with a timeout → body read in full → JSON. Transient failures (429, 500/502/503/504, resets, cut
 * bodies, timeouts) are retried with exponential backoff and full jitter, or after `Retry-After` when the
 * server sends it. A 401 gets one more try when the credentials can renew themselves (OAuth).
 */
import { BitbridgeError } from "../app/errors.js";
import { redactSecrets } from "../app/secrets.js";
import { type AuthOptions, type CredentialProvider, createCredentialProvider } from "./auth.js";
import {
  type BudgetProvider,
  type Limiter,
  limit,
  type RequestBudget,
  RollingWindowBudget,
} from "./budget.js";
import { type AuthScheme, type ConnectionProperties, secretValues } from "./connection-properties.js";
import { mapHttpError } from "./http-errors.js";
import {
  backoffDelay,
  type Clock,
  DEFAULT_MAX_ATTEMPTS,
  type Log,
  parseRetryAfter,
  RETRYABLE_STATUSES,
  realSleep,
  type Sleep,
  TransientError,
} from "./retry.js";
import { connectionKey, FileTokenStore } from "./token-store.js";
import { get, type HttpAnswer } from "./transport.js";
import type { BitbucketClient, Page, QueryParams, RequestCounts } from "./types.js";
import { displayPath, endpointKey, resolveUrl } from "./urls.js";

export interface ClientOptions extends AuthOptions {
  /** Credentials to use instead of building them from the properties (e.g. after `authorizeInteractive`). */
  readonly credentials?: CredentialProvider;
  /** The request budget; default: `budgets` when given, else a rolling window of `RequestsPerHour` of its own. */
  readonly budget?: RequestBudget;
  /** Share budgets between clients by credential (`CredentialProvider.budgetKey`). */
  readonly budgets?: BudgetProvider;
  /** Attempts per request, the first included. Default 5. */
  readonly maxAttempts?: number;
  /** Longest `Retry-After` honoured; longer ones fail the request. Default one hour. */
  readonly maxRetryAfterMs?: number;
}

interface Success {
  readonly ok: true;
  readonly body: unknown;
}

interface Failure {
  readonly ok: false;
  readonly status: number;
  readonly statusText: string;
  readonly text: string;
  readonly retryAfter: string | null;
  /** Where a redirect points. */
  readonly location: string | null;
  readonly authorization: string;
}

const MAX_RETRY_AFTER_MS = 3_600_000;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

export class HttpBitbucketClient implements BitbucketClient {
  readonly baseUrl: string;
  readonly credentials: CredentialProvider;
  readonly budget: RequestBudget;
  private readonly scheme: AuthScheme;
  private readonly now: Clock;
  private readonly sleep: Sleep;
  private readonly random: () => number;
  private readonly log: Log | undefined;
  private readonly maxAttempts: number;
  private readonly maxRetryAfterMs: number;
  private readonly timeoutMs: number;
  private readonly concurrency: Limiter;
  private readonly staticSecrets: string[];
  private requests = 0;
  private retries = 0;
  private throttledMs = 0;
  private readonly byEndpoint: Record<string, number> = {};

  constructor(props: ConnectionProperties, options: ClientOptions = {}) {
    this.baseUrl = props.url;
    this.scheme = props.authScheme;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? realSleep;
    this.random = options.random ?? Math.random;
    this.log = options.log;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? MAX_RETRY_AFTER_MS;
    this.timeoutMs = props.timeoutSeconds * 1000;
    this.credentials = options.credentials ?? createCredentialProvider(props, options);
    this.budget =
      options.budget ??
      options.budgets?.for(this.credentials.budgetKey, props.requestsPerHour) ??
      new RollingWindowBudget({ limitPerHour: props.requestsPerHour, now: this.now, sleep: this.sleep });
    this.concurrency = limit(props.maxConcurrency);
    this.staticSecrets = secretValues(props);
  }

  async get<T = unknown>(path: string, params?: QueryParams): Promise<T> {
    return (await this.request(resolveUrl(this.baseUrl, path, params))) as T;
  }

  pages<T = unknown>(path: string, params?: QueryParams): AsyncIterable<Page<T>> {
    const first = resolveUrl(this.baseUrl, path, params);
    return this.iteratePages<T>(first);
  }

  private async *iteratePages<T>(first: string): AsyncGenerator<Page<T>> {
    const seen = new Set<string>();
    let url: string | undefined = first;
    while (url !== undefined) {
      if (seen.has(url)) {
        throw new BitbridgeError(
          "BITBUCKET_PAGING_LOOP",
          `Bitbucket's next link for ${displayPath(this.baseUrl, url)} points back at a page already read; ` +
            "stopping instead of looping.",
          { path: displayPath(this.baseUrl, url) },
          502,
        );
      }
      seen.add(url);
      const body = await this.request(url);
      if (body === null || typeof body !== "object" || !Array.isArray((body as Page).values)) {
        throw new BitbridgeError(
          "BITBUCKET_INVALID_RESPONSE",
          `GET ${displayPath(this.baseUrl, url)} did not answer a paginated list (no "values" array).`,
          { path: displayPath(this.baseUrl, url) },
          502,
        );
      }
      const page = body as Page<T>;
      yield page;
      const next: unknown = page.next;
      // Verbatim: never rebuilt from the original parameters (Bitbucket refuses repeated ones).
      url = typeof next === "string" && next !== "" ? resolveUrl(this.baseUrl, next) : undefined;
    }
  }

  counts(): RequestCounts {
    return {
      requests: this.requests,
      retries: this.retries,
      throttledMs: this.throttledMs,
      byEndpoint: { ...this.byEndpoint },
    };
  }

  private secrets(): string[] {
    return [...this.staticSecrets, ...this.credentials.secrets()];
  }

  private async request(first: string): Promise<unknown> {
    const endpoint = endpointKey(this.baseUrl, first);
    const path = displayPath(this.baseUrl, first);
    let url = first;
    let attempt = 0;
    let redirects = 0;
    let reauthorized = false;
    for (;;) {
      attempt++;
      let result: Success | Failure;
      try {
        result = await this.concurrency(() => this.send(url, endpoint, path));
      } catch (error) {
        if (!(error instanceof TransientError)) throw error;
        const cause = redactSecrets(error.message, this.secrets());
        if (attempt >= this.maxAttempts) {
          throw new BitbridgeError(
            "BITBUCKET_NETWORK_ERROR",
            `GET ${path} failed after ${attempt} attempt${attempt === 1 ? "" : "s"}: ${cause}.`,
            { method: "GET", path, endpoint, cause, kind: error.kind, attempts: attempt },
            error.kind === "timeout" ? 504 : 502,
          );
        }
        await this.backOff(path, cause, attempt, undefined);
        continue;
      }
      if (result.ok) return result.body;
      if (REDIRECTS.has(result.status) && result.location) {
        if (redirects >= MAX_REDIRECTS)
          throw new BitbridgeError(
            "BITBUCKET_TOO_MANY_REDIRECTS",
            `GET ${path} was redirected more than ${MAX_REDIRECTS} times (last to ${displayPath(this.baseUrl, url)}).`,
            { method: "GET", path, endpoint, status: result.status },
            502,
          );
        // Followed on the API's origin only (resolveUrl refuses any other), so credentials stay there.
        url = resolveUrl(this.baseUrl, new URL(result.location, url).toString());
        redirects++;
        attempt--;
        this.log?.(`GET ${path}: ${result.status}, following it to ${displayPath(this.baseUrl, url)}`);
        continue;
      }

      if (result.status === 401 && !reauthorized) {
        const message = result.text;
        if (await this.credentials.onUnauthorized(result.authorization, message)) {
          reauthorized = true;
          attempt--;
          this.retries++;
          this.log?.(`GET ${path}: 401, renewing the OAuth access token and trying again`);
          continue;
        }
      }
      const context = {
        method: "GET",
        path,
        endpoint,
        status: result.status,
        statusText: result.statusText,
        body: result.text,
        scheme: this.scheme,
        secrets: this.secrets(),
      };
      if (!RETRYABLE_STATUSES.has(result.status)) throw mapHttpError(context);
      if (attempt >= this.maxAttempts) throw mapHttpError(context, attempt);
      const retryAfter = parseRetryAfter(result.retryAfter, this.now());
      if (retryAfter !== undefined && retryAfter > this.maxRetryAfterMs) {
        const error = mapHttpError(context, attempt);
        throw new BitbridgeError(
          error.code,
          `${error.message} Bitbucket asked to wait ${Math.ceil(retryAfter / 1000)} s (Retry-After), longer than ` +
            `the ${Math.round(this.maxRetryAfterMs / 1000)} s bitbridge waits.`,
          { ...error.details, retryAfterMs: retryAfter },
          error.status,
        );
      }
      await this.backOff(path, `HTTP ${result.status}`, attempt, retryAfter);
    }
  }

  private async backOff(path: string, cause: string, attempt: number, retryAfter: number | undefined) {
    const delay = retryAfter ?? backoffDelay(attempt, this.random);
    this.retries++;
    this.log?.(
      `GET ${path}: ${cause}; retrying in ${(delay / 1000).toFixed(1)} s` +
        `${retryAfter !== undefined ? " (Retry-After)" : ""} (attempt ${attempt + 1} of ${this.maxAttempts})`,
    );
    await this.sleep(delay);
  }

  /** One HTTP exchange. Throws TransientError for failures worth a retry. */
  private async send(url: string, endpoint: string, path: string): Promise<Success | Failure> {
    const waitStart = this.now();
    await this.budget.acquire();
    this.throttledMs += Math.max(0, this.now() - waitStart);
    const authorization = await this.credentials.authorization();
    this.requests++;
    this.byEndpoint[endpoint] = (this.byEndpoint[endpoint] ?? 0) + 1;

    const response = await get(
      new URL(url),
      { authorization, accept: "application/json", "user-agent": "bitbridge" },
      this.timeoutMs,
    );

    const nearLimit = response.header("x-ratelimit-nearlimit");
    const limitHeader = Number(response.header("x-ratelimit-limit") ?? Number.NaN);
    this.budget.record({
      ...(nearLimit !== null && { nearLimit: nearLimit.trim().toLowerCase() === "true" }),
      ...(Number.isFinite(limitHeader) && limitHeader > 0 && { limit: limitHeader }),
    });

    if (response.status >= 200 && response.status < 300) {
      return { ok: true, body: this.parseJson(response, path) };
    }
    return {
      ok: false,
      status: response.status,
      statusText: response.statusText,
      text: response.text,
      retryAfter: response.header("retry-after"),
      location: response.header("location"),
      authorization,
    };
  }

  private parseJson(response: HttpAnswer, path: string): unknown {
    const { text } = response;
    const type = response.header("content-type") ?? "";
    if (!/json/i.test(type) && !/^\s*[[{]/.test(text)) {
      throw new BitbridgeError(
        "BITBUCKET_INVALID_RESPONSE",
        `GET ${path} answered ${type || "an unknown content type"} instead of JSON. Check Url: it must be the ` +
          `REST API base (e.g. https://api.bitbucket.org/2.0), not the website (got: ${snippet(text)}).`,
        { path, contentType: type, property: "Url" },
        502,
      );
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new TransientError(
        `the response is not complete JSON (${error instanceof Error ? error.message : String(error)})`,
        "truncated",
        { cause: error },
      );
    }
  }
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 80 ? `${flat.slice(0, 80)}...` : flat || "an empty body";
}

/** A client for a connection: credentials per AuthScheme, budget per credential, retries, counters. */
export function createClient(props: ConnectionProperties, options: ClientOptions = {}): HttpBitbucketClient {
  return new HttpBitbucketClient(props, options);
}

/**
 * The client a command or a run uses: OAuth and client-credentials connections keep their (rotating)
 * tokens in the encrypted token file of the connection, so a new process need not authorize again.
 */
export function openClient(
  props: ConnectionProperties,
  log?: (line: string) => void,
  options: Pick<ClientOptions, "budgets"> = {},
): HttpBitbucketClient {
  const oauth = props.authScheme === "OAuth" || props.authScheme === "client";
  return createClient(props, {
    ...options,
    ...(oauth && { tokenStore: new FileTokenStore({ connection: connectionKey(props) }) }),
    ...(log && { log }),
  });
}

// ---------------------------------------------------------------------------------------------------------
// Connection test
// ---------------------------------------------------------------------------------------------------------

export interface ConnectionTestResult {
  readonly authScheme: AuthScheme;
  /** The account the credentials act as (not for access tokens, which act as a pseudo-user). */
  readonly account?: { readonly uuid?: string; readonly displayName?: string; readonly accountId?: string };
  readonly workspace?: { readonly slug: string; readonly name?: string; readonly uuid?: string };
  readonly repository?: { readonly fullName: string; readonly uuid?: string };
  /** Checks that could not run for lack of a scope, named with the scope. */
  readonly warnings: readonly string[];
  /** One line for people: `Connected as Jane Doe (APIToken), workspace acme`. */
  readonly summary: string;
}

type Json = Record<string, unknown>;

function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/**
 * Checks the connection with as few requests as possible: `/user` (not for access tokens), then the
 * workspace and the Schema's repository when set. Wrong credentials, unknown workspaces or repositories fail
 * with the property to fix; a missing scope on an optional check becomes a warning.
 */
export async function testConnection(
  client: BitbucketClient,
  props: ConnectionProperties,
): Promise<ConnectionTestResult> {
  const warnings: string[] = [];
  let account: ConnectionTestResult["account"];
  let workspace: ConnectionTestResult["workspace"];
  let repository: ConnectionTestResult["repository"];

  const optional = async (what: string, call: () => Promise<void>) => {
    try {
      await call();
    } catch (error) {
      if (error instanceof BitbridgeError && error.code === "BITBUCKET_FORBIDDEN") {
        warnings.push(`Could not read ${what}: ${error.message}`);
        return;
      }
      throw error;
    }
  };

  if (props.authScheme !== "AccessToken") {
    await optional("the account (/user)", async () => {
      const user = await client.get<Json>("/user");
      account = {
        ...(str(user.uuid) && { uuid: str(user.uuid) }),
        ...(str(user.display_name) && { displayName: str(user.display_name) }),
        ...(str(user.account_id) && { accountId: str(user.account_id) }),
      };
    });
  }
  if (props.workspace !== undefined) {
    const w = encodeURIComponent(props.workspace);
    await optional(`workspace ${props.workspace}`, async () => {
      try {
        const ws = await client.get<Json>(`/workspaces/${w}`);
        workspace = {
          slug: str(ws.slug) ?? (props.workspace as string),
          ...(str(ws.name) && { name: str(ws.name) }),
          ...(str(ws.uuid) && { uuid: str(ws.uuid) }),
        };
      } catch (error) {
        throw notFoundAs(
          error,
          "Workspace",
          `Workspace ${props.workspace} does not exist, or these credentials cannot see it.`,
        );
      }
    });
    if (props.schema !== undefined && props.schema !== "Information") {
      const r = encodeURIComponent(props.schema);
      try {
        const repo = await client.get<Json>(`/repositories/${w}/${r}`);
        repository = {
          fullName: str(repo.full_name) ?? `${props.workspace}/${props.schema}`,
          ...(str(repo.uuid) && { uuid: str(repo.uuid) }),
        };
      } catch (error) {
        throw notFoundAs(
          error,
          "Schema",
          `Repository ${props.workspace}/${props.schema} does not exist, or these credentials cannot see it.`,
        );
      }
    }
  }
  if (account === undefined && workspace === undefined && repository === undefined && warnings.length > 0) {
    // Nothing could be read: still proof the credentials are valid, but not of any useful access.
    warnings.push(
      "The credentials are valid but could read nothing checked; set Workspace to test access to it.",
    );
  }
  const who =
    account?.displayName ?? (props.authScheme === "AccessToken" ? "access token" : "unknown account");
  const where = [
    workspace && `workspace ${workspace.slug}`,
    repository && `repository ${repository.fullName}`,
  ]
    .filter(Boolean)
    .join(", ");
  return {
    authScheme: props.authScheme,
    ...(account && { account }),
    ...(workspace && { workspace }),
    ...(repository && { repository }),
    warnings,
    summary: `Connected as ${who} (${props.authScheme})${where ? `, ${where}` : ""}`,
  };
}

function notFoundAs(error: unknown, property: string, message: string): unknown {
  if (error instanceof BitbridgeError && error.code === "BITBUCKET_NOT_FOUND") {
    return new BitbridgeError(
      "BITBUCKET_NOT_FOUND",
      `${message} Check ${property}.`,
      { ...error.details, property },
      404,
      {
        cause: error,
      },
    );
  }
  return error;
}
