import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningSimulator, startSimulator } from "../../sim/server.js";
import { AlertStore } from "../../src/alerts/store.js";
import { migrate } from "../../src/app/database.js";
import { ConnectionStore } from "../../src/engine/connection-store.js";
import { JobStore } from "../../src/engine/jobs.js";
import { RunHistory } from "../../src/engine/run-history.js";
import { type RunSummary, runJob } from "../../src/engine/runs.js";
import { useTestDatabase } from "../support/postgres.js";
import { type Received, startReceiver, startSmtpCapture } from "./receivers.js";

const db = await useTestDatabase("alerts");
const key = Buffer.alloc(32, 7);
const connections = new ConnectionStore(db.pool, () => key);
const jobs = new JobStore(db.pool);
const alerts = new AlertStore(db.pool, () => key);
const history = new RunHistory(db.pool);
const SMTP_USER = "mailer";
const SMTP_PASSWORD = "smtp-pass-9931";
const TOKEN = "T0K3N-abcdef";

let sim: RunningSimulator;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let smtp: Awaited<ReturnType<typeof startSmtpCapture>>;

beforeAll(async () => {
  await migrate(db.pool);
  sim = await startSimulator({ seed: 5, scale: "tiny", rateLimitPerHour: 1_000_000 });
  receiver = await startReceiver();
  smtp = await startSmtpCapture(SMTP_USER, SMTP_PASSWORD);
  const api = sim.sim.auth.credentials().apiTokens[0];
  await connections.add({
    name: "bb",
    connector: "bitbucket",
    properties: {
      AuthScheme: "APIToken",
      User: api?.email as string,
      APIToken: api?.token as string,
      Workspace: sim.sim.data.workspaces[0]?.slug as string,
      Url: sim.apiUrl,
      RequestsPerHour: "1000000",
    },
  });
  await connections.add({
    name: "dw",
    connector: "postgresql",
    properties: { URL: db.url, Schema: "alerts_data" },
  });
  await connections.add({
    name: "dead",
    connector: "postgresql",
    properties: { Server: "127.0.0.1", Port: "1", Database: "x", User: "u", Password: "pw-secret-123" },
  });
  for (const [name, dest] of [
    ["good", "dw"],
    ["broken", "dead"],
  ] as const) {
    await jobs.create({ name, source: "bb", destination: dest });
    await jobs.addTask(name, "REPLICATE [Workspaces]");
  }
  const email = (to: string) => ({
    kind: "email" as const,
    smtp: `smtp://${SMTP_USER}:${SMTP_PASSWORD}@127.0.0.1:${smtp.port}`,
    from: "bitbridge@example.com",
    to: [to],
  });
  await alerts.add("good", { kind: "webhook", url: `${receiver.url}/good/${TOKEN}?token=q-secret-77` }, [
    "success",
  ]);
  await alerts.add("good", { kind: "webhook", url: `${receiver.url}/zero` }, ["zero_rows"]);
  await alerts.add("good", email("ops@example.com"), ["failure", "zero_rows"]);
  await alerts.add("broken", { kind: "webhook", url: `${receiver.url}/fail/${TOKEN}` }, ["failure"]);
  await alerts.add("broken", { kind: "webhook", url: `${receiver.url}/succ` }, ["success"]);
  await alerts.add("broken", email("oncall@example.com"), ["failure"]);
});

afterAll(async () => {
  await sim?.stop();
  await receiver?.stop();
  await smtp?.stop();
});

function run(job: string, timeoutMs = 2_000): Promise<RunSummary> {
  return runJob({ pool: db.pool, connections, alerts: { key: () => key, timeoutMs } }, job);
}

/** What arrived since the last call, by receiver path prefix. */
function takeReceived(): Record<string, Received[]> {
  const byPath: Record<string, Received[]> = {};
  for (const r of receiver.received.splice(0)) {
    const prefix = r.path.split("/")[1] as string;
    byPath[prefix] = [...(byPath[prefix] ?? []), r];
  }
  return byPath;
}

interface Payload {
  readonly text: string;
  readonly bitbridge: { readonly event: string; readonly status: string; readonly error: string | null };
}

function payload(received: Received[] | undefined): Payload {
  const first = received?.[0];
  if (!first) throw new Error("no webhook request arrived");
  return first.body as Payload;
}

/** The captured mail's headers and body, soft line breaks (quoted-printable) undone. */
function mailText(raw: string): string {
  return raw
    .replace(/=\r?\n/g, "")
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

async function logText(runId: number): Promise<string> {
  return (await history.logs(runId)).map((l) => `${l.level} ${l.message}`).join("\n");
}

describe("job alerts", () => {
  it("alerts on success with a Slack-compatible JSON body, and only the alerts that asked", async () => {
    const summary = await run("good");
    expect(summary.status, summary.error).toBe("SUCCEEDED");
    expect(summary.inserted).toBeGreaterThan(0);
    const got = takeReceived();
    expect(Object.keys(got)).toEqual(["good"]);
    const [hook] = got.good ?? [];
    expect(hook?.path).toBe(`/good/${TOKEN}?token=q-secret-77`);
    expect(hook?.contentType).toBe("application/json");
    expect(hook?.body).toEqual({
      text: expect.stringContaining(`bitbridge job good: run ${summary.runId} succeeded\n`),
      bitbridge: {
        job: "good",
        run: summary.runId,
        status: "SUCCEEDED",
        event: "success",
        rows: { read: summary.rowsRead, inserted: summary.inserted, updated: summary.updated, deleted: 0 },
        requests: summary.requests,
        durationMs: summary.durationMs,
        error: null,
      },
    });
    const { text } = payload(got.good);
    expect(text).toContain(`Rows: ${summary.inserted} inserted, ${summary.updated} updated, 0 deleted`);
    expect(text).toContain(`Details: bitbridge job logs ${summary.runId}`);
    expect(smtp.mails).toHaveLength(0);
    expect(await logText(summary.runId)).toMatch(
      /info Alert \d+ sent by webhook to http:\/\/127\.0\.0\.1:\d+\/\*{8}\./,
    );
  });

  it("alerts on a second run that changed no rows: zero-rows alerts and success alerts", async () => {
    const summary = await run("good");
    expect(summary.status).toBe("SUCCEEDED");
    expect(summary.inserted + summary.updated + summary.deleted).toBe(0);
    const got = takeReceived();
    expect(Object.keys(got).sort()).toEqual(["good", "zero"]);
    expect(payload(got.zero).bitbridge.event).toBe("zero_rows");
    expect(payload(got.good).text).toContain("succeeded, no rows changed");
    expect(smtp.mails).toHaveLength(1);
    const mail = smtp.mails.splice(0)[0];
    expect(mail?.user).toBe(SMTP_USER);
    expect(mail?.from).toBe("bitbridge@example.com");
    expect(mail?.to).toEqual(["ops@example.com"]);
    expect(mailText(mail?.raw ?? "")).toContain(
      `Subject: bitbridge job good: run ${summary.runId} succeeded, no rows changed`,
    );
  });

  it("alerts on failure with the first error line, by webhook and email", async () => {
    const summary = await run("broken");
    expect(summary.status).toBe("FAILED");
    const got = takeReceived();
    expect(Object.keys(got)).toEqual(["fail"]);
    const body = payload(got.fail);
    expect(body.bitbridge.status).toBe("FAILED");
    expect(body.bitbridge.error).toMatch(/^Task 1 failed: /);
    expect(body.text).toContain(`Error: Task 1 failed: `);
    expect(JSON.stringify(body)).not.toContain("pw-secret-123");
    const mail = smtp.mails.splice(0)[0];
    expect(mail?.to).toEqual(["oncall@example.com"]);
    const text = mailText(mail?.raw ?? "");
    expect(text).toContain(`Subject: bitbridge job broken: run ${summary.runId} failed`);
    expect(text).toContain("Error: Task 1 failed: ");
    expect(text).toContain(`Details: bitbridge job logs ${summary.runId}`);
  });

  it("retries a webhook once after a 5xx answer, and not after a 4xx", async () => {
    receiver.answers.push(500, 200);
    const retried = await run("broken");
    expect(takeReceived().fail).toHaveLength(2);
    expect(await logText(retried.runId)).not.toContain("alert to webhook failed");
    smtp.mails.splice(0);

    receiver.answers.push(404);
    const refused = await run("broken");
    expect(takeReceived().fail).toHaveLength(1);
    expect(await logText(refused.runId)).toContain("warn alert to webhook failed: HTTP 404 Not Found");
    smtp.mails.splice(0);
  });

  it("gives up on a receiver that never answers: the run stays as it was, the log says why, secrets masked", async () => {
    receiver.answers.push("hang", "hang");
    const started = Date.now();
    const summary = await run("broken", 300);
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    expect(summary.status).toBe("FAILED");
    expect(takeReceived().fail).toHaveLength(2);
    expect((await history.get(summary.runId)).status).toBe("FAILED");
    const logs = await logText(summary.runId);
    expect(logs).toContain("warn alert to webhook failed: no answer within 0.3 s");
    // The email alert still went out after the webhook gave up.
    expect(smtp.mails.splice(0)).toHaveLength(1);
    expect(logs).not.toContain(TOKEN);
  });

  it("never writes an unreachable webhook's URL or a refused SMTP password into the log", async () => {
    await jobs.create({ name: "lonely", source: "bb", destination: "dead" });
    await jobs.addTask("lonely", "REPLICATE [Workspaces]");
    const closed = await startReceiver();
    await closed.stop();
    await alerts.add("lonely", { kind: "webhook", url: `${closed.url}/hook/${TOKEN}` }, ["failure"]);
    await alerts.add(
      "lonely",
      {
        kind: "email",
        smtp: `smtp://${SMTP_USER}:wrong-pass-5512@127.0.0.1:${smtp.port}`,
        from: "a@example.com",
        to: ["b@example.com"],
      },
      ["failure"],
    );
    const summary = await run("lonely");
    expect(summary.status).toBe("FAILED");
    const logs = await logText(summary.runId);
    expect(logs).toMatch(/warn alert to webhook failed: fetch failed: .*ECONNREFUSED/);
    expect(logs).toMatch(/warn alert to email failed: .*Invalid/);
    const all = await db.pool.query("SELECT string_agg(message, '\n') AS text FROM bitbridge.run_logs");
    for (const secret of [TOKEN, "q-secret-77", SMTP_PASSWORD, "wrong-pass-5512", "pw-secret-123"]) {
      expect(all.rows[0].text).not.toContain(secret);
    }
    const stored = await db.pool.query(
      "SELECT string_agg(target || display, '\n') AS text FROM bitbridge.job_alerts",
    );
    for (const secret of [TOKEN, "q-secret-77", SMTP_PASSWORD, "wrong-pass-5512"]) {
      expect(stored.rows[0].text).not.toContain(secret);
    }
  });

  it("lists alerts masked, removes them, and checks targets without echoing them", async () => {
    const listed = await alerts.list("good");
    expect(listed.map((a) => [a.kind, a.display, a.events])).toEqual([
      ["webhook", expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/\*{8}$/), ["success"]],
      ["webhook", expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/\*{8}$/), ["zero_rows"]],
      [
        "email",
        `smtp://${SMTP_USER}:********@127.0.0.1:${smtp.port} from bitbridge@example.com to ops@example.com`,
        ["failure", "zero_rows"],
      ],
    ]);
    await expect(
      alerts.add("good", { kind: "webhook", url: `ftp://example.com/${TOKEN}` }, ["failure"]),
    ).rejects.toThrow(/^--webhook takes an http:\/\/ or https:\/\/ URL\.$/);
    await expect(alerts.add("good", { kind: "webhook", url: "https://example.com/x" }, [])).rejects.toThrow(
      /one or more of failure, success, zero-rows/,
    );
    await alerts.remove("good", listed[1]?.id as number);
    expect((await alerts.list("good")).map((a) => a.id)).toEqual([listed[0]?.id, listed[2]?.id]);
    await expect(alerts.remove("good", listed[1]?.id as number)).rejects.toThrow(/has no alert/);
    await jobs.remove("lonely");
    const left = await db.pool.query("SELECT count(*)::int AS n FROM bitbridge.job_alerts");
    expect(left.rows[0].n).toBe(5);
  });
});
