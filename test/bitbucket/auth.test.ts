import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { OAuthCredentials } from "../../src/bitbucket/auth.js";
import { createClient, testConnection } from "../../src/bitbucket/client.js";
import { parseConnectionString } from "../../src/bitbucket/connection-properties.js";
import { FileTokenStore, MemoryTokenStore } from "../../src/bitbucket/token-store.js";
import {
  accessTokenProps,
  apiTokenProps,
  clientProps,
  fakeTime,
  freePort,
  rejection,
  startTestSim,
  type TestSim,
} from "./helpers.js";

// Every AuthScheme against the simulator over HTTP, token refresh and rotation, and the errors people see.

let sim: TestSim;
let home: string;

const TOKEN_ENDPOINT = "POST /site/oauth2/access_token";

beforeAll(async () => {
  sim = await startTestSim({ seed: 7 });
});

afterAll(async () => {
  await sim.stop();
});

beforeEach(async () => {
  await sim.control("POST", "/reset");
  home = await mkdtemp(path.join(os.tmpdir(), "bitbridge-auth-"));
});

afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe("API token", () => {
  it("authenticates with Basic email:token and reports who we are", async () => {
    const client = createClient(apiTokenProps(sim));
    const result = await testConnection(client, apiTokenProps(sim));
    expect(result.account?.displayName).toBe(sim.creds.owner.displayName);
    expect(result.account?.uuid).toBe(sim.creds.owner.uuid);
    expect(result.workspace?.slug).toBe(sim.workspace);
    expect(result.warnings).toEqual([]);
    expect(result.summary).toBe(
      `Connected as ${sim.creds.owner.displayName} (APIToken), workspace ${sim.workspace}`,
    );
    const stats = await sim.stats();
    expect(stats.byEndpoint["GET /user"]).toBe(1);
    expect(client.counts().byEndpoint).toEqual({ "/user": 1, "/workspaces/{w}": 1 });
  });

  it("names User and APIToken when the token is wrong, without echoing it", async () => {
    const good = sim.creds.apiTokens[0];
    const wrongToken = `${good?.token.slice(0, -4)}XXXX`;
    const props = parseConnectionString(
      `AuthScheme=APIToken;User=${good?.email};APIToken=${wrongToken};${sim.urls}`,
    );
    const error = await rejection(createClient(props).get("/user"));
    expect(error.code).toBe("BITBUCKET_UNAUTHORIZED");
    expect(error.message).toMatch(/User is your Atlassian account email/);
    expect(error.message).toMatch(/APIToken is a valid, unexpired Atlassian API token/);
    expect(error.details?.property).toBe("APIToken");
    expect(`${error.message} ${JSON.stringify(error.details)}`).not.toContain(wrongToken);
  });

  it("names the missing scope (limited token) and keeps testConnection going with a warning", async () => {
    const props = apiTokenProps(sim, `Schema=${sim.repos[0]}`, "limited");
    const client = createClient(props);
    const error = await rejection(client.get(`/repositories/${sim.workspace}/${sim.repos[0]}/pullrequests`));
    expect(error.code).toBe("BITBUCKET_FORBIDDEN");
    expect(error.message).toContain("read:pullrequest:bitbucket");
    expect(error.message).toMatch(/Create an API token that includes it/);
    expect(error.details?.missingScopes).toEqual(["read:pullrequest:bitbucket"]);

    const result = await testConnection(client, props);
    expect(result.account).toBeUndefined();
    expect(result.repository?.fullName).toBe(`${sim.workspace}/${sim.repos[0]}`);
    expect(result.warnings.join("\n")).toMatch(/read:user:bitbucket/);
    expect(result.warnings.join("\n")).toMatch(/read:workspace:bitbucket/);
  });
});

describe("access tokens", () => {
  it("authenticate with Bearer; testConnection checks the workspace and the Schema repository", async () => {
    const ws = accessTokenProps(sim, "workspace");
    const wsResult = await testConnection(createClient(ws), ws);
    expect(wsResult.workspace?.slug).toBe(sim.workspace);
    expect(wsResult.account).toBeUndefined();

    const repoToken = sim.creds.accessTokens.find((t) => t.type === "repository");
    const props = accessTokenProps(sim, "repository", `Schema=${repoToken?.repository}`);
    const client = createClient(props);
    const result = await testConnection(client, props);
    expect(result.repository?.fullName).toBe(`${sim.workspace}/${repoToken?.repository}`);
    const other = sim.repos.find((r) => r !== repoToken?.repository);
    const hidden = await rejection(client.get(`/repositories/${sim.workspace}/${other}`));
    expect(hidden.code).toBe("BITBUCKET_NOT_FOUND");
    expect(hidden.message).toContain(`/repositories/${sim.workspace}/${other}`);
    expect(hidden.message).toMatch(/access token sees only/);
  });

  it("name AccessToken when it is wrong", async () => {
    const props = parseConnectionString(
      `AuthScheme=AccessToken;AccessToken=ATCTT3xnope;Workspace=${sim.workspace};${sim.urls}`,
    );
    const error = await rejection(testConnection(createClient(props), props));
    expect(error.code).toBe("BITBUCKET_UNAUTHORIZED");
    expect(error.message).toMatch(/Check AccessToken/);
  });
});

describe("OAuth client credentials", () => {
  it("fetches a token once, reuses it, and refreshes it 5 minutes before expiry with rotation saved", async () => {
    const time = fakeTime(sim);
    const store = new MemoryTokenStore();
    const client = createClient(clientProps(sim), { tokenStore: store, now: time.now, sleep: time.sleep });
    await client.get("/user");
    await client.get(`/repositories/${sim.workspace}`);
    expect((await sim.stats()).byEndpoint[TOKEN_ENDPOINT]).toBe(1);
    const first = await store.load();
    expect(first?.refreshToken).toMatch(/^[\w-]{24}$/);

    // 56 minutes later: still valid on the server, but inside the 5-minute margin, so refreshed first.
    await sim.control("POST", "/clock", { advanceSeconds: 3360 });
    await client.get("/user");
    const stats = await sim.stats();
    expect(stats.byEndpoint[TOKEN_ENDPOINT]).toBe(2);
    expect(stats.byStatus["401"]).toBeUndefined();
    const second = await store.load();
    expect(second?.refreshToken).not.toBe(first?.refreshToken);
    expect(second?.accessToken).not.toBe(first?.accessToken);
    expect(client.counts().retries).toBe(0);
  });

  it("renews once on 401 `Access token expired.` when its own clock did not see the expiry", async () => {
    const client = createClient(clientProps(sim)); // real clock: the simulator's jumps ahead unseen
    await client.get("/user");
    await sim.control("POST", "/clock", { advanceSeconds: 3700 });
    const user = await client.get<{ uuid: string }>("/user");
    expect(user.uuid).toBe(sim.creds.owner.uuid);
    const stats = await sim.stats();
    expect(stats.byStatus["401"]).toBe(1);
    expect(stats.byEndpoint[TOKEN_ENDPOINT]).toBe(2);
    expect(client.counts()).toMatchObject({ requests: 3, retries: 1 });
  });

  it("falls back to client_credentials when the stored refresh token is dead", async () => {
    const store = new MemoryTokenStore({ refreshToken: "deadbeefdeadbeefdeadbeef" });
    const client = createClient(clientProps(sim), { tokenStore: store });
    await client.get("/user");
    expect((await store.load())?.refreshToken).not.toBe("deadbeefdeadbeefdeadbeef");
  });

  it("names the consumer properties when the secret is wrong", async () => {
    const c = sim.creds.oauth.consumers[0];
    const props = parseConnectionString(
      `AuthScheme=client;OAuthClientId=${c?.clientId};OAuthClientSecret=wrong-secret-value;${sim.urls}`,
    );
    const error = await rejection(createClient(props).get("/user"));
    expect(error.code).toBe("BITBUCKET_OAUTH_CLIENT_INVALID");
    expect(error.message).toMatch(/Check OAuthClientId and OAuthClientSecret/);
    expect(error.message).not.toContain("wrong-secret-value");
  });

  it("names the missing classic scope for the limited consumer", async () => {
    const client = createClient(clientProps(sim, "", "limited"));
    const error = await rejection(client.get(`/repositories/${sim.workspace}/${sim.repos[0]}/pipelines`));
    expect(error.code).toBe("BITBUCKET_FORBIDDEN");
    expect(error.details?.missingScopes).toEqual(["pipeline"]);
    expect(error.message).toMatch(/lack the scope pipeline .*OAuth consumer's permissions/);
  });
});

describe("OAuth authorization code", () => {
  async function oauthSetup() {
    const port = await freePort();
    const consumer = sim.sim.auth.createConsumer({
      scopes: ["account", "repository", "pullrequest", "project"],
      callbackUrl: `http://localhost:${port}/callback`,
      name: "bitbridge test",
    });
    const props = parseConnectionString(
      `AuthScheme=OAuth;OAuthClientId=${consumer.clientId};OAuthClientSecret=${consumer.clientSecret};` +
        `CallbackURL=http://localhost:${port}/callback;Workspace=${sim.workspace};${sim.urls}`,
    );
    const env = { BITBRIDGE_HOME: home, BITBRIDGE_SECRET_KEY: randomBytes(32).toString("base64") };
    return { props, consumer, env, port };
  }

  /** Plays the browser: the consent page, the grant form, then the redirect back to bitbridge. */
  async function grant(authorizeUrl: string, clientId: string, tamperState = false) {
    const page = await fetch(authorizeUrl);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('name="decision" value="grant"');
    const state = new URL(authorizeUrl).searchParams.get("state") ?? "";
    expect(state.length).toBeGreaterThanOrEqual(32);
    const answer = await fetch(`${sim.origin}/site/oauth2/authorize`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        client_id: clientId,
        response_type: "code",
        state: tamperState ? `${state}x` : state,
        decision: "grant",
      }).toString(),
      redirect: "manual",
    });
    expect(answer.status).toBe(302);
    const back = await fetch(answer.headers.get("location") as string);
    return { status: back.status, text: await back.text() };
  }

  it("runs end to end: consent, callback, code exchange, encrypted storage, refresh with rotation", async () => {
    const { props, consumer, env } = await oauthSetup();
    const store = new FileTokenStore({ connection: "test-oauth", env });
    const time = fakeTime(sim);
    const logs: string[] = [];
    const provider = new OAuthCredentials(props, { tokenStore: store, now: time.now, sleep: time.sleep });
    let callback: Promise<{ status: number; text: string }> | undefined;
    const tokens = await provider.authorizeInteractive({
      log: (line) => logs.push(line),
      onReady: ({ authorizeUrl }) => {
        callback = grant(authorizeUrl, consumer.clientId);
      },
    });
    expect(await callback).toMatchObject({ status: 200 });
    expect(logs.join("\n")).toContain(`${sim.origin}/site/oauth2/authorize?client_id=${consumer.clientId}`);
    expect(tokens.refreshToken).toBeDefined();

    const stored = await readFile(store.file, "utf8");
    expect(stored).not.toContain(tokens.accessToken);
    expect(stored).not.toContain(tokens.refreshToken);
    expect(logs.join("\n")).not.toContain(tokens.refreshToken);

    // A new process: nothing but the connection and the store.
    const client = createClient(props, {
      tokenStore: new FileTokenStore({ connection: "test-oauth", env }),
      now: time.now,
    });
    const result = await testConnection(client, props);
    expect(result.account?.uuid).toBe(sim.creds.owner.uuid);
    expect((await sim.stats()).byEndpoint[TOKEN_ENDPOINT]).toBe(1); // the stored access token was reused

    await sim.control("POST", "/clock", { advanceSeconds: 3500 });
    await client.get(`/repositories/${sim.workspace}`);
    expect((await sim.stats()).byEndpoint[TOKEN_ENDPOINT]).toBe(2);
    const rotated = await new FileTokenStore({ connection: "test-oauth", env }).load();
    expect(rotated?.refreshToken).toBeDefined();
    expect(rotated?.refreshToken).not.toBe(tokens.refreshToken);
    expect(await readFile(store.file, "utf8")).not.toContain(rotated?.refreshToken);
  });

  it("rejects a callback whose state does not match", async () => {
    const { props, consumer } = await oauthSetup();
    let callback: Promise<{ status: number; text: string }> | undefined;
    const error = await rejection(
      new OAuthCredentials(props).authorizeInteractive({
        log: () => undefined,
        openBrowser: true,
        // The "browser" is the test, opened the way a real one would be.
        openUrl: async (url) => {
          callback = grant(url, consumer.clientId, true);
          return true;
        },
      }),
    );
    expect(error.code).toBe("BITBUCKET_OAUTH_STATE_MISMATCH");
    expect((await callback)?.status).toBe(400);
    expect((await sim.stats()).byEndpoint[TOKEN_ENDPOINT]).toBeUndefined();
  });

  it("times out with a hint about CallbackURL, and says how to start when nothing is authorized", async () => {
    const { props } = await oauthSetup();
    const timeout = await rejection(
      new OAuthCredentials(props).authorizeInteractive({ log: () => undefined, timeoutMs: 50 }),
    );
    expect(timeout.code).toBe("BITBUCKET_OAUTH_TIMEOUT");
    expect(timeout.message).toContain("CallbackURL");

    const notYet = await rejection(createClient(props).get("/user"));
    expect(notYet.code).toBe("BITBUCKET_OAUTH_NOT_AUTHORIZED");
  });

  it("asks to re-authorize when the saved refresh token no longer works", async () => {
    const { props } = await oauthSetup();
    const client = createClient(props, {
      tokenStore: new MemoryTokenStore({ refreshToken: "x".repeat(24) }),
    });
    const error = await rejection(client.get("/user"));
    expect(error.code).toBe("BITBUCKET_OAUTH_REAUTHORIZE");
    expect(error.message).toMatch(/authorize the connection again/);
  });
});
