import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningSimulator, startSimulator } from "../../sim/server.js";
import { useTestDatabase } from "../support/postgres.js";
import { Browser, startTestApp, type TestApp } from "./harness.js";

const db = await useTestDatabase("api-oauth");
const home = mkdtempSync(join(tmpdir(), "bitbridge-api-oauth-"));
process.env.BITBRIDGE_HOME = home;
let app: TestApp;
let sim: RunningSimulator;
let browser: Browser;
let consumer: { clientId: string; clientSecret: string };

beforeAll(async () => {
  app = await startTestApp(db);
  sim = await startSimulator({ seed: 3, scale: "tiny" });
  const template = sim.sim.auth.credentials().oauth.consumers[0];
  // The consumer's callback is this server's, as an administrator would register it in Bitbucket.
  consumer = sim.sim.auth.createConsumer({
    name: "bitbridge web",
    scopes: template?.scopes ?? [],
    callbackUrl: `${app.origin}/api/oauth/callback`,
  });
  browser = new Browser(app.origin);
  await browser.login();
});
afterAll(async () => {
  await app?.close();
  await sim?.stop();
  rmSync(home, { recursive: true, force: true });
});

function oauthProperties(overrides: Record<string, string> = {}) {
  return {
    AuthScheme: "OAuth",
    OAuthClientId: consumer.clientId,
    OAuthClientSecret: consumer.clientSecret,
    CallbackURL: `${app.origin}/api/oauth/callback`,
    Workspace: sim.sim.data.workspaces[0]?.slug ?? "",
    Url: sim.apiUrl,
    AuthUrl: sim.origin,
    ...overrides,
  };
}

/** What a person does in the browser: open the consent page and press a button; returns where Bitbucket sends them. */
async function consent(authorizeUrl: string, decision: "grant" | "deny"): Promise<string> {
  const page = await fetch(authorizeUrl);
  expect(page.status).toBe(200);
  const html = await page.text();
  const form = new URLSearchParams({ decision });
  for (const [, name, value] of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
    form.set(name ?? "", (value ?? "").replace(/&amp;/g, "&"));
  const answer = await fetch(`${sim.origin}/site/oauth2/authorize`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: form.toString(),
    redirect: "manual",
  });
  expect(answer.status).toBe(302);
  return answer.headers.get("location") ?? "";
}

/** The browser arriving back at bitbridge (no session needed): where bitbridge sends it next. */
async function arrive(callback: string): Promise<URL> {
  expect(callback.startsWith(`${app.origin}/api/oauth/callback?`)).toBe(true);
  const response = await fetch(callback, { redirect: "manual" });
  expect(response.status).toBe(302);
  return new URL(response.headers.get("location") ?? "", app.origin);
}

async function errorOf(response: Response) {
  return ((await response.json()) as { error: { code: string; message: string } }).error;
}

describe("Connect to Bitbucket", () => {
  it("saves an OAuth connection not yet authorized, authorizes it in the browser, then tests it", async () => {
    const created = await browser.json<{ test: { ok: boolean; message: string } }>("/api/connections", {
      method: "POST",
      body: { name: "cloud", connector: "bitbucket", properties: oauthProperties() },
    });
    expect(created.test).toEqual({ ok: false, message: expect.stringMatching(/Connect to Bitbucket/) });
    expect((await browser.fetch("/api/connections/cloud/test", { method: "POST" })).status).toBe(422);

    const { authorizeUrl } = await browser.json<{ authorizeUrl: string }>("/api/connections/cloud/oauth", {
      method: "POST",
    });
    expect(authorizeUrl).toMatch(new RegExp(`^${sim.origin}/site/oauth2/authorize\\?client_id=`));
    const callback = await consent(authorizeUrl, "grant");
    const landed = await arrive(callback);
    expect(`${landed.pathname}${landed.search}`).toBe("/connections/cloud?oauth=ok");

    const tested = await browser.json<{ ok: boolean; message: string }>("/api/connections/cloud/test", {
      method: "POST",
    });
    expect(tested.ok).toBe(true);
    // The tokens are stored encrypted, where runs of the connection find them.
    const files = readdirSync(join(home, "tokens"));
    expect(files).toHaveLength(1);
    const sealed = readFileSync(join(home, "tokens", files[0] ?? ""), "utf8");
    expect(sealed).toMatch(/^v1:/);
    expect(sealed).not.toContain(new URL(callback).searchParams.get("code") ?? "-");

    // A state works once.
    const replayed = await arrive(callback);
    expect(replayed.pathname).toBe("/connections");
    expect(replayed.searchParams.get("oauth")).toBe("error");
    expect(replayed.searchParams.get("message")).toMatch(/expired or was already used/);
  });

  it("reports a refusal, an expired state and a made-up state on the connection's page", async () => {
    const denied = await browser.json<{ authorizeUrl: string }>("/api/connections/cloud/oauth", {
      method: "POST",
    });
    const refused = await arrive(await consent(denied.authorizeUrl, "deny"));
    expect(refused.pathname).toBe("/connections/cloud");
    expect(refused.searchParams.get("oauth")).toBe("error");
    expect(refused.searchParams.get("message")).toMatch(/denied access/);

    const late = await browser.json<{ authorizeUrl: string }>("/api/connections/cloud/oauth", {
      method: "POST",
    });
    await db.pool.query("UPDATE bitbridge.oauth_states SET expires_at = now() - interval '1 second'");
    const expired = await arrive(await consent(late.authorizeUrl, "grant"));
    expect(expired.searchParams.get("oauth")).toBe("error");

    const forged = await arrive(`${app.origin}/api/oauth/callback?state=made-up&code=abc`);
    expect(forged.searchParams.get("message")).toMatch(/expired/);
  });

  it("refuses connections that are not OAuth or do not come back to this server", async () => {
    await browser.json("/api/connections", {
      method: "POST",
      body: {
        name: "elsewhere",
        connector: "bitbucket",
        properties: oauthProperties({ CallbackURL: "http://localhost:33333" }),
        test: false,
      },
    });
    const elsewhere = await browser.fetch("/api/connections/elsewhere/oauth", { method: "POST" });
    expect(elsewhere.status).toBe(400);
    expect(await errorOf(elsewhere)).toMatchObject({
      code: "OAUTH_CALLBACK_URL",
      message: expect.stringContaining(`${app.origin}/api/oauth/callback`),
    });
    const token = sim.sim.auth.credentials().apiTokens[0];
    await browser.json("/api/connections", {
      method: "POST",
      body: {
        name: "tokened",
        connector: "bitbucket",
        properties: { AuthScheme: "APIToken", User: token?.email ?? "", APIToken: token?.token ?? "" },
        test: false,
      },
    });
    const notOAuth = await browser.fetch("/api/connections/tokened/oauth", { method: "POST" });
    expect(notOAuth.status).toBe(400);
    expect((await errorOf(notOAuth)).code).toBe("OAUTH_NOT_APPLICABLE");
    expect((await fetch(`${app.origin}/api/connections/cloud/oauth`, { method: "POST" })).status).toBe(401);
    expect(JSON.stringify(browser.transcript)).not.toContain(consumer.clientSecret);
  });
});
