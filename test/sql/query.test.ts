import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningSimulator, startSimulator } from "../../sim/server.js";
import { createClient } from "../../src/bitbucket/client.js";
import { parseConnectionString } from "../../src/bitbucket/connection-properties.js";
import { type QueryResult, runQuery } from "../../src/sql/execute.js";

let sim: RunningSimulator;
let credentials: string;
let workspace: string;

beforeAll(async () => {
  sim = await startSimulator({
    seed: 5,
    scale: "small",
    counts: { repositories: 3, pullRequests: 60 },
    legacyIssues: true,
  });
  // The owner's API token: access tokens cannot carry the issue scope.
  const apiToken = sim.sim.auth.credentials().apiTokens[0];
  credentials = `AuthScheme=APIToken;User=${apiToken?.email};APIToken=${apiToken?.token}`;
  workspace = sim.sim.data.workspaces[0]?.slug as string;
});

afterAll(async () => {
  await sim.stop();
});

function connection(extra = "") {
  const props = parseConnectionString(
    `${credentials};Workspace=${workspace};Url=${sim.apiUrl};AuthUrl=${sim.origin}${extra}`,
  );
  return { props, client: createClient(props) };
}

async function rows(sql: string, extra = ""): Promise<QueryResult> {
  const { props, client } = connection(extra);
  const result = await runQuery(sql, { client, workspace: props.workspace, schema: props.schema });
  if (result.kind !== "rows") throw new Error("expected rows");
  return result;
}

async function simRequests(): Promise<number> {
  const stats = (await (await fetch(`${sim.origin}/_sim/stats`)).json()) as { total: number };
  return stats.total;
}

function objects(result: QueryResult): Record<string, unknown>[] {
  return result.rows.map((r) => Object.fromEntries(result.columns.map((c, i) => [c.name, r[i]])));
}

const repos = () => sim.sim.data.workspaces[0]?.repositories ?? [];

describe("SELECT against the simulator", () => {
  it("reads every pull request in every state with the minimum number of requests", async () => {
    const before = await simRequests();
    const result = await rows("SELECT RepositorySlug, Id, State, ReviewerUuids FROM PullRequests");
    const expected = repos().reduce((n, r) => n + r.pullRequests.length, 0);
    expect(result.rows).toHaveLength(expected);
    expect(new Set(objects(result).map((r) => r.State))).toEqual(
      new Set(["OPEN", "MERGED", "DECLINED", "SUPERSEDED"]),
    );
    // One request for the repository list, then ceil(rows / 50) per repository.
    const minimum = 1 + repos().reduce((n, r) => n + Math.max(1, Math.ceil(r.pullRequests.length / 50)), 0);
    expect(result.requests).toBe(minimum);
    expect((await simRequests()) - before).toBe(minimum);
    // Hidden list fields are asked for when a column needs them.
    expect(
      objects(result).some(
        (r) => Array.isArray(r.ReviewerUuids) && (r.ReviewerUuids as unknown[]).length > 0,
      ),
    ).toBe(true);
  });

  it("pushes a filter on UpdatedOn into q= so only changed rows are fetched, and stays exact", async () => {
    const all = objects(await rows("SELECT RepositorySlug, Id, UpdatedOn FROM PullRequests"));
    const dates = all.map((r) => String(r.UpdatedOn)).sort();
    const cutoff = dates[Math.floor(dates.length * 0.9)] as string;
    const result = await rows(
      `SELECT RepositorySlug, Id, UpdatedOn FROM PullRequests WHERE UpdatedOn >= '${cutoff}'`,
    );
    const expected = all.filter((r) => String(r.UpdatedOn) >= cutoff);
    expect(
      objects(result)
        .map((r) => `${r.RepositorySlug}#${r.Id}`)
        .sort(),
    ).toEqual(expected.map((r) => `${r.RepositorySlug}#${r.Id}`).sort());
    expect(result.pushed.some((p) => p.startsWith("q: updated_on >= "))).toBe(true);
    // The repository list plus one page per repository: the changed rows fit in one page each.
    expect(result.requests).toBe(1 + repos().length);
  });

  it("looks up an issue by key: one request per repository read, not a scan", async () => {
    const slug = repos()[0]?.slug as string;
    const before = await simRequests();
    const one = await rows("SELECT [Title], [ContentRaw] FROM [Issues] WHERE [Id] = 1", `;Schema=${slug}`);
    expect(one.rows).toHaveLength(1);
    expect(one.requests).toBe(1);
    expect((await simRequests()) - before).toBe(1);
    const everywhere = await rows("SELECT [Title], [ContentRaw] FROM [Issues] WHERE [Id] = 1");
    expect(everywhere.rows).toHaveLength(repos().length);
    expect(everywhere.requests).toBe(1 + repos().length);
  });

  it("uses the parent key from the query instead of listing parents", async () => {
    const repo = repos()[0];
    const pr = repo?.pullRequests.find((p) => p.comments.length > 0);
    if (!repo || !pr) throw new Error("no pull request with comments");
    const result = await rows(
      `SELECT PullRequestId, Id, ContentRaw, IsDeleted FROM PullRequestComments WHERE RepositorySlug = '${repo.slug}' AND PullRequestId = ${pr.id}`,
    );
    expect(result.rows).toHaveLength(pr.comments.length);
    expect(result.requests).toBe(1);
  });

  it("stops reading when LIMIT is reached", async () => {
    const slug = repos()[0]?.slug as string;
    const result = await rows(
      `SELECT Hash, AuthorDisplayName FROM Commits WHERE RepositorySlug = '${slug}' LIMIT 5`,
    );
    expect(result.rows).toHaveLength(5);
    expect(result.requests).toBe(1);
  });

  it("aggregates, groups, orders and filters exactly", async () => {
    const result = await rows(
      "SELECT RepositorySlug, State, COUNT(*) AS n, MAX(UpdatedOn) AS latest FROM PullRequests WHERE State IN ('MERGED', 'DECLINED') GROUP BY RepositorySlug, State HAVING COUNT(*) > 0 ORDER BY RepositorySlug, n DESC",
    );
    const expected = new Map<string, number>();
    for (const r of repos()) {
      for (const p of r.pullRequests) {
        const state = p.entity.value.state as string;
        if (state === "MERGED" || state === "DECLINED")
          expected.set(`${r.slug}/${state}`, (expected.get(`${r.slug}/${state}`) ?? 0) + 1);
      }
    }
    const got = objects(result);
    expect(new Map(got.map((g) => [`${g.RepositorySlug}/${g.State}`, g.n]))).toEqual(expected);
    const slugs = got.map((g) => String(g.RepositorySlug));
    expect(slugs).toEqual([...slugs].sort());
  });

  it("answers Workspaces without a Workspace property, and system tables without requests", async () => {
    const props = parseConnectionString(`${credentials};Schema=Information;Url=${sim.apiUrl}`);
    const client = createClient(props);
    const result = await runQuery("SELECT * FROM Workspaces", { client, schema: props.schema });
    if (result.kind !== "rows") throw new Error("expected rows");
    expect(objects(result).map((r) => r.Slug)).toEqual([workspace]);
    const sys = await runQuery(
      "SELECT TableName, PageSize FROM sys_tables WHERE SchemaName = 'Repository' ORDER BY TableName",
      { client },
    );
    if (sys.kind !== "rows") throw new Error("expected rows");
    expect(sys.requests).toBe(0);
    expect(objects(sys).find((r) => r.TableName === "PullRequests")?.PageSize).toBe(50);
  });

  it("EXPLAIN prints the requests without making any", async () => {
    const { client } = connection();
    const before = client.counts().requests;
    const result = await runQuery(
      "EXPLAIN SELECT Id, Title FROM PullRequests WHERE State = 'OPEN' AND UpdatedOn > '2026-06-01' LIMIT 5",
      {
        client,
        workspace,
      },
    );
    expect(client.counts().requests).toBe(before);
    if (result.kind !== "explain") throw new Error("expected a plan");
    const text = result.lines.join("\n");
    console.log(text);
    expect(text).toContain(`GET /repositories/${workspace}?pagelen=100`);
    expect(text).toContain("pagelen=50");
    expect(text).toContain(
      `q=${encodeURIComponent('state = "OPEN" AND updated_on > 2026-06-01T00:00:00.000Z').replace(/%20/g, "+")}`,
    );
    expect(text).toContain("fields=next%2Cvalues.id%2Cvalues.title");
  });

  it("names unknown tables and columns with their position and the closest valid name", async () => {
    await expect(rows("SELECT * FROM PullRequest")).rejects.toThrow(
      /Unknown table PullRequest at line 1, column 15\. Did you mean PullRequests\?/,
    );
    await expect(rows("SELECT Id,\n  Titel FROM PullRequests")).rejects.toThrow(
      /Unknown column Titel in PullRequests at line 2, column 3\. Did you mean Title\?/,
    );
    await expect(rows("SELECT Id FROM PullRequests WHERE")).rejects.toThrow(/line 1, column/);
  });

  it("explains that the issue tracker is retired when the service answers 410", async () => {
    await fetch(`${sim.origin}/_sim/config`, {
      method: "PUT",
      body: JSON.stringify({ legacyIssues: false }),
    });
    try {
      await expect(rows("SELECT Id FROM Issues")).rejects.toThrow(/retired its issue tracker on 2026-08-20/);
    } finally {
      await fetch(`${sim.origin}/_sim/config`, {
        method: "PUT",
        body: JSON.stringify({ legacyIssues: true }),
      });
    }
  });
});
