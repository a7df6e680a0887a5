import os from "node:os";
import type pg from "pg";
import { type AlertDelivery, deliverAlerts } from "../alerts/send.js";
import { BitbridgeError } from "../app/errors.js";
import { APP_SCHEMA } from "../app/migrations.js";
import { redactSecrets } from "../app/secrets.js";
import { type BudgetProvider, sharedBudgets } from "../bitbucket/budget.js";
import { openClient } from "../bitbucket/client.js";
import type { ConnectionProperties } from "../bitbucket/connection-properties.js";
import type { BitbucketClient } from "../bitbucket/types.js";
import { bindPostgresReplicate } from "../source/postgres/bind.js";
import { readSourceCatalog } from "../source/postgres/connection.js";
import { bindReplicate, formatReplicate, parseReplicateScript } from "../sql/replicate.js";
import type { ConnectionStore } from "./connection-store.js";
import {
  endOrphanedOneOffRuns,
  endOrphanedRuns,
  recordOneOffRun,
  tryLockJob,
  unlockJob,
} from "./job-lock.js";
import { describePositions, JobStore, type JobWithTasks, type Task } from "./jobs.js";
import { runPostgresSourceTask } from "./postgres-source-runner.js";
import { type Endpoints, resolveDestination, resolveSource, type SourceEndpoint } from "./run-endpoints.js";
import { progressSaver, watchRun } from "./run-watch.js";
import { runReplicateTask } from "./task-runner.js";
import type { TaskProgress, TaskRunInput, TaskRunResult } from "./task-runner-types.js";

/** Runs one REPLICATE statement: `runReplicateTask` from task-runner.ts, or a stand-in in tests. */
export type TaskRunner = (input: TaskRunInput) => Promise<TaskRunResult>;

export type RunTrigger = "manual" | "schedule" | "api" | "cli";
export type RunStatus = "QUEUED" | "RUNNING" | "SUCCEEDED" | "FAILED" | "SKIPPED" | "CANCELLED";
export type LogLevel = "info" | "warn" | "error";

export interface RunDeps {
  /** The application database. */
  readonly pool: pg.Pool;
  /** Saved connections, opened with their secrets. */
  readonly connections: ConnectionStore;
  /** Default: `runReplicateTask` from ./task-runner.js, loaded when first needed. */
  readonly runner?: TaskRunner;
  /** Default: `openClient` (the OAuth token file for OAuth and client connections). */
  readonly openClient?: (props: ConnectionProperties, log: (line: string) => void) => BitbucketClient;
  /** How a job's alerts are opened and sent (`bitbridge job alert`). */
  readonly alerts?: AlertDelivery;
}

export interface RunProgress extends TaskProgress {
  /** The task's position in the job (1-based; the statement's number for one-off runs). */
  readonly position: number;
  /** Which of the tasks being run this is (1-based), and how many there are. */
  readonly index: number;
  readonly total: number;
}

export interface RunOptions {
  /** Positions of the tasks to run, in job order; default every task. */
  readonly tasks?: readonly number[];
  /** Default "manual". */
  readonly trigger?: RunTrigger;
  /** Ignore saved incremental state and read everything again. */
  readonly full?: boolean;
  readonly onProgress?: (progress: RunProgress) => void;
  /** Called when a task starts, with its summary so far (status RUNNING). */
  readonly onTaskStart?: (task: TaskRunSummary, index: number, total: number) => void;
  /** Called when a task ends, whatever its status (tasks not run after a failure included). */
  readonly onTaskEnd?: (task: TaskRunSummary, index: number, total: number) => void;
  /** Receives every line written to run_logs, secrets already masked. */
  readonly log?: (level: LogLevel, message: string) => void;
  /** Aborting stops the running task (when the runner honours it) and cancels the ones after it. */
  readonly signal?: AbortSignal;
  /** Called once the run is recorded (not for a SKIPPED run), before its first task; a queue worker starts its heartbeat here. */
  readonly onRunStart?: (runId: number) => Promise<void>;
  /**
   * A run recorded QUEUED when it was enqueued: this run takes that row (and gives it a heartbeat) instead
   * of recording a new one. Throws RUN_NOT_QUEUED when the row is no longer QUEUED (cancelled, or taken).
   */
  readonly runId?: number;
  /** Abort the run as FAILED after this long; default the job's timeout (`bitbridge job set --timeout`). */
  readonly timeoutMs?: number;
  /** How often the run looks for a cancellation asked by another process (cancelRun); default 1000. */
  readonly cancelPollMs?: number;
}

export interface TaskRunSummary {
  readonly taskRunId: number;
  readonly taskId: number | null;
  readonly position: number;
  readonly statement: string;
  readonly status: RunStatus;
  readonly sourceTable: string | undefined;
  readonly destinationTable: string | undefined;
  readonly rowsRead: number;
  readonly inserted: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly deleted: number;
  readonly requests: number;
  readonly durationMs: number;
  readonly error: string | undefined;
}

export interface RunSummary {
  readonly runId: number;
  readonly jobId: number | null;
  readonly status: RunStatus;
  readonly trigger: RunTrigger;
  readonly tasks: readonly TaskRunSummary[];
  readonly rowsRead: number;
  readonly inserted: number;
  readonly updated: number;
  readonly deleted: number;
  readonly requests: number;
  readonly durationMs: number;
  /** Why the run failed, was skipped or cancelled (secrets masked, never a stack). */
  readonly error: string | undefined;
}

interface PlannedTask {
  readonly taskId: number | null;
  readonly position: number;
  readonly statement: string;
}

const S = APP_SCHEMA;

/**
 * Runs a job's tasks (all, or the positions in `options.tasks`) in order, recording a run, a task run per
 * task and the log lines. The first failing task fails the run and the tasks after it are not run (recorded
 * as SKIPPED): tasks often depend on each other's tables, and a broken source or destination would fail them
 * all again. A job already running elsewhere is not run twice: the attempt is recorded as SKIPPED.
 */
export async function runJob(
  deps: RunDeps,
  job: string | JobWithTasks,
  options: RunOptions = {},
): Promise<RunSummary> {
  const store = new JobStore(deps.pool);
  const loaded = typeof job === "string" ? await store.get(job) : job;
  const tasks = selectTasks(loaded, options.tasks);
  const trigger = options.trigger ?? "manual";

  let summary: RunSummary;
  const lock = await deps.pool.connect();
  try {
    if (!(await tryLockJob(lock, loaded.id)))
      return await skipped(deps.pool, loaded, trigger, options.full === true, options.runId);
    for (const orphan of await endOrphanedRuns(lock, loaded.id, "found when the job ran again.")) {
      options.log?.(
        "warn",
        `Run ${orphan.id} of job ${loaded.name} was left running by a process that stopped; recorded ${orphan.status}.`,
      );
    }
    const timeout = await deps.pool.query<{ timeout_seconds: number | null }>(
      `SELECT timeout_seconds FROM ${S}.jobs WHERE id = $1`,
      [loaded.id],
    );
    const timeoutSeconds = timeout.rows[0]?.timeout_seconds ?? null;
    const runOptions =
      options.timeoutMs === undefined && timeoutSeconds !== null
        ? { ...options, timeoutMs: timeoutSeconds * 1000 }
        : options;
    try {
      summary = await execute(
        deps,
        { jobId: loaded.id, label: `job ${loaded.name}`, trigger, tasks },
        async () => {
          const source = await resolveSource(deps.connections, loaded.source);
          const destination = await resolveDestination(deps.connections, loaded.destination);
          return {
            source: source.source,
            destination: destination.destination,
            secrets: [...source.secrets, ...destination.secrets],
          };
        },
        runOptions,
      );
    } finally {
      await unlockJob(lock, loaded.id).catch(() => {});
    }
  } finally {
    lock.release();
  }
  // Once the run is recorded and the job unlocked: a slow receiver neither changes the run nor delays the next.
  await deliverAlerts(deps.pool, loaded, summary, deps.alerts, options.log);
  return summary;
}

/**
 * A one-off run (`bitbridge replicate`): the REPLICATE statements of `statement`, one task each, from
 * `source` to `destination`. Each is a saved connection's name or a connection string (`AuthScheme=...`
 * for Bitbucket; `postgres://...` or `Server=...;Database=...` for PostgreSQL). The statements are checked
 * before anything runs (syntax and binding errors carry offsets into `statement`). Recorded as a run
 * without a job, trigger "cli" unless given.
 */
export async function runStatement(
  deps: RunDeps,
  input: { statement: string; source: string; destination: string },
  options: Omit<RunOptions, "tasks"> = {},
): Promise<RunSummary> {
  const parsed = parseReplicateScript(input.statement);
  if (parsed.length === 0) {
    throw new BitbridgeError(
      "TASK_EMPTY",
      "Give a REPLICATE statement, e.g. REPLICATE [Issues] or REPLICATE Prs SELECT Id, Title FROM PullRequests.",
    );
  }
  const source = await resolveSource(deps.connections, input.source);
  const catalog =
    source.source.connector === "postgresql" ? await readSourceCatalog(source.source.postgres) : undefined;
  const tasks = parsed.map((statement, i) => {
    if (catalog) bindPostgresReplicate(input.statement, statement, catalog, undefined);
    else bindReplicate(input.statement, statement);
    return { taskId: null, position: i + 1, statement: formatReplicate(statement) };
  });
  const destination = await resolveDestination(deps.connections, input.destination);
  for (const orphan of await endOrphanedOneOffRuns(deps.pool, "found when another one-off run started.")) {
    options.log?.(
      "warn",
      `One-off run ${orphan.id} was left running by a process that stopped; recorded ${orphan.status}.`,
    );
  }
  const holder = await deps.pool.connect();
  try {
    return await execute(
      deps,
      { jobId: null, label: "replicate", trigger: options.trigger ?? "cli", tasks },
      async () => ({
        source: source.source,
        destination: destination.destination,
        secrets: [...source.secrets, ...destination.secrets],
      }),
      options,
      holder,
    );
  } finally {
    // Closing the session ends the run's lock whatever happened, and no pooled session keeps it by mistake.
    holder.release(true);
  }
}

function selectTasks(job: JobWithTasks, positions: readonly number[] | undefined): PlannedTask[] {
  if (job.tasks.length === 0) {
    throw new BitbridgeError(
      "JOB_NO_TASKS",
      `Job ${job.name} has no tasks; add one with bitbridge job add-task ${job.name} "REPLICATE ...".`,
    );
  }
  const wanted = positions === undefined || positions.length === 0 ? undefined : new Set(positions);
  if (wanted) {
    const missing = [...wanted].filter((p) => !job.tasks.some((t) => t.position === p));
    if (missing.length > 0) {
      throw new BitbridgeError(
        "TASK_NOT_FOUND",
        `Job ${job.name} has no task at position ${missing.join(", ")}; its tasks are at positions ${describePositions(job.tasks.map((t) => t.position))}.`,
        {},
        404,
      );
    }
  }
  return job.tasks
    .filter((t: Task) => wanted === undefined || wanted.has(t.position))
    .map((t) => ({ taskId: t.id, position: t.position, statement: t.statement }));
}

async function skipped(
  pool: pg.Pool,
  job: JobWithTasks,
  trigger: RunTrigger,
  full: boolean,
  queuedRunId: number | undefined,
): Promise<RunSummary> {
  const running = await pool.query<{ id: string; started_at: Date }>(
    `SELECT id, started_at FROM ${S}.runs WHERE job_id = $1 AND status = 'RUNNING' ORDER BY id DESC LIMIT 1`,
    [job.id],
  );
  const current = running.rows[0];
  const error = `Job ${job.name} is already running${current ? ` (run ${current.id}, started ${current.started_at.toISOString()})` : ""}; this run was skipped.`;
  const inserted =
    queuedRunId === undefined
      ? await pool.query<{ id: string }>(
          `INSERT INTO ${S}.runs (job_id, trigger, status, full_reload, finished_at, error, worker, pid)
           VALUES ($1, $2, 'SKIPPED', $3, now(), $4, $5, $6) RETURNING id`,
          [job.id, trigger, full, error, os.hostname(), String(process.pid)],
        )
      : await claimQueued(pool, queuedRunId, "SKIPPED", error);
  return {
    runId: Number(inserted.rows[0]?.id),
    jobId: job.id,
    status: "SKIPPED",
    trigger,
    tasks: [],
    rowsRead: 0,
    inserted: 0,
    updated: 0,
    deleted: 0,
    requests: 0,
    durationMs: 0,
    error,
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function execute(
  deps: RunDeps,
  plan: { jobId: number | null; label: string; trigger: RunTrigger; tasks: readonly PlannedTask[] },
  open: () => Promise<Endpoints>,
  options: RunOptions,
  /** For a one-off run: the connection that records it and holds its lock (see `recordOneOffRun`). */
  oneOff?: pg.PoolClient,
): Promise<RunSummary> {
  const { pool } = deps;
  const started = performance.now();
  const worker = os.hostname();
  const pid = String(process.pid);
  const runId = oneOff
    ? await recordOneOffRun(oneOff, { trigger: plan.trigger, full: options.full === true, worker, pid })
    : Number(
        (options.runId === undefined
          ? await pool.query<{ id: string }>(
              `INSERT INTO ${S}.runs (job_id, trigger, status, full_reload, worker, pid)
               VALUES ($1, $2, 'RUNNING', $3, $4, $5) RETURNING id`,
              [plan.jobId, plan.trigger, options.full === true, worker, pid],
            )
          : await claimQueued(pool, options.runId, "RUNNING", null)
        ).rows[0]?.id,
      );
  const control = watchRun(pool, runId, options);
  const budgets = sharedBudgets(pool, control.signal);
  let secrets: readonly string[] = [];
  const redact = (text: string) => redactSecrets(text, secrets);

  let pending: Promise<unknown> = Promise.resolve();
  const log = (level: LogLevel, message: string, taskRunId: number | null = null) => {
    const text = redact(message);
    options.log?.(level, text);
    pending = pending
      .then(() =>
        pool.query(
          `INSERT INTO ${S}.run_logs (run_id, task_run_id, level, message) VALUES ($1, $2, $3, $4)`,
          [runId, taskRunId, level, text],
        ),
      )
      .catch(() => {});
  };

  const results: TaskRunSummary[] = [];
  let status: RunStatus = "SUCCEEDED";
  let error: string | undefined;
  const total = plan.tasks.length;
  const notRun = async (task: PlannedTask, index: number, taskStatus: RunStatus) => {
    const row = await pool.query<{ id: string }>(
      `INSERT INTO ${S}.task_runs (run_id, task_id, position, statement, status) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
      [runId, task.taskId, task.position, task.statement, taskStatus],
    );
    const summary = emptySummary(Number(row.rows[0]?.id), task, taskStatus);
    results.push(summary);
    options.onTaskEnd?.(summary, index, total);
  };

  try {
    await options.onRunStart?.(runId);
    log(
      "info",
      `Run ${runId} of ${plan.label} started: ${total} task(s)${options.full ? ", full reload" : ""}.`,
    );
    let endpoints: Endpoints | undefined;
    let runner: SourceRunner | undefined;
    try {
      endpoints = await open();
      secrets = endpoints.secrets;
      runner = sourceRunner(deps, endpoints.source, (line) => log("info", line), budgets);
    } catch (e) {
      status = "FAILED";
      error = redact(messageOf(e));
      log("error", `Cannot start: ${error}`);
    }

    for (const [i, task] of plan.tasks.entries()) {
      const index = i + 1;
      if (status !== "SUCCEEDED" || !endpoints || !runner) {
        await notRun(task, index, status === "CANCELLED" || control.signal.aborted ? "CANCELLED" : "SKIPPED");
        continue;
      }
      if (control.signal.aborted) {
        status = control.status();
        error = control.message();
        log(status === "FAILED" ? "error" : "warn", `${error} Task ${task.position} was not run.`);
        await notRun(task, index, "CANCELLED");
        continue;
      }
      const row = await pool.query<{ id: string }>(
        `INSERT INTO ${S}.task_runs (run_id, task_id, position, statement, status, started_at)
         VALUES ($1, $2, $3, $4, 'RUNNING', now()) RETURNING id`,
        [runId, task.taskId, task.position, task.statement],
      );
      const taskRunId = Number(row.rows[0]?.id);
      options.onTaskStart?.(emptySummary(taskRunId, task, "RUNNING"), index, total);
      log("info", `Task ${task.position} started: ${task.statement}`, taskRunId);
      const taskStarted = performance.now();
      const saveProgress = progressSaver(pool, taskRunId);
      let summary: TaskRunSummary;
      try {
        const result = await runner({
          statement: task.statement,
          destination: endpoints.destination,
          full: options.full === true,
          onProgress: (progress) => {
            saveProgress.offer(progress);
            options.onProgress?.({ ...progress, position: task.position, index, total });
          },
          log: (level, message) => log(level, message, taskRunId),
          signal: control.signal,
        });
        summary = {
          taskRunId,
          taskId: task.taskId,
          position: task.position,
          statement: task.statement,
          status: "SUCCEEDED",
          sourceTable: result.sourceTable,
          destinationTable: result.destinationTable,
          rowsRead: result.rowsRead,
          inserted: result.inserted,
          updated: result.updated,
          unchanged: result.unchanged,
          deleted: result.deleted,
          requests: result.requests,
          durationMs: Math.round(result.durationMs),
          error: undefined,
        };
        log(
          "info",
          `Task ${task.position} succeeded: ${result.sourceTable} into ${result.destinationTable}, ${result.rowsRead} row(s) read, ${result.inserted} inserted, ${result.updated} updated, ${result.deleted} deleted, ${result.requests} request(s)${result.skippedPartitions > 0 ? `, ${result.skippedPartitions} unchanged repositories skipped` : ""}.`,
          taskRunId,
        );
      } catch (e) {
        const cancelled = control.signal.aborted;
        const message = cancelled ? control.message() : redact(messageOf(e));
        status = cancelled ? control.status() : "FAILED";
        error = cancelled ? message : `Task ${task.position} failed: ${message}`;
        summary = {
          ...emptySummary(taskRunId, task, status),
          durationMs: Math.round(performance.now() - taskStarted),
          error: message,
        };
        log(
          cancelled ? "warn" : "error",
          `Task ${task.position} ${cancelled ? "cancelled" : "failed"}: ${message}`,
          taskRunId,
        );
      }
      await saveProgress.settled();
      await pool.query(
        `UPDATE ${S}.task_runs SET status = $2, source_table = $3, destination_table = $4, finished_at = now(),
           rows_read = $5, inserted = $6, updated = $7, unchanged = $8, deleted = $9, requests = $10,
           duration_ms = $11, error = $12
         WHERE id = $1`,
        [
          taskRunId,
          summary.status,
          summary.sourceTable ?? null,
          summary.destinationTable ?? null,
          summary.rowsRead,
          summary.inserted,
          summary.updated,
          summary.unchanged,
          summary.deleted,
          summary.requests,
          summary.durationMs,
          summary.error ?? null,
        ],
      );
      results.push(summary);
      options.onTaskEnd?.(summary, index, total);
    }
  } catch (e) {
    // Recording itself failed (the application database went away?): still try to close the run.
    status = "FAILED";
    error = redact(messageOf(e));
  } finally {
    control.stop();
    // What the run reserved and did not send goes back to the credential's budget for other runs.
    await budgets.release().catch(() => {});
  }

  const totals = {
    rowsRead: sum(results, "rowsRead"),
    inserted: sum(results, "inserted"),
    updated: sum(results, "updated"),
    deleted: sum(results, "deleted"),
    requests: sum(results, "requests"),
  };
  const durationMs = Math.round(performance.now() - started);
  log(
    status === "SUCCEEDED" ? "info" : status === "CANCELLED" ? "warn" : "error",
    `Run ${runId} ${status.toLowerCase()}: ${totals.rowsRead} row(s) read, ${totals.requests} request(s), ${durationMs} ms.`,
  );
  await pending;
  await pool.query(
    `UPDATE ${S}.runs SET status = $2, finished_at = now(), rows_read = $3, inserted = $4, updated = $5,
       deleted = $6, requests = $7, error = $8
     WHERE id = $1`,
    [
      runId,
      status,
      totals.rowsRead,
      totals.inserted,
      totals.updated,
      totals.deleted,
      totals.requests,
      error ?? null,
    ],
  );
  return {
    runId,
    jobId: plan.jobId,
    status,
    trigger: plan.trigger,
    tasks: results,
    ...totals,
    durationMs,
    error,
  };
}

/** A task's input without what depends on the source. */
type SourceRunner = (input: Omit<TaskRunInput, "client" | "workspace" | "schema">) => Promise<TaskRunResult>;

/** Bitbucket sources run through `deps.runner` with one API client for the run; PostgreSQL sources have their own runner. */
function sourceRunner(
  deps: RunDeps,
  source: SourceEndpoint,
  log: (line: string) => void,
  budgets: BudgetProvider,
): SourceRunner {
  if (source.connector === "postgresql")
    return (input) => runPostgresSourceTask({ ...input, source: source.postgres });
  const runner = deps.runner ?? runReplicateTask;
  // Every process running jobs of one credential spends its hourly budget through the application database.
  const client = deps.openClient?.(source.props, log) ?? openClient(source.props, log, { budgets });
  const { workspace, schema } = source.props;
  return (input) =>
    runner({
      ...input,
      client,
      ...(workspace !== undefined && { workspace }),
      ...(schema !== undefined && { schema }),
    });
}

/**
 * Takes a run recorded QUEUED, as RUNNING (with a first heartbeat, so the reaper notices if this process
 * dies from here on) or as SKIPPED; conditional on QUEUED, so a cancelled run never starts and two
 * processes never take one run.
 */
async function claimQueued(
  pool: pg.Pool,
  runId: number,
  status: "RUNNING" | "SKIPPED",
  error: string | null,
): Promise<pg.QueryResult<{ id: string }>> {
  const claimed = await pool.query<{ id: string }>(
    `UPDATE ${S}.runs SET status = $2, started_at = now(), heartbeat_at = now(), worker = $3, pid = $4,
       error = $5, finished_at = CASE WHEN $2 = 'SKIPPED' THEN now() END
     WHERE id = $1 AND status = 'QUEUED' RETURNING id`,
    [runId, status, os.hostname(), String(process.pid), error],
  );
  if (claimed.rowCount === 0) {
    const now = await pool.query<{ status: string }>(`SELECT status FROM ${S}.runs WHERE id = $1`, [runId]);
    throw new BitbridgeError(
      "RUN_NOT_QUEUED",
      `Run ${runId} is ${now.rows[0]?.status ?? "gone"}, no longer queued; it was not run.`,
      {},
      409,
    );
  }
  return claimed;
}

function emptySummary(taskRunId: number, task: PlannedTask, status: RunStatus): TaskRunSummary {
  return {
    taskRunId,
    taskId: task.taskId,
    position: task.position,
    statement: task.statement,
    status,
    sourceTable: undefined,
    destinationTable: undefined,
    rowsRead: 0,
    inserted: 0,
    updated: 0,
    unchanged: 0,
    deleted: 0,
    requests: 0,
    durationMs: 0,
    error: undefined,
  };
}

function sum(
  rows: readonly TaskRunSummary[],
  key: "rowsRead" | "inserted" | "updated" | "deleted" | "requests",
): number {
  return rows.reduce((total, r) => total + r[key], 0);
}
