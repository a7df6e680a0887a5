import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningSimulator, startSimulator } from "../../sim/server.js";
import { useTestDatabase } from "../support/postgres.js";
import { type CliResult, runCli } from "./run-cli.js";

const db = await useTestDatabase("job_cli");
const hasRunner = existsSync("src/engine/task-runner.ts");
let sim: RunningSimulator;
let home: string;
let env: NodeJS.ProcessEnv;
let source: string;
let token: string;
const outputs: CliResult[] = [];

async function cli(args: string[]): Promise<CliResult> {
  const result = await runCli(args, { env });
  outputs.push(result);
  return result;
}

beforeAll(async () => {
  sim = await startSimulator({ seed: 21, scale: "tiny" });
  home = mkdtempSync(join(tmpdir(), "bitbridge-job-cli-"));
  env = { DATABASE_URL: db.url, BITBRIDGE_HOME: home };
  const api = sim.sim.auth.credentials().apiTokens[0];
  token = api?.token as string;
  source = `AuthScheme=APIToken;User=${api?.email};APIToken=${token};Workspace=${sim.sim.data.workspaces[0]?.slug};Url=${sim.apiUrl}`;
});

afterAll(async () => {
  await sim.stop();
  rmSync(home, { recursive: true, force: true });
  for (const out of outputs) expect(out.stdout + out.stderr).not.toContain(token);
});

describe("bitbridge job", () => {
  it("creates a job, edits its tasks, and protects its connections", async () => {
    const add = await cli([
      "connection",
      "add",
      "bitbucket",
      "--connector",
      "bitbucket",
      "--properties",
      source,
    ]);
    expect(add.code, add.stderr).toBe(0);
    const dest = await cli([
      "connection",
      "add",
      "warehouse",
      "--connector",
      "postgresql",
      "--properties",
      `URL=${db.url};Schema=cli_data`,
      "--no-test",
    ]);
    expect(dest.code, dest.stderr).toBe(0);

    const wrongKind = await cli(["job", "create", "nightly", "--source", "warehouse", "--dest", "warehouse"]);
    expect(wrongKind.code).toBe(1);
    expect(wrongKind.stderr).toContain(
      "Connection warehouse is a postgresql destination, not a Bitbucket source.",
    );
    const create = await cli(["job", "create", "nightly", "--source", "bitbucket", "--dest", "warehouse"]);
    expect(create.code, create.stderr).toBe(0);
    expect(create.stdout).toBe("Created job nightly: bitbucket → warehouse.\n");

    const tasks = await cli(["job", "add-task", "nightly", "replicate Repositories;  replicate [Projects]"]);
    expect(tasks.code, tasks.stderr).toBe(0);
    expect(tasks.stdout).toBe("Task 1: REPLICATE Repositories\nTask 2: REPLICATE [Projects]\n");

    const bad = await cli(["job", "add-task", "nightly", "REPLICATE Tags SELECT Nmae FROM Tags"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("1 | REPLICATE Tags SELECT Nmae FROM Tags\n  |                       ^^^^");
    expect(bad.stderr).toMatch(/Did you mean Name\?/);

    expect((await cli(["job", "add-task", "nightly", "REPLICATE Tags", "--position", "1"])).stdout).toBe(
      "Task 1: REPLICATE Tags\n",
    );
    const removed = await cli(["job", "remove-task", "nightly", "1"]);
    expect(removed.stdout).toBe("Removed task 1: REPLICATE Tags\n");
    const missing = await cli(["job", "remove-task", "nightly", "5"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("its tasks are at positions 1-2");

    const show = await cli(["job", "show", "nightly"]);
    expect(show.stdout).toBe(
      "nightly: bitbucket → warehouse\n  1. REPLICATE Repositories\n  2. REPLICATE [Projects]\nLast run: never\n",
    );
    const list = await cli(["job", "list"]);
    expect(list.stdout).toMatch(/nightly\s+bitbucket\s+warehouse\s+2/);

    const inUse = await cli(["connection", "remove", "warehouse"]);
    expect(inUse.code).toBe(1);
    expect(inUse.stderr).toContain("Connection warehouse is used by job(s) nightly; remove those jobs first");
  });

  it.skipIf(!hasRunner)("runs the job, shows its history and logs", async () => {
    const run = await cli(["job", "run", "nightly"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /^Replicated [\d,]+ rows in \d+\.\d s \(2 tasks, [\d,]+ API requests\); run \d+\.\n$/,
    );
    const lines = run.stderr.trim().split("\n");
    expect(lines[0]).toMatch(/^\[1\/2\] task 1 Repositories → cli_data\.repositories: [\d,]+ rows \(/);
    expect(lines[1]).toMatch(/^\[2\/2\] task 2 Projects → cli_data\.projects: /);
    const runId = /run (\d+)\./.exec(run.stdout)?.[1] as string;

    const again = await cli(["job", "run", "nightly", "--task", "2", "--full"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/\(1 task, /);

    const history = await cli(["job", "history", "nightly", "--limit", "5"]);
    const rows = history.stdout.trim().split("\n");
    expect(rows[0]).toMatch(/^Run\s+Status\s+Trigger\s+Started\s+Duration\s+Rows\s+Requests/);
    expect(rows.slice(2).map((r) => r.split(/\s+/).slice(1, 3))).toEqual([
      ["SUCCEEDED", "cli"],
      ["SUCCEEDED", "cli"],
    ]);
    expect(rows[3]?.startsWith(runId)).toBe(true);

    const logs = await cli(["job", "logs", runId]);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(new RegExp(`^Run ${runId} \\(job nightly, cli\\): SUCCEEDED`));
    expect(logs.stdout).toContain("  1. SUCCEEDED REPLICATE Repositories (");
    expect(logs.stdout).toMatch(/INFO {2}\[task 2\] Task 2 started: REPLICATE \[Projects\]/);
    const show = await cli(["job", "show", "nightly"]);
    expect(show.stdout).toMatch(/Last run: \d+ SUCCEEDED/);
  });

  it("fails a run whose destination cannot be reached, with the reason and exit code 1", async () => {
    const dead = await cli([
      "connection",
      "add",
      "dead",
      "--connector",
      "postgresql",
      "--properties",
      "Server=127.0.0.1;Port=1;Database=x;User=u;Password=pw-secret-123",
      "--no-test",
    ]);
    expect(dead.code, dead.stderr).toBe(0);
    await cli(["job", "create", "broken", "--source", "bitbucket", "--dest", "dead"]);
    await cli(["job", "add-task", "broken", "REPLICATE Workspaces; REPLICATE Tags"]);
    const run = await cli(["job", "run", "broken"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/bitbridge: Run \d+ failed: Task 1 failed: .+ \(bitbridge job logs \d+\)/);
    expect(run.stderr).toContain("[2/2] task 2 not run (SKIPPED)");
    expect(run.stderr).not.toContain("pw-secret-123");
    const history = await cli(["job", "history", "broken"]);
    expect(history.stdout).toMatch(/FAILED\s+cli/);
    expect(history.stdout).not.toContain("pw-secret-123");
    const unknown = await cli(["job", "run", "nope"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("No job named nope. Jobs: broken, nightly.");
  });
});

describe("bitbridge replicate", () => {
  it("points at the error in a statement before running anything", async () => {
    const bad = await cli([
      "replicate",
      "REPLICATE Tags WITH BatchSiz=10",
      "--source",
      source,
      "--dest",
      db.url,
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("1 | REPLICATE Tags WITH BatchSiz=10");
    expect(bad.stderr).toMatch(/\^/);
  });

  it.skipIf(!hasRunner)(
    "runs a one-off statement from a connection string into a PostgreSQL URL",
    async () => {
      const run = await cli([
        "replicate",
        "REPLICATE [Workspaces]",
        "--source",
        source,
        "--dest",
        `URL=${db.url};Schema=oneoff`,
      ]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(
        /^Replicated [\d,]+ rows in \d+\.\d s \(1 task, [\d,]+ API requests\); run \d+\.\n$/,
      );
      const count = await db.pool.query("SELECT count(*)::int AS n FROM oneoff.workspaces");
      expect(count.rows[0].n).toBeGreaterThan(0);
      const saved = await cli([
        "replicate",
        "REPLICATE [Workspaces]",
        "--source",
        "bitbucket",
        "--dest",
        "warehouse",
      ]);
      expect(saved.code, saved.stderr).toBe(0);
      const runs = await db.pool.query(
        "SELECT count(*)::int AS n FROM bitbridge.runs WHERE job_id IS NULL AND trigger = 'cli' AND status = 'SUCCEEDED'",
      );
      expect(runs.rows[0].n).toBe(2);
    },
  );
});
