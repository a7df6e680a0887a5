import type { IncomingHttpHeaders } from "node:http";
import { describe, expect, it } from "vitest";
import { handleOAuthRequest } from "../../sim/auth/oauth.js";
import type { Principal } from "../../sim/auth/principal.js";
import {
  AUTH_MESSAGES,
  CredentialRegistry,
  type CredentialRegistryOptions,
  type OAuthTokenResponse,
} from "../../sim/auth/registry.js";
import { expandClassicScopes, INSUFFICIENT_SCOPES_MESSAGE, requireScopes } from "../../sim/auth/scopes.js";
import { SimClock } from "../../sim/clock.js";
import { ApiError } from "../../sim/http/errors.js";
import type { SimRequest, SimResponse } from "../../sim/http/types.js";

const USERS = [
  {
    uuid: "{0b1c2d3e-0000-4000-8000-000000000001}",
    accountId: "557058:owner-0001",
    email: "olive.owner@example.com",
    displayName: "Olive Owner",
    nickname: "olive",
  },
  {
    uuid: "{0b1c2d3e-0000-4000-8000-000000000002}",
    accountId: "557058:member-0002",
    email: "bert.member@example.com",
    displayName: "Bert <Member>",
    nickname: "bert",
  },
];

const WORKSPACES = [
  {
    slug: "acme",
    uuid: "{aaaaaaaa-0000-4000-8000-000000000001}",
    projects: [{ key: "CORE" }, { key: "WEB" }],
    repositories: [
      { slug: "api", projectKey: "CORE" },
      { slug: "site", projectKey: "WEB" },
      { slug: "lib", projectKey: "CORE" },
    ],
  },
  {
    slug: "globex",
    uuid: "{bbbbbbbb-0000-4000-8000-000000000002}",
    projects: [{ key: "OPS" }],
    repositories: [{ slug: "infra", projectKey: "OPS" }],
  },
];

const START = Date.UTC(2026, 10, 1, 12, 0, 0);

function makeRegistry(overrides: Partial<CredentialRegistryOptions> = {}): {
  registry: CredentialRegistry;
  clock: SimClock;
} {
  const clock = overrides.clock ?? new SimClock(() => START);
  const registry = new CredentialRegistry({
    seed: 42,
    clock,
    users: USERS,
    workspaces: WORKSPACES,
    ...overrides,
  });
  return { registry, clock };
}

function request(
  method: string,
  path: string,
  options: { headers?: IncomingHttpHeaders; body?: string } = {},
): SimRequest {
  return {
    method,
    url: new URL(path, "http://localhost:8080"),
    headers: options.headers ?? {},
    body: options.body ?? "",
  };
}

function bearer(token: string): IncomingHttpHeaders {
  return { authorization: `Bearer ${token}` };
}

function basic(user: string, password: string): IncomingHttpHeaders {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` };
}

function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

const FORM = { "content-type": "application/x-www-form-urlencoded" };

/** Runs `fn`, expecting an ApiError; returns it. */
function apiError(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error("expected an ApiError");
}

function authenticated(
  registry: CredentialRegistry,
  headers: IncomingHttpHeaders,
  path = "/2.0/user",
): Principal {
  const principal = registry.authenticate(request("GET", path, { headers }));
  if (principal === undefined) throw new Error("expected a principal");
  return principal;
}

function oauth(registry: CredentialRegistry, req: SimRequest): SimResponse {
  const res = handleOAuthRequest(registry, req);
  if (res === undefined) throw new Error("not an OAuth path");
  return res;
}

function tokenRequest(
  registry: CredentialRegistry,
  fields: Record<string, string>,
  clientId?: string,
  secret?: string,
) {
  const consumer = registry.defaultConsumer;
  const headers = { ...FORM, ...basic(clientId ?? consumer.clientId, secret ?? consumer.clientSecret) };
  return oauth(registry, request("POST", "/site/oauth2/access_token", { headers, body: form(fields) }));
}

function tokens(res: SimResponse): OAuthTokenResponse {
  expect(res.status).toBe(200);
  return JSON.parse(res.body) as OAuthTokenResponse;
}

function oauthBody(res: SimResponse): { error: string; error_description: string } {
  return JSON.parse(res.body) as { error: string; error_description: string };
}

/** Walks the browser part of the authorization-code flow and returns the code. */
function authorize(registry: CredentialRegistry, fields: Record<string, string> = {}): string {
  const res = oauth(
    registry,
    request("POST", "/site/oauth2/authorize", {
      headers: FORM,
      body: form({
        client_id: registry.defaultConsumer.clientId,
        response_type: "code",
        state: "xyz",
        decision: "grant",
        ...fields,
      }),
    }),
  );
  expect(res.status).toBe(302);
  const code = new URL(res.headers.Location ?? "").searchParams.get("code");
  if (code === null) throw new Error("no code in the redirect");
  return code;
}

const PR_READ = { classic: ["pullrequest"], granular: ["read:pullrequest:bitbucket"] };
const REPO_READ = { classic: ["repository"], granular: ["read:repository:bitbucket"] };

// -----------------------------------------------------------------------------------------------------------

describe("seeded credentials", () => {
  it("describes consumers, API tokens and access tokens with ready-to-use headers", () => {
    const { registry } = makeRegistry();
    const creds = registry.credentials();
    expect(JSON.parse(JSON.stringify(creds))).toEqual(creds);
    expect(creds.owner.email).toBe("olive.owner@example.com");
    expect(creds.oauth.tokenUrl).toBe("http://localhost:8080/site/oauth2/access_token");
    expect(creds.oauth.accessTokenTtlSeconds).toBe(3600);

    const [full, limited] = creds.oauth.consumers;
    expect(full?.scopes).toEqual([
      "account",
      "email",
      "repository",
      "pullrequest",
      "pipeline",
      "project",
      "team",
      "webhook",
      "issue",
      "snippet",
      "wiki",
      "runner",
    ]);
    expect(full?.callbackUrl).toBe("http://localhost:33333");
    expect(limited?.scopes).toEqual(["account", "repository"]);
    expect(full?.tokenEndpointAuthorization).toBe(
      `Basic ${Buffer.from(`${full?.clientId}:${full?.clientSecret}`).toString("base64")}`,
    );
    expect(full?.authorizeUrl).toContain(`client_id=${full?.clientId}`);

    expect(creds.apiTokens).toHaveLength(2);
    expect(creds.apiTokens[0]?.scopes).toContain("read:pullrequest:bitbucket");
    expect(creds.apiTokens[0]?.scopes).toContain("read:workspace:bitbucket");
    expect(creds.apiTokens[0]?.scopes.every((s) => s.startsWith("read:"))).toBe(true);
    expect(creds.apiTokens[1]?.scopes).toEqual(["read:repository:bitbucket"]);
    expect(creds.apiTokens[0]?.token).toMatch(/^ATATT/);
    expect(creds.apiTokens[0]?.expiresAt).toBe(new Date(START + 365 * 86_400_000).toISOString());

    expect(creds.accessTokens.map((t) => [t.type, t.workspace, t.project, t.repository])).toEqual([
      ["workspace", "acme", undefined, undefined],
      ["workspace", "globex", undefined, undefined],
      ["project", "acme", "CORE", undefined],
      ["repository", "acme", "CORE", "api"],
    ]);
    for (const t of creds.accessTokens) {
      expect(t.authorization).toBe(`Bearer ${t.token}`);
      expect(t.scopes).not.toContain("issue"); // access tokens cannot hold issue scopes
    }
    expect(creds.accessTokens[0]?.scopes).toContain("account");
    expect(creds.accessTokens[3]?.scopes).not.toContain("account");
  });

  it("every printed header authenticates", () => {
    const { registry } = makeRegistry();
    const creds = registry.credentials();
    for (const t of [...creds.apiTokens, ...creds.accessTokens]) {
      expect(authenticated(registry, { authorization: t.authorization })).toBeDefined();
    }
  });

  it("is deterministic: same seed, same secrets; another seed, other secrets", () => {
    const a = makeRegistry({ seed: 7 }).registry;
    const b = makeRegistry({ seed: 7 }).registry;
    const c = makeRegistry({ seed: 8 }).registry;
    expect(a.credentials()).toEqual(b.credentials());
    const secrets = (r: CredentialRegistry) => [
      r.defaultConsumer.clientSecret,
      r.defaultApiToken.token,
      ...r.listAccessTokens().map((t) => t.token),
    ];
    for (const [x, y] of secrets(a).map((s, i) => [s, secrets(c)[i]])) expect(x).not.toBe(y);
    // Dynamic credentials and issued OAuth tokens follow the seed too.
    expect(a.createApiToken({ email: USERS[1]?.email ?? "", scopes: [] }).token).toBe(
      b.createApiToken({ email: USERS[1]?.email ?? "", scopes: [] }).token,
    );
    expect(a.issueOAuthTokens(a.defaultConsumer.clientId)).toEqual(
      b.issueOAuthTokens(b.defaultConsumer.clientId),
    );
  });

  it("needs an owner", () => {
    expect(() => makeRegistry({ users: [] })).toThrow(/at least one user/);
  });
});

describe("authenticate", () => {
  it("treats a request without Authorization as anonymous", () => {
    const { registry } = makeRegistry();
    expect(registry.authenticate(request("GET", "/2.0/repositories/acme"))).toBeUndefined();
    expect(
      registry.authenticate(request("GET", "/2.0/user", { headers: { authorization: "  " } })),
    ).toBeUndefined();
  });

  it("refuses tokens passed as a query parameter", () => {
    const { registry } = makeRegistry();
    const err = apiError(() => registry.authenticate(request("GET", "/2.0/user?access_token=abc")));
    expect(err.status).toBe(401);
    expect(err.detail).toContain("Bearer");
  });

  it("accepts an API token with Basic email:token", () => {
    const { registry } = makeRegistry();
    const t = registry.defaultApiToken;
    const principal = authenticated(registry, basic("Olive.Owner@Example.com", t.token));
    expect(principal.kind).toBe("api_token");
    expect(principal.accountUuid).toBe(USERS[0]?.uuid);
    expect(principal.credentialId).toBe(`api_token:${USERS[0]?.uuid}`);
    expect(principal.scopes.has("read:repository:bitbucket")).toBe(true);
    expect(principal.binding).toBeUndefined();
    // One rate-limit budget per user, whichever of their tokens is used.
    expect(authenticated(registry, basic(t.email, registry.limitedApiToken.token)).credentialId).toBe(
      principal.credentialId,
    );
  });

  it("rejects a wrong API token with 401 and never echoes secrets", () => {
    const { registry } = makeRegistry();
    const wrong = `${registry.defaultApiToken.token}x`;
    const err = apiError(() =>
      registry.authenticate(request("GET", "/2.0/user", { headers: basic(USERS[0]?.email ?? "", wrong) })),
    );
    expect(err.status).toBe(401);
    expect(err.message).toBe(AUTH_MESSAGES.invalidCredentials);
    expect(err.headers["WWW-Authenticate"]).toMatch(/^Basic /);
    expect(JSON.stringify(err.envelope())).not.toContain(wrong);
    // Someone else's email with a valid token fails too.
    const other = apiError(() =>
      registry.authenticate(
        request("GET", "/2.0/user", {
          headers: basic(USERS[1]?.email ?? "", registry.defaultApiToken.token),
        }),
      ),
    );
    expect(other.status).toBe(401);
  });

  it("explains the app-password removal when the Basic username is not an email", () => {
    const { registry } = makeRegistry();
    const err = apiError(() =>
      registry.authenticate(request("GET", "/2.0/user", { headers: basic("olive", "app-password-123") })),
    );
    expect(err.status).toBe(401);
    expect(err.detail).toContain("2026-07-28");
    expect(err.detail).toMatch(/app password/i);
    expect(JSON.stringify(err.envelope())).not.toContain("app-password-123");
  });

  it("tells consumers that client credentials only work at the token endpoint", () => {
    const { registry } = makeRegistry();
    const c = registry.defaultConsumer;
    const err = apiError(() =>
      registry.authenticate(request("GET", "/2.0/user", { headers: basic(c.clientId, c.clientSecret) })),
    );
    expect(err.status).toBe(401);
    expect(err.detail).toContain("client_credentials");
    expect(JSON.stringify(err.envelope())).not.toContain(c.clientSecret);
  });

  it("rejects OAuth and access tokens sent with Basic", () => {
    const { registry } = makeRegistry();
    const oauthToken = registry.issueOAuthTokens(registry.defaultConsumer.clientId).access_token;
    const accessToken = registry.listAccessTokens()[0]?.token ?? "";
    for (const headers of [
      basic(USERS[0]?.email ?? "", oauthToken),
      basic(USERS[0]?.email ?? "", accessToken),
      basic("x-token-auth", oauthToken),
    ]) {
      const err = apiError(() => registry.authenticate(request("GET", "/2.0/user", { headers })));
      expect(err.status).toBe(401);
      expect(err.detail).toContain("Bearer");
      expect(JSON.stringify(err.envelope())).not.toContain(oauthToken);
    }
  });

  it("rejects malformed headers and unknown schemes", () => {
    const { registry } = makeRegistry();
    for (const authorization of [
      "Basic !!!",
      "Basic",
      `Basic ${Buffer.from("nocolon").toString("base64")}`,
      "Bearer",
      "Bearer a b",
      "Token abc",
      "JWT abc",
    ]) {
      const err = apiError(() =>
        registry.authenticate(request("GET", "/2.0/user", { headers: { authorization } })),
      );
      expect(err.status, authorization).toBe(401);
    }
  });

  it("rejects API tokens sent as Bearer, and unknown Bearer tokens", () => {
    const { registry } = makeRegistry();
    const api = apiError(() => authenticated(registry, bearer(registry.defaultApiToken.token)));
    expect(api.status).toBe(401);
    expect(api.detail).toContain("Basic");
    const unknown = apiError(() => authenticated(registry, bearer("nope")));
    expect(unknown.message).toBe(AUTH_MESSAGES.invalidToken);
    expect(unknown.headers["WWW-Authenticate"]).toMatch(/^Bearer /);
  });

  it("accepts access tokens as Bearer, with their binding and pseudo-user", () => {
    const { registry } = makeRegistry();
    const repoToken = registry.listAccessTokens().find((t) => t.type === "repository");
    const principal = authenticated(registry, bearer(repoToken?.token ?? ""));
    expect(principal.kind).toBe("access_token");
    expect(principal.binding).toEqual({ workspace: "acme", project: "CORE", repository: "api" });
    expect(principal.accountUuid).toBe(repoToken?.accountUuid);
    expect(USERS.map((u) => u.uuid)).not.toContain(principal.accountUuid);
    expect(principal.credentialId).toBe(`access_token:${repoToken?.id}`);
    expect(principal.label).toBe("acme/api repository token");
  });

  it("rejects an expired API token", () => {
    const { registry, clock } = makeRegistry();
    const t = registry.createApiToken({
      email: USERS[1]?.email ?? "",
      scopes: ["read:user:bitbucket"],
      expiresInDays: 1,
    });
    expect(authenticated(registry, basic(t.email, t.token)).accountUuid).toBe(USERS[1]?.uuid);
    clock.advance(86_400_000);
    const err = apiError(() => authenticated(registry, basic(t.email, t.token)));
    expect(err.status).toBe(401);
    expect(err.detail).toContain("expired");
  });
});

describe("requireScopes", () => {
  it("passes when every granular scope is present", () => {
    const { registry } = makeRegistry();
    const principal = authenticated(registry, basic(USERS[0]?.email ?? "", registry.defaultApiToken.token));
    expect(() => requireScopes(principal, PR_READ)).not.toThrow();
  });

  it("names the missing granular scope in a 403", () => {
    const { registry } = makeRegistry();
    const principal = authenticated(registry, basic(USERS[0]?.email ?? "", registry.limitedApiToken.token));
    expect(() => requireScopes(principal, REPO_READ)).not.toThrow();
    const err = apiError(() => requireScopes(principal, PR_READ));
    expect(err.status).toBe(403);
    expect(err.message).toBe(INSUFFICIENT_SCOPES_MESSAGE);
    expect(err.detail).toContain("read:pullrequest:bitbucket");
    expect(err.data).toEqual({
      required: ["read:pullrequest:bitbucket"],
      granted: ["read:repository:bitbucket"],
      missing: ["read:pullrequest:bitbucket"],
    });
  });

  it("gives granular scopes no implications", () => {
    const { registry } = makeRegistry();
    const t = registry.createApiToken({
      email: USERS[0]?.email ?? "",
      scopes: ["write:repository:bitbucket", "read:pullrequest:bitbucket"],
    });
    const principal = authenticated(registry, basic(t.email, t.token));
    expect(apiError(() => requireScopes(principal, REPO_READ)).data?.missing).toEqual([
      "read:repository:bitbucket",
    ]);
  });

  it("names the missing classic scope for a limited consumer", () => {
    const { registry } = makeRegistry();
    const token = registry.issueOAuthTokens(registry.limitedConsumer.clientId).access_token;
    const principal = authenticated(registry, bearer(token));
    expect(() => requireScopes(principal, REPO_READ)).not.toThrow();
    const err = apiError(() => requireScopes(principal, PR_READ));
    expect(err.status).toBe(403);
    expect(err.detail).toContain("Missing scope: pullrequest");
    expect(err.data).toMatchObject({ required: ["pullrequest"], granted: ["account", "repository"] });
  });

  it("applies Bitbucket's classic implications", () => {
    expect([...expandClassicScopes(["pullrequest"])].sort()).toEqual(["pullrequest", "repository"]);
    expect([...expandClassicScopes(["project"])].sort()).toEqual(["project", "repository"]);
    expect([...expandClassicScopes(["pullrequest:write"])].sort()).toEqual([
      "pullrequest",
      "pullrequest:write",
      "repository",
      "repository:write",
    ]);
    expect([...expandClassicScopes(["account"])].sort()).toEqual(["account", "email"]);
    expect([...expandClassicScopes(["pipeline:variable"])].sort()).toEqual(["pipeline", "pipeline:variable"]);
    // :admin and :delete imply nothing; repository does not imply pullrequest.
    expect([...expandClassicScopes(["repository:admin", "project:admin", "repository:delete"])]).toHaveLength(
      3,
    );
    expect(expandClassicScopes(["repository"]).has("pullrequest")).toBe(false);

    const { registry } = makeRegistry();
    const consumer = registry.createConsumer({ scopes: ["pullrequest"] });
    const principal = authenticated(
      registry,
      bearer(registry.issueOAuthTokens(consumer.clientId).access_token),
    );
    expect(() => requireScopes(principal, REPO_READ)).not.toThrow();
    const admin = registry.createConsumer({ scopes: ["repository:admin"] });
    const adminPrincipal = authenticated(
      registry,
      bearer(registry.issueOAuthTokens(admin.clientId).access_token),
    );
    expect(apiError(() => requireScopes(adminPrincipal, REPO_READ)).status).toBe(403);
  });

  it("checks access tokens against classic scopes", () => {
    const { registry } = makeRegistry();
    const repoToken = registry.listAccessTokens().find((t) => t.type === "repository");
    const principal = authenticated(registry, bearer(repoToken?.token ?? ""));
    expect(() => requireScopes(principal, PR_READ)).not.toThrow();
    expect(
      apiError(() => requireScopes(principal, { classic: ["account"], granular: ["read:user:bitbucket"] }))
        .status,
    ).toBe(403);
  });

  it("passes operations that list no scope of the caller's style", () => {
    const { registry } = makeRegistry();
    const principal = authenticated(registry, basic(USERS[0]?.email ?? "", registry.limitedApiToken.token));
    expect(() => requireScopes(principal, { classic: ["pullrequest"], granular: [] })).not.toThrow();
  });
});

describe("access-token binding", () => {
  function principalOf(registry: CredentialRegistry, type: string): Principal {
    const t = registry.listAccessTokens().find((x) => x.type === type);
    return authenticated(registry, bearer(t?.token ?? ""));
  }

  it("keeps a repository token on its repository (404 elsewhere)", () => {
    const { registry } = makeRegistry();
    const p = principalOf(registry, "repository");
    expect(() => registry.checkBinding(p, "acme", "api")).not.toThrow();
    expect(() => registry.checkBinding(p, "ACME", "API")).not.toThrow();
    expect(() => registry.checkBinding(p, "{aaaaaaaa-0000-4000-8000-000000000001}", "api")).not.toThrow();
    expect(() => registry.checkBinding(p, "acme")).not.toThrow(); // workspace-level calls are for the router
    expect(apiError(() => registry.checkBinding(p, "acme", "lib")).envelope()).toEqual({
      type: "error",
      error: { message: "Repository acme/lib not found" },
    });
    expect(apiError(() => registry.checkBinding(p, "globex", "infra")).status).toBe(404);
    expect(apiError(() => registry.checkBinding(p, "globex")).status).toBe(404);
    expect(apiError(() => registry.checkBinding(p, "acme", undefined, "WEB")).status).toBe(404);
    expect(registry.canAccess(p, "acme", "api")).toBe(true);
    expect(registry.canAccess(p, "acme", "site")).toBe(false);
  });

  it("keeps a project token on its project's repositories", () => {
    const { registry } = makeRegistry();
    const p = principalOf(registry, "project");
    expect(registry.canAccess(p, "acme", "api")).toBe(true);
    expect(registry.canAccess(p, "acme", "lib")).toBe(true);
    expect(registry.canAccess(p, "acme", "site")).toBe(false);
    expect(registry.canAccess(p, "acme", "brand-new", "CORE")).toBe(true); // project passed explicitly
    expect(registry.canAccess(p, "acme", "unknown")).toBe(false);
    expect(registry.canAccess(p, "acme", undefined, "WEB")).toBe(false);
  });

  it("keeps a workspace token in its workspace", () => {
    const { registry } = makeRegistry();
    const p = principalOf(registry, "workspace");
    expect(registry.canAccess(p, "acme", "site")).toBe(true);
    expect(registry.canAccess(p, "acme")).toBe(true);
    expect(registry.canAccess(p, "globex", "infra")).toBe(false);
  });

  it("does not restrict user credentials", () => {
    const { registry } = makeRegistry();
    const p = authenticated(registry, basic(USERS[0]?.email ?? "", registry.defaultApiToken.token));
    expect(() => registry.checkBinding(p, "globex", "infra")).not.toThrow();
  });

  it("creates bound tokens on demand, with the scopes Bitbucket offers per type", () => {
    const { registry } = makeRegistry();
    const t = registry.createAccessToken({
      binding: { workspace: "globex", repository: "infra" },
      scopes: ["repository"],
    });
    expect(t.type).toBe("repository");
    expect(t.binding.project).toBe("OPS");
    const p = authenticated(registry, bearer(t.token));
    expect(registry.canAccess(p, "globex", "infra")).toBe(true);
    expect(() => registry.createAccessToken({ binding: { workspace: "acme" }, scopes: ["issue"] })).toThrow(
      /issue/,
    );
    expect(() =>
      registry.createAccessToken({ binding: { workspace: "acme", repository: "api" }, scopes: ["account"] }),
    ).toThrow();
    expect(
      registry.createAccessToken({ binding: { workspace: "acme" }, scopes: ["project:admin", "account"] })
        .type,
    ).toBe("workspace");
  });

  it("validates dynamic API tokens and consumers", () => {
    const { registry } = makeRegistry();
    expect(() => registry.createApiToken({ email: "stranger@example.com", scopes: [] })).toThrow();
    expect(() => registry.createApiToken({ email: USERS[0]?.email ?? "", scopes: ["repository"] })).toThrow();
    expect(() =>
      registry.createApiToken({ email: USERS[0]?.email ?? "", scopes: [], expiresInDays: 400 }),
    ).toThrow();
    expect(() => registry.createConsumer({ scopes: ["read:repository:bitbucket"] })).toThrow();
    expect(() => registry.createConsumer({ scopes: ["repository"], callbackUrl: "not a url" })).toThrow();
  });
});

// -----------------------------------------------------------------------------------------------------------

describe("OAuth consent page", () => {
  it("renders a form that posts the request back", () => {
    const { registry } = makeRegistry();
    const id = registry.defaultConsumer.clientId;
    const res = oauth(
      registry,
      request("GET", `/site/oauth2/authorize?client_id=${id}&response_type=code&state=s1`),
    );
    expect(res.status).toBe(200);
    expect(res.headers["Content-Type"]).toMatch(/^text\/html/);
    expect(res.body).toContain('<form method="post" action="/site/oauth2/authorize">');
    expect(res.body).toContain(`<input type="hidden" name="client_id" value="${id}">`);
    expect(res.body).toContain('<input type="hidden" name="state" value="s1">');
    expect(res.body).toContain('name="decision" value="grant">Grant access</button>');
    expect(res.body).toContain("<code>pullrequest</code>");
    expect(res.body).toContain("Olive Owner");
    expect(res.body).not.toContain(registry.defaultConsumer.clientSecret);
  });

  it("escapes every reflected value", () => {
    const { registry } = makeRegistry();
    const evil = registry.createConsumer({ scopes: ["account"], name: `<b onclick="x">Evil & Co</b>` });
    const state = `"><script>alert('x')</script>`;
    const res = oauth(
      registry,
      request(
        "GET",
        `/site/oauth2/authorize?${form({ client_id: evil.clientId, response_type: "code", state })}`,
      ),
    );
    expect(res.status).toBe(200);
    expect(res.body).not.toContain("<script>");
    expect(res.body).not.toContain("<b onclick");
    expect(res.body).toContain("&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
    expect(res.body).toContain("&lt;b onclick=&quot;x&quot;&gt;Evil &amp; Co&lt;/b&gt;");
    expect(res.body).toContain("Bert &lt;Member&gt;"); // user names in the account picker
  });

  it("shows an HTML error page for an unknown client or a foreign redirect_uri", () => {
    const { registry } = makeRegistry();
    const unknown = oauth(
      registry,
      request("GET", "/site/oauth2/authorize?client_id=<nobody>&response_type=code"),
    );
    expect(unknown.status).toBe(400);
    expect(unknown.headers["Content-Type"]).toMatch(/^text\/html/);
    expect(unknown.body).not.toContain("<nobody>");
    const id = registry.defaultConsumer.clientId;
    const foreign = oauth(
      registry,
      request(
        "GET",
        `/site/oauth2/authorize?client_id=${id}&response_type=code&redirect_uri=https://evil.example/cb`,
      ),
    );
    expect(foreign.status).toBe(400);
    expect(foreign.headers.Location).toBeUndefined();
    const matching = oauth(
      registry,
      request(
        "GET",
        `/site/oauth2/authorize?${form({ client_id: id, response_type: "code", redirect_uri: "http://localhost:33333" })}`,
      ),
    );
    expect(matching.status).toBe(200);
    expect(matching.body).toContain('name="redirect_uri" value="http://localhost:33333"');
  });

  it("redirects an unsupported response_type back with an error", () => {
    const { registry } = makeRegistry();
    const res = oauth(
      registry,
      request(
        "GET",
        `/site/oauth2/authorize?client_id=${registry.defaultConsumer.clientId}&response_type=token&state=q`,
      ),
    );
    expect(res.status).toBe(302);
    const location = new URL(res.headers.Location ?? "");
    expect(location.searchParams.get("error")).toBe("unsupported_response_type");
    expect(location.searchParams.get("state")).toBe("q");
  });
});

describe("OAuth authorization decision", () => {
  it("redirects a grant to the callback with code and state", () => {
    const { registry } = makeRegistry();
    const res = oauth(
      registry,
      request("POST", "/site/oauth2/authorize", {
        headers: FORM,
        body: form({
          client_id: registry.defaultConsumer.clientId,
          response_type: "code",
          state: "a b&c",
          decision: "grant",
        }),
      }),
    );
    expect(res.status).toBe(302);
    const location = new URL(res.headers.Location ?? "");
    expect(location.origin + location.pathname).toBe("http://localhost:33333/");
    expect(location.searchParams.get("state")).toBe("a b&c");
    expect(location.searchParams.get("code")).toMatch(/^[\w-]{18}$/);
  });

  it("redirects a denial with access_denied and the state", () => {
    const { registry } = makeRegistry();
    const res = oauth(
      registry,
      request("POST", "/site/oauth2/authorize", {
        headers: FORM,
        body: form({
          client_id: registry.defaultConsumer.clientId,
          response_type: "code",
          state: "s9",
          decision: "deny",
        }),
      }),
    );
    expect(res.status).toBe(302);
    const location = new URL(res.headers.Location ?? "");
    expect(location.searchParams.get("error")).toBe("access_denied");
    expect(location.searchParams.get("state")).toBe("s9");
    expect(location.searchParams.has("code")).toBe(false);
  });

  it("keeps the callback's own query parameters and omits an absent state", () => {
    const { registry } = makeRegistry();
    const consumer = registry.createConsumer({
      scopes: ["account"],
      callbackUrl: "https://app.example/cb?tenant=7",
    });
    const res = oauth(
      registry,
      request("POST", "/site/oauth2/authorize", {
        headers: FORM,
        body: form({ client_id: consumer.clientId, response_type: "code", decision: "grant" }),
      }),
    );
    const location = new URL(res.headers.Location ?? "");
    expect(location.searchParams.get("tenant")).toBe("7");
    expect(location.searchParams.has("state")).toBe(false);
  });

  it("rejects a missing decision and an unknown account", () => {
    const { registry } = makeRegistry();
    const base = { client_id: registry.defaultConsumer.clientId, response_type: "code" };
    expect(
      oauth(registry, request("POST", "/site/oauth2/authorize", { headers: FORM, body: form(base) })).status,
    ).toBe(400);
    expect(
      oauth(
        registry,
        request("POST", "/site/oauth2/authorize", {
          headers: FORM,
          body: form({ ...base, decision: "grant", account_id: "nobody" }),
        }),
      ).status,
    ).toBe(400);
  });
});

describe("OAuth token endpoint", () => {
  it("exchanges a code once, for tokens acting as the authorizing user", () => {
    const { registry } = makeRegistry();
    const code = authorize(registry, { account_id: USERS[1]?.uuid ?? "" });
    const body = tokens(tokenRequest(registry, { grant_type: "authorization_code", code }));
    expect(body).toMatchObject({
      scopes: registry.defaultConsumer.scopes.join(" "),
      expires_in: 3600,
      token_type: "bearer",
      state: "authorization_code",
    });
    expect(Object.keys(body)).toEqual([
      "access_token",
      "scopes",
      "expires_in",
      "refresh_token",
      "token_type",
      "state",
    ]);
    const principal = authenticated(registry, bearer(body.access_token));
    expect(principal).toMatchObject({ kind: "oauth", accountUuid: USERS[1]?.uuid });
    expect(principal.credentialId).toBe(`oauth:${registry.defaultConsumer.clientId}`);

    const again = tokenRequest(registry, { grant_type: "authorization_code", code });
    expect(again.status).toBe(400);
    expect(oauthBody(again).error).toBe("invalid_grant");
  });

  it("defaults the authorizing user to the owner", () => {
    const { registry } = makeRegistry();
    const body = tokens(
      tokenRequest(registry, { grant_type: "authorization_code", code: authorize(registry) }),
    );
    expect(authenticated(registry, bearer(body.access_token)).accountUuid).toBe(USERS[0]?.uuid);
  });

  it("expires codes after ten minutes and binds them to the client and redirect_uri", () => {
    const { registry, clock } = makeRegistry();
    const stale = authorize(registry);
    clock.advance(10 * 60 * 1000);
    expect(oauthBody(tokenRequest(registry, { grant_type: "authorization_code", code: stale })).error).toBe(
      "invalid_grant",
    );

    const other = registry.limitedConsumer;
    const foreign = authorize(registry);
    const res = tokenRequest(
      registry,
      { grant_type: "authorization_code", code: foreign },
      other.clientId,
      other.clientSecret,
    );
    expect(oauthBody(res).error).toBe("invalid_grant");

    const withRedirect = authorize(registry, { redirect_uri: "http://localhost:33333" });
    expect(
      oauthBody(tokenRequest(registry, { grant_type: "authorization_code", code: withRedirect })).error,
    ).toBe("invalid_grant");
    const ok = authorize(registry, { redirect_uri: "http://localhost:33333" });
    tokens(
      tokenRequest(registry, {
        grant_type: "authorization_code",
        code: ok,
        redirect_uri: "http://localhost:33333",
      }),
    );
  });

  it("issues client_credentials tokens that act as the consumer's owner", () => {
    const { registry } = makeRegistry();
    const body = tokens(tokenRequest(registry, { grant_type: "client_credentials" }));
    expect(body.state).toBe("client_credentials");
    expect(body.refresh_token).toMatch(/^[\w-]{24}$/);
    expect(authenticated(registry, bearer(body.access_token)).accountUuid).toBe(USERS[0]?.uuid);
  });

  it("accepts client credentials as form fields", () => {
    const { registry } = makeRegistry();
    const c = registry.limitedConsumer;
    const res = oauth(
      registry,
      request("POST", "/site/oauth2/access_token", {
        headers: FORM,
        body: form({
          grant_type: "client_credentials",
          client_id: c.clientId,
          client_secret: c.clientSecret,
        }),
      }),
    );
    expect(tokens(res).scopes).toBe("account repository");
  });

  it("rejects missing, wrong and conflicting client credentials", () => {
    const { registry } = makeRegistry();
    const c = registry.defaultConsumer;
    const none = oauth(
      registry,
      request("POST", "/site/oauth2/access_token", {
        headers: FORM,
        body: form({ grant_type: "client_credentials" }),
      }),
    );
    expect(none.status).toBe(401);
    expect(oauthBody(none).error).toBe("unauthorized_client");

    const wrongSecret = `${c.clientSecret}0`;
    const wrong = tokenRequest(registry, { grant_type: "client_credentials" }, c.clientId, wrongSecret);
    expect(wrong.status).toBe(401);
    expect(oauthBody(wrong).error).toBe("invalid_client");
    expect(wrong.body).not.toContain(wrongSecret);
    expect(wrong.headers["WWW-Authenticate"]).toMatch(/^Basic /);

    const conflicting = tokenRequest(registry, {
      grant_type: "client_credentials",
      client_id: registry.limitedConsumer.clientId,
    });
    expect(conflicting.status).toBe(400);
    expect(oauthBody(conflicting).error).toBe("invalid_request");
  });

  it("rotates refresh tokens; the old one dies after the grace period", () => {
    const { registry, clock } = makeRegistry();
    const first = tokens(
      tokenRequest(registry, { grant_type: "authorization_code", code: authorize(registry) }),
    );
    const second = tokens(
      tokenRequest(registry, { grant_type: "refresh_token", refresh_token: first.refresh_token }),
    );
    expect(second.state).toBe("refresh_token");
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.access_token).not.toBe(first.access_token);
    expect(authenticated(registry, bearer(second.access_token)).accountUuid).toBe(USERS[0]?.uuid);

    clock.advance(60_000);
    const stale = tokenRequest(registry, { grant_type: "refresh_token", refresh_token: first.refresh_token });
    expect(stale.status).toBe(400);
    expect(oauthBody(stale)).toEqual({
      error: "invalid_request",
      error_description: "Invalid refresh_token",
    });
    tokens(tokenRequest(registry, { grant_type: "refresh_token", refresh_token: second.refresh_token }));
  });

  it("lets a rotated refresh token work within the grace period, and not at all with grace 0", () => {
    const { registry, clock } = makeRegistry();
    const first = tokens(tokenRequest(registry, { grant_type: "client_credentials" }));
    tokens(tokenRequest(registry, { grant_type: "refresh_token", refresh_token: first.refresh_token }));
    clock.advance(59_000);
    tokens(tokenRequest(registry, { grant_type: "refresh_token", refresh_token: first.refresh_token }));

    registry.setRefreshTokenGrace(0);
    const next = tokens(tokenRequest(registry, { grant_type: "client_credentials" }));
    tokens(tokenRequest(registry, { grant_type: "refresh_token", refresh_token: next.refresh_token }));
    expect(
      tokenRequest(registry, { grant_type: "refresh_token", refresh_token: next.refresh_token }).status,
    ).toBe(400);
  });

  it("rejects refresh tokens of another client and ones unused for three months", () => {
    const { registry, clock } = makeRegistry();
    const first = tokens(tokenRequest(registry, { grant_type: "client_credentials" }));
    const other = registry.limitedConsumer;
    expect(
      tokenRequest(
        registry,
        { grant_type: "refresh_token", refresh_token: first.refresh_token },
        other.clientId,
        other.clientSecret,
      ).status,
    ).toBe(400);
    clock.advance(90 * 86_400_000);
    expect(
      tokenRequest(registry, { grant_type: "refresh_token", refresh_token: first.refresh_token }).status,
    ).toBe(400);
    expect(tokenRequest(registry, { grant_type: "refresh_token" }).status).toBe(400);
  });

  it("expires access tokens on the SimClock with 401 Access token expired.", () => {
    const { registry, clock } = makeRegistry();
    const body = tokens(tokenRequest(registry, { grant_type: "client_credentials" }));
    clock.advance(3_599_000);
    expect(authenticated(registry, bearer(body.access_token)).kind).toBe("oauth");
    clock.advance(1000);
    const err = apiError(() => authenticated(registry, bearer(body.access_token)));
    expect(err.status).toBe(401);
    expect(err.envelope()).toEqual({ type: "error", error: { message: "Access token expired." } });
    // A refresh brings back a working token.
    const fresh = tokens(
      tokenRequest(registry, { grant_type: "refresh_token", refresh_token: body.refresh_token }),
    );
    expect(authenticated(registry, bearer(fresh.access_token)).kind).toBe("oauth");
  });

  it("takes the access-token lifetime from the option and from setAccessTokenTtl", () => {
    const { registry, clock } = makeRegistry({ accessTokenTtlSeconds: 120 });
    const short = tokens(tokenRequest(registry, { grant_type: "client_credentials" }));
    expect(short.expires_in).toBe(120);
    registry.setAccessTokenTtl(30);
    const shorter = tokens(tokenRequest(registry, { grant_type: "client_credentials" }));
    expect(shorter.expires_in).toBe(30);
    clock.advance(30_000);
    expect(apiError(() => authenticated(registry, bearer(shorter.access_token))).message).toBe(
      AUTH_MESSAGES.expired,
    );
    expect(authenticated(registry, bearer(short.access_token)).kind).toBe("oauth");
    expect(() => registry.setAccessTokenTtl(0)).toThrow(RangeError);
  });

  it("answers other grants with unsupported_grant_type", () => {
    const { registry } = makeRegistry();
    for (const [fields, description] of [
      [{ grant_type: "password", username: "u", password: "p" }, "Unsupported grant type: password"],
      [{}, "Unsupported grant type: None"],
    ] as const) {
      const res = tokenRequest(registry, fields);
      expect(res.status).toBe(400);
      expect(oauthBody(res)).toEqual({ error: "unsupported_grant_type", error_description: description });
    }
    const c = registry.defaultConsumer;
    const json = oauth(
      registry,
      request("POST", "/site/oauth2/access_token", {
        headers: { "content-type": "application/json", ...basic(c.clientId, c.clientSecret) },
        body: JSON.stringify({ grant_type: "client_credentials" }),
      }),
    );
    expect(oauthBody(json).error_description).toBe("Unsupported grant type: None");
    expect(oauthBody(tokenRequest(registry, { grant_type: "urn:bitbucket:oauth2:jwt" })).error).toBe(
      "unsupported_grant_type",
    );
  });

  it("accepts POST only and ignores non-OAuth paths", () => {
    const { registry } = makeRegistry();
    const res = oauth(registry, request("GET", "/site/oauth2/access_token"));
    expect(res.status).toBe(405);
    expect(res.headers.Allow).toBe("POST");
    expect(handleOAuthRequest(registry, request("GET", "/2.0/user"))).toBeUndefined();
  });

  it("sends no-store caching headers with tokens", () => {
    const { registry } = makeRegistry();
    const res = tokenRequest(registry, { grant_type: "client_credentials" });
    expect(res.headers["Cache-Control"]).toBe("no-store");
    expect(res.headers["Content-Type"]).toMatch(/^application\/json/);
  });
});
