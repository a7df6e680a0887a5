import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "../../src/app/database.js";
import { ConnectionStore } from "../../src/engine/connection-store.js";
import { JobStore } from "../../src/engine/jobs.js";
import { RunHistory } from "../../src/engine/run-history.js";
import { type CliResult, runCli } from "../cli/run-cli.js";
import { useTestDatabase } from "../support/postgres.js";
import { startReceiver } from "./receivers.js";

const db = await useTestDatabase("alert_cli");
const KEY = Buffer.alloc(32, 9);
const TOKEN = "xoxb-hook-token-8841";
const SMTP_PASSWORD = "smtp-cli-pass-3317";
let home: string;
let env: NodeJS.ProcessEnv;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
const outputs: CliResult[] = [];

async function cli(args: string[]): Promise<CliResult> {
  const result = await runCli(args, { env });
  outputs.push(result);
  return result;
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "bitbridge-alert-cli-"));
  env = { DATABASE_URL: db.url, BITBRIDGE_HOME: home, BITBRIDGE_SECRET_KEY: KEY.toString("base64") };
  receiver = await startReceiver();
  // Set up in-process: every CLI start is a few seconds.
  await migrate(db.pool);
  const connections = new ConnectionStore(db.pool, () => KEY);
  await connections.add({
    name: "bb",
    connector: "bitbucket",
    properties: {
      AuthScheme: "APIToken",
      User: "a@example.com",
      APIToken: "tok-cli-1234",
      Workspace: "acme",
      Url: "http://127.0.0.1:9/2.0",
    },
  });
  await connections.add({
    name: "dead",
    connector: "postgresql",
    properties: { Server: "127.0.0.1", Port: "1", Database: "x", User: "u", Password: "pw" },
  });
  const jobs = new JobStore(db.pool);
  await jobs.create({ name: "nightly", source: "bb", destination: "dead" });
  await jobs.addTask("nightly", "REPLICATE [Workspaces]");
});

afterAll(async () => {
  await receiver?.stop();
  rmSync(home, { recursive: true, force: true });
  for (const out of outputs) {
    expect(out.stdout + out.stderr).not.toContain(TOKEN);
    expect(out.stdout + out.stderr).not.toContain(SMTP_PASSWORD);
  }
});

describe("bitbridge job alert", () => {
  it("adds, lists with secrets masked, fires from job run, and removes", { timeout: 180_000 }, async () => {
    const hook = await cli([
      "job",
      "alert",
      "add",
      "nightly",
      "--webhook",
      `${receiver.url}/services/${TOKEN}`,
      "--on",
      "failure,zero-rows",
    ]);
    expect(hook.code, hook.stderr).toBe(0);
    expect(hook.stdout).toMatch(
      /^Added alert (\d+) to job nightly: webhook http:\/\/127\.0\.0\.1:\d+\/\*{8} on failure,zero-rows\.\n$/,
    );
    const closed = await startReceiver();
    await closed.stop();
    const closedHost = new URL(closed.url).host;
    const mail = await cli([
      "job",
      "alert",
      "add",
      "nightly",
      "--email",
      `smtps://mailer:${SMTP_PASSWORD}@${closedHost}`,
      "--from",
      "bitbridge@example.com",
      "--to",
      "a@example.com",
      "--to",
      "b@example.com",
    ]);
    expect(mail.code, mail.stderr).toBe(0);

    const list = await cli(["job", "alert", "list", "nightly"]);
    expect(list.code, list.stderr).toBe(0);
    const rows = list.stdout.trim().split("\n");
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(
      /^\d+\. webhook http:\/\/127\.0\.0\.1:\d+\/\*{8} on failure,zero-rows \(added \d{4}-/,
    );
    expect(rows[1]).toMatch(
      /^\d+\. email smtps:\/\/mailer:\*{8}@127\.0\.0\.1:\d+ from bitbridge@example\.com to a@example\.com, b@example\.com on failure \(added /,
    );

    const run = await cli(["job", "run", "nightly"]);
    expect(run.code).toBe(1);
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]?.body).toMatchObject({ bitbridge: { job: "nightly", status: "FAILED" } });
    const runId = /Run (\d+) failed/.exec(run.stderr)?.[1] as string;
    const logs = (await new RunHistory(db.pool).logs(Number(runId))).map((l) => l.message).join("\n");
    // Nothing listens on the SMTP port: the email alert's failure is in the run's log only.
    expect(logs).toMatch(/alert to email failed: .*ECONNREFUSED/);
    expect(logs).toMatch(/Alert \d+ sent by webhook to http:\/\/127\.0\.0\.1:\d+\/\*{8}\./);
    expect(logs).not.toContain(SMTP_PASSWORD);

    const id = rows[0]?.split(".")[0] as string;
    const removed = await cli(["job", "alert", "remove", "nightly", id]);
    expect(removed.stdout).toBe(`Removed alert ${id} of job nightly.\n`);
    const left = await db.pool.query("SELECT kind FROM bitbridge.job_alerts");
    expect(left.rows).toEqual([{ kind: "email" }]);
    const again = await cli(["job", "alert", "remove", "nightly", id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`Job nightly has no alert ${id}; see bitbridge job alert list nightly.`);
  });

  it("asks for exactly one target and known events", { timeout: 120_000 }, async () => {
    const neither = await cli(["job", "alert", "add", "nightly"]);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain("Give either --webhook <url> or --email <smtp-url>");
    const badEvent = await cli([
      "job",
      "alert",
      "add",
      "nightly",
      "--webhook",
      "https://x.example/",
      "--on",
      "always",
    ]);
    expect(badEvent.code).not.toBe(0);
    expect(badEvent.stderr).toContain("expected failure, success or zero-rows");
    const noTo = await cli([
      "job",
      "alert",
      "add",
      "nightly",
      "--email",
      `smtp://u:${SMTP_PASSWORD}@127.0.0.1:25`,
      "--from",
      "a@example.com",
    ]);
    expect(noTo.code).toBe(1);
    expect(noTo.stderr).toContain("--to takes an email address");
  });
});
