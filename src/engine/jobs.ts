import type pg from "pg";
import { BitbridgeError } from "../app/errors.js";
import { APP_SCHEMA } from "../app/migrations.js";
import { bindPostgresReplicate } from "../source/postgres/bind.js";
import type { PostgresCatalog } from "../source/postgres/catalog.js";
import { bindReplicate, formatReplicate, parseReplicate, parseReplicateScript } from "../sql/replicate.js";

/** A replication job: REPLICATE tasks run in order from a saved Bitbucket source into a saved PostgreSQL destination. */
export interface Job {
  readonly id: number;
  readonly name: string;
  readonly sourceId: number;
  /** The source connection's name. */
  readonly source: string;
  readonly destinationId: number;
  /** The destination connection's name. */
  readonly destination: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface Task {
  readonly id: number;
  readonly jobId: number;
  /** 1-based, without gaps. */
  readonly position: number;
  /** One REPLICATE statement in canonical form. */
  readonly statement: string;
}

export interface JobWithTasks extends Job {
  readonly tasks: readonly Task[];
}

export interface JobListEntry extends Job {
  readonly taskCount: number;
  readonly lastRun:
    | {
        readonly id: number;
        readonly status: string;
        readonly startedAt: Date;
        readonly finishedAt: Date | null;
      }
    | undefined;
}

interface JobRow {
  id: string;
  name: string;
  source_id: string;
  source: string;
  destination_id: string;
  destination: string;
  created_at: Date;
  updated_at: Date;
}

interface TaskRow {
  id: string;
  job_id: string;
  position: number;
  statement: string;
}

/** The same rule as connection names (the column has the same CHECK). */
const NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/;

const S = APP_SCHEMA;

const JOB_SELECT = `
  SELECT j.id, j.name, j.source_id, s.name AS source, j.destination_id, d.name AS destination,
         j.created_at, j.updated_at
    FROM ${S}.jobs j
    JOIN ${S}.connections s ON s.id = j.source_id
    JOIN ${S}.connections d ON d.id = j.destination_id`;

/**
 * Jobs and their tasks in the application database. Task text is validated (grammar and catalog) when it
 * is added and stored in canonical form, one REPLICATE statement per task.
 */
export class JobStore {
  constructor(private readonly pool: pg.Pool) {}

  async create(input: { name: string; source: string; destination: string }): Promise<Job> {
    if (!NAME.test(input.name)) {
      throw new BitbridgeError(
        "JOB_NAME_INVALID",
        `Job names start with a letter and hold letters, digits, _ . - (at most 63): ${JSON.stringify(input.name)}.`,
      );
    }
    const source = await this.connection(input.source, "source");
    const destination = await this.connection(input.destination, "destination");
    try {
      await this.pool.query(`INSERT INTO ${S}.jobs (name, source_id, destination_id) VALUES ($1, $2, $3)`, [
        input.name,
        source,
        destination,
      ]);
    } catch (error) {
      if ((error as { code?: string }).code === "23505") {
        throw new BitbridgeError(
          "JOB_EXISTS",
          `A job named ${input.name} already exists; pick another name or remove it first.`,
          {},
          409,
        );
      }
      throw error;
    }
    return this.job(input.name);
  }

  async list(): Promise<JobListEntry[]> {
    const rows = await this.pool.query<
      JobRow & {
        task_count: string;
        run_id: string | null;
        run_status: string | null;
        run_started_at: Date | null;
        run_finished_at: Date | null;
      }
    >(
      `SELECT q.*, (SELECT count(*) FROM ${S}.tasks t WHERE t.job_id = q.id) AS task_count,
              r.id AS run_id, r.status AS run_status, r.started_at AS run_started_at,
              r.finished_at AS run_finished_at
         FROM (${JOB_SELECT}) q
         LEFT JOIN LATERAL (
           SELECT id, status, started_at, finished_at FROM ${S}.runs
            WHERE job_id = q.id ORDER BY started_at DESC, id DESC LIMIT 1) r ON true
        ORDER BY q.name`,
    );
    return rows.rows.map((r) => ({
      ...toJob(r),
      taskCount: Number(r.task_count),
      lastRun:
        r.run_id === null
          ? undefined
          : {
              id: Number(r.run_id),
              status: r.run_status ?? "",
              startedAt: r.run_started_at as Date,
              finishedAt: r.run_finished_at,
            },
    }));
  }

  /** The job with its tasks in order. */
  async get(name: string): Promise<JobWithTasks> {
    const job = await this.job(name);
    const tasks = await this.pool.query<TaskRow>(
      `SELECT id, job_id, position, statement FROM ${S}.tasks WHERE job_id = $1 ORDER BY position`,
      [job.id],
    );
    return { ...job, tasks: tasks.rows.map(toTask) };
  }

  /** Deletes the job, its tasks and its run history. */
  async remove(name: string): Promise<void> {
    const result = await this.pool.query(`DELETE FROM ${S}.jobs WHERE name = $1`, [name]);
    if (result.rowCount === 0) await this.job(name); // throws the not-found error with the known names
  }

  /**
   * Adds the REPLICATE statements of `script` (one task each) at `position` (1-based; default: the end),
   * moving later tasks down. Statements are checked against the catalog first; syntax and binding errors
   * carry the offset into `script` (show them with `formatSqlError(script, error)`). Returns the tasks added.
   */
  async addTask(
    jobName: string,
    script: string,
    position?: number,
    /** The tables of a PostgreSQL source, to check statements against instead of Bitbucket's. */
    catalog?: PostgresCatalog,
  ): Promise<Task[]> {
    const statements = parseReplicateScript(script);
    if (statements.length === 0) {
      throw new BitbridgeError(
        "TASK_EMPTY",
        "The task holds no REPLICATE statement, e.g. REPLICATE [Issues] or REPLICATE Prs SELECT Id, Title FROM PullRequests.",
      );
    }
    const texts = statements.map((statement) => {
      if (catalog) bindPostgresReplicate(script, statement, catalog, undefined);
      else bindReplicate(script, statement);
      return formatReplicate(statement);
    });
    const job = await this.job(jobName);
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      await client.query(`SELECT 1 FROM ${S}.jobs WHERE id = $1 FOR UPDATE`, [job.id]);
      const count = Number(
        (
          await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${S}.tasks WHERE job_id = $1`, [
            job.id,
          ])
        ).rows[0]?.n ?? 0,
      );
      const at = position ?? count + 1;
      if (!Number.isInteger(at) || at < 1 || at > count + 1) {
        throw new BitbridgeError(
          "TASK_POSITION_INVALID",
          `Position ${position} is out of range: job ${job.name} has ${count} task(s), so use 1 to ${count + 1}.`,
        );
      }
      await client.query(
        `UPDATE ${S}.tasks SET position = position + $3 WHERE job_id = $1 AND position >= $2`,
        [job.id, at, texts.length],
      );
      const added: Task[] = [];
      for (const [i, text] of texts.entries()) {
        const row = await client.query<TaskRow>(
          `INSERT INTO ${S}.tasks (job_id, position, statement) VALUES ($1, $2, $3)
           RETURNING id, job_id, position, statement`,
          [job.id, at + i, text],
        );
        added.push(toTask(row.rows[0] as TaskRow));
      }
      await client.query(`UPDATE ${S}.jobs SET updated_at = now() WHERE id = $1`, [job.id]);
      await client.query("COMMIT");
      return added;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * Replaces the text of the task at `position` with one REPLICATE statement, checked against the catalog
   * first (errors carry offsets into `statement`) and stored in canonical form. Returns the task.
   */
  async updateTask(
    jobName: string,
    position: number,
    statement: string,
    /** The tables of a PostgreSQL source, to check the statement against instead of Bitbucket's. */
    catalog?: PostgresCatalog,
  ): Promise<Task> {
    const parsed = parseReplicate(statement);
    if (catalog) bindPostgresReplicate(statement, parsed, catalog, undefined);
    else bindReplicate(statement, parsed);
    const job = await this.job(jobName);
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      await client.query(`SELECT 1 FROM ${S}.jobs WHERE id = $1 FOR UPDATE`, [job.id]);
      const updated = await client.query<TaskRow>(
        `UPDATE ${S}.tasks SET statement = $3 WHERE job_id = $1 AND position = $2
         RETURNING id, job_id, position, statement`,
        [job.id, position, formatReplicate(parsed)],
      );
      const row = updated.rows[0];
      if (!row) throw await this.noTask(client, job, `at position ${position}`);
      await client.query(`UPDATE ${S}.jobs SET updated_at = now() WHERE id = $1`, [job.id]);
      await client.query("COMMIT");
      return toTask(row);
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  /** Removes a task by position (or by id) and closes the gap: later tasks move up one. Returns the removed task. */
  async removeTask(jobName: string, which: { position: number } | { id: number }): Promise<Task> {
    const job = await this.job(jobName);
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      await client.query(`SELECT 1 FROM ${S}.jobs WHERE id = $1 FOR UPDATE`, [job.id]);
      const deleted = await client.query<TaskRow>(
        `DELETE FROM ${S}.tasks WHERE job_id = $1 AND ${"position" in which ? "position" : "id"} = $2
         RETURNING id, job_id, position, statement`,
        [job.id, "position" in which ? which.position : which.id],
      );
      const row = deleted.rows[0];
      if (!row) {
        throw await this.noTask(
          client,
          job,
          "position" in which ? `at position ${which.position}` : `with id ${which.id}`,
        );
      }
      await client.query(
        `UPDATE ${S}.tasks SET position = position - 1 WHERE job_id = $1 AND position > $2`,
        [job.id, row.position],
      );
      await client.query(`UPDATE ${S}.jobs SET updated_at = now() WHERE id = $1`, [job.id]);
      await client.query("COMMIT");
      return toTask(row);
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  /** TASK_NOT_FOUND naming the positions the job does have. */
  private async noTask(client: pg.PoolClient, job: Job, what: string): Promise<BitbridgeError> {
    const positions = (
      await client.query<{ position: number }>(
        `SELECT position FROM ${S}.tasks WHERE job_id = $1 ORDER BY position`,
        [job.id],
      )
    ).rows.map((r) => r.position);
    return new BitbridgeError(
      "TASK_NOT_FOUND",
      `Job ${job.name} has no task ${what}${positions.length > 0 ? `; its tasks are at positions ${describePositions(positions)}` : "; it has no tasks"}.`,
      {},
      404,
    );
  }

  private async job(name: string): Promise<Job> {
    const rows = await this.pool.query<JobRow>(`${JOB_SELECT} WHERE j.name = $1`, [name]);
    const row = rows.rows[0];
    if (row) return toJob(row);
    const names = (await this.pool.query<{ name: string }>(`SELECT name FROM ${S}.jobs ORDER BY name`)).rows;
    const known =
      names.length > 0
        ? ` Jobs: ${names.map((n) => n.name).join(", ")}.`
        : " There are no jobs yet (bitbridge job create).";
    throw new BitbridgeError("JOB_NOT_FOUND", `No job named ${name}.${known}`, {}, 404);
  }

  /** The id of a saved connection of the right kind (checked without opening its secrets). */
  private async connection(name: string, kind: "source" | "destination"): Promise<number> {
    const rows = await this.pool.query<{ id: string; kind: string; connector: string }>(
      `SELECT id, kind, connector FROM ${S}.connections WHERE name = $1`,
      [name],
    );
    const row = rows.rows[0];
    const wanted = kind === "source" ? ["bitbucket", "postgresql"] : ["postgresql"];
    const title = kind === "source" ? "Bitbucket source" : "PostgreSQL destination";
    if (!row) {
      const candidates = (
        await this.pool.query<{ name: string }>(
          `SELECT name FROM ${S}.connections WHERE kind = $1 ORDER BY name`,
          [kind],
        )
      ).rows.map((r) => r.name);
      const known =
        candidates.length > 0
          ? ` Saved ${title}s: ${candidates.join(", ")}.`
          : ` Save one first: bitbridge connection add <name> --connector ${wanted[0]} --properties '...'.`;
      throw new BitbridgeError("CONNECTION_NOT_FOUND", `No saved connection named ${name}.${known}`, {}, 404);
    }
    if (row.kind !== kind || !wanted.includes(row.connector)) {
      throw new BitbridgeError(
        "CONNECTION_KIND",
        `Connection ${name} is a ${row.connector} ${row.kind}, not a ${title}.`,
      );
    }
    return Number(row.id);
  }
}

function toJob(row: JobRow): Job {
  return {
    id: Number(row.id),
    name: row.name,
    sourceId: Number(row.source_id),
    source: row.source,
    destinationId: Number(row.destination_id),
    destination: row.destination,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toTask(row: TaskRow): Task {
  return { id: Number(row.id), jobId: Number(row.job_id), position: row.position, statement: row.statement };
}

/** `1-3, 5` */
export function describePositions(positions: readonly number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < positions.length) {
    const first = positions[i] as number;
    let last = first;
    while (positions[i + 1] === last + 1) {
      i++;
      last++;
    }
    parts.push(first === last ? String(first) : `${first}-${last}`);
    i++;
  }
  return parts.join(", ");
}
