import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningSimulator, startSimulator } from "../../sim/server.js";
import { migrate } from "../../src/app/database.js";
import { ConnectionStore } from "../../src/engine/connection-store.js";
import { JobStore } from "../../src/engine/jobs.js";
import { RunHistory } from "../../src/engine/run-history.js";
import { runJob, runStatement, type TaskRunner } from "../../src/engine/runs.js";
import type { TaskRunInput, TaskRunResult } from "../../src/engine/task-runner-types.js";
import { useTestDatabase } from "../support/postgres.js";

const db = await useTestDatabase("jobs");
const key = Buffer.alloc(32, 3);
const TOKEN = "tok-very-secret-4711";
const connections = new ConnectionStore(db.pool, () => key);
const jobs = new JobStore(db.pool);
const history = new RunHistory(db.pool);

const bitbucket = {
  AuthScheme: "APIToken",
  User: "someone@example.com",
  APIToken: TOKEN,
  Workspace: "acme",
  Url: "http://127.0.0.1:9/2.0",
};

beforeAll(async () => {
  await migrate(db.pool);
  await connections.add({ name: "bb", connector: "bitbucket", properties: bitbucket });
  await connections.add({
    name: "dw",
    connector: "postgresql",
    properties: { URL: db.url, Schema: "jobs_data" },
  });
});

function result(input: TaskRunInput, rows: number): TaskRunResult {
  return {
    sourceTable: input.statement.split(" ")[1] ?? "?",
    destinationTable: `jobs_data.${input.statement.split(" ")[1]?.toLowerCase()}`,
    rowsRead: rows,
    inserted: rows,
    updated: 1,
    unchanged: 0,
    deleted: 0,
    requests: 3,
    durationMs: 5,
    skippedPartitions: 0,
  };
}

/** Writes nothing; fails the statements in `failing`, mentioning the token (which must never be stored). */
function fakeRunner(failing: string[] = [], seen: TaskRunInput[] = []): TaskRunner {
  return async (input) => {
    seen.push(input);
    input.log?.("info", `reading with token ${input.client ? TOKEN : ""}`);
    input.onProgress?.({ table: "x", rows: 5, requests: 1 });
    if (failing.some((f) => input.statement.includes(f))) {
      throw new Error(
        `HTTP 401 for token ${TOKEN} (Authorization: Basic ${Buffer.from(TOKEN).toString("base64")})`,
      );
    }
    return result(input, 10);
  };
}

async function allText(): Promise<string> {
  const rows = await db.pool.query(
    `SELECT (SELECT coalesce(json_agg(r), '[]') FROM bitbridge.runs r)::text
         || (SELECT coalesce(json_agg(t), '[]') FROM bitbridge.task_runs t)::text
         || (SELECT coalesce(json_agg(l), '[]') FROM bitbridge.run_logs l)::text AS text`,
  );
  return rows.rows[0].text as string;
}

describe("job store", () => {
  it("checks names and connection kinds", async () => {
    await expect(jobs.create({ name: "1x", source: "bb", destination: "dw" })).rejects.toThrow(
      /start with a letter/,
    );
    await expect(jobs.create({ name: "a", source: "dw", destination: "dw" })).rejects.toThrow(
      "Connection dw is a postgresql destination, not a Bitbucket source.",
    );
    await expect(jobs.create({ name: "a", source: "bb", destination: "bb" })).rejects.toThrow(
      "Connection bb is a bitbucket source, not a PostgreSQL destination.",
    );
    await expect(jobs.create({ name: "a", source: "nope", destination: "dw" })).rejects.toThrow(
      "No saved connection named nope. Saved Bitbucket sources: bb.",
    );
    const job = await jobs.create({ name: "kinds", source: "bb", destination: "dw" });
    expect(job).toMatchObject({ name: "kinds", source: "bb", destination: "dw" });
    await expect(jobs.create({ name: "kinds", source: "bb", destination: "dw" })).rejects.toThrow(
      /already exists/,
    );
    await expect(jobs.get("kindz")).rejects.toThrow(/No job named kindz\. Jobs: kinds/);
  });

  it("stores canonical REPLICATE text, one task per statement, at a position", async () => {
    await jobs.create({ name: "tasks", source: "bb", destination: "dw" });
    const [first] = await jobs.addTask("tasks", "replicate  [Repositories]  with BatchSize = 500");
    expect(first).toMatchObject({ position: 1, statement: "REPLICATE [Repositories] WITH BatchSize=500" });
    const two = await jobs.addTask(
      "tasks",
      "REPLICATE Projects; REPLICATE Prs SELECT Id, Title FROM PullRequests WHERE State = 'OPEN';",
    );
    expect(two.map((t) => t.position)).toEqual([2, 3]);
    expect(two[1]?.statement).toMatch(
      /^REPLICATE Prs SELECT Id, Title FROM PullRequests WHERE State = 'OPEN'$/,
    );
    await jobs.addTask("tasks", "REPLICATE Workspaces", 1);
    const job = await jobs.get("tasks");
    expect(job.tasks.map((t) => [t.position, t.statement.split(" ")[1]])).toEqual([
      [1, "Workspaces"],
      [2, "[Repositories]"],
      [3, "Projects"],
      [4, "Prs"],
    ]);
    await expect(jobs.addTask("tasks", "REPLICATE Tags", 9)).rejects.toThrow(/use 1 to 5/);
  });

  it("rejects invalid REPLICATE text with its position, storing nothing", async () => {
    await jobs.create({ name: "bad", source: "bb", destination: "dw" });
    const syntax = await jobs.addTask("bad", "REPLICATE Issues SELEC Id FROM Issues").catch((e) => e);
    expect(syntax).toMatchObject({ name: "SqlSyntaxError", line: 1, column: 18 });
    const bind = await jobs
      .addTask("bad", "REPLICATE Repositories;\nREPLICATE X SELECT Nme FROM Repositories")
      .catch((e) => e);
    expect(bind).toMatchObject({ name: "SqlBindError", line: 2, column: 20 });
    expect(bind.message).toMatch(/Name/);
    await expect(jobs.addTask("bad", " ; ")).rejects.toThrow(/no REPLICATE statement/);
    expect((await jobs.get("bad")).tasks).toEqual([]);
  });

  it("removes a task and renumbers the rest", async () => {
    await jobs.create({ name: "renumber", source: "bb", destination: "dw" });
    await jobs.addTask(
      "renumber",
      "REPLICATE Workspaces; REPLICATE Repositories; REPLICATE Projects; REPLICATE Tags",
    );
    const removed = await jobs.removeTask("renumber", { position: 2 });
    expect(removed.statement).toBe("REPLICATE Repositories");
    const tasks = (await jobs.get("renumber")).tasks;
    expect(tasks.map((t) => [t.position, t.statement])).toEqual([
      [1, "REPLICATE Workspaces"],
      [2, "REPLICATE Projects"],
      [3, "REPLICATE Tags"],
    ]);
    await jobs.removeTask("renumber", { id: tasks[0]?.id as number });
    expect((await jobs.get("renumber")).tasks.map((t) => t.position)).toEqual([1, 2]);
    await expect(jobs.removeTask("renumber", { position: 7 })).rejects.toThrow(
      "Job renumber has no task at position 7; its tasks are at positions 1-2.",
    );
  });

  it("edits a task's statement in place, checked and canonical, keeping its position", async () => {
    await jobs.create({ name: "edit", source: "bb", destination: "dw" });
    const [, second] = await jobs.addTask(
      "edit",
      "REPLICATE Workspaces; REPLICATE Repositories; REPLICATE Tags",
    );
    const before = (await jobs.get("edit")).updatedAt;
    const edited = await jobs.updateTask("edit", 2, "replicate  Repos select  Name from Repositories;");
    expect(edited).toMatchObject({
      id: second?.id,
      position: 2,
      statement: "REPLICATE Repos SELECT Name FROM Repositories",
    });
    const job = await jobs.get("edit");
    expect(job.tasks.map((t) => t.statement)).toEqual([
      "REPLICATE Workspaces",
      "REPLICATE Repos SELECT Name FROM Repositories",
      "REPLICATE Tags",
    ]);
    expect(job.updatedAt.getTime()).toBeGreaterThanOrEqual(before.getTime());

    const bind = await jobs.updateTask("edit", 1, "REPLICATE W\nSELECT Nme FROM Workspaces").catch((e) => e);
    expect(bind).toMatchObject({ name: "SqlBindError", line: 2, column: 8 });
    const two = await jobs.updateTask("edit", 1, "REPLICATE Workspaces; REPLICATE Tags").catch((e) => e);
    expect(two).toMatchObject({ name: "SqlSyntaxError" });
    await expect(jobs.updateTask("edit", 4, "REPLICATE Projects")).rejects.toThrow(
      "Job edit has no task at position 4; its tasks are at positions 1-3.",
    );
    expect((await jobs.get("edit")).tasks.map((t) => t.statement)).toEqual(job.tasks.map((t) => t.statement));
  });

  it("refuses to delete a connection a job uses", async () => {
    await jobs.create({ name: "user", source: "bb", destination: "dw" });
    const error = await connections.remove("dw").catch((e) => e);
    expect(error.code).toBe("CONNECTION_IN_USE");
    expect(error.message).toMatch(/Connection dw is used by job\(s\) .*user.*; remove those jobs first/);
    expect((await connections.list()).map((c) => c.name)).toContain("dw");
  });
});

describe("runJob", () => {
  it("runs every task in order and records the run, its task runs and logs", async () => {
    await jobs.create({ name: "ok", source: "bb", destination: "dw" });
    await jobs.addTask("ok", "REPLICATE Workspaces; REPLICATE Repositories");
    const seen: TaskRunInput[] = [];
    const progress: number[] = [];
    const summary = await runJob({ pool: db.pool, connections, runner: fakeRunner([], seen) }, "ok", {
      full: true,
      onProgress: (p) => progress.push(p.index),
    });
    expect(summary).toMatchObject({
      status: "SUCCEEDED",
      rowsRead: 20,
      inserted: 20,
      updated: 2,
      requests: 6,
    });
    expect(summary.tasks.map((t) => [t.position, t.status])).toEqual([
      [1, "SUCCEEDED"],
      [2, "SUCCEEDED"],
    ]);
    expect(progress).toEqual([1, 2]);
    expect(seen.map((s) => s.statement)).toEqual(["REPLICATE Workspaces", "REPLICATE Repositories"]);
    expect(seen[0]).toMatchObject({ workspace: "acme", full: true, destination: { schema: "jobs_data" } });
    const run = await history.get(summary.runId);
    expect(run).toMatchObject({
      job: "ok",
      status: "SUCCEEDED",
      trigger: "manual",
      fullReload: true,
      rowsRead: 20,
    });
    expect(run.finishedAt).not.toBeNull();
    expect(run.tasks.map((t) => [t.status, t.rowsRead, t.destinationTable])).toEqual([
      ["SUCCEEDED", 10, "jobs_data.workspaces"],
      ["SUCCEEDED", 10, "jobs_data.repositories"],
    ]);
    const logs = await history.logs(summary.runId);
    expect(logs[0]?.message).toMatch(/started: 2 task\(s\), full reload/);
    expect(logs.filter((l) => l.position === 2).map((l) => l.message)).toContain(
      "reading with token ********",
    );
    expect(logs.at(-1)?.message).toMatch(/succeeded: 20 row\(s\) read, 6 request\(s\)/);
  });

  it("stops at the first failing task: the run fails, later tasks are not run, no secret is stored", async () => {
    await jobs.create({ name: "fails", source: "bb", destination: "dw" });
    await jobs.addTask("fails", "REPLICATE Workspaces; REPLICATE Repositories; REPLICATE Projects");
    const seen: TaskRunInput[] = [];
    const summary = await runJob(
      { pool: db.pool, connections, runner: fakeRunner(["Repositories"], seen) },
      "fails",
      { trigger: "schedule" },
    );
    expect(summary.status).toBe("FAILED");
    expect(seen).toHaveLength(2);
    expect(summary.error).toBe("Task 2 failed: HTTP 401 for token ******** (Authorization: Basic ********=)");
    const run = await history.get(summary.runId);
    expect(run).toMatchObject({ status: "FAILED", trigger: "schedule", rowsRead: 10, error: summary.error });
    expect(run.tasks.map((t) => t.status)).toEqual(["SUCCEEDED", "FAILED", "SKIPPED"]);
    expect(run.tasks[2]?.startedAt).toBeNull();
    expect(run.tasks[1]?.error).toMatch(/^HTTP 401/);
    const levels = (await history.logs(summary.runId)).map((l) => l.level);
    expect(levels).toContain("error");
    const text = await allText();
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(Buffer.from(TOKEN).toString("base64").replace(/=+$/, ""));
    expect(text).not.toMatch(/\bat .*\.ts:\d+/); // no stack
  });

  it("runs selected tasks only, and explains unknown positions", async () => {
    await jobs.create({ name: "pick", source: "bb", destination: "dw" });
    await jobs.addTask("pick", "REPLICATE Workspaces; REPLICATE Repositories; REPLICATE Projects");
    const seen: TaskRunInput[] = [];
    const summary = await runJob({ pool: db.pool, connections, runner: fakeRunner([], seen) }, "pick", {
      tasks: [3, 1],
    });
    expect(summary.tasks.map((t) => t.position)).toEqual([1, 3]);
    await expect(
      runJob({ pool: db.pool, connections, runner: fakeRunner() }, "pick", { tasks: [4] }),
    ).rejects.toThrow("Job pick has no task at position 4; its tasks are at positions 1-3.");
    await jobs.create({ name: "empty", source: "bb", destination: "dw" });
    await expect(runJob({ pool: db.pool, connections, runner: fakeRunner() }, "empty")).rejects.toThrow(
      /has no tasks; add one/,
    );
  });

  it("skips a run while the same job is running", async () => {
    await jobs.create({ name: "busy", source: "bb", destination: "dw" });
    await jobs.addTask("busy", "REPLICATE Workspaces");
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started: () => void = () => {};
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    const slow: TaskRunner = async (input) => {
      started();
      await gate;
      return result(input, 1);
    };
    const first = runJob({ pool: db.pool, connections, runner: slow }, "busy");
    await running;
    const second = await runJob({ pool: db.pool, connections, runner: slow }, "busy");
    expect(second.status).toBe("SKIPPED");
    expect(second.error).toMatch(/Job busy is already running \(run \d+/);
    release();
    expect((await first).status).toBe("SUCCEEDED");
  });

  it("lists history newest first, per job or for all runs, and runs one-off statements", async () => {
    await jobs.create({ name: "hist", source: "bb", destination: "dw" });
    await jobs.addTask("hist", "REPLICATE Workspaces");
    const deps = { pool: db.pool, connections, runner: fakeRunner() };
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await runJob(deps, "hist")).runId);
    const runs = await history.history("hist", 2);
    expect(runs.map((r) => r.id)).toEqual([ids[2], ids[1]]);
    expect(runs[0]?.durationMs).toBeGreaterThanOrEqual(0);

    const source = Object.entries(bitbucket)
      .map(([k, v]) => `${k}=${v}`)
      .join(";");
    const oneOff = await runStatement(deps, { statement: "REPLICATE [Tags]", source, destination: db.url });
    expect(oneOff).toMatchObject({ status: "SUCCEEDED", jobId: null, trigger: "cli" });
    const all = await history.history(undefined, 1);
    expect(all[0]).toMatchObject({ id: oneOff.runId, job: null, trigger: "cli" });
    expect((await history.get(oneOff.runId)).tasks[0]?.statement).toBe("REPLICATE [Tags]");
    await expect(
      runStatement(deps, { statement: "REPLICATE Tagz", source: "bb", destination: "dw" }),
    ).rejects.toMatchObject({ name: "SqlBindError", offset: 10 });
    await expect(history.history("nohist")).rejects.toThrow(/No job named nohist/);
    await expect(history.logs(999999)).rejects.toThrow("No run with id 999999.");

    await jobs.remove("hist");
    const left = await db.pool.query("SELECT count(*)::int AS n FROM bitbridge.runs WHERE id = ANY($1)", [
      ids,
    ]);
    expect(left.rows[0].n).toBe(0);
  });

  it("fails the run when a connection cannot be opened, recording every task as not run", async () => {
    await connections.add({
      name: "badsrc",
      connector: "bitbucket",
      properties: { ...bitbucket, APIToken: "another-secret-99" },
    });
    await jobs.create({ name: "nokey", source: "badsrc", destination: "dw" });
    await jobs.addTask("nokey", "REPLICATE Workspaces; REPLICATE Tags");
    const wrongKey = new ConnectionStore(db.pool, () => Buffer.alloc(32, 4));
    const summary = await runJob({ pool: db.pool, connections: wrongKey, runner: fakeRunner() }, "nokey");
    expect(summary.status).toBe("FAILED");
    expect(summary.error).toMatch(/cannot be decrypted/);
    expect(summary.tasks.map((t) => t.status)).toEqual(["SKIPPED", "SKIPPED"]);
  });
});

describe("runJob with the real task runner", () => {
  let sim: RunningSimulator | undefined;
  afterAll(async () => {
    await sim?.stop();
  });

  it.skipIf(!existsSync("src/engine/task-runner.ts"))(
    "replicates from the simulator into PostgreSQL",
    async () => {
      sim = await startSimulator({ seed: 5, scale: "tiny" });
      const api = sim.sim.auth.credentials().apiTokens[0];
      await connections.add({
        name: "simbb",
        connector: "bitbucket",
        properties: {
          AuthScheme: "APIToken",
          User: api?.email as string,
          APIToken: api?.token as string,
          Workspace: sim.sim.data.workspaces[0]?.slug as string,
          Url: sim.apiUrl,
        },
      });
      await connections.add({
        name: "simdw",
        connector: "postgresql",
        properties: { URL: db.url, Schema: "real_run" },
      });
      await jobs.create({ name: "real", source: "simbb", destination: "simdw" });
      await jobs.addTask("real", "REPLICATE Repositories");
      const summary = await runJob({ pool: db.pool, connections }, "real");
      expect(summary.error).toBeUndefined();
      expect(summary.status).toBe("SUCCEEDED");
      const count = await db.pool.query("SELECT count(*)::int AS n FROM real_run.repositories");
      expect(count.rows[0].n).toBe(summary.rowsRead);
      expect(summary.rowsRead).toBeGreaterThan(0);
      expect(await allText()).not.toContain(api?.token as string);
    },
    120_000,
  );
});
