import type { Deployment } from "../../bitbucket/api-types.js";
import { column, defineTable } from "../table.js";

export const Deployments = defineTable<Deployment>({
  name: "Deployments",
  schema: "Repository",
  description: "Deployments of pipeline builds to environments.",
  level: { kind: "repository" },
  path: "/repositories/{workspace}/{repo_slug}/deployments",
  pagination: "page",
  maxPageLength: 100,
  bbql: false,
  lookup: {
    path: "/repositories/{workspace}/{repo_slug}/deployments/{deployment_uuid}",
    param: "deployment_uuid",
    column: "Uuid",
  },
  primaryKey: ["RepositoryUuid", "Uuid"],
  incremental: { kind: "full", reason: "no top-level timestamp fit for a cursor; refreshed in full" },
  columns: [
    column("Uuid", "string", "Deployment UUID.", (d) => d.uuid, { field: "uuid" }),
    column("Number", "integer", "Deployment number.", (d) => d.number, { field: "number" }),
    column("State", "string", "UNDEPLOYED, IN_PROGRESS or COMPLETED.", (d) => d.state?.name, {
      field: "state.name",
    }),
    column(
      "Status",
      "string",
      "For completed ones: SUCCESSFUL, FAILED or STOPPED.",
      (d) => d.state?.status?.name,
      {
        field: "state.status.name",
      },
    ),
    column("EnvironmentUuid", "string", "Target environment.", (d) => d.environment?.uuid, {
      field: "environment.uuid",
    }),
    column("ReleaseName", "string", "Release (build) name.", (d) => d.release?.name, {
      field: "release.name",
    }),
    column("ReleaseCommit", "string", "Commit deployed.", (d) => d.release?.commit?.hash, {
      field: "release.commit.hash",
    }),
    column("DeployerUuid", "string", "Who deployed.", (d) => d.state?.deployer?.uuid, {
      field: "state.deployer.uuid",
    }),
    column("StartedOn", "datetime", "When the deployment started.", (d) => d.state?.start_date, {
      field: "state.start_date",
    }),
    column("CompletedOn", "datetime", "When it finished.", (d) => d.state?.completion_date, {
      field: "state.completion_date",
    }),
    column("LastUpdateTime", "datetime", "Last change.", (d) => d.last_update_time, {
      field: "last_update_time",
    }),
  ],
});
