import { timingSafeEqual } from "node:crypto";
import type { SimClock } from "../clock.js";
import { ApiError, errors } from "../http/errors.js";
import type { SimRequest } from "../http/types.js";
import { Random } from "../random.js";
import { basicAuthorization, decodeBasic, readAuthorization } from "./headers.js";
import type { Principal, ResourceBinding } from "./principal.js";
import {
  CLASSIC_READ_SCOPES,
  CLASSIC_SCOPES,
  GRANULAR_READ_SCOPES,
  GRANULAR_SCOPES,
  PROJECT_TOKEN_SCOPES,
  REPOSITORY_TOKEN_SCOPES,
  WORKSPACE_TOKEN_SCOPES,
} from "./scopes.js";

// ---------------------------------------------------------------------------------------------------------
// Inputs and records
// ---------------------------------------------------------------------------------------------------------

export interface AuthUser {
  readonly uuid: string;
  readonly accountId: string;
  readonly email: string;
  readonly displayName: string;
  readonly nickname: string;
}

export interface AuthWorkspace {
  readonly slug: string;
  readonly uuid: string;
  readonly projects: readonly { readonly key: string }[];
  readonly repositories: readonly { readonly slug: string; readonly projectKey: string }[];
}

export interface CredentialRegistryOptions {
  readonly seed: number;
  readonly clock: SimClock;
  /** Lifetime of OAuth access tokens, on the SimClock. Default 3600 (Bitbucket's one hour). */
  readonly accessTokenTtlSeconds?: number;
  /** How long a rotated refresh token keeps working after its successor was issued. Default 60. */
  readonly refreshTokenGraceSeconds?: number;
  /** The first user is the owner: the seeded consumers and API tokens belong to them. */
  readonly users: readonly AuthUser[];
  readonly workspaces: readonly AuthWorkspace[];
  /** Where the simulator listens, for the URLs in `credentials()`. Default `http://localhost:8080`. */
  readonly baseUrl?: string;
}

export interface OAuthConsumer {
  readonly name: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly callbackUrl: string;
  readonly scopes: readonly string[];
  /** client_credentials tokens run as this account. */
  readonly ownerUuid: string;
}

export interface ApiToken {
  readonly id: string;
  readonly name: string;
  readonly email: string;
  readonly accountUuid: string;
  readonly token: string;
  readonly scopes: readonly string[];
  readonly createdAt: number;
  readonly expiresAt: number;
}

export type AccessTokenType = "repository" | "project" | "workspace";

export interface AccessToken {
  readonly id: string;
  readonly name: string;
  readonly type: AccessTokenType;
  readonly binding: ResourceBinding;
  readonly token: string;
  readonly scopes: readonly string[];
  /** The token's pseudo-user. */
  readonly accountUuid: string;
  readonly createdAt: number;
}

/** Bitbucket's token endpoint answer. `state` names the grant type, as Bitbucket does. */
export interface OAuthTokenResponse {
  readonly access_token: string;
  readonly scopes: string;
  readonly expires_in: number;
  readonly refresh_token: string;
  readonly token_type: "bearer";
  readonly state: string;
}

/** JSON-friendly view of every credential, for `GET /_sim/credentials` and the start-up banner. */
export interface SimCredentials {
  readonly baseUrl: string;
  readonly apiUrl: string;
  readonly owner: AuthUser;
  readonly oauth: {
    readonly authorizeUrl: string;
    readonly tokenUrl: string;
    readonly accessTokenTtlSeconds: number;
    readonly consumers: readonly {
      readonly name: string;
      readonly clientId: string;
      readonly clientSecret: string;
      readonly callbackUrl: string;
      readonly scopes: readonly string[];
      /** `Authorization` header for the token endpoint. */
      readonly tokenEndpointAuthorization: string;
      /** Open in a browser to start the authorization-code flow. */
      readonly authorizeUrl: string;
      readonly clientCredentialsCommand: string;
    }[];
  };
  readonly apiTokens: readonly {
    readonly name: string;
    readonly email: string;
    readonly token: string;
    readonly scopes: readonly string[];
    readonly expiresAt: string;
    /** Ready-to-use `Authorization` header value. */
    readonly authorization: string;
  }[];
  readonly accessTokens: readonly {
    readonly name: string;
    readonly type: AccessTokenType;
    readonly workspace: string;
    readonly project?: string;
    readonly repository?: string;
    readonly token: string;
    readonly scopes: readonly string[];
    readonly accountUuid: string;
    /** Ready-to-use `Authorization` header value. */
    readonly authorization: string;
  }[];
}

interface IssuedAccessToken {
  readonly principal: Principal;
  readonly expiresAt: number;
}

interface RefreshToken {
  readonly clientId: string;
  readonly accountUuid: string;
  readonly scopes: readonly string[];
  readonly issuedAt: number;
  /** Set once the token was exchanged; it keeps working for the grace period after that. */
  rotatedAt?: number;
}

interface AuthorizationCode {
  readonly clientId: string;
  readonly accountUuid: string;
  readonly redirectUri: string | undefined;
  readonly expiresAt: number;
}

// ---------------------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------------------

export const DEFAULT_BASE_URL = "http://localhost:8080";
export const DEFAULT_CALLBACK_URL = "http://localhost:33333";
export const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 3600;
export const DEFAULT_REFRESH_GRACE_SECONDS = 60;
/** Authorization codes are single-use and live ten minutes. */
export const AUTHORIZATION_CODE_TTL_MS = 10 * 60 * 1000;
/** A refresh token nobody uses dies after three months. */
export const REFRESH_TOKEN_IDLE_MS = 90 * 24 * 3600 * 1000;
/** API tokens must expire, at most one year after creation. */
export const API_TOKEN_MAX_DAYS = 365;

const DAY_MS = 24 * 3600 * 1000;

/** Messages of the 401s `authenticate` throws; the router and tests can match on them. */
export const AUTH_MESSAGES = {
  expired: "Access token expired.",
  invalidToken: "Token is invalid, expired, or not supported for this endpoint.",
  invalidCredentials: "Invalid credentials.",
  malformed: "Malformed Authorization header.",
  unsupportedScheme: "Unsupported authentication scheme.",
} as const;

const APP_PASSWORDS_GONE =
  "Basic authentication takes your Atlassian account email as the username and an Atlassian API token as the " +
  "password. App passwords (Bitbucket username + app password) were removed on 2026-07-28; create an API token " +
  "instead, or use OAuth 2.0 or an access token as a Bearer token.";

const BASIC_HEADERS = { "WWW-Authenticate": 'Basic realm="Bitbucket.org HTTP"' };

function basicUnauthorized(message: string, detail?: string): ApiError {
  return new ApiError(401, message, detail, undefined, { ...BASIC_HEADERS });
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Lower-case, braces stripped: slugs and UUIDs compare the way Bitbucket resolves them. */
function norm(id: string): string {
  return id.trim().toLowerCase().replace(/^\{/, "").replace(/\}$/, "");
}

function atlassianToken(rng: Random, prefix: string): string {
  return `${prefix}${rng.token(171)}=${rng.hex(8).toUpperCase()}`;
}

// ---------------------------------------------------------------------------------------------------------
// The registry
// ---------------------------------------------------------------------------------------------------------

/**
 * Every credential the simulator accepts, derived from the seed: the same seed and the same sequence of calls
 * give byte-identical secrets. Seeded credentials each come from their own derived generator, so adding one
 * never changes the others; dynamically created credentials and issued OAuth tokens come from two further
 * sequences.
 */
export class CredentialRegistry {
  readonly baseUrl: string;
  readonly owner: AuthUser;
  private readonly clock: SimClock;
  private accessTokenTtlSeconds: number;
  private refreshGraceSeconds: number;
  private readonly users: readonly AuthUser[];
  private readonly workspaces = new Map<string, AuthWorkspace>();
  private readonly consumers = new Map<string, OAuthConsumer>();
  private readonly apiTokens = new Map<string, ApiToken>();
  private readonly accessTokens = new Map<string, AccessToken>();
  private readonly issued = new Map<string, IssuedAccessToken>();
  private readonly refreshTokens = new Map<string, RefreshToken>();
  private readonly codes = new Map<string, AuthorizationCode>();
  private readonly dynamicRng: Random;
  private readonly issueRng: Random;
  private readonly seeded: {
    consumer: OAuthConsumer;
    limitedConsumer: OAuthConsumer;
    apiToken: ApiToken;
    limitedApiToken: ApiToken;
  };

  constructor(options: CredentialRegistryOptions) {
    const owner = options.users[0];
    if (owner === undefined) throw new Error("the credential registry needs at least one user (the owner)");
    this.owner = owner;
    this.users = options.users;
    this.clock = options.clock;
    this.baseUrl = (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, "");
    this.accessTokenTtlSeconds = DEFAULT_ACCESS_TOKEN_TTL_SECONDS;
    this.refreshGraceSeconds = DEFAULT_REFRESH_GRACE_SECONDS;
    if (options.accessTokenTtlSeconds !== undefined) this.setAccessTokenTtl(options.accessTokenTtlSeconds);
    if (options.refreshTokenGraceSeconds !== undefined)
      this.setRefreshTokenGrace(options.refreshTokenGraceSeconds);
    for (const ws of options.workspaces) this.workspaces.set(norm(ws.slug), ws);

    const seed = options.seed;
    this.dynamicRng = Random.derive(seed, "auth:dynamic");
    this.issueRng = Random.derive(seed, "auth:issued");

    const consumer = this.addConsumer(Random.derive(seed, "auth:consumer:full"), {
      name: "bitbridge simulator",
      scopes: [...CLASSIC_READ_SCOPES],
      callbackUrl: DEFAULT_CALLBACK_URL,
    });
    const limitedConsumer = this.addConsumer(Random.derive(seed, "auth:consumer:limited"), {
      name: "bitbridge simulator (limited)",
      scopes: ["account", "repository"],
      callbackUrl: DEFAULT_CALLBACK_URL,
    });
    const apiToken = this.addApiToken(Random.derive(seed, "auth:api-token:full"), {
      name: "bitbridge simulator",
      email: owner.email,
      scopes: [...GRANULAR_READ_SCOPES],
    });
    const limitedApiToken = this.addApiToken(Random.derive(seed, "auth:api-token:limited"), {
      name: "bitbridge simulator (repositories only)",
      email: owner.email,
      scopes: ["read:repository:bitbucket"],
    });
    this.seeded = { consumer, limitedConsumer, apiToken, limitedApiToken };

    for (const ws of options.workspaces) {
      this.addAccessToken(Random.derive(seed, `auth:workspace-token:${ws.slug}`), {
        name: `${ws.slug} workspace token`,
        binding: { workspace: ws.slug },
        scopes: ["account", "project", "repository", "pullrequest", "pipeline", "webhook", "runner"],
      });
    }
    const first = options.workspaces[0];
    const project = first?.projects[0];
    if (first !== undefined && project !== undefined) {
      this.addAccessToken(Random.derive(seed, `auth:project-token:${first.slug}/${project.key}`), {
        name: `${first.slug}/${project.key} project token`,
        binding: { workspace: first.slug, project: project.key },
        scopes: ["project", "repository", "pullrequest", "pipeline", "webhook", "runner"],
      });
    }
    const repo = first?.repositories[0];
    if (first !== undefined && repo !== undefined) {
      this.addAccessToken(Random.derive(seed, `auth:repository-token:${first.slug}/${repo.slug}`), {
        name: `${first.slug}/${repo.slug} repository token`,
        binding: { workspace: first.slug, project: repo.projectKey, repository: repo.slug },
        scopes: ["repository", "pullrequest", "pipeline", "webhook", "runner"],
      });
    }
  }

  // ----- settings -------------------------------------------------------------------------------------

  /** Lifetime of OAuth access tokens issued from now on (already issued tokens keep theirs). */
  setAccessTokenTtl(seconds: number): void {
    if (!Number.isFinite(seconds) || seconds <= 0)
      throw new RangeError("the access-token TTL must be positive");
    this.accessTokenTtlSeconds = seconds;
  }

  get accessTokenTtl(): number {
    return this.accessTokenTtlSeconds;
  }

  /** Grace period of rotated refresh tokens; 0 makes the old token fail immediately. */
  setRefreshTokenGrace(seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) throw new RangeError("the refresh-token grace must be ≥ 0");
    this.refreshGraceSeconds = seconds;
  }

  // ----- seeded credentials ----------------------------------------------------------------------------

  /** The seeded consumer with every read scope. */
  get defaultConsumer(): OAuthConsumer {
    return this.seeded.consumer;
  }

  /** The seeded consumer with only `account repository`. */
  get limitedConsumer(): OAuthConsumer {
    return this.seeded.limitedConsumer;
  }

  /** The owner's API token with every `read:*:bitbucket` scope. */
  get defaultApiToken(): ApiToken {
    return this.seeded.apiToken;
  }

  /** The owner's API token with only `read:repository:bitbucket`. */
  get limitedApiToken(): ApiToken {
    return this.seeded.limitedApiToken;
  }

  /** Every repository, project and workspace access token, seeded first. */
  listAccessTokens(): AccessToken[] {
    return [...this.accessTokens.values()];
  }

  listConsumers(): OAuthConsumer[] {
    return [...this.consumers.values()];
  }

  listApiTokens(): ApiToken[] {
    return [...this.apiTokens.values()];
  }

  listUsers(): readonly AuthUser[] {
    return this.users;
  }

  /** A user by UUID (braces optional), account id or email. */
  findUser(id: string): AuthUser | undefined {
    const key = norm(id);
    return this.users.find(
      (u) => norm(u.uuid) === key || u.accountId === id || u.email.toLowerCase() === key,
    );
  }

  credentials(): SimCredentials {
    const authorizeUrl = `${this.baseUrl}/site/oauth2/authorize`;
    const tokenUrl = `${this.baseUrl}/site/oauth2/access_token`;
    return {
      baseUrl: this.baseUrl,
      apiUrl: `${this.baseUrl}/2.0`,
      owner: { ...this.owner },
      oauth: {
        authorizeUrl,
        tokenUrl,
        accessTokenTtlSeconds: this.accessTokenTtlSeconds,
        consumers: this.listConsumers().map((c) => ({
          name: c.name,
          clientId: c.clientId,
          clientSecret: c.clientSecret,
          callbackUrl: c.callbackUrl,
          scopes: [...c.scopes],
          tokenEndpointAuthorization: basicAuthorization(c.clientId, c.clientSecret),
          authorizeUrl: `${authorizeUrl}?client_id=${encodeURIComponent(c.clientId)}&response_type=code`,
          clientCredentialsCommand: `curl -X POST -u '${c.clientId}:${c.clientSecret}' ${tokenUrl} -d grant_type=client_credentials`,
        })),
      },
      apiTokens: this.listApiTokens().map((t) => ({
        name: t.name,
        email: t.email,
        token: t.token,
        scopes: [...t.scopes],
        expiresAt: new Date(t.expiresAt).toISOString(),
        authorization: basicAuthorization(t.email, t.token),
      })),
      accessTokens: this.listAccessTokens().map((t) => ({
        name: t.name,
        type: t.type,
        workspace: t.binding.workspace,
        ...(t.binding.project !== undefined && { project: t.binding.project }),
        ...(t.binding.repository !== undefined && { repository: t.binding.repository }),
        token: t.token,
        scopes: [...t.scopes],
        accountUuid: t.accountUuid,
        authorization: `Bearer ${t.token}`,
      })),
    };
  }

  // ----- dynamic creation --------------------------------------------------------------------------------

  /** An OAuth consumer owned by the owner (or `ownerUuid`). Scopes must be classic scope names. */
  createConsumer(input: {
    scopes: readonly string[];
    callbackUrl?: string;
    name?: string;
    ownerUuid?: string;
  }): OAuthConsumer {
    return this.addConsumer(this.dynamicRng, {
      name: input.name ?? `consumer ${this.consumers.size + 1}`,
      scopes: input.scopes,
      callbackUrl: input.callbackUrl ?? DEFAULT_CALLBACK_URL,
      ...(input.ownerUuid !== undefined && { ownerUuid: input.ownerUuid }),
    });
  }

  /** An API token for a known user's email. Scopes must be `*:bitbucket` scope names. */
  createApiToken(input: {
    email: string;
    scopes: readonly string[];
    name?: string;
    expiresInDays?: number;
  }): ApiToken {
    return this.addApiToken(this.dynamicRng, {
      name: input.name ?? `api token ${this.apiTokens.size + 1}`,
      email: input.email,
      scopes: input.scopes,
      ...(input.expiresInDays !== undefined && { expiresInDays: input.expiresInDays }),
    });
  }

  /**
   * A repository, project or workspace access token; the binding decides which (repository, else project,
   * else workspace). Scopes must be among those Bitbucket offers for that token type.
   */
  createAccessToken(input: {
    binding: ResourceBinding;
    scopes: readonly string[];
    name?: string;
  }): AccessToken {
    return this.addAccessToken(this.dynamicRng, {
      name: input.name ?? `access token ${this.accessTokens.size + 1}`,
      binding: input.binding,
      scopes: input.scopes,
    });
  }

  private addConsumer(
    rng: Random,
    input: { name: string; scopes: readonly string[]; callbackUrl: string; ownerUuid?: string },
  ): OAuthConsumer {
    const unknown = input.scopes.filter((s) => !(CLASSIC_SCOPES as readonly string[]).includes(s));
    if (unknown.length > 0) throw new Error(`not OAuth consumer scopes: ${unknown.join(", ")}`);
    let callback: URL;
    try {
      callback = new URL(input.callbackUrl);
    } catch {
      throw new Error("the callback URL must be an absolute URL");
    }
    if (callback.protocol !== "http:" && callback.protocol !== "https:") {
      throw new Error("the callback URL must be http or https");
    }
    const owner = input.ownerUuid === undefined ? this.owner : this.findUser(input.ownerUuid);
    if (owner === undefined) throw new Error("the consumer owner is not a known user");
    let clientId = rng.token(18);
    while (this.consumers.has(clientId)) clientId = rng.token(18);
    const consumer: OAuthConsumer = {
      name: input.name,
      clientId,
      clientSecret: rng.token(32),
      callbackUrl: input.callbackUrl,
      scopes: [...new Set(input.scopes)],
      ownerUuid: owner.uuid,
    };
    this.consumers.set(clientId, consumer);
    return consumer;
  }

  private addApiToken(
    rng: Random,
    input: { name: string; email: string; scopes: readonly string[]; expiresInDays?: number },
  ): ApiToken {
    const user = this.users.find((u) => u.email.toLowerCase() === input.email.trim().toLowerCase());
    if (user === undefined) throw new Error("API tokens can only be created for a known user's email");
    const unknown = input.scopes.filter((s) => !(GRANULAR_SCOPES as readonly string[]).includes(s));
    if (unknown.length > 0) throw new Error(`not API token scopes: ${unknown.join(", ")}`);
    const days = input.expiresInDays ?? API_TOKEN_MAX_DAYS;
    if (!(days > 0 && days <= API_TOKEN_MAX_DAYS)) {
      throw new RangeError(`API tokens expire within 1 to ${API_TOKEN_MAX_DAYS} days`);
    }
    const now = this.clock.now();
    const id = rng.uuid();
    let token = atlassianToken(rng, "ATATT3xFfGF0");
    while (this.apiTokens.has(token)) token = atlassianToken(rng, "ATATT3xFfGF0");
    const record: ApiToken = {
      id,
      name: input.name,
      email: user.email,
      accountUuid: user.uuid,
      token,
      scopes: [...new Set(input.scopes)],
      createdAt: now,
      expiresAt: now + days * DAY_MS,
    };
    this.apiTokens.set(token, record);
    return record;
  }

  private addAccessToken(
    rng: Random,
    input: { name: string; binding: ResourceBinding; scopes: readonly string[] },
  ): AccessToken {
    const { binding } = input;
    const type: AccessTokenType =
      binding.repository !== undefined
        ? "repository"
        : binding.project !== undefined
          ? "project"
          : "workspace";
    const allowed: readonly string[] =
      type === "repository"
        ? REPOSITORY_TOKEN_SCOPES
        : type === "project"
          ? PROJECT_TOKEN_SCOPES
          : WORKSPACE_TOKEN_SCOPES;
    const refused = input.scopes.filter((s) => !allowed.includes(s));
    if (refused.length > 0) throw new Error(`${type} access tokens cannot have: ${refused.join(", ")}`);
    if (binding.workspace.trim() === "") throw new Error("an access token needs a workspace");
    let project = binding.project;
    if (type === "repository" && project === undefined) {
      project = this.workspaces
        .get(norm(binding.workspace))
        ?.repositories.find((r) => norm(r.slug) === norm(binding.repository ?? ""))?.projectKey;
    }
    const id = rng.uuid();
    const accountUuid = rng.uuid();
    let token = atlassianToken(rng, "ATCTT3xFfGN0");
    while (this.accessTokens.has(token)) token = atlassianToken(rng, "ATCTT3xFfGN0");
    const record: AccessToken = {
      id,
      name: input.name,
      type,
      binding: {
        workspace: binding.workspace,
        ...(project !== undefined && { project }),
        ...(binding.repository !== undefined && { repository: binding.repository }),
      },
      token,
      scopes: [...new Set(input.scopes)],
      accountUuid,
      createdAt: this.clock.now(),
    };
    this.accessTokens.set(token, record);
    return record;
  }

  // ----- authentication ----------------------------------------------------------------------------------

  /**
   * Resolves the caller from the `Authorization` header.
   *
   * - No header (or a blank one): anonymous, `undefined`. The router decides what anonymous callers may see.
   *   An `access_token` query parameter without a header is refused (401): tokens travel only as Bearer.
   * - `Bearer <token>`: an OAuth access token (401 `Access token expired.` once past its lifetime) or a
   *   repository/project/workspace access token.
   * - `Basic base64(email:api-token)`: an Atlassian API token.
   * - Anything else is a 401. Messages never contain the presented secret.
   */
  authenticate(req: SimRequest): Principal | undefined {
    const header = readAuthorization(req);
    if (header === undefined) {
      if (req.url.searchParams.has("access_token")) {
        throw errors.unauthorized(
          AUTH_MESSAGES.invalidToken,
          "Tokens are not accepted as a query parameter. Since 2026-05-04 OAuth access tokens must be sent in " +
            "the Authorization header as `Bearer <token>`.",
        );
      }
      return undefined;
    }
    switch (header.scheme) {
      case "bearer":
        return this.authenticateBearer(header.credentials);
      case "basic":
        return this.authenticateBasic(header.credentials);
      case "jwt":
        throw errors.unauthorized(
          AUTH_MESSAGES.unsupportedScheme,
          "JWT authentication belongs to Atlassian Connect apps, which this simulator does not host.",
        );
      default:
        throw errors.unauthorized(
          AUTH_MESSAGES.unsupportedScheme,
          "Use `Authorization: Bearer <token>` for OAuth and access tokens, or HTTP Basic with your Atlassian " +
            "email and an API token.",
        );
    }
  }

  private authenticateBearer(token: string): Principal {
    if (token === "" || /\s/.test(token)) {
      throw errors.unauthorized(AUTH_MESSAGES.malformed, "Expected `Authorization: Bearer <token>`.");
    }
    const issued = this.issued.get(token);
    if (issued !== undefined) {
      if (this.clock.now() >= issued.expiresAt) throw errors.unauthorized(AUTH_MESSAGES.expired);
      return issued.principal;
    }
    const access = this.accessTokens.get(token);
    if (access !== undefined) return this.accessTokenPrincipal(access);
    if (this.apiTokens.has(token)) {
      throw errors.unauthorized(
        AUTH_MESSAGES.invalidToken,
        "Atlassian API tokens are sent with HTTP Basic authentication: your Atlassian account email as the " +
          "username and the token as the password.",
      );
    }
    if (this.refreshTokens.has(token)) {
      throw errors.unauthorized(
        AUTH_MESSAGES.invalidToken,
        "This is a refresh token; exchange it at /site/oauth2/access_token for an access token.",
      );
    }
    throw errors.unauthorized(AUTH_MESSAGES.invalidToken);
  }

  private authenticateBasic(credentials: string): Principal {
    const decoded = decodeBasic(credentials);
    if (decoded === undefined) {
      throw basicUnauthorized(
        AUTH_MESSAGES.malformed,
        "Expected `Authorization: Basic base64(email:api-token)`.",
      );
    }
    const { user, password } = decoded;
    if (user === "x-token-auth") {
      throw basicUnauthorized(
        AUTH_MESSAGES.invalidCredentials,
        "The x-token-auth username is for Git over HTTPS. Send the token to the REST API as " +
          "`Authorization: Bearer <token>`.",
      );
    }
    if (!user.includes("@")) {
      const detail = this.consumers.has(user)
        ? "OAuth consumer credentials are accepted only by /site/oauth2/access_token; exchange them for an " +
          `access token (for example with grant_type=client_credentials). ${APP_PASSWORDS_GONE}`
        : APP_PASSWORDS_GONE;
      throw basicUnauthorized(AUTH_MESSAGES.invalidCredentials, detail);
    }
    const record = this.apiTokens.get(password);
    if (record !== undefined && record.email.toLowerCase() === user.trim().toLowerCase()) {
      if (this.clock.now() >= record.expiresAt) {
        throw basicUnauthorized(AUTH_MESSAGES.invalidCredentials, "This API token has expired.");
      }
      return {
        credentialId: `api_token:${record.accountUuid}`,
        kind: "api_token",
        scopes: new Set(record.scopes),
        accountUuid: record.accountUuid,
        label: record.name,
      };
    }
    if (this.issued.has(password) || this.accessTokens.has(password)) {
      throw basicUnauthorized(
        AUTH_MESSAGES.invalidCredentials,
        "OAuth and access tokens are sent as `Authorization: Bearer <token>`, not with Basic authentication.",
      );
    }
    throw basicUnauthorized(AUTH_MESSAGES.invalidCredentials);
  }

  private accessTokenPrincipal(record: AccessToken): Principal {
    return {
      credentialId: `access_token:${record.id}`,
      kind: "access_token",
      scopes: new Set(record.scopes),
      accountUuid: record.accountUuid,
      binding: record.binding,
      label: record.name,
    };
  }

  // ----- resource binding ----------------------------------------------------------------------------------

  /**
   * Whether the principal's binding (access tokens only) covers the target. Credentials without a binding
   * always pass: their access is a matter of the account's permissions, which the router decides.
   * `workspace` is a slug or UUID; `repository` a slug; `project` a key, looked up from the seeded
   * workspaces when only the repository is given.
   */
  canAccess(principal: Principal, workspace: string, repository?: string, project?: string): boolean {
    return this.bindingFailure(principal, workspace, repository, project) === undefined;
  }

  /**
   * Throws 404 when an access token reaches outside the resource it is bound to. Bitbucket shows a token's
   * pseudo-user nothing outside its resource, and answers private resources a caller cannot see with 404,
   * so the simulator does the same rather than confirm the resource exists.
   */
  checkBinding(principal: Principal, workspace: string, repository?: string, project?: string): void {
    const failure = this.bindingFailure(principal, workspace, repository, project);
    if (failure !== undefined) throw failure;
  }

  private bindingFailure(
    principal: Principal,
    workspace: string,
    repository: string | undefined,
    project: string | undefined,
  ): ApiError | undefined {
    const binding = principal.binding;
    if (binding === undefined) return undefined;
    const bound = this.workspaces.get(norm(binding.workspace));
    const target = norm(workspace);
    const sameWorkspace =
      target === norm(binding.workspace) || (bound !== undefined && target === norm(bound.uuid));
    const repoMissing = () => errors.notFound(BINDING_MESSAGES.repository(workspace, repository ?? ""));
    const projectMissing = () => errors.notFound(BINDING_MESSAGES.project(project ?? ""));
    if (!sameWorkspace) {
      return repository === undefined
        ? errors.notFound(BINDING_MESSAGES.workspace(workspace))
        : repoMissing();
    }
    if (binding.repository !== undefined && repository !== undefined) {
      return norm(repository) === norm(binding.repository) ? undefined : repoMissing();
    }
    if (binding.project !== undefined && binding.repository === undefined) {
      if (repository !== undefined) {
        const key = project ?? bound?.repositories.find((r) => norm(r.slug) === norm(repository))?.projectKey;
        return key !== undefined && norm(key) === norm(binding.project) ? undefined : repoMissing();
      }
      if (project !== undefined && norm(project) !== norm(binding.project)) return projectMissing();
    }
    if (binding.repository !== undefined && repository === undefined && project !== undefined) {
      const key = binding.project;
      if (key === undefined || norm(key) !== norm(project)) return projectMissing();
    }
    return undefined;
  }

  // ----- OAuth 2.0 state -------------------------------------------------------------------------------

  findConsumer(clientId: string): OAuthConsumer | undefined {
    return this.consumers.get(clientId);
  }

  /** The consumer when `clientId` and `clientSecret` match one, compared in constant time. */
  verifyConsumer(clientId: string, clientSecret: string): OAuthConsumer | undefined {
    const consumer = this.consumers.get(clientId);
    return consumer !== undefined && sameSecret(consumer.clientSecret, clientSecret) ? consumer : undefined;
  }

  /** A single-use code, valid for ten minutes, bound to the client, the user and the redirect URI given. */
  createAuthorizationCode(clientId: string, accountUuid: string, redirectUri?: string): string {
    let code = this.issueRng.token(18);
    while (this.codes.has(code)) code = this.issueRng.token(18);
    this.codes.set(code, {
      clientId,
      accountUuid,
      redirectUri,
      expiresAt: this.clock.now() + AUTHORIZATION_CODE_TTL_MS,
    });
    return code;
  }

  /**
   * Consumes the code. Undefined when unknown, already used, expired, issued to another client, or when the
   * redirect URI differs from the one the authorization request named.
   */
  redeemAuthorizationCode(
    code: string,
    clientId: string,
    redirectUri?: string,
  ): { accountUuid: string } | undefined {
    const record = this.codes.get(code);
    if (record === undefined || record.clientId !== clientId) return undefined;
    this.codes.delete(code);
    if (this.clock.now() >= record.expiresAt) return undefined;
    if (record.redirectUri !== undefined && redirectUri !== record.redirectUri) return undefined;
    if (record.redirectUri === undefined && redirectUri !== undefined) {
      const consumer = this.consumers.get(clientId);
      if (consumer === undefined || redirectUri !== consumer.callbackUrl) return undefined;
    }
    return { accountUuid: record.accountUuid };
  }

  /**
   * Issues an access token and a refresh token for a consumer, running as `accountUuid` (default: the
   * consumer's owner, as client_credentials does). Also handy for tests that skip the HTTP flow.
   */
  issueOAuthTokens(clientId: string, accountUuid?: string, grant = "client_credentials"): OAuthTokenResponse {
    const consumer = this.consumers.get(clientId);
    if (consumer === undefined) throw new Error("unknown OAuth consumer");
    return this.issue(consumer, accountUuid ?? consumer.ownerUuid, consumer.scopes, grant);
  }

  /**
   * The refresh_token grant with rotation: a new access token and a new refresh token; the presented refresh
   * token keeps working only for the grace period. Undefined when the token is unknown, belongs to another
   * client, sat unused for three months, or was rotated longer ago than the grace period.
   */
  refreshOAuthTokens(refreshToken: string, clientId: string): OAuthTokenResponse | undefined {
    const record = this.refreshTokens.get(refreshToken);
    if (record === undefined || record.clientId !== clientId) return undefined;
    const now = this.clock.now();
    const dead =
      now >= record.issuedAt + REFRESH_TOKEN_IDLE_MS ||
      (record.rotatedAt !== undefined && now >= record.rotatedAt + this.refreshGraceSeconds * 1000);
    if (dead) {
      this.refreshTokens.delete(refreshToken);
      return undefined;
    }
    const consumer = this.consumers.get(record.clientId);
    if (consumer === undefined) return undefined;
    record.rotatedAt ??= now;
    return this.issue(consumer, record.accountUuid, record.scopes, "refresh_token");
  }

  private issue(
    consumer: OAuthConsumer,
    accountUuid: string,
    scopes: readonly string[],
    grant: string,
  ): OAuthTokenResponse {
    const now = this.clock.now();
    let accessToken = `${this.issueRng.token(87)}=`;
    while (this.issued.has(accessToken)) accessToken = `${this.issueRng.token(87)}=`;
    let refreshToken = this.issueRng.token(24);
    while (this.refreshTokens.has(refreshToken)) refreshToken = this.issueRng.token(24);
    const ttl = this.accessTokenTtlSeconds;
    this.issued.set(accessToken, {
      expiresAt: now + ttl * 1000,
      principal: {
        credentialId: `oauth:${consumer.clientId}`,
        kind: "oauth",
        scopes: new Set(scopes),
        accountUuid,
        label: consumer.name,
      },
    });
    this.refreshTokens.set(refreshToken, { clientId: consumer.clientId, accountUuid, scopes, issuedAt: now });
    return {
      access_token: accessToken,
      scopes: scopes.join(" "),
      expires_in: ttl,
      refresh_token: refreshToken,
      token_type: "bearer",
      state: grant,
    };
  }
}

/**
 * Messages of the 404s `checkBinding` throws. They match the router's own "not found" answers, so a resource
 * outside a token's binding is indistinguishable from one that does not exist.
 */
export const BINDING_MESSAGES = {
  repository: (workspace: string, repository: string) => `Repository ${workspace}/${repository} not found`,
  project: (project: string) => `Project ${project} not found`,
  workspace: (workspace: string) => `No workspace with identifier '${workspace}'.`,
} as const;
