import { Command, InvalidArgumentError } from "commander";
import { alertCommand } from "../alerts/cli.js";
import { JobStore } from "../engine/jobs.js";
import { RunHistory } from "../engine/run-history.js";
import { formatDuration } from "../engine/run-watch.js";
import { type RunProgress, type RunSummary, runJob, type TaskRunSummary } from "../engine/runs.js";
import { nextRunTimes, parseSchedule, type Schedule, ScheduleStore } from "../scheduler/schedules.js";
import { postgresSourceConfig, readSourceCatalog } from "../source/postgres/connection.js";
import { formatSqlError } from "../sql/index.js";
import { withAppDatabase } from "./app-database.js";
import { formatRows } from "./output.js";

const positiveInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a whole number from 1");
  return n;
};
const collectInt = (value: string, previous: number[]) => [...previous, positiveInt(value)];
/** 90s, 45m, 2h, 1h30m, or a number of seconds; "off" is 0 (commander stores a parsed null as ""). */
const timeoutValue = (value: string): number => {
  const text = value.trim().toLowerCase();
  if (text === "off" || text === "none") return 0;
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?$/.exec(text);
  const seconds = match
    ? Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0)
    : Number.NaN;
  if (!match || text === "" || !(seconds >= 1) || seconds > 2_000_000_000) {
    throw new InvalidArgumentError("expected a duration such as 90s, 45m, 2h or 1h30m, or off");
  }
  return seconds;
};

/** `bitbridge job create|list|show|remove|add-task|remove-task|run|schedule|history|logs|alert`: replication jobs. */
export function jobCommand(): Command {
  const command = new Command("job").description(
    "Replication jobs: REPLICATE tasks from a saved Bitbucket or PostgreSQL source into a saved PostgreSQL destination",
  );
  command
    .command("create")
    .description("Create a job (without tasks: add them with job add-task)")
    .argument("<name>", "a name to refer to it by, e.g. nightly")
    .requiredOption("--source <connection>", "a saved Bitbucket or PostgreSQL source connection")
    .requiredOption("--dest <connection>", "a saved PostgreSQL destination connection")
    .action(async (name: string, opts: { source: string; dest: string }) => {
      await withAppDatabase(async (db) => {
        const job = await new JobStore(db.pool).create({ name, source: opts.source, destination: opts.dest });
        process.stdout.write(`Created job ${job.name}: ${job.source} → ${job.destination}.\n`);
      });
    });
  command
    .command("list")
    .description("List jobs with their task count and last run")
    .action(async () => {
      await withAppDatabase(async (db) => {
        const rows = (await new JobStore(db.pool).list()).map((j) => [
          j.name,
          j.source,
          j.destination,
          j.taskCount,
          j.lastRun ? `${j.lastRun.status} ${j.lastRun.startedAt.toISOString()} (run ${j.lastRun.id})` : "",
        ]);
        const columns = ["Name", "Source", "Destination", "Tasks", "LastRun"].map((n) => ({ name: n }));
        process.stdout.write(formatRows({ columns, rows }, "table"));
      });
    });
  command
    .command("show")
    .description("Show a job: its connections, its tasks in order and its last run")
    .argument("<name>")
    .action(async (name: string) => {
      await withAppDatabase(async (db) => {
        const job = await new JobStore(db.pool).get(name);
        const [last] = await new RunHistory(db.pool).history(name, 1);
        const lines = [`${job.name}: ${job.source} → ${job.destination}`];
        if (job.tasks.length === 0)
          lines.push(`  no tasks (bitbridge job add-task ${job.name} "REPLICATE ...")`);
        const width = String(job.tasks.length).length;
        for (const t of job.tasks) lines.push(`  ${String(t.position).padStart(width)}. ${t.statement}`);
        const schedule = await new ScheduleStore(db.pool).get(name);
        if (schedule) lines.push(...scheduleLines(schedule));
        const timeout = await db.pool.query<{ timeout_seconds: number | null }>(
          "SELECT timeout_seconds FROM bitbridge.jobs WHERE id = $1",
          [job.id],
        );
        const timeoutSeconds = timeout.rows[0]?.timeout_seconds ?? null;
        if (timeoutSeconds !== null) lines.push(`Timeout: ${formatDuration(timeoutSeconds * 1000)}`);
        lines.push(
          last
            ? `Last run: ${last.id} ${last.status}, started ${last.startedAt.toISOString()}${last.durationMs === null ? "" : `, ${seconds(last.durationMs)}`}, ${count(last.rowsRead)} rows, ${count(last.requests)} requests${last.error ? `: ${last.error}` : ""}`
            : "Last run: never",
        );
        process.stdout.write(`${lines.join("\n")}\n`);
      });
    });
  command
    .command("remove")
    .description("Delete a job with its tasks and run history")
    .argument("<name>")
    .action(async (name: string) => {
      await withAppDatabase((db) => new JobStore(db.pool).remove(name));
      process.stdout.write(`Removed job ${name}.\n`);
    });
  command
    .command("add-task")
    .description("Add REPLICATE statements to a job, one task each (checked against the catalog)")
    .argument("<name>")
    .argument(
      "<statement>",
      'e.g. "REPLICATE [Issues]" or "REPLICATE Prs SELECT Id, Title FROM PullRequests"',
    )
    .option("--position <n>", "insert at this position (default: at the end)", positiveInt)
    .action(async (name: string, statement: string, opts: { position?: number }) => {
      await withAppDatabase(async (db, connections) => {
        const jobs = new JobStore(db.pool);
        const source = await connections.get((await jobs.get(name)).source);
        // Tasks of a PostgreSQL source are checked against its tables, read now.
        const catalog =
          source.connector === "postgresql"
            ? await readSourceCatalog(postgresSourceConfig(source.properties))
            : undefined;
        const added = await withSqlErrors(statement, () =>
          jobs.addTask(name, statement, opts.position, catalog),
        );
        for (const t of added) process.stdout.write(`Task ${t.position}: ${t.statement}\n`);
      });
    });
  command
    .command("remove-task")
    .description("Remove a job's task; the tasks after it move up one position")
    .argument("<name>")
    .argument("<position>", "the task's position (job show)", positiveInt)
    .action(async (name: string, position: number) => {
      await withAppDatabase(async (db) => {
        const removed = await new JobStore(db.pool).removeTask(name, { position });
        process.stdout.write(`Removed task ${removed.position}: ${removed.statement}\n`);
      });
    });
  command
    .command("run")
    .description("Run a job's tasks in order now (stops at the first failing task)")
    .argument("<name>")
    .option("--task <position>", "run only this task (repeatable)", collectInt, [])
    .option("--full", "ignore incremental state and read everything again", false)
    .option("--queue", "hand the run to a worker (bitbridge worker) instead of running it here", false)
    .action(async (name: string, opts: { task: number[]; full: boolean; queue: boolean }) => {
      if (opts.queue) {
        await withAppDatabase(async (db) => {
          const job = await new JobStore(db.pool).get(name);
          const missing = opts.task.filter((p) => !job.tasks.some((t) => t.position === p));
          if (missing.length > 0) {
            throw Object.assign(new Error(`Job ${name} has no task at position ${missing.join(", ")}.`), {
              exitCode: 2,
            });
          }
          // Loaded here: pg-boss adds a noticeable delay to every command's start.
          const { openQueue } = await import("../scheduler/queue.js");
          const queue = await openQueue(db.url, db.pool, { supervise: false });
          try {
            const queued = await queue.enqueueRun({
              job: name,
              trigger: "cli",
              full: opts.full,
              attempt: 1,
              ...(opts.task.length > 0 && { tasks: opts.task }),
            });
            process.stdout.write(
              `Queued run ${queued.runId} of job ${name} (queue id ${queued.queueId}); a worker runs it (bitbridge worker), see bitbridge job history ${name}.\n`,
            );
          } finally {
            await queue.stop();
          }
        });
        return;
      }
      const summary = await withAppDatabase((db, connections) =>
        withCancellation((signal) =>
          runJob({ pool: db.pool, connections }, name, {
            tasks: opts.task,
            full: opts.full,
            trigger: "cli",
            signal,
            ...runReporter(),
          }),
        ),
      );
      finishRun(summary, `bitbridge job logs ${summary.runId}`);
    });
  command
    .command("cancel")
    .description(
      "Cancel a queued or running run (from any machine): the running batch rolls back, nothing is lost",
    )
    .argument("<run-id>", "from job history", positiveInt)
    .action(async (runId: number) => {
      await withAppDatabase(async (db) => {
        const { cancelRun } = await import("../scheduler/cancel.js");
        const result = await cancelRun(db.pool, runId, { waitMs: 10_000 });
        process.stdout.write(`${result.message}\n`);
      });
    });
  command
    .command("set")
    .description("Change a job's settings: --timeout")
    .argument("<name>")
    .option(
      "--timeout <duration>",
      "fail a run that takes longer (e.g. 90s, 45m, 2h, 1h30m; off removes it)",
      timeoutValue,
    )
    .action(async (name: string, opts: { timeout?: number }) => {
      const timeout = opts.timeout;
      if (timeout === undefined) {
        throw Object.assign(new Error("Give a setting to change, e.g. --timeout 2h."), { exitCode: 2 });
      }
      await withAppDatabase(async (db) => {
        const job = await new JobStore(db.pool).get(name);
        await db.pool.query(
          "UPDATE bitbridge.jobs SET timeout_seconds = $2, updated_at = now() WHERE id = $1",
          [job.id, timeout === 0 ? null : timeout],
        );
        process.stdout.write(
          timeout === 0
            ? `Runs of job ${name} have no timeout.\n`
            : `Runs of job ${name} fail after ${formatDuration(timeout * 1000)}.\n`,
        );
      });
    });
  command
    .command("schedule")
    .description(
      "Run a job on a schedule (run by bitbridge worker); without options, show its schedule and next runs",
    )
    .argument("<name>")
    .option("--every <interval>", "10m, 15m, 30m or 1h")
    .option("--daily <HH:MM>", "every day at this time")
    .option("--weekly <day-and-time...>", "every week on this day at this time, e.g. --weekly mon 09:00")
    .option("--monthly <day-and-time...>", "every month on this day at this time, e.g. --monthly 1 06:30")
    .option(
      "--cron <expression>",
      'a cron expression, 5 fields or 6 with seconds first, e.g. "0 */4 * * 1-5"',
    )
    .option("--tz <zone>", "the time zone the schedule is read in (IANA name, e.g. Europe/Paris)", "UTC")
    .option("--off", "remove the job's schedule", false)
    .action(
      async (
        name: string,
        opts: {
          every?: string;
          daily?: string;
          weekly?: string[];
          monthly?: string[];
          cron?: string;
          tz: string;
          off: boolean;
        },
      ) => {
        await withAppDatabase(async (db) => {
          const schedules = new ScheduleStore(db.pool);
          if (opts.off) {
            const removed = await schedules.remove(name);
            process.stdout.write(
              removed ? `Job ${name} no longer runs on a schedule.\n` : `Job ${name} had no schedule.\n`,
            );
            return;
          }
          const spec = {
            ...(opts.every !== undefined && { every: opts.every }),
            ...(opts.daily !== undefined && { daily: opts.daily }),
            ...(opts.weekly !== undefined && { weekly: opts.weekly.join(" ") }),
            ...(opts.monthly !== undefined && { monthly: opts.monthly.join(" ") }),
            ...(opts.cron !== undefined && { cron: opts.cron }),
          };
          const schedule =
            Object.keys(spec).length === 0
              ? await schedules.get(name)
              : await schedules.set(name, parseSchedule(spec), opts.tz);
          process.stdout.write(
            `${(schedule ? scheduleLines(schedule) : [`Job ${name} has no schedule (e.g. bitbridge job schedule ${name} --daily 02:00).`]).join("\n")}\n`,
          );
        });
      },
    );
  command
    .command("history")
    .description("A job's runs, newest first")
    .argument("<name>")
    .option("--limit <n>", "how many runs", positiveInt, 20)
    .action(async (name: string, opts: { limit: number }) => {
      await withAppDatabase(async (db) => {
        const runs = await new RunHistory(db.pool).history(name, opts.limit);
        const rows = runs.map((r) => [
          r.id,
          r.status,
          r.trigger,
          r.startedAt.toISOString(),
          r.durationMs === null ? "" : seconds(r.durationMs),
          count(r.rowsRead),
          count(r.requests),
          r.error ?? "",
        ]);
        const columns = ["Run", "Status", "Trigger", "Started", "Duration", "Rows", "Requests", "Error"].map(
          (n) => ({ name: n }),
        );
        process.stdout.write(formatRows({ columns, rows }, "table"));
      });
    });
  command
    .command("logs")
    .description("A run's tasks and log lines")
    .argument("<run-id>", "from job history", positiveInt)
    .action(async (runId: number) => {
      await withAppDatabase(async (db) => {
        const runs = new RunHistory(db.pool);
        const run = await runs.get(runId);
        const lines = [
          `Run ${run.id} (${run.job === null ? "one-off" : `job ${run.job}`}, ${run.trigger}${run.fullReload ? ", full" : ""}): ${run.status}, started ${run.startedAt.toISOString()}${run.durationMs === null ? "" : `, ${seconds(run.durationMs)}`}`,
        ];
        for (const t of run.tasks) {
          lines.push(
            `  ${t.position}. ${t.status} ${t.statement}${t.status === "SUCCEEDED" ? ` (${count(t.rowsRead)} rows, ${count(t.requests)} requests, ${seconds(t.durationMs ?? 0)})` : ""}${t.error ? `: ${t.error}` : ""}`,
          );
        }
        for (const l of await runs.logs(runId)) {
          const task = l.position === null ? "" : `[task ${l.position}] `;
          lines.push(`${l.at.toISOString()} ${l.level.toUpperCase().padEnd(5)} ${task}${l.message}`);
        }
        process.stdout.write(`${lines.join("\n")}\n`);
      });
    });
  command.addCommand(alertCommand());
  return command;
}

/** The schedule and its next 3 run times, in its time zone and in UTC. */
function scheduleLines(schedule: Schedule): string[] {
  const local = new Intl.DateTimeFormat("sv-SE", {
    timeZone: schedule.timeZone,
    dateStyle: "short",
    timeStyle: "medium",
  });
  const upcoming = [
    schedule.nextRunAt,
    ...nextRunTimes(schedule.cron, schedule.timeZone, 2, schedule.nextRunAt),
  ];
  return [
    `Schedule: ${schedule.description} (${schedule.timeZone})`,
    ...upcoming.map((at) => `  next: ${local.format(at)} ${schedule.timeZone} (${at.toISOString()})`),
  ];
}

/** 12,345 */
export function count(n: number): string {
  return n.toLocaleString("en-US");
}

/** 8.2 s */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Runs `work`; a syntax or binding error is shown with the statement excerpt and a caret (exit code 2). */
export async function withSqlErrors<T>(sql: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof Error && "offset" in error && typeof error.offset === "number") {
      throw Object.assign(
        new Error(formatSqlError(sql, error as Error & { offset: number; length?: number })),
        { exitCode: 2 },
      );
    }
    throw error;
  }
}

/** Ctrl-C cancels the run (the current task stops when the runner honours the signal; the rest are not run). */
export async function withCancellation<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSigint = () => {
    process.stderr.write("\nCancelling... (Ctrl-C again to quit at once)\n");
    controller.abort();
    process.once("SIGINT", () => process.exit(130));
  };
  process.once("SIGINT", onSigint);
  try {
    return await work(controller.signal);
  } finally {
    process.removeListener("SIGINT", onSigint);
  }
}

/**
 * Progress on stderr: on a terminal, one line updated in place (task, table, rows, requests) and a line per
 * finished task; otherwise only the line per finished task.
 */
export function runReporter(stream: NodeJS.WriteStream = process.stderr): {
  onProgress: (progress: RunProgress) => void;
  onTaskEnd: (task: TaskRunSummary, index: number, total: number) => void;
} {
  const tty = stream.isTTY === true;
  let lastDraw = 0;
  let drawn = false;
  return {
    onProgress: (p) => {
      if (!tty) return;
      const now = Date.now();
      if (now - lastDraw < 100) return;
      lastDraw = now;
      const line = `[${p.index}/${p.total}] ${p.table}: ${count(p.rows)} rows, ${count(p.requests)} requests`;
      stream.write(`\r\x1b[2K${line.slice(0, (stream.columns ?? 120) - 1)}`);
      drawn = true;
    },
    onTaskEnd: (t, index, total) => {
      if (drawn) stream.write("\r\x1b[2K");
      drawn = false;
      stream.write(`${taskLine(t, index, total)}\n`);
    },
  };
}

function taskLine(t: TaskRunSummary, index: number, total: number): string {
  const head = `[${index}/${total}] task ${t.position}`;
  switch (t.status) {
    case "SUCCEEDED":
      return `${head} ${t.sourceTable} → ${t.destinationTable}: ${count(t.rowsRead)} rows (${count(t.inserted)} inserted, ${count(t.updated)} updated, ${count(t.deleted)} deleted), ${count(t.requests)} requests, ${seconds(t.durationMs)}`;
    case "FAILED":
      return `${head} FAILED after ${seconds(t.durationMs)}: ${t.error ?? ""}`;
    case "CANCELLED":
      return `${head} cancelled`;
    default:
      return `${head} not run (${t.status})`;
  }
}

/** Prints the summary line; a run that did not succeed becomes an error (exit code 1) saying why. */
export function finishRun(summary: RunSummary, logsHint: string): void {
  const tasks = summary.tasks.filter((t) => t.status === "SUCCEEDED").length;
  const line = `${count(summary.rowsRead)} rows in ${seconds(summary.durationMs)} (${tasks} task${tasks === 1 ? "" : "s"}, ${count(summary.requests)} API requests)`;
  if (summary.status === "SUCCEEDED") {
    process.stdout.write(`Replicated ${line}; run ${summary.runId}.\n`);
    return;
  }
  if (tasks > 0) process.stderr.write(`Replicated ${line} before stopping.\n`);
  throw Object.assign(
    new Error(
      `Run ${summary.runId} ${summary.status.toLowerCase()}: ${summary.error ?? "no reason recorded"} (${logsHint})`,
    ),
    { exitCode: 1 },
  );
}
