import { Type } from "@sinclair/typebox";
import { Cron } from "croner";
import { JobStore, type JobWithTasks, type Task } from "../../engine/jobs.js";
import { RunHistory, type RunRecord } from "../../engine/run-history.js";
import {
  checkTimeZone,
  nextRunTimes,
  parseSchedule,
  type Schedule,
  type ScheduleSpec,
  ScheduleStore,
} from "../../scheduler/schedules.js";
import { formatReplicate, parseReplicate } from "../../sql/replicate.js";
import type { RouteModule } from "../app.js";
import type { ApiContext } from "../context.js";
import { fieldError, withSqlErrors } from "../jobs/errors.js";
import { type ApiSchedule, apiRun, schedulesByJob } from "../jobs/records.js";
import {
  JobSchema,
  JobSummarySchema,
  ScheduleAnswerSchema,
  type ScheduleBody,
  ScheduleBodySchema,
  TaskSchema,
} from "../jobs/schemas.js";
import { bindTask, sourceCatalog } from "../jobs/source.js";
import { ErrorBody, Name, NoContent } from "../schemas.js";

const JobParams = Type.Object({ name: Type.String({ minLength: 1 }) });
const TaskParams = Type.Object({
  name: Type.String({ minLength: 1 }),
  position: Type.Integer({ minimum: 1 }),
});
const Errors = { 400: ErrorBody, 404: ErrorBody };

/** How many upcoming run times a job shows. */
const UPCOMING = 5;

/** Jobs, their tasks and their schedule: what `bitbridge job create|list|show|remove|add-task|schedule` do. */
export const jobRoutes: RouteModule = (api, ctx) => {
  const jobs = new JobStore(ctx.db.pool);
  const schedules = new ScheduleStore(ctx.db.pool);
  const tags = ["jobs"];

  api.get(
    "/api/jobs",
    {
      schema: {
        summary: "List jobs with their task count, schedule and last run",
        tags,
        response: { 200: Type.Array(JobSummarySchema) },
      },
    },
    async () => {
      const list = await jobs.list();
      const [runs, scheduled] = await Promise.all([
        new RunHistory(ctx.db.pool).lastRuns(list.map((j) => j.id)),
        schedulesByJob(ctx.db.pool),
      ]);
      return list.map((j) => ({
        name: j.name,
        source: j.source,
        destination: j.destination,
        taskCount: j.taskCount,
        schedule: scheduled.get(j.id) ?? null,
        lastRun: lastRunOf(runs, j.id),
      }));
    },
  );

  api.post(
    "/api/jobs",
    {
      schema: {
        summary: "Create a job (without tasks)",
        tags,
        body: Type.Object(
          {
            name: Name,
            source: Type.String({ minLength: 1, description: "a saved Bitbucket or PostgreSQL source" }),
            destination: Type.String({ minLength: 1, description: "a saved PostgreSQL destination" }),
          },
          { additionalProperties: false },
        ),
        response: { 201: JobSchema, ...Errors, 409: ErrorBody },
      },
    },
    async (request, reply) => {
      await jobs.create(request.body);
      return reply.code(201).send(await jobDetail(ctx, jobs, schedules, request.body.name));
    },
  );

  api.get(
    "/api/jobs/:name",
    {
      schema: {
        summary: "A job with its tasks, schedule, next run times and last run",
        tags,
        params: JobParams,
        response: { 200: JobSchema, 404: ErrorBody },
      },
    },
    async (request) => jobDetail(ctx, jobs, schedules, request.params.name),
  );

  api.delete(
    "/api/jobs/:name",
    {
      schema: {
        summary: "Delete a job with its tasks, schedule and run history",
        tags,
        params: JobParams,
        response: { 204: NoContent, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      await jobs.remove(request.params.name);
      return reply.code(204).send(null);
    },
  );

  api.post(
    "/api/jobs/:name/tasks",
    {
      schema: {
        summary: "Add tasks, one REPLICATE statement each, checked against the source's tables",
        description:
          "All or nothing: a statement that does not parse or bind answers 400 with its code, line, column, " +
          "an excerpt and the field (body.statements.N) it is in.",
        tags,
        params: JobParams,
        body: Type.Object(
          {
            statements: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: 500 }),
            position: Type.Optional(
              Type.Integer({ minimum: 1, description: "insert here (default: at the end)" }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Array(TaskSchema), ...Errors },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      const catalog = await sourceCatalog(ctx.connections, (await jobs.get(name)).source);
      const texts: string[] = [];
      for (const [i, sql] of request.body.statements.entries()) {
        texts.push(
          await withSqlErrors(
            sql,
            () => {
              const statement = parseReplicate(sql);
              bindTask(sql, statement, catalog);
              return formatReplicate(statement);
            },
            `body.statements.${i}`,
          ),
        );
      }
      // Canonical texts hold no comments, so joining them cannot swallow a separator.
      const added = await jobs.addTask(name, texts.join(";\n"), request.body.position, catalog);
      return reply.code(201).send(added.map(taskView));
    },
  );

  api.put(
    "/api/jobs/:name/tasks/:position",
    {
      schema: {
        summary: "Replace a task's REPLICATE statement",
        tags,
        params: TaskParams,
        body: Type.Object({ statement: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
        response: { 200: TaskSchema, ...Errors },
      },
    },
    async (request) => {
      const { name, position } = request.params;
      const { statement } = request.body;
      const catalog = await sourceCatalog(ctx.connections, (await jobs.get(name)).source);
      const task = await withSqlErrors(
        statement,
        () => jobs.updateTask(name, position, statement, catalog),
        "body.statement",
      );
      return taskView(task);
    },
  );

  api.delete(
    "/api/jobs/:name/tasks/:position",
    {
      schema: {
        summary: "Remove a task; the tasks after it move up one position",
        tags,
        params: TaskParams,
        response: { 204: NoContent, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      await jobs.removeTask(request.params.name, { position: request.params.position });
      return reply.code(204).send(null);
    },
  );

  api.put(
    "/api/jobs/:name/schedule",
    {
      schema: {
        summary: "Run the job on a schedule (a worker runs it); answers the next run times",
        tags,
        params: JobParams,
        body: ScheduleBodySchema,
        response: { 200: ScheduleAnswerSchema, ...Errors },
      },
    },
    async (request) => {
      const spec = scheduleSpec(request.body);
      const timeZone = request.body.timeZone ?? "UTC";
      try {
        checkTimeZone(timeZone);
      } catch (error) {
        throw fieldError("body.timeZone", (error as Error).message);
      }
      const schedule = await schedules.set(request.params.name, parseSchedule(spec), timeZone);
      return { schedule: scheduleView(schedule), nextRuns: upcoming(schedule) };
    },
  );

  api.delete(
    "/api/jobs/:name/schedule",
    {
      schema: {
        summary: "Stop running the job on a schedule",
        tags,
        params: JobParams,
        response: { 204: NoContent, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      await schedules.remove(request.params.name);
      return reply.code(204).send(null);
    },
  );
};

async function jobDetail(ctx: ApiContext, jobs: JobStore, schedules: ScheduleStore, name: string) {
  const job: JobWithTasks = await jobs.get(name);
  const [schedule, runs] = await Promise.all([
    schedules.get(name),
    new RunHistory(ctx.db.pool).lastRuns([job.id]),
  ]);
  return {
    name: job.name,
    source: job.source,
    destination: job.destination,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    tasks: job.tasks.map(taskView),
    schedule: schedule ? scheduleView(schedule) : null,
    nextRuns: schedule ? upcoming(schedule) : [],
    lastRun: lastRunOf(runs, job.id),
  };
}

function taskView(task: Task) {
  // Stored statements are canonical, so they parse.
  const from = parseReplicate(task.statement).select.from;
  const table = from.schema ? `${from.schema.name}.${from.name}` : from.name;
  return { position: task.position, statement: task.statement, table };
}

function scheduleView(schedule: Schedule): ApiSchedule {
  return { description: schedule.description, cron: schedule.cron, timeZone: schedule.timeZone };
}

function upcoming(schedule: Schedule): Date[] {
  return [
    schedule.nextRunAt,
    ...nextRunTimes(schedule.cron, schedule.timeZone, UPCOMING - 1, schedule.nextRunAt),
  ];
}

/** The request's one way of saying when, as `job schedule` options; field errors name the request's fields. */
function scheduleSpec(body: ScheduleBody): ScheduleSpec {
  const given = (["every", "daily", "weekly", "monthly", "cron"] as const).filter(
    (k) => body[k] !== undefined,
  );
  if (given.length !== 1) {
    throw fieldError(
      "body",
      `give exactly one of every, daily, weekly, monthly and cron${given.length > 1 ? ` (got ${given.join(", ")})` : ""}`,
    );
  }
  if (body.every !== undefined) return { every: body.every === 60 ? "1h" : `${body.every}m` };
  if (body.daily !== undefined) return { daily: body.daily };
  if (body.weekly !== undefined) return { weekly: `${body.weekly.day} ${body.weekly.time}` };
  if (body.monthly !== undefined) return { monthly: `${body.monthly.day} ${body.monthly.time}` };
  const cron = (body.cron ?? "").trim().replace(/\s+/g, " ");
  const fields = cron.split(" ").length;
  if (fields !== 5 && fields !== 6) {
    throw fieldError("body.cron", "takes 5 fields (minute hour day month weekday), or 6 with seconds first");
  }
  try {
    new Cron(cron, { paused: true });
  } catch (error) {
    throw fieldError("body.cron", `is not a valid cron expression: ${(error as Error).message}`);
  }
  return { cron };
}

function lastRunOf(runs: ReadonlyMap<number, RunRecord>, jobId: number) {
  const run = runs.get(jobId);
  return run ? apiRun(run) : null;
}
