import type { Ref } from "../../bitbucket/api-types.js";
import { column, defineTable } from "../table.js";

export const Tags = defineTable<Ref>({
  name: "Tags",
  schema: "Repository",
  description: "Tags and the commit each points at.",
  level: { kind: "repository" },
  path: "/repositories/{workspace}/{repo_slug}/refs/tags",
  pagination: "page",
  maxPageLength: 100,
  bbql: true,
  lookup: { path: "/repositories/{workspace}/{repo_slug}/refs/tags/{name}", param: "name", column: "Name" },
  pushDriven: true,
  primaryKey: ["RepositoryUuid", "Name"],
  incremental: { kind: "full", reason: "tags carry no change timestamp in the listing" },
  columns: [
    column("Name", "string", "Tag name.", (t) => t.name, { field: "name", filterable: true, sortable: true }),
    column("TargetHash", "string", "Tagged commit.", (t) => t.target?.hash, {
      field: "target.hash",
      filterable: true,
    }),
    column("TargetDate", "datetime", "Date of the tagged commit.", (t) => t.target?.date, {
      field: "target.date",
      filterable: true,
      sortable: true,
    }),
    column("Message", "string", "Annotation message (annotated tags).", (t) => t.message, {
      field: "message",
    }),
    column("Date", "datetime", "When the tag was made (annotated tags).", (t) => t.date, { field: "date" }),
    column("TaggerRaw", "string", "Tagger as recorded by git.", (t) => t.tagger?.raw, {
      field: "tagger.raw",
    }),
  ],
});
