import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningSimulator, startSimulator } from "../../sim/server.js";
import { migrate } from "../../src/app/database.js";
import { loadSecretKey } from "../../src/app/secrets.js";
import { ConnectionStore } from "../../src/engine/connection-store.js";
import { findConnector, propertiesFromString } from "../../src/engine/connectors.js";
import { JobStore } from "../../src/engine/jobs.js";
import { openQueue, type Queue } from "../../src/scheduler/queue.js";
import { ScheduleStore } from "../../src/scheduler/schedules.js";
import { runCli } from "../cli/run-cli.js";
import { useTestDatabase } from "../support/postgres.js";
import { until } from "../support/until.js";
import { destKeys, sourceKeys } from "./replica-keys.js";
import { startWorkerProcess as startWorker, stopWorkers, type WorkerProcess } from "./worker-process.js";

const db = await useTestDatabase("workers");
let sim: RunningSimulator;
let home: string;
let env: NodeJS.ProcessEnv;
let source: string;
let queue: Queue;
const workers: WorkerProcess[] = [];

const SLOW = "REPLICATE [Commits] SELECT RepositoryUuid, Hash, Date FROM Commits WITH BatchSize=50";

/** A worker process of this file's (stopped after all tests). */
async function startWorkerProcess(...extra: string[]): Promise<WorkerProcess> {
  const worker = await startWorker(env, "--concurrency", "2", "--stale-after", "3", ...extra);
  workers.push(worker);
  return worker;
}

interface RunRow {
  id: number;
  status: string;
  trigger: string;
  started_at: Date;
  finished_at: Date | null;
  error: string | null;
  pid: string;
  attempt: number;
}

async function runsOf(job: string): Promise<RunRow[]> {
  const result = await db.pool.query<RunRow>(
    `SELECT r.id::int, r.status, r.trigger, r.started_at, r.finished_at, r.error, r.pid, r.attempt
       FROM bitbridge.runs r JOIN bitbridge.jobs j ON j.id = r.job_id WHERE j.name = $1 ORDER BY r.id`,
    [job],
  );
  return result.rows;
}

/** Waits as `until` does; a timeout also says what the latest runs and the workers' logs were. */
function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  return until(what, probe, { timeoutMs, explain: situation });
}

async function situation(): Promise<string> {
  const runs = await db.pool.query(
    `SELECT r.id, j.name AS job, r.status, r.attempt, r.pid, r.started_at, r.heartbeat_at, r.finished_at, r.error
       FROM bitbridge.runs r JOIN bitbridge.jobs j ON j.id = r.job_id ORDER BY r.id DESC LIMIT 12`,
  );
  const logs = workers.map((w) => `worker ${w.pid}:\n${w.stderr.split("\n").slice(-15).join("\n")}`);
  return [
    `latest runs at ${new Date().toISOString()}:`,
    ...runs.rows.map((r) => JSON.stringify(r)),
    ...logs,
  ].join("\n");
}

async function setCommitLatency(latencyMs: number): Promise<void> {
  const response = await fetch(`${sim.origin}/_sim/faults`, {
    method: "PUT",
    body: JSON.stringify({ endpoints: { "/repositories/{workspace}/{repo_slug}/commits": { latencyMs } } }),
  });
  expect(response.ok).toBe(true);
}

beforeAll(async () => {
  sim = await startSimulator({
    seed: 29,
    scale: "tiny",
    counts: { repositories: 3, commits: 600 },
    rateLimitPerHour: 10_000_000,
  });
  // Slow commit pages spread a run of the SLOW task over a few seconds.
  await setCommitLatency(120);
  home = mkdtempSync(join(tmpdir(), "bitbridge-workers-"));
  env = { DATABASE_URL: db.url, BITBRIDGE_HOME: home };
  const api = sim.sim.auth.credentials().apiTokens[0];
  source = `AuthScheme=APIToken;User=${api?.email};APIToken=${api?.token};Workspace=acme;Url=${sim.apiUrl};RequestsPerHour=1000000`;
  await migrate(db.pool);
  const connections = new ConnectionStore(db.pool, () => loadSecretKey(env));
  await connections.add({
    name: "bitbucket",
    connector: "bitbucket",
    properties: propertiesFromString(findConnector("bitbucket"), source),
  });
  const jobs = new JobStore(db.pool);
  for (const [name, statement] of [
    ["sched", "REPLICATE [Repositories]"],
    ["race", SLOW],
    ["victim", SLOW],
    ["drain", SLOW],
    ["impatient", SLOW],
  ] as const) {
    await connections.add({
      name: `${name}_dest`,
      connector: "postgresql",
      properties: { URL: db.url, Schema: name },
    });
    await jobs.create({ name, source: "bitbucket", destination: `${name}_dest` });
    await jobs.addTask(name, statement);
  }
  queue = await openQueue(db.url, db.pool, { supervise: false });
  await Promise.all([startWorkerProcess(), startWorkerProcess(), startWorkerProcess()]);
}, 60_000);

afterAll(async () => {
  await stopWorkers(workers);
  await queue?.stop();
  await sim?.stop();
  rmSync(home, { recursive: true, force: true });
});

describe("schedules", () => {
  it("are set, shown with their next runs and removed from the CLI", async () => {
    const weekly = await runCli(
      ["job", "schedule", "sched", "--weekly", "mon", "09:00", "--tz", "Europe/Paris"],
      {
        env,
      },
    );
    expect(weekly.code, weekly.stderr).toBe(0);
    const lines = weekly.stdout.trim().split("\n");
    expect(lines[0]).toBe("Schedule: weekly on Monday at 09:00 (Europe/Paris)");
    expect(lines.slice(1)).toHaveLength(3);
    for (const line of lines.slice(1))
      expect(line).toMatch(/^ {2}next: \d{4}-\d\d-\d\d 09:00:00 Europe\/Paris \(/);
    const show = await runCli(["job", "show", "sched"], { env });
    expect(show.stdout).toContain("Schedule: weekly on Monday at 09:00 (Europe/Paris)\n  next: ");
    expect((await runCli(["job", "schedule", "sched", "--off"], { env })).stdout).toBe(
      "Job sched no longer runs on a schedule.\n",
    );
    expect((await runCli(["job", "schedule", "sched"], { env })).stdout).toContain(
      "Job sched has no schedule",
    );
  }, 30_000);

  it("fire once per due time with three workers", async () => {
    const set = await runCli(["job", "schedule", "sched", "--cron", "*/2 * * * * *"], { env });
    expect(set.code, set.stderr).toBe(0);
    await waitFor("three scheduled runs", async () => {
      const done = (await runsOf("sched")).filter((r) => r.finished_at !== null);
      return done.length >= 3 ? done : undefined;
    });
    await new ScheduleStore(db.pool).remove("sched");
    const runs = await waitFor("the last scheduled run to finish", async () => {
      const all = await runsOf("sched");
      return all.every((r) => r.finished_at !== null) ? all : undefined;
    });
    expect(runs.every((r) => r.trigger === "schedule")).toBe(true);
    expect(runs.filter((r) => r.status === "SUCCEEDED").length).toBeGreaterThan(0);
    // On a loaded machine a run can outlast the 2 s between due times: the next is then SKIPPED, never run
    // alongside it.
    for (const r of runs.filter((r) => r.status !== "SUCCEEDED")) {
      expect(r.status).toBe("SKIPPED");
      expect(r.error).toMatch(/^Job sched is already running/);
    }
    // One run per due time: due times are 2 s apart, so runs start about 2 s apart, never together.
    for (let i = 1; i < runs.length; i++) {
      const gap = (runs[i] as RunRow).started_at.getTime() - (runs[i - 1] as RunRow).started_at.getTime();
      expect(gap).toBeGreaterThan(1000);
    }
  }, 30_000);
});

describe("workers", () => {
  it("racing on many runs of one job never run it twice at once; the extra runs are SKIPPED", async () => {
    // Slower pages keep the first run going while the others arrive (slowest while the CLI starts, below).
    await setCommitLatency(1500);
    const queued = await runCli(["job", "run", "race", "--queue"], { env });
    expect(queued.code, queued.stderr).toBe(0);
    expect(queued.stdout).toMatch(/^Queued run \d+ of job race \(queue id [0-9a-f-]+\)/);
    const holder = await waitFor("the first race run to start", async () =>
      (await runsOf("race")).find((r) => r.status === "RUNNING"),
    );
    // The lock holds across processes, not only inside one: a direct run from the CLI, a process that is no
    // worker, is refused while a worker holds the job. (Which worker takes each queued run below is up to
    // chance, so the queued runs alone cannot show this every time.)
    const direct = await runCli(["job", "run", "race"], { env });
    expect(direct.stdout + direct.stderr).toMatch(/Job race is already running/);
    await setCommitLatency(400);
    // Enqueued one at a time, each is taken by whichever idle worker polls first (enqueued together, one
    // worker's free slot can skip them all before the others poll).
    for (let i = 0; i < 9; i++) {
      await queue.enqueue({ job: "race", trigger: "api", attempt: 1 });
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const runs = await waitFor("eleven finished runs", async () => {
      const all = await runsOf("race");
      return all.length === 11 && all.every((r) => r.finished_at !== null) ? all : undefined;
    });
    await setCommitLatency(120);
    const ran = runs.filter((r) => r.status !== "SKIPPED");
    expect(ran.length).toBeGreaterThan(0);
    expect(ran.every((r) => r.status === "SUCCEEDED")).toBe(true);
    const skipped = runs.filter((r) => r.status === "SKIPPED");
    expect(skipped.length).toBeGreaterThan(0);
    // The holder's run id is named when its run row exists; in the moments before it is written (or after it
    // ended, before the lock is released) the message can only say the job is running.
    for (const r of skipped)
      expect(r.error).toMatch(/^Job race is already running( \(run \d+, started [^)]+\))?; /);
    const intervals = ran.map((r) => [r.started_at.getTime(), (r.finished_at as Date).getTime()] as const);
    intervals.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < intervals.length; i++) {
      expect((intervals[i] as readonly [number, number])[0]).toBeGreaterThanOrEqual(
        (intervals[i - 1] as readonly [number, number])[1],
      );
    }
    const workerPids = new Set(workers.map((w) => String(w.pid)));
    const refused = runs.filter((r) => !workerPids.has(r.pid));
    expect(refused).toHaveLength(1);
    expect(refused[0]?.status).toBe("SKIPPED");
    expect(refused[0]?.error).toContain(`(run ${holder.id}, started `);
  }, 60_000);

  it("a SIGKILLed worker's run is failed by the reaper and retried by another worker", async () => {
    // Pages slow enough that the worker dies mid-run however fast the machine (a fixed wait after the start
    // once outlasted the whole run).
    await setCommitLatency(1500);
    await queue.enqueue({ job: "victim", trigger: "api", attempt: 1 });
    const running = await waitFor("the victim run to start", async () =>
      (await runsOf("victim")).find((r) => r.status === "RUNNING"),
    );
    await waitFor("the victim run to load its first rows", async () =>
      (
        await db.pool.query("SELECT 1 FROM bitbridge.task_runs WHERE run_id = $1 AND requests > 0", [
          running.id,
        ])
      ).rowCount
        ? true
        : undefined,
    );
    const owner = workers.find((w) => String(w.pid) === running.pid) as WorkerProcess;
    owner.child.kill("SIGKILL");
    const [dead, retry] = await waitFor(
      "the retry to finish",
      async () => {
        const runs = await runsOf("victim");
        return runs.length === 2 && runs[1]?.finished_at ? runs : undefined;
      },
      // Stale-after, reaping and a whole second run: a loaded 2-core machine needs the slack.
      90_000,
    );
    await setCommitLatency(120);
    expect(dead?.status).toBe("FAILED");
    expect(dead?.error).toMatch(
      /^The worker stopped responding \(.+, pid \d+, no heartbeat for \d+ s\); retried as attempt 2 of 2\.$/,
    );
    expect(retry?.status).toBe("SUCCEEDED");
    expect(retry?.attempt).toBe(2);
    expect(retry?.pid).not.toBe(running.pid);
    expect(
      await destKeys(db.pool, "SELECT repository_uuid, hash FROM victim.commits WHERE bb_deleted_at IS NULL"),
    ).toEqual(await sourceKeys(source, "SELECT RepositoryUuid, Hash FROM Commits"));
  }, 120_000);

  it("SIGTERM lets the current run finish, then the worker exits 0", async () => {
    await queue.enqueue({ job: "drain", trigger: "api", attempt: 1 });
    const running = await waitFor("the drain run to start", async () =>
      (await runsOf("drain")).find((r) => r.status === "RUNNING"),
    );
    const owner = workers.find((w) => String(w.pid) === running.pid) as WorkerProcess;
    owner.child.kill("SIGTERM");
    expect(await owner.exited).toEqual({ code: 0, signal: null });
    expect(owner.stderr).toContain("SIGTERM: draining");
    const [run] = await runsOf("drain");
    expect(run?.status).toBe("SUCCEEDED");
    expect(
      await destKeys(db.pool, "SELECT repository_uuid, hash FROM drain.commits WHERE bb_deleted_at IS NULL"),
    ).toEqual(await sourceKeys(source, "SELECT RepositoryUuid, Hash FROM Commits"));
  }, 60_000);

  it("SIGTERM past the drain timeout cancels the run, and the next worker runs it again", async () => {
    // Idle workers stop at once; then the impatient worker is the only one to take the run.
    const idle = workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
    for (const w of idle) w.child.kill("SIGTERM");
    for (const w of idle) expect(await w.exited).toEqual({ code: 0, signal: null });
    const impatient = await startWorkerProcess("--drain-timeout", "0.5");
    // Slower pages keep the run going well past the drain timeout, however fast the machine.
    await setCommitLatency(600);
    await queue.enqueue({ job: "impatient", trigger: "api", attempt: 1 });
    await waitFor("the impatient run to start", async () =>
      (await runsOf("impatient")).find((r) => r.status === "RUNNING"),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    impatient.child.kill("SIGTERM");
    expect(await impatient.exited).toEqual({ code: 0, signal: null });
    expect(impatient.stderr).toContain("cancelling them");
    expect(impatient.stderr).toContain("enqueued again for another worker");
    const next = await startWorkerProcess();
    const [cancelled, again] = await waitFor("the run to be taken again", async () => {
      const runs = await runsOf("impatient");
      return runs.length === 2 && runs[1]?.finished_at ? runs : undefined;
    });
    expect(cancelled?.status).toBe("CANCELLED");
    expect(again?.status).toBe("SUCCEEDED");
    expect(again?.pid).toBe(String(next.pid));
    expect(
      await destKeys(
        db.pool,
        "SELECT repository_uuid, hash FROM impatient.commits WHERE bb_deleted_at IS NULL",
      ),
    ).toEqual(await sourceKeys(source, "SELECT RepositoryUuid, Hash FROM Commits"));
  }, 60_000);
});
