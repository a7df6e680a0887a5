import type { Project } from "../../bitbucket/api-types.js";
import { column, defineTable } from "../table.js";

export const Projects = defineTable<Project>({
  name: "Projects",
  schema: "Information",
  description: "Projects of the workspace; they group repositories.",
  level: { kind: "workspace" },
  path: "/workspaces/{workspace}/projects",
  pagination: "page",
  maxPageLength: 100,
  bbql: true,
  lookup: { path: "/workspaces/{workspace}/projects/{project_key}", param: "project_key", column: "Key" },
  primaryKey: ["Uuid"],
  incremental: { kind: "updated", column: "UpdatedOn" },
  columns: [
    column("Uuid", "string", "Project UUID.", (p) => p.uuid, { field: "uuid", filterable: true }),
    column("Key", "string", "Project key, unique in the workspace.", (p) => p.key, {
      field: "key",
      filterable: true,
      sortable: true,
    }),
    column("Name", "string", "Project name.", (p) => p.name, {
      field: "name",
      filterable: true,
      sortable: true,
    }),
    column("Description", "string", "Project description.", (p) => p.description, { field: "description" }),
    column("IsPrivate", "boolean", "Private to the workspace's members.", (p) => p.is_private, {
      field: "is_private",
      filterable: true,
    }),
    column(
      "HasPubliclyVisibleRepos",
      "boolean",
      "Contains public repositories.",
      (p) => p.has_publicly_visible_repos,
      {
        field: "has_publicly_visible_repos",
      },
    ),
    column("CreatedOn", "datetime", "When the project was created.", (p) => p.created_on, {
      field: "created_on",
      filterable: true,
      sortable: true,
    }),
    column("UpdatedOn", "datetime", "When the project was last changed.", (p) => p.updated_on, {
      field: "updated_on",
      filterable: true,
      sortable: true,
    }),
    column("HtmlUrl", "string", "The project's page on bitbucket.org.", (p) => p.links?.html?.href, {
      field: "links.html.href",
    }),
  ],
});
