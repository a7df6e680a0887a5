import { type Static, Type } from "@sinclair/typebox";
import { Nullable, Timestamp } from "../schemas.js";

const RunStatusSchema = Type.Union([
  Type.Literal("QUEUED"),
  Type.Literal("RUNNING"),
  Type.Literal("SUCCEEDED"),
  Type.Literal("FAILED"),
  Type.Literal("SKIPPED"),
  Type.Literal("CANCELLED"),
]);

const Count = Type.Number({ minimum: 0 });

export const RunSchema = Type.Object({
  id: Type.Integer(),
  job: Nullable(Type.String({ description: "null for one-off runs (bitbridge replicate)" })),
  trigger: Type.String({ description: "manual, schedule, api or cli" }),
  status: RunStatusSchema,
  startedAt: Timestamp,
  finishedAt: Nullable(Timestamp),
  durationMs: Nullable(Type.Number({ description: "null until the run ends" })),
  rowsRead: Count,
  inserted: Count,
  updated: Count,
  deleted: Count,
  requests: Count,
  error: Nullable(Type.String()),
});

const TaskRunSchema = Type.Object({
  position: Type.Integer(),
  statement: Type.String(),
  status: RunStatusSchema,
  sourceTable: Nullable(Type.String()),
  destinationTable: Nullable(Type.String()),
  startedAt: Nullable(Timestamp),
  finishedAt: Nullable(Timestamp),
  durationMs: Nullable(Type.Number()),
  rowsRead: Count,
  inserted: Count,
  updated: Count,
  unchanged: Count,
  deleted: Count,
  requests: Count,
  error: Nullable(Type.String()),
});

export const RunDetailSchema = Type.Composite([RunSchema, Type.Object({ tasks: Type.Array(TaskRunSchema) })]);

export const LogLineSchema = Type.Object({
  id: Type.Integer(),
  position: Nullable(Type.Integer({ description: "the task's position, for lines written during a task" })),
  at: Timestamp,
  level: Type.String({ description: "info, warn or error" }),
  message: Type.String(),
});

const ScheduleSchema = Type.Object({
  description: Type.String(),
  cron: Type.String(),
  timeZone: Type.String(),
});

export const TaskSchema = Type.Object({
  position: Type.Integer({ minimum: 1 }),
  statement: Type.String({ description: "one REPLICATE statement in canonical form" }),
  table: Type.String({ description: "the source table it reads" }),
});

export const JobSummarySchema = Type.Object({
  name: Type.String(),
  source: Type.String(),
  destination: Type.String(),
  taskCount: Type.Integer(),
  schedule: Nullable(ScheduleSchema),
  lastRun: Nullable(RunSchema),
});

export const JobSchema = Type.Object({
  name: Type.String(),
  source: Type.String(),
  destination: Type.String(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  tasks: Type.Array(TaskSchema),
  schedule: Nullable(ScheduleSchema),
  nextRuns: Type.Array(Timestamp, { description: "the next 5 scheduled run times" }),
  lastRun: Nullable(RunSchema),
});

const Clock = Type.String({ pattern: "^([01][0-9]|2[0-3]):[0-5][0-9]$", description: "HH:MM" });
const WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

export const ScheduleBodySchema = Type.Object(
  {
    every: Type.Optional(Type.Integer({ enum: [10, 15, 30, 60], description: "minutes" })),
    daily: Type.Optional(Clock),
    weekly: Type.Optional(
      Type.Object({ day: Type.String({ enum: WEEKDAYS }), time: Clock }, { additionalProperties: false }),
    ),
    monthly: Type.Optional(
      Type.Object(
        {
          day: Type.Integer({ minimum: 1, maximum: 31, description: "months without this day are skipped" }),
          time: Clock,
        },
        { additionalProperties: false },
      ),
    ),
    cron: Type.Optional(
      Type.String({ minLength: 1, description: "5 fields, or 6 with seconds first, e.g. 0 */2 * * *" }),
    ),
    timeZone: Type.Optional(Type.String({ minLength: 1, description: "IANA name; default UTC" })),
  },
  { additionalProperties: false, description: "Exactly one of every, daily, weekly, monthly and cron" },
);
export type ScheduleBody = Static<typeof ScheduleBodySchema>;

export const ScheduleAnswerSchema = Type.Object({
  schedule: ScheduleSchema,
  nextRuns: Type.Array(Timestamp),
});

const OptionValue = Type.Union([Type.Boolean(), Type.Number(), Type.String()]);
const Nulls = Type.Union([Type.Literal("first"), Type.Literal("last"), Type.Null()]);
const SqlText = (description: string) => Type.String({ minLength: 1, description });

const TaskModelSchema = Type.Object(
  {
    target: SqlText("the destination table name as SQL, e.g. Issues or [Open PRs]"),
    table: SqlText("the source table after FROM: [schema.]name [AS alias]"),
    distinct: Type.Boolean(),
    columns: Type.Array(
      Type.Object(
        {
          expression: SqlText("an expression, or * / table.*"),
          alias: Nullable(SqlText("a destination column name as SQL")),
        },
        { additionalProperties: false },
      ),
      { description: "empty: every column" },
    ),
    where: Nullable(SqlText("a condition")),
    groupBy: Type.Array(SqlText("an expression")),
    having: Nullable(SqlText("a condition")),
    orderBy: Type.Array(
      Type.Object(
        { expression: SqlText("an expression"), descending: Type.Boolean(), nulls: Nulls },
        { additionalProperties: false },
      ),
    ),
    options: Type.Record(Type.String(), OptionValue, {
      description: "WITH options by name, e.g. BatchSize: 1000, DeletePolicy: hard",
    }),
  },
  { additionalProperties: false },
);

const AvailableColumnSchema = Type.Object({
  name: Type.String(),
  expression: Type.String({ description: "the column as SQL, for columns[].expression" }),
  type: Type.String(),
  description: Type.String(),
});

/** The model the UI sends back after editing: a parse answer as is (availableColumns ignored) or its own. */
export const TaskModelInputSchema = Type.Object(
  {
    ...TaskModelSchema.properties,
    distinct: Type.Optional(Type.Boolean()),
    having: Type.Optional(Nullable(SqlText("a condition"))),
    orderBy: Type.Array(
      Type.Object(
        { expression: SqlText("an expression"), descending: Type.Boolean(), nulls: Type.Optional(Nulls) },
        { additionalProperties: false },
      ),
    ),
    availableColumns: Type.Optional(Type.Array(AvailableColumnSchema, { description: "ignored" })),
  },
  { additionalProperties: false },
);

export const ParseAnswerSchema = Type.Composite([
  TaskModelSchema,
  Type.Object({
    availableColumns: Type.Optional(
      Type.Array(AvailableColumnSchema, { description: "the source table's columns (with source only)" }),
    ),
  }),
]);
