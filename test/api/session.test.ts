import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureAdmin } from "../../src/api/auth/admin.js";
import { useTestDatabase } from "../support/postgres.js";
import { ADMIN_PASSWORD, Browser, startTestApp, type TestApp } from "./harness.js";

const db = await useTestDatabase("api-session");
let app: TestApp;

beforeAll(async () => {
  app = await startTestApp(db);
});
afterAll(async () => {
  await app?.close();
});

async function errorOf(response: Response): Promise<{ code: string; message: string; fields?: unknown[] }> {
  expect(response.headers.get("content-type")).toMatch(/application\/json/);
  return ((await response.json()) as { error: { code: string; message: string } }).error;
}

describe("authentication", () => {
  it("refuses guarded routes without a session or token, and leaves the public ones open", async () => {
    const anonymous = await fetch(`${app.origin}/api/session`);
    expect(anonymous.status).toBe(401);
    expect((await errorOf(anonymous)).code).toBe("UNAUTHENTICATED");
    expect((await fetch(`${app.origin}/api/tokens`)).status).toBe(401);
    expect((await fetch(`${app.origin}/api/health`)).status).toBe(200);
    expect((await fetch(`${app.origin}/api/openapi.json`)).status).toBe(200);
    const forged = await fetch(`${app.origin}/api/tokens`, {
      headers: { cookie: "bitbridge_session=forged" },
    });
    expect(forged.status).toBe(401);
  });

  it("logs in with a session cookie and answers wrong user and wrong password alike", async () => {
    const wrongPassword = await new Browser(app.origin).login("admin", "nope");
    const wrongUser = await new Browser(app.origin).login("root", ADMIN_PASSWORD);
    expect(wrongPassword.status).toBe(401);
    expect(wrongUser.status).toBe(401);
    expect((await errorOf(wrongPassword)).message).toBe((await errorOf(wrongUser)).message);

    const browser = new Browser(app.origin);
    const login = await browser.login();
    expect(login.status).toBe(200);
    const cookie = login.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^bitbridge_session=[A-Za-z0-9_-]{43};/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Path=\//);
    expect(cookie).not.toMatch(/Secure/);
    expect(browser.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await browser.json("/api/session")).toEqual({ username: "admin", csrfToken: browser.csrfToken });

    // Only a hash of the session id is stored.
    const id = browser.sessionCookie.split("=")[1] ?? "";
    const stored = await db.pool.query("SELECT id_hash FROM bitbridge.api_sessions");
    expect(stored.rows.map((r) => r.id_hash)).toContain(createHash("sha256").update(id).digest("hex"));
    expect(JSON.stringify(stored.rows)).not.toContain(id);
  });

  it("marks the cookie Secure behind an HTTPS proxy", async () => {
    const response = await fetch(`${app.origin}/api/session`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-proto": "https" },
      body: JSON.stringify({ username: "admin", password: ADMIN_PASSWORD }),
    });
    expect(response.headers.get("set-cookie")).toMatch(/; Secure/);
  });

  it("needs the session's CSRF token on changes made with the cookie", async () => {
    const browser = new Browser(app.origin);
    await browser.login();
    const missing = await browser.fetch("/api/tokens", {
      method: "POST",
      body: { name: "x" },
      headers: { "x-csrf-token": "" },
    });
    expect(missing.status).toBe(403);
    expect((await errorOf(missing)).code).toBe("CSRF");
    const other = new Browser(app.origin);
    await other.login();
    const wrong = await browser.fetch("/api/tokens", {
      method: "POST",
      body: { name: "x" },
      headers: { "x-csrf-token": other.csrfToken },
    });
    expect(wrong.status).toBe(403);
    expect((await browser.json<unknown[]>("/api/tokens")).length).toBe(0);
    const right = await browser.fetch("/api/tokens", { method: "POST", body: { name: "x" } });
    expect(right.status).toBe(201);
  });

  it("ends a session when it expires and on logout", async () => {
    const expiring = new Browser(app.origin);
    await expiring.login();
    const id = expiring.sessionCookie.split("=")[1] ?? "";
    await db.pool.query(
      "UPDATE bitbridge.api_sessions SET expires_at = now() - interval '1 second' WHERE id_hash = $1",
      [createHash("sha256").update(id).digest("hex")],
    );
    expect((await expiring.fetch("/api/session")).status).toBe(401);

    const leaving = new Browser(app.origin);
    await leaving.login();
    const logout = await leaving.fetch("/api/session", { method: "DELETE" });
    expect(logout.status).toBe(204);
    expect(logout.headers.get("set-cookie")).toMatch(/bitbridge_session=;/);
    expect((await leaving.fetch("/api/session")).status).toBe(401);
  });

  it("issues API tokens shown once, stored hashed, usable without CSRF, and revocable", async () => {
    const browser = new Browser(app.origin);
    await browser.login();
    const created = await browser.json<{ id: number; name: string; token: string }>("/api/tokens", {
      method: "POST",
      body: { name: "ci" },
    });
    expect(created.token).toMatch(/^bbt_[A-Za-z0-9_-]{43}$/);
    const stored = await db.pool.query("SELECT token_hash FROM bitbridge.api_tokens WHERE id = $1", [
      created.id,
    ]);
    expect(stored.rows[0]?.token_hash).toBe(createHash("sha256").update(created.token).digest("hex"));

    const bearer = { authorization: `Bearer ${created.token}` };
    const me = await fetch(`${app.origin}/api/session`, { headers: bearer });
    expect(await me.json()).toEqual({ username: "admin", csrfToken: null });
    const viaToken = await fetch(`${app.origin}/api/tokens`, {
      method: "POST",
      headers: { ...bearer, "content-type": "application/json" },
      body: JSON.stringify({ name: "made by a token" }),
    });
    expect(viaToken.status).toBe(201);
    const listed =
      await browser.json<{ id: number; name: string; lastUsedAt: string | null }[]>("/api/tokens");
    expect(JSON.stringify(listed)).not.toContain(created.token);
    const ci = listed.find((t) => t.id === created.id);
    expect(ci?.lastUsedAt).toMatch(/^\d{4}-\d\d-\d\dT/);

    const bad = await fetch(`${app.origin}/api/tokens`, { headers: { authorization: "Bearer bbt_nope" } });
    expect(bad.status).toBe(401);
    expect((await errorOf(bad)).code).toBe("UNAUTHENTICATED");
    expect((await browser.fetch(`/api/tokens/${created.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await fetch(`${app.origin}/api/tokens`, { headers: bearer })).status).toBe(401);
    expect((await browser.fetch(`/api/tokens/${created.id}`, { method: "DELETE" })).status).toBe(404);
    const invalid = await browser.fetch("/api/tokens", { method: "POST", body: { name: "" } });
    expect(invalid.status).toBe(400);
    expect((await errorOf(invalid)).fields).toEqual([{ field: "body.name", message: expect.any(String) }]);
  });

  it("changes the password, checking the current one, and ends the other sessions", async () => {
    const browser = new Browser(app.origin);
    await browser.login();
    const other = new Browser(app.origin);
    await other.login();
    const wrongCurrent = await browser.fetch("/api/session/password", {
      method: "PUT",
      body: { currentPassword: "nope", newPassword: "a much longer password" },
    });
    expect(wrongCurrent.status).toBe(400);
    expect((await errorOf(wrongCurrent)).fields).toEqual([
      { field: "body.currentPassword", message: "is not the current password" },
    ]);
    const short = await browser.fetch("/api/session/password", {
      method: "PUT",
      body: { currentPassword: ADMIN_PASSWORD, newPassword: "short" },
    });
    expect(short.status).toBe(400);
    expect((await errorOf(short)).fields).toEqual([
      { field: "body.newPassword", message: expect.any(String) },
    ]);
    const missing = await browser.fetch("/api/session/password", { method: "PUT", body: {} });
    expect((await errorOf(missing)).fields).toEqual([
      { field: "body.currentPassword", message: "is required" },
      { field: "body.newPassword", message: "is required" },
    ]);

    const changed = await browser.fetch("/api/session/password", {
      method: "PUT",
      body: { currentPassword: ADMIN_PASSWORD, newPassword: "a much longer password" },
    });
    expect(changed.status).toBe(204);
    expect((await browser.fetch("/api/session")).status).toBe(200);
    expect((await other.fetch("/api/session")).status).toBe(401);
    expect((await new Browser(app.origin).login()).status).toBe(401);
    expect((await new Browser(app.origin).login("admin", "a much longer password")).status).toBe(200);
    await browser.fetch("/api/session/password", {
      method: "PUT",
      body: { currentPassword: "a much longer password", newPassword: ADMIN_PASSWORD },
    });
  });

  it("slows down repeated wrong logins from one address", async () => {
    for (let i = 0; i < 5; i++)
      expect((await new Browser(app.origin).login("admin", "guess")).status).toBe(401);
    const blocked = await new Browser(app.origin).login();
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect((await errorOf(blocked)).code).toBe("TOO_MANY_ATTEMPTS");
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await new Browser(app.origin).login()).status).toBe(200);
    expect(app.logged.join("\n")).not.toContain(ADMIN_PASSWORD);
  });

  it("creates the admin once with a generated password shown only then", async () => {
    await db.pool.query("DELETE FROM bitbridge.api_users");
    const shown: string[] = [];
    await ensureAdmin(db.pool, undefined, (line) => shown.push(line));
    await ensureAdmin(db.pool, undefined, (line) => shown.push(line));
    expect(shown).toHaveLength(1);
    const password = /password (\S+) \(shown once/.exec(shown[0] ?? "")?.[1] ?? "";
    expect(password).toHaveLength(32);
    expect((await new Browser(app.origin).login("admin", password)).status).toBe(200);
    const stored = await db.pool.query("SELECT password_hash FROM bitbridge.api_users");
    expect(stored.rows[0]?.password_hash).toMatch(/^scrypt\$/);
  });
});

describe("the API around the routes", () => {
  it("answers unknown /api paths with a JSON 404 and keeps OData on /odata/v4", async () => {
    const unknown = await fetch(`${app.origin}/api/nothing-here`);
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown)).code).toBe("NOT_FOUND");
    const odata = await fetch(`${app.origin}/odata/v4/`);
    expect(odata.status).toBe(401);
    expect(odata.headers.get("www-authenticate")).toMatch(/Basic/);
  });

  it("serves the API docs page as HTML", async () => {
    const docs = await fetch(`${app.origin}/api/docs`);
    expect(docs.status).toBe(200);
    expect(docs.headers.get("content-type")).toMatch(/text\/html/);
  });
});
