import { CATALOG } from "./catalog.js";
import { SYSTEM_TABLES } from "./system-tables.js";

/** `docs/tables.md`, generated from the catalog; a test fails when the committed file is stale. */
export function tablesMarkdown(): string {
  const out: string[] = [
    "# Tables",
    "",
    "Generated from the catalog in `src/source/tables/` by `npm run docs:tables`; do not edit by hand.",
    "",
    "Repository tables read every repository of the workspace unless the `Schema` connection property names one,",
    "or the query filters on `RepositorySlug` (or qualifies the table with a repository slug, `[web].[Commits]`).",
    "Columns marked *q* are filtered by the API (`q=`), *s* sorted by it (`sort=`); other conditions are",
    "evaluated exactly by bitbridge after reading.",
    "",
    "| schema | table | key | page size | incremental |",
    "|---|---|---|---|---|",
  ];
  for (const t of CATALOG) {
    const inc = t.def.incremental;
    const how = inc.kind === "updated" || inc.kind === "created" ? `${inc.kind} (${inc.column})` : inc.kind;
    out.push(
      `| ${t.schema} | [${t.name}](#${t.name.toLowerCase()}) | ${t.primaryKey.join(", ")} | ${t.def.maxPageLength} | ${how} |`,
    );
  }
  for (const t of CATALOG) {
    out.push("", `## ${t.name}`, "", t.description, "");
    out.push(`Endpoint: \`GET ${t.def.path}\`${t.def.params ? ` with ${formatParams(t.def.params)}` : ""}; `);
    out.push(
      `${t.def.pagination}-based paging, ${t.def.maxPageLength} per page; BBQL ${t.def.bbql ? "yes" : "no"}.`,
    );
    if (t.def.lookup)
      out.push(`A filter \`${t.def.lookup.column} = value\` fetches one object instead of listing.`);
    if (t.def.retired) out.push(`Retired: ${t.def.retired.what} answers 410 Gone since ${t.def.retired.on}.`);
    out.push("", "| column | type | key | pushdown | description |", "|---|---|---|---|---|");
    for (const c of t.columns) {
      const push = [c.filterable ? "q" : "", c.sortable ? "s" : ""].filter(Boolean).join(", ");
      out.push(
        `| ${c.name} | ${c.type} | ${c.isKey ? "yes" : ""} | ${push} | ${c.description.replace(/\|/g, "\\|")} |`,
      );
    }
    if (t.def.examples?.length) {
      out.push("", "```sql", ...t.def.examples, "```");
    }
  }
  out.push("", "## System tables", "");
  for (const t of SYSTEM_TABLES) {
    out.push(`- \`${t.name}\`: ${t.description} Columns: ${t.columns.map((c) => c.name).join(", ")}.`);
  }
  return `${out.join("\n")}\n`;
}

function formatParams(params: Readonly<Record<string, unknown>>): string {
  return Object.entries(params)
    .map(([k, v]) => (Array.isArray(v) ? v.map((x) => `\`${k}=${x}\``).join(" ") : `\`${k}=${String(v)}\``))
    .join(" ");
}
