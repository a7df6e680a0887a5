/**
 * The whole point-and-click workflow of issue 7 in a real browser, from an empty install to rows read
 * through OData: log in, add the destination and the Bitbucket source (through the simulator's OAuth
 * consent page), add a job and tasks, edit a task, schedule, run, look at the history, share tables,
 * create an OData credential, then read the rows with HTTP Basic and compare them with SQL; on the way
 * also field errors, a refused delete, credential reset and revoke, a cancelled run, API tokens, the
 * keyboard, a narrow window and a password change.
 *
 * The steps share one browser page and one server and build on each other, in order.
 */
import { copyFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type RunningSimulator, startSimulator } from "../../sim/server.js";
import { useTestDatabase } from "../support/postgres.js";
import {
  type Bitbridge,
  type Browser,
  buildWebUi,
  field,
  launchBrowser,
  ROOT,
  screenshot,
  setField,
  startBitbridge,
  visible,
} from "./harness.js";

const db = await useTestDatabase("web-ui");
const ADMIN_PASSWORD = "first-start password";
const NEW_ADMIN_PASSWORD = "a longer and newer password";
const STEP = 300_000;

let sim: RunningSimulator;
let bitbridge: Bitbridge;
let browser: Browser;
let page: Page;
/** Uncaught errors in the page: reported with a failing step, and none may happen at all. */
const pageErrors: string[] = [];
/** Filled in as the steps go: what later steps check against. */
const state = { odataUrl: "", odataPassword: "", entitySets: new Map<string, string>() };

beforeAll(async () => {
  await buildWebUi();
  sim = await startSimulator({ seed: 1, scale: "small", rateLimitPerHour: 1_000_000 });
  bitbridge = await startBitbridge({ DATABASE_URL: db.url, BITBRIDGE_ADMIN_PASSWORD: ADMIN_PASSWORD });
  browser = await launchBrowser();
  page = await browser.context.newPage();
  page.on("pageerror", (error) => pageErrors.push(error.message));
}, 600_000);

beforeEach(({ task, onTestFailed }) => {
  onTestFailed(async () => {
    if (pageErrors.length > 0) console.error(`Errors in the page:\n${pageErrors.join("\n")}`);
    console.error(`bitbridge serve said:\n${bitbridge?.output().slice(-4000)}`);
    // What the browser showed when the step failed, next to the other screenshots.
    await screenshot(page, `failed-${task.name.replace(/\W+/g, "-").slice(0, 60)}`).catch(() => {});
  });
});

afterAll(async () => {
  await browser?.close();
  await bitbridge?.stop();
  await sim?.stop();
}, 120_000);

/** Docs screenshots for the README: the main pages. */
const DOCS = path.join(ROOT, "docs", "screenshots");
async function docsScreenshot(name: string, docsName: string): Promise<void> {
  // A dialog closed by the step before fades out first.
  await page.locator(".mantine-Modal-overlay").first().waitFor({ state: "hidden" });
  const file = await screenshot(page, name, { hideNotifications: true });
  mkdirSync(DOCS, { recursive: true });
  copyFileSync(file, path.join(DOCS, `${docsName}.png`));
}

function notification(text: string | RegExp) {
  return page.locator(".mantine-Notification-root").filter({ hasText: text });
}

async function focused(attribute: string): Promise<string | null> {
  return page.locator(":focus").getAttribute(attribute);
}

/** Polls `check` until it holds (the UI syncs through the API after a pause, on a slow machine). */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function invalid(label: string): Promise<boolean> {
  return (await field(page, label).getAttribute("aria-invalid")) === "true";
}

async function navigate(label: string): Promise<void> {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: label }).click();
  await visible(page.getByRole("heading", { level: 1, name: label }));
}

describe("the web UI, from an empty install to rows in OData", () => {
  it(
    "logs in with the keyboard alone, refusing a wrong password first",
    async () => {
      await page.goto(`${bitbridge.origin}/connections`);
      await visible(page.getByRole("heading", { name: "Log in to bitbridge" }));
      expect(new URL(page.url()).pathname).toBe("/login");
      await screenshot(page, "00-login");
      // The password field has the focus: the username is prefilled with the only user, admin.
      expect(await focused("autocomplete")).toBe("current-password");
      await page.keyboard.type("not the password");
      await page.keyboard.press("Enter");
      await visible(page.getByRole("alert").filter({ hasText: /password|credentials|invalid/i }));
      await page.keyboard.press("Shift+Tab");
      expect(await focused("autocomplete")).toBe("username");
      expect(await page.locator(":focus").inputValue()).toBe("admin");
      await page.keyboard.press("Tab");
      expect(await focused("autocomplete")).toBe("current-password");
      await page.keyboard.press("ControlOrMeta+a");
      await page.keyboard.type(ADMIN_PASSWORD);
      await page.keyboard.press("Tab");
      expect(await page.locator(":focus").textContent()).toBe("Log in");
      await page.keyboard.press("Enter");
      // Back where the user wanted to go.
      await visible(page.getByRole("heading", { level: 1, name: "Connections" }));
      expect(new URL(page.url()).pathname).toBe("/connections");
      await visible(page.getByText(/No connections yet/));
      // The first Tab offers to skip the header and the menu.
      await page.keyboard.press("Tab");
      expect(await page.locator(":focus").textContent()).toBe("Skip to content");
      await page.keyboard.press("Enter");
      expect(await focused("id")).toBe("main-content");
    },
    STEP,
  );

  it(
    "adds the PostgreSQL destination, showing a field error next to its input first",
    async () => {
      await page.getByRole("link", { name: "Add connection" }).click();
      await page.getByRole("tab", { name: "Destinations" }).click();
      await page.getByRole("button", { name: /PostgreSQL/ }).click();
      await visible(page.getByRole("heading", { name: /New PostgreSQL/ }));
      // No name: the API's 400 names the field, and the UI marks that input.
      await page.getByRole("button", { name: "Create & Test" }).click();
      await until("the Name input is marked invalid", () => invalid("Name"));
      await setField(page, "Name", "warehouse");
      await setField(page, "URL", db.url);
      await setField(page, "Schema", "bitbucket");
      await field(page, "Labels").fill("demo");
      await page.keyboard.press("Enter");
      expect(await field(page, "URL").getAttribute("type")).toBe("password");
      await page.getByRole("button", { name: "Create & Test" }).click();
      await visible(notification("Connection warehouse created"));
      await visible(page.getByRole("heading", { level: 1, name: "warehouse" }));
      expect(new URL(page.url()).pathname).toBe("/connections/warehouse");
    },
    STEP,
  );

  it(
    "adds the Bitbucket source and connects it through the OAuth consent page",
    async () => {
      const consumer = sim.sim.auth.createConsumer({
        name: "bitbridge web UI test",
        scopes: sim.sim.auth.defaultConsumer.scopes,
        callbackUrl: `${bitbridge.origin}/api/oauth/callback`,
      });
      const workspace = sim.sim.data.workspaces[0]?.slug ?? "";
      await navigate("Connections");
      await page.getByRole("link", { name: "Add connection" }).click();
      await page.getByRole("button", { name: /Bitbucket/ }).click();
      await visible(page.getByRole("heading", { name: /New Bitbucket/ }));
      // The callback is this server's: what the OAuth consumer must be registered with.
      expect(await field(page, "CallbackURL").inputValue()).toBe(`${bitbridge.origin}/api/oauth/callback`);
      await setField(page, "Name", "bitbucket");
      for (const label of ["demo", "cloud"]) {
        await field(page, "Labels").fill(label);
        await page.keyboard.press("Enter");
      }
      await setField(page, "AuthScheme", "OAuth");
      await setField(page, "OAuthClientId", consumer.clientId);
      await setField(page, "OAuthClientSecret", consumer.clientSecret);
      await setField(page, "Workspace", workspace);
      await setField(page, "Url", sim.apiUrl);
      await setField(page, "AuthUrl", sim.origin);
      await setField(page, "RequestsPerHour", "100000");
      await screenshot(page, "01-add-connection");
      // Not authorized yet, so the test cannot pass; the connection is saved anyway, to be authorized next.
      await page.getByRole("button", { name: "Create & Test" }).click();
      await visible(
        notification("Connection bitbucket created").filter({ hasText: /Connect to Bitbucket/i }),
      );
      await visible(page.getByRole("heading", { level: 1, name: "bitbucket" }));

      await page.getByRole("button", { name: "Connect to Bitbucket" }).click();
      await page.waitForURL((url) => url.origin === sim.origin);
      await visible(page.getByRole("button", { name: "Grant access" }));
      await screenshot(page, "02-bitbucket-consent");
      await page.getByRole("button", { name: "Grant access" }).click();
      await page.waitForURL(
        (url) => url.origin === bitbridge.origin && url.pathname === "/connections/bitbucket",
      );
      await visible(notification("Connected to Bitbucket"));
      // The outcome is announced once, not again on reload.
      await page.waitForURL((url) => url.search === "");

      await page.getByRole("button", { name: "Test connection" }).click();
      await visible(notification("bitbucket works"));
      // Saving again without retyping the secret keeps it: the test that follows the save passes.
      expect(await field(page, "OAuthClientSecret").inputValue()).toBe("");
      await setField(page, "MaxConcurrency", "2");
      await page.getByRole("button", { name: "Save & Test" }).click();
      await visible(notification("Connection bitbucket saved"));
      expect(await field(page, "MaxConcurrency").inputValue()).toBe("2");

      await navigate("Connections");
      await visible(page.getByRole("link", { name: "bitbucket" }));
      await visible(page.getByRole("link", { name: "warehouse" }));
      expect(await page.getByRole("row").filter({ hasText: "demo" }).count()).toBe(2);
      await docsScreenshot("03-connections", "connections");
      // The label filter keeps only the connections that carry the label, in a URL that can be shared.
      await setField(page, "Label", "cloud");
      await page.waitForURL((url) => url.searchParams.get("label") === "cloud");
      await visible(page.getByRole("link", { name: "bitbucket" }));
      await until(
        "warehouse is filtered out",
        async () => (await page.getByRole("link", { name: "warehouse" }).count()) === 0,
      );
    },
    STEP,
  );

  it(
    "adds a job and three tasks picked from the source's tables",
    async () => {
      await navigate("Jobs");
      await page.getByRole("button", { name: "Add job" }).click();
      const dialog = page.getByRole("dialog", { name: "Add job" });
      await setField(page, "Name", "nightly");
      await setField(page, "Source", "bitbucket");
      await setField(page, "Destination", "warehouse");
      await dialog.getByRole("button", { name: "Create job" }).click();
      await visible(page.getByRole("heading", { level: 1, name: "Job nightly" }));

      await page.getByRole("button", { name: "Add tasks" }).click();
      const tasks = page.getByRole("dialog", { name: "Add tasks" });
      for (const table of ["Repositories", "PullRequests", "Branches"]) {
        await tasks.getByRole("checkbox", { name: table, exact: true }).check();
      }
      await tasks.getByRole("button", { name: "Add 3 tasks" }).click();
      await visible(notification("Added 3 tasks."));
      await visible(page.getByRole("tab", { name: "Tasks (3)" }));
      for (const table of ["Repositories", "PullRequests", "Branches"]) {
        await visible(page.getByRole("cell", { name: `REPLICATE [${table}]` }));
      }
      await docsScreenshot("04-job-tasks", "job-tasks");

      // A connection a job uses cannot go: the API's conflict is shown and nothing changes.
      await navigate("Connections");
      await page.getByRole("link", { name: "warehouse" }).click();
      await page.getByRole("button", { name: "Delete" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Delete connection" }).click();
      await visible(notification("Not deleted"));
      expect(new URL(page.url()).pathname).toBe("/connections/warehouse");
      await page.getByRole("link", { name: "Jobs" }).first().click();
      await page.getByRole("link", { name: "nightly" }).click();
      await page.getByRole("tab", { name: /^Tasks/ }).click();
    },
    STEP,
  );

  it(
    "edits a task: excludes and renames columns, adds a filter, and keeps the REPLICATE text in sync",
    async () => {
      await page.getByRole("link", { name: "Edit task 1 (Repositories)" }).click();
      await visible(page.getByRole("heading", { level: 1, name: /Task 1: Repositories/ }));
      await page.getByRole("checkbox", { name: "Include HtmlUrl" }).uncheck();
      await page.getByRole("checkbox", { name: "Include Description" }).uncheck();
      await field(page, "Rename FullName").fill("repo_full_name");
      await page.getByRole("button", { name: "Add computed column" }).click();
      await field(page, "Expression 1").fill("UPPER(Name)");
      await field(page, "Name of expression 1").fill("name_upper");
      await page.getByRole("tab", { name: "Query" }).click();
      await field(page, "Filter (WHERE)").fill("Language <> 'go'");

      await page.getByRole("tab", { name: "REPLICATE" }).click();
      const text = field(page, "REPLICATE statement");
      await until("the statement follows the Columns and Query tabs", async () => {
        const value = await text.inputValue();
        return value.includes("repo_full_name") && /WHERE/i.test(value) && !value.includes("HtmlUrl");
      });
      const statement = await text.inputValue();
      expect(statement).toMatch(/Language <> 'go'/);
      expect(statement).toContain("UPPER(Name) AS name_upper");
      expect(statement).not.toMatch(/Description/);
      await page.getByRole("tab", { name: "Columns" }).click();
      await docsScreenshot("05-task-editor", "task-editor");
      await page.getByRole("tab", { name: "REPLICATE" }).click();

      // The other direction: text the parser rejects is marked, and fixed text updates the Query tab.
      await text.fill("REPLICATE [Repositories] WHERE");
      await until("the statement is marked invalid", () => invalid("REPLICATE statement"));
      await text.fill(statement.replace("<> 'go'", "<> 'cobol'"));
      await until("the statement is valid again", async () => !(await invalid("REPLICATE statement")));
      await page.getByRole("tab", { name: "Query" }).click();
      expect(await field(page, "Filter (WHERE)").inputValue()).toContain("'cobol'");
      await field(page, "Filter (WHERE)").fill("Language <> 'go'");

      // Order by follows both ways too, and group by from the Query tab; both are taken out before saving.
      await page.getByRole("button", { name: "Add sort expression" }).click();
      await field(page, "Sort expression 1").fill("Language");
      await page.getByRole("checkbox", { name: "Descending" }).check();
      await page.getByRole("tab", { name: "REPLICATE" }).click();
      await until("the statement sorts", async () => /ORDER BY Language DESC/i.test(await text.inputValue()));
      await text.fill((await text.inputValue()).replace(/Language DESC/i, "Name"));
      await until("the sorted statement is valid", async () => !(await invalid("REPLICATE statement")));
      await page.getByRole("tab", { name: "Query" }).click();
      await until(
        "the Query tab sorts by Name",
        async () => (await field(page, "Sort expression 1").inputValue()) === "Name",
      );
      expect(await page.getByRole("checkbox", { name: "Descending" }).isChecked()).toBe(false);
      await page.getByRole("button", { name: "Remove sort expression 1" }).click();
      await field(page, "Group by").fill("Language");
      await page.getByRole("tab", { name: "REPLICATE" }).click();
      await until("the statement groups", async () => /GROUP BY Language/i.test(await text.inputValue()));
      await page.getByRole("tab", { name: "Query" }).click();
      await field(page, "Group by").fill("");
      await page.getByRole("tab", { name: "REPLICATE" }).click();
      await until("the statement no longer groups or sorts", async () => {
        const value = await text.inputValue();
        return !/GROUP BY|ORDER BY/i.test(value) && value.includes("Language <> 'go'");
      });

      await page.getByRole("button", { name: "Save task" }).click();
      await visible(notification("Task 1 saved."));
      await page.getByRole("link", { name: "nightly" }).click();
      await visible(page.getByRole("cell", { name: /Language <> 'go'/ }));
    },
    STEP,
  );

  it(
    "configures a daily schedule in a time zone and shows the next runs",
    async () => {
      await page.getByRole("tab", { name: "Overview" }).click();
      await page.getByRole("button", { name: "Configure" }).click();
      const dialog = page.getByRole("dialog", { name: "Configure schedule" });
      await setField(page, "Run", "Daily");
      await setField(page, "Time", "02:30");
      await setField(page, "Time zone", "Europe/Berlin");
      await dialog.getByRole("button", { name: "Save schedule" }).click();
      await visible(dialog.getByText("Next runs"));
      await screenshot(page, "06-schedule");
      await dialog.getByRole("button", { name: "Close" }).click();
      await visible(page.getByText("30 2 * * *"));
      await visible(page.getByText(/Europe\/Berlin/));
      expect(await page.getByRole("listitem").count()).toBeGreaterThan(0);
    },
    STEP,
  );

  it(
    "saves the weekly, monthly and cron forms, recognises each when reopened, and names a bad cron's fault",
    async () => {
      const dialog = page.getByRole("dialog", { name: "Configure schedule" });
      const save = async (cron: string) => {
        await dialog.getByRole("button", { name: "Save schedule" }).click();
        await visible(dialog.getByText("Next runs"));
        await dialog.getByRole("button", { name: "Close" }).click();
        await visible(page.getByText(cron, { exact: true }));
      };
      await page.getByRole("button", { name: "Configure" }).click();
      expect(await field(page, "Run").inputValue()).toBe("Daily");
      expect(await field(page, "Time").inputValue()).toBe("02:30");
      await setField(page, "Run", "Weekly");
      await setField(page, "Day of the week", "Friday");
      await setField(page, "Time", "07:15");
      await save("15 7 * * 5");

      await page.getByRole("button", { name: "Configure" }).click();
      expect(await field(page, "Run").inputValue()).toBe("Weekly");
      expect(await field(page, "Day of the week").inputValue()).toBe("Friday");
      await setField(page, "Run", "Monthly");
      await setField(page, "Day of the month", "31");
      await setField(page, "Time", "23:00");
      await save("0 23 31 * *");

      await page.getByRole("button", { name: "Configure" }).click();
      expect(await field(page, "Run").inputValue()).toBe("Monthly");
      expect(await field(page, "Day of the month").inputValue()).toBe("31");
      await setField(page, "Run", "Cron expression");
      await setField(page, "Cron expression", "61 * * * *");
      await dialog.getByRole("button", { name: "Save schedule" }).click();
      await visible(dialog.getByText(/is not a valid cron expression/).first());
      expect(await field(page, "Cron expression").getAttribute("aria-invalid")).toBe("true");
      await setField(page, "Cron expression", "*/20 8-18 * * 1-5");
      await save("*/20 8-18 * * 1-5");
      await page.getByRole("button", { name: "Configure" }).click();
      expect(await field(page, "Run").inputValue()).toBe("Cron expression");
      expect(await field(page, "Time zone").inputValue()).toBe("Europe/Berlin");
      await dialog.getByRole("button", { name: "Cancel" }).click();
    },
    STEP,
  );

  it(
    "runs the job, following each task live, and announces rows and time at the end",
    async () => {
      await page.getByRole("button", { name: "Run job" }).click();
      await visible(page.getByRole("heading", { name: /^Run( \d+)?$/ }));
      const done = notification(/Replicated [\d,]+ rows in [\d.]+ s/);
      await done.first().waitFor({ state: "visible", timeout: STEP - 30_000 });
      await screenshot(page, "07-run-finished");
      const message = (await done.first().textContent()) ?? "";
      const rows = Number(/Replicated ([\d,]+) rows/.exec(message)?.[1]?.replaceAll(",", ""));
      expect(rows).toBeGreaterThan(0);
      const progress = page.locator("[aria-labelledby=run-progress-title]");
      expect(await progress.getByText("succeeded", { exact: true }).count()).toBeGreaterThanOrEqual(3);
    },
    STEP,
  );

  it(
    "lists the run in History with per-task rows, requests and logs",
    async () => {
      await navigate("History");
      const row = page.getByRole("row").filter({ hasText: "nightly" }).first();
      await visible(row.getByText("succeeded"));
      await row.getByRole("button", { name: /^Show the tasks of run \d+$/ }).click();
      for (const table of ["repositories", "pull_requests", "branches"]) {
        await visible(page.getByRole("cell", { name: `bitbucket.${table}`, exact: true }));
      }
      await docsScreenshot("08-history", "history");
      await row.getByRole("link").first().click();
      await visible(page.getByRole("heading", { level: 1, name: /^Run \d+$/ }));
      await visible(page.getByRole("cell", { name: "Repositories" }));
      await visible(page.getByRole("heading", { name: "Logs" }));
      expect(await page.getByRole("button", { name: "Cancel run" }).count()).toBe(0);
      await screenshot(page, "09-run");
    },
    STEP,
  );

  it(
    "shares the replicated tables, creates an OData credential shown once, and previews the service",
    async () => {
      await navigate("External Objects");
      const url = (await (await visible(page.getByLabel("OData URL"))).textContent()) ?? "";
      expect(url).toBe(`${bitbridge.origin}/odata/v4`);
      state.odataUrl = url;
      await page.getByRole("button", { name: "Copy URL" }).click();
      expect(await page.evaluate("navigator.clipboard.readText()")).toBe(url);

      for (const table of ["repositories", "pull_requests", "branches"]) {
        const share = page.getByRole("switch", { name: `Share bitbucket.${table}` });
        // The switch shows the server's state: it turns on once the share exists, not on the click itself.
        // Its input is zero-sized under the drawn track, hence force.
        await share.click({ force: true });
        await visible(notification(`Shared bitbucket.${table}.`));
        const row = page.getByRole("row").filter({ has: share });
        await until(`bitbucket.${table} is shown as shared`, () => share.isChecked());
        state.entitySets.set(table, (await row.getByRole("cell").nth(3).textContent()) ?? "");
      }

      await page.getByRole("button", { name: "Create credential" }).click();
      await setField(page, "Username", "salesforce");
      await page
        .getByRole("dialog", { name: "Create credential" })
        .getByRole("button", { name: "Create" })
        .click();
      const secret = await visible(page.locator("[data-secret]"));
      state.odataPassword = (await secret.textContent()) ?? "";
      expect(state.odataPassword.length).toBeGreaterThanOrEqual(16);
      await page.getByRole("button", { name: "Done" }).click();
      await visible(page.getByRole("cell", { name: "salesforce", exact: true }));
      // Shown once: nowhere on the page any more.
      expect(await page.getByText(state.odataPassword).count()).toBe(0);

      await setField(page, "Entity set", state.entitySets.get("repositories") ?? "");
      await page.getByRole("button", { name: "Show the first 5 rows" }).click();
      await visible(page.getByLabel("Sample query result"));
      expect(await page.getByLabel("Sample query result").textContent()).toContain("repo_full_name");
      await docsScreenshot("10-external-objects", "external-objects");
      await page.getByRole("tab", { name: "$metadata" }).click();
      await page.getByRole("button", { name: "Load $metadata" }).click();
      expect(await (await visible(page.getByLabel("$metadata document"))).textContent()).toContain(
        "EntityType",
      );
    },
    STEP,
  );

  it(
    "serves through OData, with the credential, the rows SQL finds in the destination",
    async () => {
      const auth = `Basic ${Buffer.from(`salesforce:${state.odataPassword}`).toString("base64")}`;
      const entitySet = state.entitySets.get("repositories") ?? "";
      const unauthenticated = await fetch(`${state.odataUrl}/${entitySet}`);
      expect(unauthenticated.status).toBe(401);
      const response = await fetch(`${state.odataUrl}/${entitySet}?$orderby=uuid`, {
        headers: { authorization: auth, accept: "application/json" },
      });
      expect(response.status).toBe(200);
      const odata = ((await response.json()) as { value: Record<string, unknown>[] }).value;

      const sql = await db.pool.query<{
        uuid: string;
        repo_full_name: string;
        language: string;
        name: string;
        name_upper: string;
      }>("SELECT uuid, repo_full_name, language, name, name_upper FROM bitbucket.repositories ORDER BY uuid");
      expect(sql.rows.length).toBeGreaterThan(0);
      expect(odata.map((r) => [r.uuid, r.repo_full_name])).toEqual(
        sql.rows.map((r) => [r.uuid, r.repo_full_name]),
      );
      // The task's edits reached the destination: the filter, the exclusions and the rename.
      expect(sql.rows.every((r) => r.language !== "go")).toBe(true);
      expect(sql.rows.every((r) => r.name_upper === r.name.toUpperCase())).toBe(true);
      const columns = await db.pool.query<{ column_name: string }>(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'bitbucket' AND table_name = 'repositories'",
      );
      const names = columns.rows.map((c) => c.column_name);
      expect(names).toContain("repo_full_name");
      expect(names).not.toContain("html_url");
      expect(names).not.toContain("description");
      expect(names).not.toContain("full_name");
      // Every repository the simulator has outside Go, no more and no fewer.
      const token = sim.sim.auth.credentials().apiTokens[0]?.authorization ?? "";
      const workspace = sim.sim.data.workspaces[0]?.slug ?? "";
      const repos = (await (
        await fetch(`${sim.apiUrl}/repositories/${workspace}?pagelen=100`, {
          headers: { authorization: token },
        })
      ).json()) as { values: { language: string }[] };
      expect(sql.rows.length).toBe(repos.values.filter((r) => r.language !== "go").length);

      for (const [table, set] of state.entitySets) {
        const counted = await fetch(`${state.odataUrl}/${set}/$count`, { headers: { authorization: auth } });
        const total = await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM bitbucket.${table}`);
        expect(Number(await counted.text()), table).toBe(Number(total.rows[0]?.n));
      }
    },
    STEP,
  );

  it(
    "resets a credential's password and revokes the credential",
    async () => {
      await navigate("External Objects");
      await page.getByRole("button", { name: "Create credential" }).click();
      await setField(page, "Username", "temporary");
      await page
        .getByRole("dialog", { name: "Create credential" })
        .getByRole("button", { name: "Create" })
        .click();
      await visible(page.locator("[data-secret]"));
      await page.getByRole("button", { name: "Done" }).click();
      const entitySet = state.entitySets.get("branches") ?? "";
      const read = (password: string) =>
        fetch(`${state.odataUrl}/${entitySet}?$top=1`, {
          headers: { authorization: `Basic ${Buffer.from(`temporary:${password}`).toString("base64")}` },
        }).then((r) => r.status);

      await page.getByRole("button", { name: "Reset password of temporary" }).click();
      const reset = (await (await visible(page.locator("[data-secret]"))).textContent()) ?? "";
      await page.getByRole("button", { name: "Done" }).click();
      expect(await read(reset)).toBe(200);

      await page.getByRole("button", { name: "Revoke temporary" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Revoke credential" }).click();
      await visible(notification("Revoked temporary."));
      await visible(
        page
          .getByRole("row")
          .filter({ hasText: "temporary" })
          .getByText(/^Revoked /),
      );
      // The OData service trusts a credential it read for a second (src/odata/credentials.ts).
      await until("the revoked password stops working", async () => (await read(reset)) === 401, 15_000);
      // The other credential is untouched.
      expect(await page.getByRole("button", { name: "Revoke salesforce" }).count()).toBe(1);
    },
    STEP,
  );

  it(
    "runs only the selected task, and cancels the run from its page while it is slow",
    async () => {
      await navigate("Jobs");
      await page.getByRole("link", { name: "nightly" }).click();
      await page.getByRole("tab", { name: /^Tasks/ }).click();
      await page.getByRole("checkbox", { name: "Select task 3 (Branches)" }).check();
      // Every Bitbucket answer now takes two seconds: the run lasts long enough to be cancelled.
      sim.sim.faults.configure({ global: { latencyMs: 2000 } });
      try {
        await page.getByRole("button", { name: "Run selected (1)" }).click();
        const progress = page.locator("[aria-labelledby=run-progress-title]");
        const tasks = progress.getByRole("row");
        await until("the run lists its task", async () => (await tasks.count()) > 1);
        expect(await tasks.count()).toBe(2);
        await visible(tasks.filter({ hasText: "branches" }));
        await progress.getByRole("link", { name: "Logs and details" }).click();
        await page.getByRole("button", { name: "Cancel run" }).click();
        await visible(page.getByText("cancelled", { exact: true }));
        await screenshot(page, "10b-run-cancelled");
        expect(await page.getByRole("button", { name: "Cancel run" }).count()).toBe(0);
      } finally {
        sim.sim.faults.configure({});
      }
    },
    STEP,
  );

  it(
    "creates an API token shown once that works as a Bearer token until deleted",
    async () => {
      await navigate("Settings");
      await setField(page, "Token name", "deploy script");
      await page.getByRole("button", { name: "Create token" }).click();
      const token = (await (await visible(page.locator("[data-secret]"))).textContent()) ?? "";
      await page.getByRole("button", { name: "Done" }).click();
      const jobs = await fetch(`${bitbridge.origin}/api/jobs`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(jobs.status).toBe(200);
      expect(((await jobs.json()) as { name: string }[]).map((j) => j.name)).toEqual(["nightly"]);
      await page.getByRole("button", { name: "Delete token deploy script" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Delete token" }).click();
      await visible(notification("Deleted token deploy script."));
      const after = await fetch(`${bitbridge.origin}/api/jobs`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(after.status).toBe(401);
      await screenshot(page, "11-settings");
    },
    STEP,
  );

  it(
    "works in a 420 px window through the burger menu",
    async () => {
      await page.setViewportSize({ width: 420, height: 800 });
      await page.goto(`${bitbridge.origin}/jobs`);
      await visible(page.getByRole("heading", { level: 1, name: "Jobs" }));
      const nav = page.getByRole("navigation", { name: "Main" });
      expect(await nav.isVisible()).toBe(false);
      const burger = page.getByRole("button", { name: "Open navigation" });
      await burger.click();
      await visible(nav.getByRole("link", { name: "History" }));
      await screenshot(page, "12-narrow-menu");
      await nav.getByRole("link", { name: "History" }).click();
      await visible(page.getByRole("heading", { level: 1, name: "History" }));
      // The menu closes once a page is picked, and wide tables scroll inside the page, not the page itself.
      await until("the menu closes", async () => !(await nav.isVisible()));
      expect(await page.getByRole("button", { name: "Open navigation" }).isVisible()).toBe(true);
      expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(420);
      await screenshot(page, "13-narrow-history");
      await page.setViewportSize({ width: 1280, height: 800 });
    },
    STEP,
  );

  it(
    "changes the admin password, logs out and logs in with the new one",
    async () => {
      await navigate("Settings");
      await field(page, "Current password").fill(ADMIN_PASSWORD);
      await field(page, "New password").fill(NEW_ADMIN_PASSWORD);
      await field(page, "Repeat the new password").fill(NEW_ADMIN_PASSWORD);
      await page.getByRole("button", { name: "Change password" }).click();
      await visible(notification("Password changed."));
      await page.getByRole("button", { name: "Log out" }).click();
      await visible(page.getByRole("heading", { name: "Log in to bitbridge" }));
      await field(page, "Password").fill(NEW_ADMIN_PASSWORD);
      await page.getByRole("button", { name: "Log in" }).click();
      await visible(page.getByRole("heading", { level: 1, name: "Connections" }));
    },
    STEP,
  );

  it("threw no uncaught error in the page along the way", () => {
    expect(pageErrors).toEqual([]);
  });
});
