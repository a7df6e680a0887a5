import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../cli/run-cli.js";
import { useTestDatabase } from "../support/postgres.js";
import { Browser, startTestApp, type TestApp } from "./harness.js";

const db = await useTestDatabase("api-admin-cli");
const home = mkdtempSync(join(tmpdir(), "bitbridge-admin-cli-"));
let app: TestApp;

beforeAll(async () => {
  app = await startTestApp(db);
});
afterAll(async () => {
  await app?.close();
  rmSync(home, { recursive: true, force: true });
});

describe("bitbridge admin reset-password", () => {
  it("gives the admin a new password shown once and ends every session", async () => {
    const browser = new Browser(app.origin);
    expect((await browser.login()).status).toBe(200);
    const reset = await runCli(["admin", "reset-password"], {
      env: { DATABASE_URL: db.url, BITBRIDGE_HOME: home },
    });
    expect(reset.code, reset.stderr).toBe(0);
    const password = /New password of web user admin: (\S+)/.exec(reset.stdout)?.[1] ?? "";
    expect(password).toHaveLength(32);
    expect(reset.stderr).not.toContain(password);
    expect((await browser.fetch("/api/session")).status).toBe(401);
    expect((await new Browser(app.origin).login()).status).toBe(401);
    expect((await new Browser(app.origin).login("admin", password)).status).toBe(200);
  }, 60_000);
});
