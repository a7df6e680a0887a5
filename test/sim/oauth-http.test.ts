import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  call,
  control,
  errorMessage,
  type Json,
  type Reply,
  repoPath,
  type Sim,
  startSim,
} from "./sim-http.js";

// OAuth 2.0, API tokens and access tokens, end to end over HTTP as a connector would use them.

let sim: Sim;
let ws: string;
let repos: string[];

const FORM = { "content-type": "application/x-www-form-urlencoded" };

beforeAll(async () => {
  sim = await startSim({ seed: 12, scale: "tiny" });
  const workspace = sim.sim.data.workspaces[0];
  if (!workspace) throw new Error("no workspace");
  ws = workspace.slug;
  repos = workspace.repositories.map((r) => r.slug);
});

afterAll(async () => {
  await sim.stop();
});

beforeEach(async () => {
  await control(sim, "POST", "/reset");
});

function consumer(name: string) {
  const found = sim.creds.oauth.consumers.find((c) => c.name === name);
  if (!found) throw new Error(`no consumer ${name}`);
  return found;
}

const full = () => consumer("bitbridge simulator");
const limited = () => consumer("bitbridge simulator (limited)");

async function token(authorization: string, fields: Record<string, string>) {
  return call(sim, sim.creds.oauth.tokenUrl, {
    method: "POST",
    auth: authorization,
    headers: FORM,
    body: new URLSearchParams(fields).toString(),
  });
}

/** Runs the authorization-code flow through the consent page; returns the token response. */
async function authorizationCode(c: ReturnType<typeof consumer>, state: string): Promise<Json> {
  const page = await call(sim, `${c.authorizeUrl}&state=${encodeURIComponent(state)}`, { auth: null });
  expect(page.status).toBe(200);
  expect(page.headers.get("content-type")).toMatch(/^text\/html/);
  expect(page.text).toMatch(/<form method="post" action="\/site\/oauth2\/authorize">/);
  expect(page.text).toContain('name="decision" value="grant"');

  const grant = await call(sim, "/site/oauth2/authorize", {
    method: "POST",
    auth: null,
    headers: FORM,
    body: new URLSearchParams({
      client_id: c.clientId,
      response_type: "code",
      state,
      decision: "grant",
    }).toString(),
  });
  expect(grant.status).toBe(302);
  const location = new URL(grant.headers.get("location") as string);
  expect(`${location.origin}${location.pathname}`.replace(/\/$/, "")).toBe(c.callbackUrl.replace(/\/$/, ""));
  expect(location.searchParams.get("state")).toBe(state);
  const code = location.searchParams.get("code");
  expect(code).toMatch(/^[\w-]{18}$/);

  const exchanged = await token(c.tokenEndpointAuthorization, {
    grant_type: "authorization_code",
    code: code as string,
  });
  expect(exchanged.status).toBe(200);
  // The code is single use.
  const again = await token(c.tokenEndpointAuthorization, {
    grant_type: "authorization_code",
    code: code as string,
  });
  expect(again.status).toBe(400);
  expect(again.json?.error).toBe("invalid_grant");
  return exchanged.json as Json;
}

const bearer = (t: unknown) => `Bearer ${t as string}`;

/** `error.data.missing` of a 403 for insufficient scopes. */
function missingScopes(reply: Reply): unknown {
  errorMessage(reply);
  const error = reply.json?.error as Json | undefined;
  return (error?.data as Json | undefined)?.missing;
}

describe("OAuth authorization code", () => {
  it("grants, exchanges, calls the API and refreshes with rotation", async () => {
    const tokens = await authorizationCode(full(), "st@te with spaces & more");
    expect(tokens).toMatchObject({ token_type: "bearer", expires_in: 3600 });
    expect(typeof tokens.access_token).toBe("string");
    expect(typeof tokens.refresh_token).toBe("string");

    const user = await call(sim, "/2.0/user", { auth: bearer(tokens.access_token) });
    expect(user.status).toBe(200);
    expect(user.json?.uuid).toBe(sim.creds.owner.uuid);
    expect((await call(sim, `/2.0/repositories/${ws}`, { auth: bearer(tokens.access_token) })).status).toBe(
      200,
    );

    const refreshed = await token(full().tokenEndpointAuthorization, {
      grant_type: "refresh_token",
      refresh_token: tokens.refresh_token as string,
    });
    expect(refreshed.status).toBe(200);
    const next = refreshed.json as Json;
    expect(next.access_token).not.toBe(tokens.access_token);
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
    expect((await call(sim, "/2.0/user", { auth: bearer(next.access_token) })).status).toBe(200);

    // The rotated refresh token dies after the grace period; its successor keeps working.
    await control(sim, "POST", "/clock", { advanceSeconds: 120 });
    const stale = await token(full().tokenEndpointAuthorization, {
      grant_type: "refresh_token",
      refresh_token: tokens.refresh_token as string,
    });
    expect(stale.status).toBe(400);
    expect(stale.json).toMatchObject({ error: "invalid_request" });
    const fresh = await token(full().tokenEndpointAuthorization, {
      grant_type: "refresh_token",
      refresh_token: next.refresh_token as string,
    });
    expect(fresh.status).toBe(200);
  });

  it("sends a denial back to the callback with the state", async () => {
    const c = full();
    const deny = await call(sim, "/site/oauth2/authorize", {
      method: "POST",
      auth: null,
      headers: FORM,
      body: new URLSearchParams({
        client_id: c.clientId,
        response_type: "code",
        state: "s1",
        decision: "deny",
      }).toString(),
    });
    expect(deny.status).toBe(302);
    const location = new URL(deny.headers.get("location") as string);
    expect(location.searchParams.get("error")).toBe("access_denied");
    expect(location.searchParams.get("state")).toBe("s1");
    expect(location.searchParams.has("code")).toBe(false);
  });

  it("refuses bad client credentials and unknown grants at the token endpoint", async () => {
    const c = full();
    const wrong = `Basic ${Buffer.from(`${c.clientId}:not-the-secret`).toString("base64")}`;
    const bad = await token(wrong, { grant_type: "client_credentials" });
    expect(bad.status).toBe(401);
    expect(bad.json?.error).toBe("invalid_client");
    const grant = await token(c.tokenEndpointAuthorization, { grant_type: "password" });
    expect(grant.status).toBe(400);
    expect(grant.json?.error).toBe("unsupported_grant_type");
  });
});

describe("OAuth consumers created through /_sim", () => {
  it("redirect to their own callback URL and work like the seeded ones", async () => {
    const callbackUrl = "http://127.0.0.1:9/api/oauth/callback";
    const created = await control(sim, "POST", "/consumers", { callbackUrl, name: "an app" });
    expect(created).toMatchObject({ callbackUrl, name: "an app" });
    const listed = (await control(sim, "GET", "/credentials")) as { oauth: { consumers: Json[] } };
    const c = listed.oauth.consumers.find((x) => x.name === "an app") as
      | ReturnType<typeof consumer>
      | undefined;
    if (!c) throw new Error("the new consumer is not listed");
    expect(c.clientId).toBe(created.clientId);
    const tokens = await authorizationCode(c, "s1");
    expect((await call(sim, "/2.0/user", { auth: bearer(tokens.access_token) })).status).toBe(200);
    const bad = await call(sim, "/_sim/consumers", {
      method: "POST",
      auth: null,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ callbackUrl: "javascript:alert(1)" }),
    });
    expect(bad.status).toBe(400);
  });
});

describe("OAuth access tokens on the API", () => {
  it("client_credentials tokens work until the clock passes their expiry", async () => {
    const issued = await token(full().tokenEndpointAuthorization, { grant_type: "client_credentials" });
    expect(issued.status).toBe(200);
    const auth = bearer(issued.json?.access_token);
    expect((await call(sim, `${repoPath(ws, repos[0] as string)}/pullrequests`, { auth })).status).toBe(200);

    // The clock is wall time plus an offset: stop well short of the hour, then step past it.
    await control(sim, "POST", "/clock", { advanceSeconds: 3500 });
    expect((await call(sim, "/2.0/user", { auth })).status).toBe(200);
    await control(sim, "POST", "/clock", { advanceSeconds: 100 });
    const expired = await call(sim, "/2.0/user", { auth });
    expect(expired.status).toBe(401);
    expect(errorMessage(expired)).toBe("Access token expired.");
    expect(expired.headers.get("www-authenticate")).toMatch(/^Bearer/);

    // A refresh brings a working token again.
    const refreshed = await token(full().tokenEndpointAuthorization, {
      grant_type: "refresh_token",
      refresh_token: issued.json?.refresh_token as string,
    });
    expect((await call(sim, "/2.0/user", { auth: bearer(refreshed.json?.access_token) })).status).toBe(200);
  });

  it("a limited consumer gets 403 naming the missing scope", async () => {
    const issued = await token(limited().tokenEndpointAuthorization, { grant_type: "client_credentials" });
    const auth = bearer(issued.json?.access_token);
    const base = repoPath(ws, repos[0] as string);
    expect((await call(sim, base, { auth })).status).toBe(200);
    const prs = await call(sim, `${base}/pullrequests`, { auth });
    expect(prs.status).toBe(403);
    expect(errorMessage(prs)).toMatch(/scope/i);
    expect(JSON.stringify(prs.json)).toContain("pullrequest");
    expect(missingScopes(prs)).toEqual(["pullrequest"]);
    const pipelines = await call(sim, `${base}/pipelines`, { auth });
    expect(pipelines.status).toBe(403);
    expect(missingScopes(pipelines)).toEqual(["pipeline"]);
  });

  it("refuses garbage bearer tokens and tokens in the query string", async () => {
    const garbage = await call(sim, "/2.0/user", { auth: "Bearer not-a-token" });
    expect(garbage.status).toBe(401);
    errorMessage(garbage);
    const query = await call(sim, "/2.0/user?access_token=abc", { auth: null });
    expect(query.status).toBe(401);
    errorMessage(query);
  });
});

describe("API tokens and access tokens", () => {
  it("API token Basic (email:token) works; a wrong token or a username gives 401", async () => {
    const t = sim.creds.apiTokens[0];
    if (!t) throw new Error("no API token");
    const good = `Basic ${Buffer.from(`${t.email}:${t.token}`).toString("base64")}`;
    expect(good).toBe(t.authorization);
    const ok = await call(sim, `/2.0/repositories/${ws}`, { auth: good });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("x-ratelimit-limit")).toBeNull();

    const wrong = `Basic ${Buffer.from(`${t.email}:${t.token.slice(0, -1)}X`).toString("base64")}`;
    const refused = await call(sim, `/2.0/repositories/${ws}`, { auth: wrong });
    expect(refused.status).toBe(401);
    expect(errorMessage(refused)).toBe("Invalid credentials.");
    expect(refused.text).not.toContain(t.token.slice(0, 20));

    const username = `Basic ${Buffer.from(`${sim.creds.owner.nickname}:${t.token}`).toString("base64")}`;
    expect((await call(sim, "/2.0/user", { auth: username })).status).toBe(401);
  });

  it("the limited API token is refused pull requests with the missing granular scope", async () => {
    const t = sim.creds.apiTokens.find((a) => a.scopes.length === 1);
    if (!t) throw new Error("no limited API token");
    const base = repoPath(ws, repos[0] as string);
    expect((await call(sim, base, { auth: t.authorization })).status).toBe(200);
    const prs = await call(sim, `${base}/pullrequests`, { auth: t.authorization });
    expect(prs.status).toBe(403);
    expect(missingScopes(prs)).toEqual(["read:pullrequest:bitbucket"]);
  });

  it("a repository access token sees only its repository", async () => {
    const t = sim.creds.accessTokens.find((a) => a.type === "repository");
    if (!t?.repository) throw new Error("no repository access token");
    const auth = t.authorization;
    const list = await call(sim, `/2.0/repositories/${ws}?pagelen=100`, { auth });
    expect(list.status).toBe(200);
    expect(((list.json?.values ?? []) as Json[]).map((r) => r.slug)).toEqual([t.repository]);
    expect(list.json?.size).toBe(1);
    expect((await call(sim, repoPath(ws, t.repository), { auth })).status).toBe(200);
    expect((await call(sim, `${repoPath(ws, t.repository)}/commits`, { auth })).status).toBe(200);
    for (const other of repos.filter((r) => r !== t.repository)) {
      const hidden = await call(sim, repoPath(ws, other), { auth });
      expect(hidden.status).toBe(404);
      errorMessage(hidden);
      expect((await call(sim, `${repoPath(ws, other)}/pullrequests`, { auth })).status).toBe(404);
    }
    // The token's own repository by UUID works too; another workspace does not exist for it.
    const uuid = sim.sim.data.workspaces[0]?.repositories.find((r) => r.slug === t.repository)
      ?.uuid as string;
    expect((await call(sim, repoPath(ws, uuid), { auth })).status).toBe(200);
    expect((await call(sim, "/2.0/repositories/elsewhere", { auth })).status).toBe(404);
  });
});
