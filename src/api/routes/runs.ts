import { Type } from "@sinclair/typebox";
import { BitbridgeError } from "../../app/errors.js";
import { APP_SCHEMA } from "../../app/migrations.js";
import { describePositions, JobStore } from "../../engine/jobs.js";
import { RunHistory } from "../../engine/run-history.js";
import { cancelRun } from "../../scheduler/cancel.js";
import { RUN_QUEUE, type RunRequest } from "../../scheduler/queue.js";
import type { RouteModule } from "../app.js";
import { apiRun, LOG_PAGE } from "../jobs/records.js";
import { LogLineSchema, RunDetailSchema, RunSchema } from "../jobs/schemas.js";
import { ErrorBody } from "../schemas.js";

const RunParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });

/** Starting runs (through the queue, like every run), following them, their history, logs and cancelling. */
export const runRoutes: RouteModule = (api, ctx) => {
  const jobs = new JobStore(ctx.db.pool);
  const history = new RunHistory(ctx.db.pool);
  const tags = ["runs"];

  api.post(
    "/api/jobs/:name/runs",
    {
      schema: {
        summary: "Queue a run of the job (a worker runs it; bitbridge serve includes one)",
        description: "Follow it with GET /api/queue/{queueId}, or directly with GET /api/runs/{runId}.",
        tags,
        params: Type.Object({ name: Type.String({ minLength: 1 }) }),
        body: Type.Object(
          {
            tasks: Type.Optional(
              Type.Array(Type.Integer({ minimum: 1 }), {
                description: "positions of the tasks to run; default every task",
              }),
            ),
            full: Type.Optional(
              Type.Boolean({ description: "ignore incremental state and read everything again" }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          202: Type.Object({
            queued: Type.Literal(true),
            queueId: Type.String(),
            runId: Type.Integer({ description: "the run, QUEUED until a worker takes it" }),
          }),
          400: ErrorBody,
          404: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      const tasks = request.body.tasks ?? [];
      // Checked here: a worker can only record a run it cannot start as failed, long after this answer.
      const job = await jobs.get(name);
      if (job.tasks.length === 0) {
        throw new BitbridgeError("JOB_NO_TASKS", `Job ${name} has no tasks; add one before running it.`);
      }
      const missing = tasks.filter((p) => !job.tasks.some((t) => t.position === p));
      if (missing.length > 0) {
        throw new BitbridgeError(
          "TASK_NOT_FOUND",
          `Job ${name} has no task at position ${missing.join(", ")}; its tasks are at positions ${describePositions(job.tasks.map((t) => t.position))}.`,
          {},
          404,
        );
      }
      const queued = await (await ctx.queue()).enqueueRun({
        job: name,
        trigger: "api",
        full: request.body.full === true,
        attempt: 1,
        ...(tasks.length > 0 && { tasks }),
      });
      return reply.code(202).send({ queued: true, queueId: queued.queueId, runId: queued.runId });
    },
  );

  api.get(
    "/api/queue/:queueId",
    {
      schema: {
        summary: "Where a queued run is: queued, started or finished, with its run id",
        tags,
        params: Type.Object({
          queueId: Type.String({ pattern: "^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$" }),
        }),
        response: {
          200: Type.Object({
            state: Type.Union([Type.Literal("queued"), Type.Literal("started"), Type.Literal("finished")]),
            runId: Type.Union([Type.Integer(), Type.Null()]),
          }),
          404: ErrorBody,
        },
      },
    },
    async (request) => {
      const { queueId } = request.params;
      const byQueueId = await ctx.db.pool.query<{ id: number; status: string }>(
        `SELECT id::float8 AS id, status FROM ${APP_SCHEMA}.runs WHERE queue_id = $1`,
        [queueId],
      );
      const run = byQueueId.rows[0];
      if (run) return { state: runState(run.status), runId: run.id };
      // A run handed back to the queue (a draining worker) has a new queue id; the old queue job names it.
      const job = await (await ctx.queue()).boss.getJobById<RunRequest>(RUN_QUEUE, queueId, {
        includeArchive: true,
      });
      if (!job) {
        throw new BitbridgeError("QUEUE_JOB_NOT_FOUND", `Nothing was queued with id ${queueId}.`, {}, 404);
      }
      const runId = job.data.runId;
      if (runId !== undefined) {
        const now = await ctx.db.pool.query<{ status: string }>(
          `SELECT status FROM ${APP_SCHEMA}.runs WHERE id = $1`,
          [runId],
        );
        const status = now.rows[0]?.status;
        if (status !== undefined) return { state: runState(status), runId };
      }
      return { state: queueState(job.state), runId: null };
    },
  );

  api.get(
    "/api/runs",
    {
      schema: {
        summary: "Run history, newest first",
        tags,
        querystring: Type.Object({
          job: Type.Optional(Type.String({ minLength: 1, description: "only this job's runs" })),
          limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
          before: Type.Optional(Type.Integer({ minimum: 1, description: "only runs older than this run" })),
        }),
        response: { 200: Type.Array(RunSchema), 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (request) => {
      const { job, limit, before } = request.query;
      return (await history.history(job, limit, before)).map(apiRun);
    },
  );

  api.get(
    "/api/runs/:id",
    {
      schema: {
        summary: "A run with its tasks (current while it runs)",
        tags,
        params: RunParams,
        response: { 200: RunDetailSchema, 404: ErrorBody },
      },
    },
    async (request) => {
      const run = await history.get(request.params.id);
      return {
        ...apiRun(run),
        tasks: run.tasks.map((t) => ({
          position: t.position,
          statement: t.statement,
          status: t.status,
          sourceTable: t.sourceTable,
          destinationTable: t.destinationTable,
          startedAt: t.startedAt,
          finishedAt: t.finishedAt,
          durationMs: t.durationMs,
          rowsRead: t.rowsRead,
          inserted: t.inserted,
          updated: t.updated,
          unchanged: t.unchanged,
          deleted: t.deleted,
          requests: t.requests,
          error: t.error,
        })),
      };
    },
  );

  api.get(
    "/api/runs/:id/logs",
    {
      schema: {
        summary: `A run's log lines after a line id, oldest first (at most ${LOG_PAGE} per call)`,
        tags,
        params: RunParams,
        querystring: Type.Object({
          after: Type.Integer({
            minimum: 0,
            default: 0,
            description: "the id of the last line already read",
          }),
        }),
        response: { 200: Type.Array(LogLineSchema), 404: ErrorBody },
      },
    },
    async (request) => history.logs(request.params.id, request.query.after, LOG_PAGE),
  );

  api.post(
    "/api/runs/:id/cancel",
    {
      schema: {
        summary: "Cancel a queued or running run",
        description:
          "A queued run is cancelled at once. A running one stops within seconds (its current batch is rolled " +
          "back); the answer waits a few seconds for that and says CANCELLING if it has not happened yet.",
        tags,
        params: RunParams,
        response: { 200: Type.Object({ status: Type.String(), message: Type.String() }), 404: ErrorBody },
      },
    },
    async (request) => cancelRun(ctx.db.pool, request.params.id),
  );
};

/** A pg-boss job's state in the API's terms. */
function queueState(state: string): "queued" | "started" | "finished" {
  return state === "active" ? "started" : state === "created" || state === "retry" ? "queued" : "finished";
}

/** The queue's view of a recorded run. */
function runState(status: string): "queued" | "started" | "finished" {
  return status === "QUEUED" ? "queued" : status === "RUNNING" ? "started" : "finished";
}
