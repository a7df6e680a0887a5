import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { useTestDatabase } from "../support/postgres.js";
import { runCli } from "./run-cli.js";

const db = await useTestDatabase("start");
const home = mkdtempSync(join(tmpdir(), "bitbridge-start-"));
chmodSync(home, 0o711);

afterAll(() => {
  rmSync(home, { recursive: true, force: true });
});

describe("bitbridge start (the README's main job)", () => {
  it("replicates every table from the simulator, then only what changed on the next run", async () => {
    const env = { DATABASE_URL: db.url, BITBRIDGE_HOME: home };
    const first = await runCli(["start", "--exit", "--port", "0"], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(
      /^Replicated [\d,]+ rows in [\d.]+ s \(15 tasks, [\d,]+ API requests\); run 1\./m,
    );
    expect(first.stdout).toContain("bitbucket.pull_requests");
    const counts = await db.pool.query(
      `SELECT (SELECT count(*) FROM bitbucket.pull_requests)::int AS prs, (SELECT count(*) FROM bitbucket.commits)::int AS commits`,
    );
    expect(counts.rows[0].prs).toBeGreaterThan(0);
    expect(counts.rows[0].commits).toBeGreaterThan(0);
    // As a share made before change triggers existed: the next start installs the trigger.
    await db.pool.query("DROP TRIGGER bitbridge_note_change ON bitbucket.pull_requests");
    const second = await runCli(["start", "--exit", "--port", "0"], { env });
    expect(second.code, second.stderr).toBe(0);
    const requests = (text: string) =>
      Number(/([\d,]+) API requests\); run/.exec(text)?.[1]?.replace(/,/g, ""));
    expect(requests(second.stdout)).toBeLessThan(requests(first.stdout));
    expect(second.stderr).not.toContain("Created job");
    // Nothing changed at the source: nothing inserted, updated or deleted.
    expect(second.stderr).not.toMatch(/\([1-9][\d,]* inserted|, [1-9][\d,]* updated|, [1-9][\d,]* deleted/);
    // Every replicated table is shared over OData once, and the demo user exists once.
    const shared = await db.pool.query(
      `SELECT (SELECT count(*) FROM bitbridge.odata_shares)::int AS shares,
              (SELECT count(*) FROM pg_tables WHERE schemaname = 'bitbucket' AND tablename NOT LIKE 'bb\\_%')::int AS tables,
              (SELECT count(*) FROM bitbridge.odata_credentials WHERE username = 'salesforce')::int AS users`,
    );
    expect(shared.rows[0]).toEqual({
      shares: shared.rows[0].tables,
      tables: shared.rows[0].tables,
      users: 1,
    });
    const untracked = await db.pool.query(
      `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'bitbucket' AND c.relkind = 'r' AND c.relname NOT LIKE 'bb\\_%'
          AND NOT EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = 'bitbridge_note_change')`,
    );
    expect(untracked.rows).toEqual([]);
  }, 180_000);

  it("without --exit it serves the replicated tables over OData until stopped", async () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "src/cli/entry.ts", "start", "--port", "0", "--odata-port", "0"],
      {
        env: { ...process.env, DATABASE_URL: db.url, BITBRIDGE_HOME: home },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const ready = new Promise<void>((resolve) => {
      child.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes("press Ctrl-C to stop")) resolve();
      });
    });
    const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
    await Promise.race([ready, closed]);
    const url = /OData 4\.0 \(for Salesforce Connect\): (\S+)/.exec(stdout)?.[1];
    expect(url, `${stdout}\n${stderr}`).toBeDefined();
    // The first run created the user; a reset gives this test a password of its own.
    const reset = await runCli(["odata", "credentials", "reset", "salesforce"], {
      env: { DATABASE_URL: db.url, BITBRIDGE_HOME: home },
    });
    const password = /Password: (\S+)/.exec(reset.stdout)?.[1] ?? "";
    const auth = `Basic ${Buffer.from(`salesforce:${password}`).toString("base64")}`;
    const answer = await fetch(`${url}/pull_requests?$select=id,title&$top=3&$count=true`, {
      headers: { authorization: auth },
    });
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as { value: unknown[]; "@odata.count": number };
    const live = await db.pool.query(
      "SELECT count(*)::int AS n FROM bitbucket.pull_requests WHERE bb_deleted_at IS NULL",
    );
    expect(body["@odata.count"]).toBe(live.rows[0].n);
    expect(body.value).toHaveLength(3);

    // The web UI's admin was created with a password shown once; a run started through the API is
    // taken by the main job's worker; the simulator has an OAuth consumer for Connect to Bitbucket.
    const origin = /Web UI and REST API: (\S+)\//.exec(stdout)?.[1];
    const adminPassword = /Created web user admin, password (\S+) /.exec(stdout)?.[1];
    expect(origin, stdout).toBeDefined();
    expect(adminPassword, stdout).toBeDefined();
    expect(stdout).toMatch(/AuthScheme=OAuth, OAuthClientId=\S+, OAuthClientSecret=\S+, Url=http/);
    const login = await fetch(`${origin}/api/session`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "admin", password: adminPassword }),
    });
    expect(login.status).toBe(200);
    const { csrfToken } = (await login.json()) as { csrfToken: string };
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const started = await fetch(`${origin}/api/jobs/bitbucket-all/runs`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie, "x-csrf-token": csrfToken },
      body: "{}",
    });
    expect(started.status, await started.clone().text()).toBe(202);
    const { runId } = (await started.json()) as { runId: number };
    let status = "QUEUED";
    for (let i = 0; i < 120 && ["QUEUED", "RUNNING"].includes(status); i++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const run = await fetch(`${origin}/api/runs/${runId}`, { headers: { cookie } });
      status = ((await run.json()) as { status: string }).status;
    }
    expect(status).toBe("SUCCEEDED");
    child.kill("SIGINT");
    expect(await closed).toBe(0);
  }, 180_000);
});
