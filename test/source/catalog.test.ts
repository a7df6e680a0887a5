import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ALL_ROUTES } from "../../sim/simulator.js";
import { CATALOG, findColumn, findTable } from "../../src/source/catalog.js";
import { tablesMarkdown } from "../../src/source/docs.js";
import { SYSTEM_TABLES } from "../../src/source/system-tables.js";

/** Builds an object with `value` at a dotted path, to check that accessors read the field they declare. */
function objectAt(path: string, value: unknown): Record<string, unknown> {
  const parts = path.split(".");
  const root: Record<string, unknown> = {};
  let node = root;
  parts.forEach((part, i) => {
    if (i === parts.length - 1) node[part] = value;
    else {
      const child: Record<string, unknown> = {};
      node[part] = child;
      node = child;
    }
  });
  return root;
}

describe("catalog", () => {
  it("has every table the product promises, PascalCase, with descriptions", () => {
    expect(CATALOG.map((t) => t.name)).toEqual([
      "Workspaces",
      "Projects",
      "Repositories",
      "WorkspaceMembers",
      "PullRequests",
      "PullRequestComments",
      "PullRequestActivity",
      "PullRequestCommits",
      "Commits",
      "Branches",
      "Tags",
      "CommitStatuses",
      "Pipelines",
      "PipelineSteps",
      "Deployments",
      "Environments",
      "Issues",
      "IssueComments",
    ]);
    for (const t of CATALOG) {
      for (const c of t.columns) {
        expect(c.name, `${t.name}.${c.name}`).toMatch(/^[A-Z][A-Za-z0-9]*$/);
        expect(c.description.length, `${t.name}.${c.name}`).toBeGreaterThan(3);
      }
    }
  });

  it("repository tables carry workspace and repository columns in their key", () => {
    for (const t of CATALOG.filter((x) => x.schema === "Repository")) {
      expect(findColumn(t, "WorkspaceSlug"), t.name).toBeDefined();
      expect(findColumn(t, "RepositorySlug"), t.name).toBeDefined();
      expect(t.primaryKey[0], t.name).toBe("RepositoryUuid");
    }
  });

  it("each accessor reads the API field it declares (so pushdown and fields= ask for the right thing)", () => {
    let checked = 0;
    for (const t of CATALOG) {
      for (const c of t.columns) {
        if (!c.field || c.context || c.type === "json") continue;
        const sentinel =
          c.type === "boolean" ? true : c.type === "integer" || c.type === "bigint" ? 4242 : "sentinel";
        expect(c.get(objectAt(c.field, sentinel), {}), `${t.name}.${c.name} reads ${c.field}`).toBe(sentinel);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(150);
  });

  it("every endpoint, lookup and page size matches a simulator route (which follows the official spec)", () => {
    const templates = new Map(ALL_ROUTES.map((r) => [r.template, r]));
    for (const t of CATALOG) {
      const route = templates.get(t.def.path);
      expect(route, t.def.path).toBeDefined();
      expect(route?.list?.maxPagelen, t.name).toBe(t.def.maxPageLength);
      expect(route?.list?.pagination, t.name).toBe(t.def.pagination);
      // Never push q= to an endpoint that refuses it (members accept only an email filter: not used).
      if (t.def.bbql) expect(route?.list?.bbql, `${t.name} BBQL`).not.toBe(false);
      if (t.def.lookup) expect(templates.has(t.def.lookup.path), t.def.lookup.path).toBe(true);
    }
  });

  it("finds tables and columns case-insensitively", () => {
    expect(findTable("pullrequests")?.name).toBe("PullRequests");
    const prs = findTable("PullRequests");
    if (!prs) throw new Error("no table");
    expect(findColumn(prs, "updatedon")?.name).toBe("UpdatedOn");
    expect(findTable("PullRequest")).toBeUndefined();
  });

  it("system tables describe the catalog", () => {
    const tables = SYSTEM_TABLES.find((t) => t.name === "sys_tables")?.rows() ?? [];
    expect(tables.filter((r) => r.SchemaName !== "System")).toHaveLength(CATALOG.length);
    const columns = SYSTEM_TABLES.find((t) => t.name === "sys_tablecolumns")?.rows() ?? [];
    const prColumns = columns.filter((r) => r.TableName === "PullRequests");
    expect(prColumns.map((r) => r.ColumnName)).toContain("UpdatedOn");
    expect(prColumns.find((r) => r.ColumnName === "UpdatedOn")).toMatchObject({
      IsFilterable: true,
      IsSortable: true,
    });
    expect(prColumns.find((r) => r.ColumnName === "Id")).toMatchObject({ IsKey: true, DataType: "integer" });
  });

  it("docs/tables.md is up to date (run npm run docs:tables)", () => {
    const committed = readFileSync(new URL("../../docs/tables.md", import.meta.url), "utf8");
    expect(committed).toBe(tablesMarkdown());
  });
});
