import type { Repository } from "../../bitbucket/api-types.js";
import { column, defineTable } from "../table.js";

export const Repositories = defineTable<Repository>({
  name: "Repositories",
  schema: "Information",
  description: "Repositories of the workspace.",
  level: { kind: "workspace" },
  path: "/repositories/{workspace}",
  pagination: "page",
  maxPageLength: 100,
  bbql: true,
  lookup: { path: "/repositories/{workspace}/{repo_slug}", param: "repo_slug", column: "Slug" },
  primaryKey: ["Uuid"],
  incremental: { kind: "updated", column: "UpdatedOn" },
  columns: [
    column("Uuid", "string", "Repository UUID; stable across renames and transfers.", (r) => r.uuid, {
      field: "uuid",
      filterable: true,
    }),
    column("Slug", "string", "URL-friendly name; changes on rename.", (r) => r.slug, {
      field: "slug",
      filterable: true,
      sortable: true,
    }),
    column("Name", "string", "Repository name.", (r) => r.name, {
      field: "name",
      filterable: true,
      sortable: true,
    }),
    column("FullName", "string", "workspace/slug.", (r) => r.full_name, {
      field: "full_name",
      filterable: true,
    }),
    column("Description", "string", "Repository description.", (r) => r.description, {
      field: "description",
      filterable: true,
    }),
    column("IsPrivate", "boolean", "Private repository.", (r) => r.is_private, {
      field: "is_private",
      filterable: true,
    }),
    column("Language", "string", "Main language, as set by the owners.", (r) => r.language, {
      field: "language",
      filterable: true,
    }),
    column("SizeBytes", "bigint", "Repository size in bytes.", (r) => r.size, {
      field: "size",
      filterable: true,
    }),
    column("ForkPolicy", "string", "allow_forks, no_public_forks or no_forks.", (r) => r.fork_policy, {
      field: "fork_policy",
    }),
    column("HasIssues", "boolean", "Had the (now retired) issue tracker enabled.", (r) => r.has_issues, {
      field: "has_issues",
    }),
    column("HasWiki", "boolean", "Had the (now retired) wiki enabled.", (r) => r.has_wiki, {
      field: "has_wiki",
    }),
    column("MainBranch", "string", "Name of the main branch.", (r) => r.mainbranch?.name, {
      field: "mainbranch.name",
    }),
    column("ProjectUuid", "string", "UUID of the repository's project.", (r) => r.project?.uuid, {
      field: "project.uuid",
      filterable: true,
    }),
    column("ProjectKey", "string", "Key of the repository's project.", (r) => r.project?.key, {
      field: "project.key",
      filterable: true,
    }),
    column(
      "ParentUuid",
      "string",
      "UUID of the repository this one was forked from.",
      (r) => r.parent?.uuid,
      {
        field: "parent.uuid",
      },
    ),
    column("CreatedOn", "datetime", "When the repository was created.", (r) => r.created_on, {
      field: "created_on",
      filterable: true,
      sortable: true,
    }),
    column(
      "UpdatedOn",
      "datetime",
      "Last push or ref change (not PR or pipeline activity).",
      (r) => r.updated_on,
      {
        field: "updated_on",
        filterable: true,
        sortable: true,
      },
    ),
    column("HtmlUrl", "string", "The repository's page on bitbucket.org.", (r) => r.links?.html?.href, {
      field: "links.html.href",
    }),
  ],
  examples: [
    "SELECT Slug, UpdatedOn FROM Repositories WHERE UpdatedOn >= '2026-01-01' ORDER BY UpdatedOn DESC",
  ],
});
