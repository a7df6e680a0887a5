import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningSimulator, startSimulator } from "../../sim/server.js";
import { DEFAULT_WORKER, launchWorker } from "../../src/cli/worker-command.js";
import { findConnector, propertiesFromString } from "../../src/engine/connectors.js";
import { useTestDatabase } from "../support/postgres.js";
import { until } from "../support/until.js";
import { type Answer, startTestApi, type TestApi } from "./jobs-server.js";

const db = await useTestDatabase("api_runs");
let sim: RunningSimulator;
let api: TestApi;
let worker: Awaited<ReturnType<typeof launchWorker>>;
const workerLog: string[] = [];

/** Slow commit pages spread this task over a few seconds, long enough to watch it run and cancel it. */
const SLOW = "REPLICATE [Commits] SELECT RepositoryUuid, Hash, Date FROM Commits WITH BatchSize=50";

beforeAll(async () => {
  sim = await startSimulator({
    seed: 31,
    scale: "tiny",
    counts: { repositories: 3, commits: 400 },
    rateLimitPerHour: 10_000_000,
  });
  await setCommitLatency(150);
  api = await startTestApi(db);
  const token = sim.sim.auth.credentials().apiTokens[0];
  await api.connections.add({
    name: "bitbucket",
    connector: "bitbucket",
    properties: propertiesFromString(
      findConnector("bitbucket"),
      `AuthScheme=APIToken;User=${token?.email};APIToken=${token?.token};Workspace=acme;Url=${sim.apiUrl};RequestsPerHour=1000000`,
    ),
  });
  await api.connections.add({
    name: "dw",
    connector: "postgresql",
    properties: { URL: db.url, Schema: "runs_dw" },
  });
  for (const [job, statements] of [
    ["copy", ["REPLICATE [Repositories]", SLOW]],
    ["other", ["REPLICATE [Projects]"]],
    ["empty", []],
  ] as const) {
    expect(
      (await api.call("POST", "/api/jobs", { name: job, source: "bitbucket", destination: "dw" })).status,
    ).toBe(201);
    if (statements.length > 0)
      expect((await api.call("POST", `/api/jobs/${job}/tasks`, { statements })).status).toBe(201);
  }
  // One run at a time: a second job's run waits in the queue while the first runs.
  worker = await launchWorker(
    { pool: db.pool, url: db.url, embedded: false, close: async () => {} },
    api.connections,
    { ...DEFAULT_WORKER, concurrency: 1, poll: 0.5, heartbeat: 0.5, staleAfter: 30, scheduleInterval: 0.5 },
    (line) => workerLog.push(line),
  );
}, 120_000);

async function setCommitLatency(latencyMs: number): Promise<void> {
  const answer = await fetch(`${sim.origin}/_sim/faults`, {
    method: "PUT",
    body: JSON.stringify({ endpoints: { "/repositories/{workspace}/{repo_slug}/commits": { latencyMs } } }),
  });
  expect(answer.ok).toBe(true);
}

afterAll(async () => {
  await worker?.drain(5000);
  await worker?.close();
  await api?.close();
  await sim?.stop();
});

function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  return until(what, probe, {
    timeoutMs,
    intervalMs: 100,
    explain: async () => `worker log:\n${workerLog.join("\n")}`,
  });
}

async function startRun(job: string, body: unknown = {}): Promise<{ queueId: string; runId: number }> {
  const started = await api.call("POST", `/api/jobs/${job}/runs`, body);
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  expect(started.body).toEqual({ queued: true, queueId: expect.any(String), runId: expect.any(Number) });
  return started.body;
}

async function runOf(id: number): Promise<Answer["body"]> {
  const run = await api.call("GET", `/api/runs/${id}`);
  expect(run.status).toBe(200);
  return run.body;
}

function ended(run: { status: string }): boolean {
  return !["QUEUED", "RUNNING"].includes(run.status);
}

let firstRun: number;

describe("a run started through the API", () => {
  it("goes through the queue, shows its progress while running and succeeds with the destination's row counts", async () => {
    const { queueId, runId } = await startRun("copy");
    firstRun = runId;
    const queued = await api.call("GET", `/api/queue/${queueId}`);
    expect(queued.status).toBe(200);
    expect(queued.body.runId).toBe(runId);
    expect(["queued", "started"]).toContain(queued.body.state);

    // While the slow second task runs, the first one's result is already there.
    // The queue is asked first: "started" then, and the run still running after, were both true together.
    const live = await waitFor("the second task to run, the queue saying it started", async () => {
      const queue = await api.call("GET", `/api/queue/${queueId}`);
      const run = await runOf(runId);
      return queue.body.state === "started" && run.status === "RUNNING" && run.tasks[1]?.status === "RUNNING"
        ? { queue: queue.body, ...run }
        : undefined;
    });
    expect(live.queue).toEqual({ state: "started", runId });
    expect(live).toMatchObject({ job: "copy", trigger: "api", finishedAt: null, durationMs: null });
    expect(live.tasks[0]).toMatchObject({
      position: 1,
      status: "SUCCEEDED",
      statement: "REPLICATE [Repositories]",
    });
    expect(live.tasks[0].rowsRead).toBeGreaterThan(0);
    expect(live.tasks[1]).toMatchObject({ position: 2, finishedAt: null });

    const run = await waitFor("the run to end", async () => {
      const r = await runOf(runId);
      return ended(r) ? r : undefined;
    });
    expect(run.status, run.error).toBe("SUCCEEDED");
    const count = async (table: string) =>
      Number((await db.pool.query(`SELECT count(*) AS n FROM runs_dw.${table}`)).rows[0].n);
    const repositories = await count("repositories");
    const commits = await count("commits");
    expect(repositories).toBe(3);
    expect(commits).toBeGreaterThan(100);
    expect(
      run.tasks.map((t: { status: string; rowsRead: number; inserted: number }) => [
        t.status,
        t.rowsRead,
        t.inserted,
      ]),
    ).toEqual([
      ["SUCCEEDED", repositories, repositories],
      ["SUCCEEDED", commits, commits],
    ]);
    expect(run.tasks.map((t: { destinationTable: string }) => t.destinationTable)).toEqual([
      expect.stringMatching(/repositories/),
      expect.stringMatching(/commits/),
    ]);
    expect(run).toMatchObject({
      rowsRead: repositories + commits,
      inserted: repositories + commits,
      error: null,
    });
    expect(run.durationMs).toBe(Date.parse(run.finishedAt) - Date.parse(run.startedAt));
    expect((await api.call("GET", `/api/queue/${queueId}`)).body).toEqual({ state: "finished", runId });
    // A run handed back to the queue gets a new queue id; the old one still leads to it, through pg-boss.
    await db.pool.query("UPDATE bitbridge.runs SET queue_id = gen_random_uuid()::text WHERE id = $1", [
      runId,
    ]);
    expect((await api.call("GET", `/api/queue/${queueId}`)).body).toEqual({ state: "finished", runId });
    const unknown = await api.call("GET", "/api/queue/00000000-0000-4000-8000-000000000000");
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("QUEUE_JOB_NOT_FOUND");
    expect((await api.call("GET", "/api/queue/latest")).status).toBe(400);

    const job = await api.call("GET", "/api/jobs/copy");
    expect(job.body.lastRun).toMatchObject({
      id: runId,
      status: "SUCCEEDED",
      rowsRead: repositories + commits,
    });
    const list = await api.call("GET", "/api/jobs");
    expect(list.body.find((j: { name: string }) => j.name === "copy").lastRun.id).toBe(runId);
  }, 120_000);

  it("runs only the chosen tasks, in full when asked", async () => {
    const { runId } = await startRun("copy", { tasks: [1], full: true });
    const run = await waitFor("the run to end", async () => {
      const r = await runOf(runId);
      return ended(r) ? r : undefined;
    });
    expect(run.status, run.error).toBe("SUCCEEDED");
    expect(run.tasks.map((t: { position: number }) => t.position)).toEqual([1]);
    const row = await db.pool.query("SELECT full_reload FROM bitbridge.runs WHERE id = $1", [runId]);
    expect(row.rows[0].full_reload).toBe(true);
  }, 60_000);

  it("is refused for unknown jobs and tasks, jobs without tasks and invalid bodies", async () => {
    const unknown = await api.call("POST", "/api/jobs/nope/runs", {});
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("JOB_NOT_FOUND");
    const task = await api.call("POST", "/api/jobs/copy/runs", { tasks: [1, 9] });
    expect(task.status).toBe(404);
    expect(task.body.error).toMatchObject({
      code: "TASK_NOT_FOUND",
      message: "Job copy has no task at position 9; its tasks are at positions 1-2.",
    });
    const empty = await api.call("POST", "/api/jobs/empty/runs", {});
    expect(empty.status).toBe(400);
    expect(empty.body.error.code).toBe("JOB_NO_TASKS");
    const invalid = await api.call("POST", "/api/jobs/copy/runs", { full: "yes", tasks: [0] });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.fields.map((f: { field: string }) => f.field).sort()).toEqual([
      "body.full",
      "body.tasks.0",
    ]);
    const queued = await db.pool.query(
      "SELECT count(*)::int AS n FROM bitbridge.runs WHERE status = 'QUEUED'",
    );
    expect(queued.rows[0].n).toBe(0);
  });
});

describe("run history and logs", () => {
  it("lists runs newest first, per job, limited and paged with before", async () => {
    const runs = await api.call("GET", "/api/runs?job=copy");
    expect(runs.status).toBe(200);
    const ids = runs.body.map((r: { id: number }) => r.id);
    expect(ids.length).toBeGreaterThanOrEqual(2);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(ids).toContain(firstRun);
    expect(runs.body[0]).toEqual({
      id: expect.any(Number),
      job: "copy",
      trigger: "api",
      status: "SUCCEEDED",
      startedAt: expect.any(String),
      finishedAt: expect.any(String),
      durationMs: expect.any(Number),
      rowsRead: expect.any(Number),
      inserted: expect.any(Number),
      updated: expect.any(Number),
      deleted: expect.any(Number),
      requests: expect.any(Number),
      error: null,
    });
    const first = await api.call("GET", "/api/runs?job=copy&limit=1");
    expect(first.body.map((r: { id: number }) => r.id)).toEqual([ids[0]]);
    const next = await api.call("GET", `/api/runs?job=copy&limit=1&before=${ids[0]}`);
    expect(next.body.map((r: { id: number }) => r.id)).toEqual([ids[1]]);
    const all = await api.call("GET", "/api/runs");
    expect(all.body.map((r: { id: number }) => r.id)).toEqual(expect.arrayContaining(ids));

    const tooMany = await api.call("GET", "/api/runs?limit=501");
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.fields).toEqual([{ field: "querystring.limit", message: expect.any(String) }]);
    expect((await api.call("GET", "/api/runs?job=nope")).status).toBe(404);
    expect((await api.call("GET", "/api/runs/987654")).status).toBe(404);
  });

  it("reads a run's log lines, then only the lines after the last one read", async () => {
    const logs = await api.call("GET", `/api/runs/${firstRun}/logs`);
    expect(logs.status).toBe(200);
    const lines = logs.body as { id: number; position: number | null; level: string; message: string }[];
    expect(lines.length).toBeGreaterThan(3);
    expect(lines.map((l) => l.id)).toEqual([...lines.map((l) => l.id)].sort((a, b) => a - b));
    expect(new Set(lines.map((l) => l.position))).toEqual(new Set([null, 1, 2]));
    expect(lines[0]).toEqual({
      id: expect.any(Number),
      position: expect.toBeOneOf([null, 1]),
      at: expect.any(String),
      level: "info",
      message: expect.any(String),
    });
    const after = await api.call("GET", `/api/runs/${firstRun}/logs?after=${lines[2]?.id}`);
    expect(after.body).toEqual(lines.slice(3));
    expect((await api.call("GET", `/api/runs/${firstRun}/logs?after=${lines.at(-1)?.id}`)).body).toEqual([]);
    expect((await api.call("GET", "/api/runs/987654/logs")).status).toBe(404);
  });
});

describe("cancelling", () => {
  it("stops a running run and cancels a queued one before it starts", async () => {
    // Pages of a second per request keep this full reload running well past the cancellation.
    await setCommitLatency(1000);
    const running = await startRun("copy", { tasks: [2], full: true });
    const started = await waitFor("the run to start", async () => {
      const r = await runOf(running.runId);
      return r.status === "QUEUED" ? undefined : r;
    });
    expect(started.status).toBe("RUNNING");
    // The worker runs one run at a time: this one waits in the queue.
    const waiting = await startRun("other");
    expect((await runOf(waiting.runId)).status).toBe("QUEUED");
    expect((await api.call("GET", `/api/queue/${waiting.queueId}`)).body).toEqual({
      state: "queued",
      runId: waiting.runId,
    });
    const history = await api.call("GET", "/api/runs?limit=1");
    expect(history.body[0]).toMatchObject({ id: waiting.runId, status: "QUEUED", durationMs: null });

    const cancelQueued = await api.call("POST", `/api/runs/${waiting.runId}/cancel`);
    expect(cancelQueued.status).toBe(200);
    expect(cancelQueued.body.status).toBe("CANCELLED");
    expect((await api.call("GET", `/api/queue/${waiting.queueId}`)).body).toEqual({
      state: "finished",
      runId: waiting.runId,
    });

    const cancelRunning = await api.call("POST", `/api/runs/${running.runId}/cancel`);
    expect(cancelRunning.status).toBe(200);
    expect(["CANCELLED", "CANCELLING"]).toContain(cancelRunning.body.status);
    const cancelled = await waitFor("the run to stop", async () => {
      const r = await runOf(running.runId);
      return ended(r) ? r : undefined;
    });
    expect(cancelled.status).toBe("CANCELLED");
    expect(cancelled.error).toMatch(/cancelled/);
    expect(cancelled.tasks[0].status).toBe("CANCELLED");

    const again = await api.call("POST", `/api/runs/${running.runId}/cancel`);
    expect(again.body).toEqual({ status: "CANCELLED", message: expect.stringMatching(/already ended/) });
    expect((await runOf(waiting.runId)).status).toBe("CANCELLED");
    expect((await api.call("POST", "/api/runs/987654/cancel")).status).toBe(404);
  }, 90_000);
});

describe("OpenAPI document", () => {
  it("describes every run route with a summary and tags", async () => {
    const doc = await api.anonymous("GET", "/api/openapi.json");
    for (const [path, method] of [
      ["/api/jobs/{name}/runs", "post"],
      ["/api/queue/{queueId}", "get"],
      ["/api/runs", "get"],
      ["/api/runs/{id}", "get"],
      ["/api/runs/{id}/logs", "get"],
      ["/api/runs/{id}/cancel", "post"],
    ] as const) {
      const operation = doc.body.paths[path]?.[method];
      expect(operation, `${method} ${path}`).toBeDefined();
      expect(operation.summary).toMatch(/\w/);
      expect(operation.tags).toEqual(["runs"]);
    }
  });
});
