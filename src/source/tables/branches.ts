import type { Ref } from "../../bitbucket/api-types.js";
import { column, defineTable } from "../table.js";

export const Branches = defineTable<Ref>({
  name: "Branches",
  schema: "Repository",
  description: "Branches and the commit each points at.",
  level: { kind: "repository" },
  path: "/repositories/{workspace}/{repo_slug}/refs/branches",
  pagination: "page",
  maxPageLength: 100,
  bbql: true,
  lookup: {
    path: "/repositories/{workspace}/{repo_slug}/refs/branches/{name}",
    param: "name",
    column: "Name",
  },
  pushDriven: true,
  primaryKey: ["RepositoryUuid", "Name"],
  incremental: { kind: "full", reason: "branches carry no change timestamp" },
  columns: [
    column("Name", "string", "Branch name.", (b) => b.name, {
      field: "name",
      filterable: true,
      sortable: true,
    }),
    column("TargetHash", "string", "Head commit.", (b) => b.target?.hash, {
      field: "target.hash",
      filterable: true,
    }),
    column("TargetDate", "datetime", "Date of the head commit.", (b) => b.target?.date, {
      field: "target.date",
      filterable: true,
      sortable: true,
    }),
    column("TargetAuthorUuid", "string", "Author of the head commit.", (b) => b.target?.author?.user?.uuid, {
      field: "target.author.user.uuid",
    }),
    column(
      "DefaultMergeStrategy",
      "string",
      "Default merge strategy for pull requests into it.",
      (b) => b.default_merge_strategy,
      {
        field: "default_merge_strategy",
      },
    ),
    column("MergeStrategies", "json", "Allowed merge strategies (JSON array).", (b) => b.merge_strategies, {
      field: "merge_strategies",
    }),
  ],
});
