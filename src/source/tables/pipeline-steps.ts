import type { PipelineStep } from "../../bitbucket/api-types.js";
import { column, defineTable } from "../table.js";

export const PipelineSteps = defineTable<PipelineStep>({
  name: "PipelineSteps",
  schema: "Repository",
  description: "Steps of each pipeline run.",
  level: {
    kind: "child",
    parent: "Pipelines",
    param: "pipeline_uuid",
    parentColumn: "Uuid",
    column: "PipelineUuid",
    columnType: "string",
    description: "The pipeline the step belongs to.",
  },
  path: "/repositories/{workspace}/{repo_slug}/pipelines/{pipeline_uuid}/steps",
  pagination: "page",
  maxPageLength: 100,
  bbql: false,
  primaryKey: ["RepositoryUuid", "Uuid"],
  incremental: { kind: "full", reason: "re-read for pipelines that changed" },
  columns: [
    column("Uuid", "string", "Step UUID.", (s) => s.uuid, { field: "uuid" }),
    column("Name", "string", "Step name.", (s) => s.name, { field: "name" }),
    column("State", "string", "PENDING, READY, IN_PROGRESS or COMPLETED.", (s) => s.state?.name, {
      field: "state.name",
    }),
    column(
      "Result",
      "string",
      "For completed steps: SUCCESSFUL, FAILED, STOPPED, NOT_RUN, ERROR or EXPIRED.",
      (s) => s.state?.result?.name,
      {
        field: "state.result.name",
      },
    ),
    column("Image", "string", "Build image.", (s) => s.image?.name, { field: "image.name" }),
    column("StartedOn", "datetime", "When the step started.", (s) => s.started_on, { field: "started_on" }),
    column("CompletedOn", "datetime", "When it finished.", (s) => s.completed_on, { field: "completed_on" }),
    column("DurationSeconds", "integer", "Duration.", (s) => s.duration_in_seconds, {
      field: "duration_in_seconds",
    }),
    column("RunNumber", "integer", "Attempt number.", (s) => s.run_number, { field: "run_number" }),
  ],
});
