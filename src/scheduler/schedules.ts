import { Cron } from "croner";
import type pg from "pg";
import { BitbridgeError } from "../app/errors.js";
import { APP_SCHEMA } from "../app/migrations.js";
import { JobStore } from "../engine/jobs.js";

const S = APP_SCHEMA;

/** One of the ways `bitbridge job schedule` describes when a job runs. */
export interface ScheduleSpec {
  /** 10m, 15m, 30m or 1h. */
  readonly every?: string;
  /** HH:MM */
  readonly daily?: string;
  /** "<day> HH:MM", the day as mon..sun (or the full name). */
  readonly weekly?: string;
  /** "<day of month> HH:MM", 1 to 31 (months without that day are skipped). */
  readonly monthly?: string;
  /** 5 fields, or 6 with seconds first. */
  readonly cron?: string;
}

export interface ParsedSchedule {
  readonly cron: string;
  readonly description: string;
}

export interface Schedule extends ParsedSchedule {
  readonly jobId: number;
  readonly job: string;
  readonly timeZone: string;
  readonly nextRunAt: Date;
}

const EVERY: Readonly<Record<string, string>> = {
  "10m": "*/10 * * * *",
  "15m": "*/15 * * * *",
  "30m": "*/30 * * * *",
  "1h": "0 * * * *",
};
const DAY_NAMES = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/** Turns one schedule option into a cron expression and a description; throws when none or several are given. */
export function parseSchedule(spec: ScheduleSpec): ParsedSchedule {
  const given = (Object.keys(spec) as (keyof ScheduleSpec)[]).filter((k) => spec[k] !== undefined);
  if (given.length !== 1) {
    throw new BitbridgeError(
      "SCHEDULE_INVALID",
      `Give exactly one of --every, --daily, --weekly, --monthly or --cron${given.length > 1 ? ` (got ${given.map((k) => `--${k}`).join(", ")})` : ""}.`,
    );
  }
  if (spec.every !== undefined) {
    const cron = EVERY[spec.every.trim().toLowerCase()];
    if (!cron) throw invalid(`--every takes 10m, 15m, 30m or 1h, not ${JSON.stringify(spec.every)}.`);
    return { cron, description: `every ${spec.every.trim().toLowerCase()}` };
  }
  if (spec.daily !== undefined) {
    const [h, m] = clock(spec.daily, "--daily");
    return { cron: `${m} ${h} * * *`, description: `daily at ${pad(h)}:${pad(m)}` };
  }
  if (spec.weekly !== undefined) {
    const [dayText = "", time = ""] = spec.weekly.trim().split(/\s+/);
    const day = DAY_NAMES.findIndex(
      (name) => dayText.length >= 3 && name.toLowerCase().startsWith(dayText.toLowerCase()),
    );
    if (day < 0)
      throw invalid(
        `--weekly takes a day (mon..sun) and a time, e.g. --weekly mon 09:00; got ${JSON.stringify(spec.weekly)}.`,
      );
    const [h, m] = clock(time, "--weekly");
    return {
      cron: `${m} ${h} * * ${day}`,
      description: `weekly on ${DAY_NAMES[day]} at ${pad(h)}:${pad(m)}`,
    };
  }
  if (spec.monthly !== undefined) {
    const [dayText = "", time = ""] = spec.monthly.trim().split(/\s+/);
    const day = Number(dayText);
    if (!/^\d{1,2}$/.test(dayText) || day < 1 || day > 31)
      throw invalid(
        `--monthly takes a day of the month (1 to 31) and a time, e.g. --monthly 1 06:30; got ${JSON.stringify(spec.monthly)}.`,
      );
    const [h, m] = clock(time, "--monthly");
    return { cron: `${m} ${h} ${day} * *`, description: `monthly on day ${day} at ${pad(h)}:${pad(m)}` };
  }
  const cron = (spec.cron ?? "").trim().replace(/\s+/g, " ");
  const fields = cron.split(" ").length;
  if (fields !== 5 && fields !== 6)
    throw invalid(
      `--cron takes 5 fields (minute hour day month weekday), or 6 with seconds first; got ${JSON.stringify(spec.cron)}.`,
    );
  try {
    new Cron(cron, { paused: true });
  } catch (error) {
    throw invalid(
      `--cron ${JSON.stringify(cron)} is not a valid cron expression: ${(error as Error).message}`,
    );
  }
  return { cron, description: `cron ${cron}` };
}

/** Checks an IANA time zone name such as Europe/Paris. */
export function checkTimeZone(timeZone: string): string {
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone }).resolvedOptions().timeZone;
  } catch {
    throw invalid(
      `Unknown time zone ${JSON.stringify(timeZone)}; use an IANA name such as Europe/Paris or UTC.`,
    );
  }
}

/** The next `count` times the cron expression fires in `timeZone`, strictly after `after`. */
export function nextRunTimes(
  cron: string,
  timeZone: string,
  count: number,
  after: Date = new Date(),
): Date[] {
  return new Cron(cron, { paused: true, timezone: timeZone }).nextRuns(count, after);
}

/** The job schedules in the application database; `next_run_at` is what the scheduler loop claims. */
export class ScheduleStore {
  constructor(private readonly pool: pg.Pool) {}

  async set(jobName: string, schedule: ParsedSchedule, timeZone: string): Promise<Schedule> {
    const job = await new JobStore(this.pool).get(jobName);
    const zone = checkTimeZone(timeZone);
    const [next] = nextRunTimes(schedule.cron, zone, 1);
    if (!next) throw invalid(`The schedule ${schedule.description} never fires.`);
    await this.pool.query(
      `INSERT INTO ${S}.schedules (job_id, cron, description, time_zone, next_run_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (job_id) DO UPDATE SET cron = $2, description = $3, time_zone = $4, next_run_at = $5, updated_at = now()`,
      [job.id, schedule.cron, schedule.description, zone, next],
    );
    return { jobId: job.id, job: job.name, ...schedule, timeZone: zone, nextRunAt: next };
  }

  /** Returns false when the job had no schedule. */
  async remove(jobName: string): Promise<boolean> {
    const job = await new JobStore(this.pool).get(jobName);
    const result = await this.pool.query(`DELETE FROM ${S}.schedules WHERE job_id = $1`, [job.id]);
    return result.rowCount === 1;
  }

  async get(jobName: string): Promise<Schedule | undefined> {
    const job = await new JobStore(this.pool).get(jobName);
    const rows = await this.pool.query<ScheduleRow>(`${SELECT} WHERE s.job_id = $1`, [job.id]);
    return rows.rows[0] && toSchedule(rows.rows[0]);
  }

  /**
   * Claims the schedules that are due, in a transaction of `client`: each due schedule is locked (other
   * workers skip it), passed to `enqueue` with its due time, and moved to its next time after now. Runs
   * missed while no worker ran are caught up with one run, not one per missed time.
   */
  async claimDue(
    client: pg.PoolClient,
    enqueue: (schedule: Schedule) => Promise<void>,
    now: Date = new Date(),
  ): Promise<Schedule[]> {
    await client.query("BEGIN");
    try {
      const due = await client.query<ScheduleRow>(
        `${SELECT} WHERE s.next_run_at <= $1 ORDER BY s.next_run_at FOR UPDATE OF s SKIP LOCKED`,
        [now],
      );
      const claimed = due.rows.map(toSchedule);
      for (const schedule of claimed) {
        await enqueue(schedule);
        const [next] = nextRunTimes(schedule.cron, schedule.timeZone, 1, now);
        if (next) {
          await client.query(`UPDATE ${S}.schedules SET next_run_at = $2 WHERE job_id = $1`, [
            schedule.jobId,
            next,
          ]);
        } else {
          await client.query(`DELETE FROM ${S}.schedules WHERE job_id = $1`, [schedule.jobId]);
        }
      }
      await client.query("COMMIT");
      return claimed;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    }
  }
}

interface ScheduleRow {
  job_id: string;
  job: string;
  cron: string;
  description: string;
  time_zone: string;
  next_run_at: Date;
}

const SELECT = `SELECT s.job_id, j.name AS job, s.cron, s.description, s.time_zone, s.next_run_at
                  FROM ${S}.schedules s JOIN ${S}.jobs j ON j.id = s.job_id`;

function toSchedule(r: ScheduleRow): Schedule {
  return {
    jobId: Number(r.job_id),
    job: r.job,
    cron: r.cron,
    description: r.description,
    timeZone: r.time_zone,
    nextRunAt: r.next_run_at,
  };
}

function clock(text: string, option: string): [number, number] {
  const match = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  const h = Number(match?.[1]);
  const m = Number(match?.[2]);
  if (!match || h > 23 || m > 59)
    throw invalid(`${option} takes a time as HH:MM (00:00 to 23:59), not ${JSON.stringify(text)}.`);
  return [h, m];
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

function invalid(message: string): BitbridgeError {
  return new BitbridgeError("SCHEDULE_INVALID", message);
}
