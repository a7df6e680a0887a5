import type { Commit } from "../../bitbucket/api-types.js";
import { column, defineTable } from "../table.js";

export const Commits = defineTable<Commit>({
  name: "Commits",
  schema: "Repository",
  description:
    "Commits reachable from any branch, newest first. No BBQL: filters on commits are evaluated by bitbridge.",
  level: { kind: "repository" },
  path: "/repositories/{workspace}/{repo_slug}/commits",
  pagination: "cursor",
  maxPageLength: 100,
  bbql: false,
  lookup: { path: "/repositories/{workspace}/{repo_slug}/commit/{commit}", param: "commit", column: "Hash" },
  pushDriven: true,
  primaryKey: ["RepositoryUuid", "Hash"],
  incremental: { kind: "commits" },
  columns: [
    column("Hash", "string", "Commit hash (40 hex digits).", (c) => c.hash, { field: "hash" }),
    column("Date", "datetime", "Author date (git's, can be in the past or future).", (c) => c.date, {
      field: "date",
    }),
    column("Message", "string", "Full commit message.", (c) => c.message, { field: "message" }),
    // From the message rather than `summary.raw` (the same text, rendered): one copy of it travels, not two.
    column("Summary", "string", "First line of the message.", (c) => firstLine(c.message), {
      reads: ["message"],
    }),
    column("AuthorRaw", "string", "Author as recorded by git (Name <email>).", (c) => c.author?.raw, {
      field: "author.raw",
    }),
    column(
      "AuthorUuid",
      "string",
      "Bitbucket account of the author, when matched.",
      (c) => c.author?.user?.uuid,
      {
        field: "author.user.uuid",
      },
    ),
    column(
      "AuthorDisplayName",
      "string",
      "Display name of that account.",
      (c) => c.author?.user?.display_name,
      {
        field: "author.user.display_name",
      },
    ),
    column(
      "ParentHashes",
      "json",
      "Parent hashes (JSON array; two or more for merges).",
      (c) => c.parents?.map((p) => p.hash),
      {
        field: "parents",
        reads: ["parents.hash"],
      },
    ),
    column(
      "IsMerge",
      "boolean",
      "Has more than one parent.",
      (c) => (c.parents ? c.parents.length > 1 : undefined),
      {
        reads: ["parents.hash"],
      },
    ),
    column("HtmlUrl", "string", "The commit's page on bitbucket.org.", (c) => c.links?.html?.href, {
      field: "links.html.href",
    }),
  ],
  examples: ["SELECT Hash, AuthorDisplayName, Date FROM Commits WHERE RepositorySlug = 'web' LIMIT 20"],
});

function firstLine(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const end = text.indexOf("\n");
  return end === -1 ? text : text.slice(0, end);
}
