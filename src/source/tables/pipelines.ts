import type { Pipeline } from "../../bitbucket/api-types.js";
import { column, defineTable } from "../table.js";

export const Pipelines = defineTable<Pipeline>({
  name: "Pipelines",
  schema: "Repository",
  description:
    "Bitbucket Pipelines runs. The API's status filter is ignored by the service, so bitbridge filters state itself.",
  level: { kind: "repository" },
  path: "/repositories/{workspace}/{repo_slug}/pipelines",
  pagination: "page",
  maxPageLength: 100,
  bbql: false,
  lookup: {
    path: "/repositories/{workspace}/{repo_slug}/pipelines/{pipeline_uuid}",
    param: "pipeline_uuid",
    column: "Uuid",
  },
  primaryKey: ["RepositoryUuid", "Uuid"],
  incremental: { kind: "created", column: "CreatedOn" },
  columns: [
    column("Uuid", "string", "Pipeline UUID.", (p) => p.uuid, { field: "uuid" }),
    column("BuildNumber", "integer", "Build number, increasing per repository.", (p) => p.build_number, {
      field: "build_number",
    }),
    column("State", "string", "PENDING, IN_PROGRESS or COMPLETED.", (p) => p.state?.name, {
      field: "state.name",
    }),
    column(
      "Result",
      "string",
      "For completed runs: SUCCESSFUL, FAILED, STOPPED, ERROR or EXPIRED.",
      (p) => p.state?.result?.name,
      {
        field: "state.result.name",
      },
    ),
    column("Stage", "string", "For running ones: RUNNING or PAUSED.", (p) => p.state?.stage?.name, {
      field: "state.stage.name",
    }),
    column("RefType", "string", "branch, tag, named_branch or bookmark.", (p) => p.target?.ref_type, {
      field: "target.ref_type",
    }),
    column("RefName", "string", "Branch or tag built.", (p) => p.target?.ref_name, {
      field: "target.ref_name",
    }),
    column("CommitHash", "string", "Commit built.", (p) => p.target?.commit?.hash, {
      field: "target.commit.hash",
    }),
    column(
      "SelectorType",
      "string",
      "Which pipeline definition ran (branches, default, custom...).",
      (p) => p.target?.selector?.type,
      {
        field: "target.selector.type",
      },
    ),
    column("Trigger", "string", "PUSH, MANUAL or SCHEDULE.", (p) => p.trigger?.name, {
      field: "trigger.name",
    }),
    column("CreatorUuid", "string", "Who started it.", (p) => p.creator?.uuid, { field: "creator.uuid" }),
    column("BuildSecondsUsed", "integer", "Build minutes used, in seconds.", (p) => p.build_seconds_used, {
      field: "build_seconds_used",
    }),
    column("DurationSeconds", "integer", "Wall-clock duration.", (p) => p.duration_in_seconds, {
      field: "duration_in_seconds",
    }),
    column("RunNumber", "integer", "Attempt number (re-runs).", (p) => p.run_number, { field: "run_number" }),
    column("CreatedOn", "datetime", "When it was created.", (p) => p.created_on, { field: "created_on" }),
    column("CompletedOn", "datetime", "When it finished.", (p) => p.completed_on, { field: "completed_on" }),
  ],
});
