import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningSimulator, startSimulator } from "../../sim/server.js";
import { migrate } from "../../src/app/database.js";
import { loadSecretKey } from "../../src/app/secrets.js";
import { ConnectionStore } from "../../src/engine/connection-store.js";
import { findConnector, propertiesFromString } from "../../src/engine/connectors.js";
import { JobStore } from "../../src/engine/jobs.js";
import { cancelRun } from "../../src/scheduler/cancel.js";
import { openQueue, type Queue, RUN_QUEUE } from "../../src/scheduler/queue.js";
import { runCli } from "../cli/run-cli.js";
import { useTestDatabase } from "../support/postgres.js";
import { until } from "../support/until.js";
import { destKeys, sourceKeys } from "./replica-keys.js";
import { startWorkerProcess as startWorker, stopWorkers, type WorkerProcess } from "./worker-process.js";

const db = await useTestDatabase("control");
let sim: RunningSimulator;
/** A second simulator with a small hourly limit, for the shared budget. */
let tight: RunningSimulator;
let home: string;
let tightToken: string;
let env: NodeJS.ProcessEnv;
let source: string;
let queue: Queue;
const workers: WorkerProcess[] = [];

const BUDGET = 12;
const SLOW = "REPLICATE [Commits] SELECT RepositoryUuid, Hash, Date FROM Commits WITH BatchSize=50";

/** A worker process of this file's (stopped after all tests). */
async function startWorkerProcess(): Promise<WorkerProcess> {
  const worker = await startWorker(env, "--concurrency", "1", "--stale-after", "2");
  workers.push(worker);
  return worker;
}

interface RunRow {
  id: number;
  status: string;
  started_at: Date;
  finished_at: Date | null;
  error: string | null;
  pid: string | null;
  requests: number;
}

async function runsOf(job: string): Promise<RunRow[]> {
  const result = await db.pool.query<RunRow>(
    `SELECT r.id::int, r.status, r.started_at, r.finished_at, r.error, r.pid, r.requests::int
       FROM bitbridge.runs r JOIN bitbridge.jobs j ON j.id = r.job_id WHERE j.name = $1 ORDER BY r.id`,
    [job],
  );
  return result.rows;
}

async function run(id: number): Promise<RunRow> {
  const result = await db.pool.query<RunRow>(
    "SELECT id::int, status, started_at, finished_at, error, pid, requests::int FROM bitbridge.runs WHERE id = $1",
    [id],
  );
  return result.rows[0] as RunRow;
}

async function simStats(s: RunningSimulator): Promise<{ total: number; byStatus: Record<string, number> }> {
  return (await (await fetch(`${s.origin}/_sim/stats`)).json()) as {
    total: number;
    byStatus: Record<string, number>;
  };
}

beforeAll(async () => {
  const counts = { repositories: 3, commits: 600 };
  [sim, tight] = await Promise.all([
    startSimulator({ seed: 31, scale: "tiny", counts, rateLimitPerHour: 10_000_000 }),
    startSimulator({ seed: 32, scale: "tiny", counts, rateLimitPerHour: BUDGET }),
  ]);
  // Slow commit pages spread a run of the SLOW task (22 requests) over several seconds.
  for (const s of [sim, tight]) {
    await fetch(`${s.origin}/_sim/faults`, {
      method: "PUT",
      body: JSON.stringify({
        endpoints: { "/repositories/{workspace}/{repo_slug}/commits": { latencyMs: 800 } },
      }),
    });
  }
  home = mkdtempSync(join(tmpdir(), "bitbridge-control-"));
  env = { DATABASE_URL: db.url, BITBRIDGE_HOME: home };
  const api = sim.sim.auth.credentials().apiTokens[0];
  source = `AuthScheme=APIToken;User=${api?.email};APIToken=${api?.token};Workspace=acme;Url=${sim.apiUrl};RequestsPerHour=1000000`;
  // A workspace access token is a credential of its own; both simulators' API tokens belong to one user
  // (one e-mail), and so share one budget, as they would on Bitbucket.
  const token = tight.sim.auth.credentials().accessTokens.find((t) => t.type === "workspace");
  tightToken = token?.token as string;
  const tightSource = `AuthScheme=AccessToken;AccessToken=${token?.token};Workspace=${token?.workspace};Url=${tight.apiUrl};RequestsPerHour=${BUDGET}`;
  await migrate(db.pool);
  const connections = new ConnectionStore(db.pool, () => loadSecretKey(env));
  for (const [name, text] of [
    ["bitbucket", source],
    ["tight", tightSource],
  ] as const) {
    await connections.add({
      name,
      connector: "bitbucket",
      properties: propertiesFromString(findConnector("bitbucket"), text),
    });
  }
  const jobs = new JobStore(db.pool);
  for (const [name, from, statements] of [
    ["queued", "bitbucket", ["REPLICATE [Repositories]"]],
    ["lost", "bitbucket", ["REPLICATE [Repositories]"]],
    ["cancelme", "bitbucket", [SLOW]],
    ["slow", "bitbucket", [SLOW]],
    ["picky", "bitbucket", ["REPLICATE [Repositories]", "REPLICATE [Projects]"]],
    ["orphan", "bitbucket", [SLOW]],
    ["budget_a", "tight", [SLOW]],
    ["budget_b", "tight", [SLOW]],
  ] as const) {
    await connections.add({
      name: `${name}_dest`,
      connector: "postgresql",
      properties: { URL: db.url, Schema: name },
    });
    await jobs.create({ name, source: from, destination: `${name}_dest` });
    for (const statement of statements) await jobs.addTask(name, statement);
  }
  queue = await openQueue(db.url, db.pool, { supervise: false });
}, 60_000);

afterAll(async () => {
  await stopWorkers(workers);
  await queue?.stop();
  await Promise.all([sim?.stop(), tight?.stop()]);
  rmSync(home, { recursive: true, force: true });
});

describe("before any worker runs", () => {
  it("a queued run cancelled before it starts never runs", async () => {
    const queued = await queue.enqueueRun({ job: "queued", trigger: "api", attempt: 1 });
    expect((await run(queued.runId)).status).toBe("QUEUED");
    expect(await cancelRun(db.pool, queued.runId)).toEqual({
      status: "CANCELLED",
      message: `Run ${queued.runId} was cancelled before it started.`,
    });
    expect(await cancelRun(db.pool, queued.runId)).toEqual({
      status: "CANCELLED",
      message: `Run ${queued.runId} already ended (CANCELLED); nothing to cancel.`,
    });
    await expect(cancelRun(db.pool, 987_654)).rejects.toThrow("No run with id 987654.");
  });

  it("a run taken from the queue by a worker that died before starting it is queued again", async () => {
    const queued = await queue.enqueueRun({ job: "lost", trigger: "api", attempt: 1 });
    // This process plays the worker killed right after taking the run: the queue job is active, the run
    // still QUEUED, and nobody will ever start it.
    const taken = await queue.boss.fetch(RUN_QUEUE);
    expect(taken.map((j) => j.id)).toEqual([queued.queueId]);
    await Promise.all([startWorkerProcess(), startWorkerProcess()]);
    const done = await until("the lost run to finish", async () => {
      const r = await run(queued.runId);
      return r.finished_at ? r : undefined;
    });
    expect(done.status).toBe("SUCCEEDED");
    expect((await runsOf("lost")).map((r) => r.id)).toEqual([queued.runId]);
    const logs = await db.pool.query<{ message: string }>(
      "SELECT message FROM bitbridge.run_logs WHERE run_id = $1 ORDER BY id",
      [queued.runId],
    );
    expect(logs.rows.map((l) => l.message)).toContain(
      "The worker that took this run from the queue stopped before starting it; queued again.",
    );
    // The cancelled run's queue job was cancelled with it, and no worker touched the run.
    const cancelled = (await runsOf("queued"))[0] as RunRow;
    const job = await db.pool.query(
      "SELECT q.state FROM pgboss.job q JOIN bitbridge.runs r ON r.queue_id = q.id::text WHERE r.id = $1",
      [cancelled.id],
    );
    expect(job.rows).toEqual([{ state: "cancelled" }]);
    expect(cancelled.status).toBe("CANCELLED");
    expect(cancelled.pid).toBeNull();
    const tasks = await db.pool.query("SELECT 1 FROM bitbridge.task_runs WHERE run_id = $1", [cancelled.id]);
    expect(tasks.rowCount).toBe(0);
  }, 60_000);
});

describe("with workers", () => {
  beforeAll(async () => {
    while (workers.length < 2) await startWorkerProcess();
  }, 30_000);

  it("cancelRun stops a running run promptly, rolls back its batch, and a later run loses nothing", async () => {
    const queued = await queue.enqueueRun({ job: "cancelme", trigger: "api", attempt: 1 });
    await until("the run to start", async () =>
      (await run(queued.runId)).status === "RUNNING" ? true : undefined,
    );
    await new Promise((resolve) => setTimeout(resolve, 800));
    const asked = Date.now();
    expect(await cancelRun(db.pool, queued.runId)).toEqual({
      status: "CANCELLED",
      message: `Run ${queued.runId} was cancelled; its current batch was rolled back.`,
    });
    const cancelled = await run(queued.runId);
    expect(cancelled.status).toBe("CANCELLED");
    expect(cancelled.error).toBe("The run was cancelled on request (bitbridge job cancel or the API).");
    expect((cancelled.finished_at as Date).getTime() - asked).toBeLessThan(5000);
    // A cancelled run is not queued again by anyone.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await runsOf("cancelme")).map((r) => r.id)).toEqual([queued.runId]);

    const again = await queue.enqueueRun({ job: "cancelme", trigger: "api", attempt: 1 });
    const finished = await until("the next run to finish", async () => {
      const r = await run(again.runId);
      return r.finished_at ? r : undefined;
    });
    expect(finished.status).toBe("SUCCEEDED");
    expect(
      await destKeys(
        db.pool,
        "SELECT repository_uuid, hash FROM cancelme.commits WHERE bb_deleted_at IS NULL",
      ),
    ).toEqual(await sourceKeys(source, "SELECT RepositoryUuid, Hash FROM Commits"));
  }, 60_000);

  it("a run longer than the job's timeout fails, saying after how long", async () => {
    const set = await runCli(["job", "set", "slow", "--timeout", "2s"], { env });
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toBe("Runs of job slow fail after 2 s.\n");
    expect((await runCli(["job", "show", "slow"], { env })).stdout).toContain("\nTimeout: 2 s\n");
    const queued = await queue.enqueueRun({ job: "slow", trigger: "api", attempt: 1 });
    const failed = await until("the run to end", async () => {
      const r = await run(queued.runId);
      return r.finished_at ? r : undefined;
    });
    expect(failed.status).toBe("FAILED");
    expect(failed.error).toBe(
      "The run timed out after 2 s (the job's timeout); the current batch was rolled back.",
    );
    const took = (failed.finished_at as Date).getTime() - failed.started_at.getTime();
    expect(took).toBeGreaterThanOrEqual(2000);
    expect(took).toBeLessThan(6000);
    expect((await runCli(["job", "set", "slow", "--timeout", "off"], { env })).stdout).toBe(
      "Runs of job slow have no timeout.\n",
    );
    const bad = await runCli(["job", "set", "slow", "--timeout", "soon"], { env });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("expected a duration such as 90s, 45m, 2h or 1h30m, or off");
  }, 60_000);

  it("a run queued with a task selection runs only those tasks", async () => {
    const cli = await runCli(["job", "run", "picky", "--queue", "--task", "2"], { env });
    expect(cli.code, cli.stderr).toBe(0);
    const runId = Number(/^Queued run (\d+) of job picky/.exec(cli.stdout)?.[1]);
    const done = await until("the picky run to finish", async () => {
      const r = await run(runId);
      return r.finished_at ? r : undefined;
    });
    expect(done.status).toBe("SUCCEEDED");
    const tasks = await db.pool.query<{ position: number; status: string }>(
      "SELECT position, status FROM bitbridge.task_runs WHERE run_id = $1 ORDER BY position",
      [runId],
    );
    expect(tasks.rows).toEqual([{ position: 2, status: "SUCCEEDED" }]);
    // A task removed after the run was queued: the run fails, rather than staying QUEUED.
    const gone = await queue.enqueueRun({ job: "picky", trigger: "api", attempt: 1, tasks: [9] });
    const failed = await until("the run without its task to end", async () => {
      const r = await run(gone.runId);
      return r.finished_at ? r : undefined;
    });
    expect(failed.status).toBe("FAILED");
    expect(failed.error).toMatch(/^The run could not start: Job picky has no task at position 9; /);
    const missing = await runCli(["job", "run", "picky", "--queue", "--task", "7"], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("Job picky has no task at position 7.");
  }, 60_000);

  it("two jobs on one credential in two worker processes stay inside its hourly budget together", async () => {
    await fetch(`${tight.origin}/_sim/stats`, { method: "DELETE" });
    const before = await db.pool.query<{ id: string }>(
      "SELECT coalesce(max(id), 0) AS id FROM bitbridge.request_budget_blocks",
    );
    const a = await queue.enqueueRun({ job: "budget_a", trigger: "api", attempt: 1 });
    const b = await queue.enqueueRun({ job: "budget_b", trigger: "api", attempt: 1 });
    // Each job alone needs more than the budget: two processes pacing on their own would send twice it.
    await until("the budget to be spent", async () =>
      (await simStats(tight)).total >= BUDGET ? true : undefined,
    );
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const stats = await simStats(tight);
    expect(stats.total).toBe(BUDGET);
    expect(stats.byStatus["429"]).toBeUndefined();
    const [runA, runB] = [await run(a.runId), await run(b.runId)];
    expect([runA.status, runB.status]).toEqual(["RUNNING", "RUNNING"]);
    expect(runA.pid).not.toBe(runB.pid);
    const blocks = await db.pool.query<{ credential: string; holder: string; spent: string }>(
      `SELECT credential, holder, sum(coalesce(used, size)) AS spent FROM bitbridge.request_budget_blocks
        WHERE id > $1 GROUP BY credential, holder`,
      [before.rows[0]?.id],
    );
    // Both processes spent from one credential, stored as a hash (not the token), together the budget.
    expect(blocks.rows.map((r) => r.holder).sort()).toEqual(
      [`${hostname()} pid ${runA.pid}`, `${hostname()} pid ${runB.pid}`].sort(),
    );
    expect(new Set(blocks.rows.map((r) => r.credential)).size).toBe(1);
    expect(blocks.rows[0]?.credential).toMatch(/^[0-9a-f]{64}$/);
    expect(blocks.rows[0]?.credential).not.toContain(tightToken);
    expect(blocks.rows.reduce((n, r) => n + Number(r.spent), 0)).toBe(BUDGET);
    // Runs waiting for budget are cancelled at once, without another request.
    const cli = await runCli(["job", "cancel", String(a.runId)], { env });
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toBe(`Run ${a.runId} was cancelled; its current batch was rolled back.\n`);
    expect((await cancelRun(db.pool, b.runId)).status).toBe("CANCELLED");
    expect((await simStats(tight)).total).toBe(BUDGET);
  }, 60_000);
});

describe("runs whose process died", () => {
  /** Starts `bitbridge job run orphan` in a process of its own and SIGKILLs it mid-run; gives the run. */
  async function killedInlineRun(): Promise<RunRow> {
    const before = (await runsOf("orphan")).length;
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli/entry.ts", "job", "run", "orphan"], {
      env: { ...process.env, ...env },
      stdio: "ignore",
    });
    const exited = new Promise((resolve) => child.on("exit", resolve));
    const running = await until("the inline run to start", async () =>
      (await runsOf("orphan")).slice(before).find((r) => r.status === "RUNNING"),
    );
    // Into its first pages (800 ms each), so a task and a batch are under way.
    await until("the inline run to send requests", async () =>
      (
        await db.pool.query("SELECT 1 FROM bitbridge.task_runs WHERE run_id = $1 AND requests > 0", [
          running.id,
        ])
      ).rowCount
        ? true
        : undefined,
    );
    child.kill("SIGKILL");
    await exited;
    expect((await run(running.id)).status).toBe("RUNNING");
    return running;
  }

  it("cancelling a `job run` whose process was killed ends it at once, as CANCELLED", async () => {
    const dead = await killedInlineRun();
    const cli = await runCli(["job", "cancel", String(dead.id)], { env });
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toBe(
      `Run ${dead.id} was cancelled; the process running it had stopped, so it was only marked so.\n`,
    );
    const ended = await run(dead.id);
    expect(ended.status).toBe("CANCELLED");
    expect(ended.error).toMatch(
      new RegExp(
        `^The process running it \\(${hostname()}, pid \\d+\\) stopped before it ended; cancelled on request\\.$`,
      ),
    );
    const tasks = await db.pool.query<{ status: string }>(
      "SELECT status FROM bitbridge.task_runs WHERE run_id = $1",
      [dead.id],
    );
    expect(tasks.rows.map((t) => t.status)).toEqual(["CANCELLED"]);
  }, 60_000);

  it("a `job run` whose process was killed is recorded FAILED when the job next runs, which loses nothing", async () => {
    const dead = await killedInlineRun();
    const next = await runCli(["job", "run", "orphan"], { env });
    expect(next.code, next.stderr).toBe(0);
    const [failed, succeeded] = (await runsOf("orphan")).filter((r) => r.id >= dead.id);
    expect(failed?.status).toBe("FAILED");
    expect(failed?.error).toMatch(
      /^The process running it \(.+, pid \d+\) stopped before it ended; found when the job ran again\.$/,
    );
    expect(failed?.finished_at).not.toBeNull();
    expect(succeeded?.status).toBe("SUCCEEDED");
    const logs = await db.pool.query<{ message: string }>(
      "SELECT message FROM bitbridge.run_logs WHERE run_id = $1 ORDER BY id",
      [dead.id],
    );
    expect(logs.rows.at(-1)?.message).toBe(
      "The process running this run stopped before it ended; found when the job ran again.",
    );
    expect(
      await destKeys(db.pool, "SELECT repository_uuid, hash FROM orphan.commits WHERE bb_deleted_at IS NULL"),
    ).toEqual(await sourceKeys(source, "SELECT RepositoryUuid, Hash FROM Commits"));
  }, 90_000);

  it("a one-off `replicate` whose process was killed is recorded FAILED by a worker; a live one is left running", async () => {
    const statement = "REPLICATE [OneOff] SELECT RepositoryUuid, Hash, Date FROM Commits WITH BatchSize=50";
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "src/cli/entry.ts",
        "replicate",
        statement,
        "--source",
        "bitbucket",
        "--dest",
        "orphan_dest",
      ],
      { env: { ...process.env, ...env }, stdio: "ignore" },
    );
    const exited = new Promise((resolve) => child.on("exit", resolve));
    const oneOff = await until("the one-off run to send requests", async () => {
      const found = await db.pool.query<{ id: number }>(
        `SELECT r.id::int FROM bitbridge.runs r JOIN bitbridge.task_runs t ON t.run_id = r.id
          WHERE r.job_id IS NULL AND r.status = 'RUNNING' AND t.requests > 0`,
      );
      return found.rows[0];
    });
    // The workers look for dead one-off runs every 2/3 s: a live one is never taken for dead.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect((await run(oneOff.id)).status).toBe("RUNNING");
    child.kill("SIGKILL");
    await exited;
    const ended = await until("the killed one-off run to be ended", async () => {
      const r = await run(oneOff.id);
      return r.status === "RUNNING" ? undefined : r;
    });
    expect(ended.status).toBe("FAILED");
    expect(ended.error).toMatch(
      /^The process running it \(.+, pid \d+\) stopped before it ended; found by a worker\.$/,
    );
    expect(ended.finished_at).not.toBeNull();
    const tasks = await db.pool.query<{ status: string }>(
      "SELECT status FROM bitbridge.task_runs WHERE run_id = $1",
      [oneOff.id],
    );
    expect(tasks.rows.map((t) => t.status)).toEqual(["FAILED"]);
  }, 60_000);
});
