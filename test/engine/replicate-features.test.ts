import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningSimulator, startSimulator } from "../../sim/server.js";
import { createClient } from "../../src/bitbucket/client.js";
import { parseConnectionString } from "../../src/bitbucket/connection-properties.js";
import { runReplicateTask } from "../../src/engine/task-runner.js";
import type { TaskRunInput } from "../../src/engine/task-runner-types.js";
import { useTestDatabase } from "../support/postgres.js";

const db = await useTestDatabase("replicate-features");
let sim: RunningSimulator;
let connection: string;
let workspace: string;
const SCHEMA = "features";

beforeAll(async () => {
  sim = await startSimulator({ seed: 21, scale: "tiny", rateLimitPerHour: 1_000_000 });
  const api = sim.sim.auth.credentials().apiTokens[0];
  workspace = sim.sim.data.workspaces[0]?.slug as string;
  connection = `AuthScheme=APIToken;User=${api?.email};APIToken=${api?.token};Workspace=${workspace};Url=${sim.apiUrl};RequestsPerHour=1000000`;
});

afterAll(async () => {
  await sim.stop();
});

function replicate(statement: string, more: Partial<TaskRunInput> = {}) {
  return runReplicateTask({
    statement,
    client: createClient(parseConnectionString(connection)),
    workspace,
    destination: { config: { connectionString: db.url }, schema: SCHEMA },
    ...more,
  });
}

async function simCall(method: string, path: string, body?: unknown) {
  const res = await fetch(`${sim.origin}/_sim${path}`, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
}

async function rows(sql: string, values: unknown[] = []) {
  return (await db.pool.query(sql, values)).rows;
}

async function columnTypes(table: string): Promise<Record<string, string>> {
  const result = await rows(
    `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
     WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`,
    [`${SCHEMA}.${table}`],
  );
  return Object.fromEntries(result.map((r) => [r.name, r.type]));
}

/** Runs `statement` on one repository at a time and cancels it after its third batch. */
async function cancelledMidway(statement: string) {
  const controller = new AbortController();
  let batches = 0;
  return replicate(statement, {
    concurrency: 1,
    signal: controller.signal,
    onProgress: () => {
      batches++;
      if (batches === 3) controller.abort();
    },
  }).catch((e: unknown) => e);
}

describe("REPLICATE transformations evaluated by PostgreSQL", () => {
  it("computes expressions in PostgreSQL, with PostgreSQL's types, next to the plain columns", async () => {
    await replicate("REPLICATE [PullRequests]");
    const result = await replicate(
      `REPLICATE [PrShapes] SELECT Id, UPPER(Title) AS LoudTitle, LEN(Title) AS TitleLength,
         YEAR(CreatedOn) AS CreatedYear, DATE(CreatedOn) AS CreatedDay, CommentCount * 2 AS DoubleComments,
         CASE WHEN State = 'OPEN' THEN 'open' ELSE 'closed' END AS Openness,
         CAST(CommentCount AS DECIMAL(10, 2)) / 4 AS Quarter, COALESCE(Description, '(none)') AS Body
       FROM PullRequests WHERE State IN ('OPEN', 'MERGED')`,
    );
    const types = await columnTypes("pr_shapes");
    expect(types).toMatchObject({
      id: "integer",
      loud_title: "text",
      title_length: "integer",
      created_year: "integer",
      created_day: "date",
      double_comments: "integer",
      openness: "text",
      quarter: "numeric",
      body: "text",
      repository_uuid: "text",
    });
    // Independently: the same values computed from the plain replica with SQL.
    const expected = await rows(
      `SELECT repository_uuid, id, upper(title) AS loud_title, char_length(title) AS title_length,
              extract(year FROM created_on AT TIME ZONE 'UTC')::int AS created_year,
              to_char(created_on AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS created_day,
              comment_count * 2 AS double_comments,
              CASE WHEN state = 'OPEN' THEN 'open' ELSE 'closed' END AS openness,
              (comment_count::numeric(10, 2) / 4)::text AS quarter, coalesce(description, '(none)') AS body
       FROM ${SCHEMA}.pull_requests WHERE state IN ('OPEN', 'MERGED') ORDER BY 1, 2`,
    );
    const actual = await rows(
      `SELECT repository_uuid, id, loud_title, title_length, created_year,
              to_char(created_day, 'YYYY-MM-DD') AS created_day, double_comments, openness,
              quarter::text AS quarter, body
       FROM ${SCHEMA}.pr_shapes ORDER BY 1, 2`,
    );
    expect(expected.length).toBeGreaterThan(0);
    expect(result.inserted).toBe(expected.length);
    expect(actual).toEqual(expected);
  });

  it("string literals reach PostgreSQL as constants, whatever quotes and backslashes they hold", async () => {
    const tricky = "it's \\' ); DROP TABLE features.pull_requests; -- \\n";
    await replicate(
      `REPLICATE [PrLiterals] SELECT Id, CONCAT('${tricky.replaceAll("'", "''")}', Id) AS Label FROM PullRequests`,
    );
    const labels = await rows(`SELECT DISTINCT label FROM ${SCHEMA}.pr_literals WHERE id = 1`);
    expect(labels).toEqual([{ label: `${tricky}1` }]);
    const still = await rows("SELECT to_regclass($1) AS t", [`${SCHEMA}.pull_requests`]);
    expect(still[0].t).not.toBeNull();
  });

  it("reports an expression PostgreSQL rejects at its line and column, before creating anything", async () => {
    const error = await replicate(
      "REPLICATE [BadShapes] SELECT Id,\n  Title - 1 AS Broken FROM PullRequests",
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "REPLICATE_EXPRESSION" });
    expect(String((error as Error).message)).toMatch(
      /column Broken: .*operator does not exist: text - integer.* at line 2, column 3/,
    );
    const exists = await rows("SELECT to_regclass($1) AS t", [`${SCHEMA}.bad_shapes`]);
    expect(exists[0].t).toBeNull();
  });

  it("GROUP BY: PostgreSQL aggregates the rows read, and each run replaces the result whole", async () => {
    const statement = `REPLICATE [PrStates] SELECT RepositorySlug, State, COUNT(*) AS Total,
        MAX(UpdatedOn) AS LastChange, SUM(CommentCount) AS Comments
      FROM PullRequests GROUP BY RepositorySlug, State HAVING COUNT(*) > 0 ORDER BY Total DESC`;
    const first = await replicate(statement);
    const expected = async () =>
      rows(
        `SELECT repository_slug, state, count(*)::int AS total, max(updated_on) AS last_change,
                sum(comment_count)::bigint::text AS comments
         FROM ${SCHEMA}.pull_requests WHERE bb_deleted_at IS NULL GROUP BY 1, 2 ORDER BY 1, 2`,
      );
    const actual = async () =>
      rows(
        `SELECT repository_slug, state, total::int AS total, last_change, comments::text AS comments
         FROM ${SCHEMA}.pr_states ORDER BY 1, 2`,
      );
    const before = await expected();
    expect(await actual()).toEqual(before);
    expect(first.inserted).toBe(before.length);

    // Merge one open pull request: one group shrinks, another grows; the rest is unchanged.
    const repo = sim.sim.data.workspaces[0]?.repositories[0];
    const open = repo?.pullRequests.find((p) => p.entity.value.state === "OPEN");
    if (!repo || !open) throw new Error("need an open pull request");
    await simCall("PUT", `/repositories/${workspace}/${repo.slug}/pullrequests/${open.id}`, {
      state: "MERGED",
    });
    await replicate("REPLICATE [PullRequests]");
    const second = await replicate(statement);
    const after = await expected();
    expect(await actual()).toEqual(after);
    expect(second.inserted).toBeGreaterThanOrEqual(1);
    expect(second.inserted).toBeLessThanOrEqual(2);
    expect(second.deleted).toBe(second.inserted + (after.length - before.length) * -1);
    expect(second.unchanged).toBe(after.length - second.inserted);
  });

  it("a global aggregate without GROUP BY is one row", async () => {
    await replicate("REPLICATE [Commits]");
    await replicate(
      "REPLICATE [CommitTotals] SELECT COUNT(*) AS Commits, COUNT(DISTINCT AuthorRaw) AS Authors FROM Commits",
    );
    const actual = await rows(`SELECT commits::int, authors::int FROM ${SCHEMA}.commit_totals`);
    const expected = await rows(
      `SELECT count(*)::int AS commits, count(DISTINCT author_raw)::int AS authors FROM ${SCHEMA}.commits`,
    );
    expect(expected[0].commits).toBeGreaterThan(0);
    expect(actual).toEqual(expected);
  });
});

describe("incremental commits", () => {
  it("after a push, reads only the pushed commits (the walk from the moved head excludes the old heads)", async () => {
    const statement = "REPLICATE [Commits] WITH DestinationSchema='pushes'";
    await replicate(statement);
    const repo = sim.sim.data.workspaces[0]?.repositories[2];
    if (!repo) throw new Error("need a repository");
    await simCall("POST", "/clock", { advanceSeconds: 60 });
    await simCall("POST", `/repositories/${workspace}/${repo.slug}/push`, { count: 2 });
    const after = await replicate(statement);
    expect(after.rowsRead).toBe(2);
    expect(after.inserted).toBe(2);
  });
});

describe("delete policy ignore", () => {
  it("still records complete reads, so a second run skips repositories where nothing was pushed", async () => {
    const statement = "REPLICATE [Branches] WITH DestinationSchema='ignored', DeletePolicy='ignore'";
    await replicate(statement);
    const again = await replicate(statement);
    expect(again.skippedPartitions).toBeGreaterThan(0);
    expect(again.rowsRead).toBe(0);
  });
});

describe("deletions of cursor-read rows and first loads in windows", () => {
  it("a pull request deleted inside a live repository is found on the reconciliation cadence", async () => {
    const statement = "REPLICATE [PullRequests] WITH DestinationSchema='cadence'";
    const comments = "REPLICATE [PullRequestComments] WITH DestinationSchema='cadence'";
    await replicate(statement);
    await replicate(comments);
    const repo = sim.sim.data.workspaces[0]?.repositories[1];
    const victim = repo?.pullRequests.findLast((p) => p.comments.some((c) => !c.value.deleted));
    if (!repo || !victim) throw new Error("need a pull request with comments");
    await simCall("DELETE", `/repositories/${workspace}/${repo.slug}/pullrequests/${victim.id}`);
    const live = async () =>
      (
        await rows(
          "SELECT bb_deleted_at IS NULL AS live FROM cadence.pull_requests WHERE repository_uuid = $1 AND id = $2",
          [repo.uuid, victim.id],
        )
      )[0]?.live;
    // Checked 24 hours after the first full read by default: not yet.
    const early = await replicate(statement);
    expect(early.deleted).toBe(0);
    expect(await live()).toBe(true);
    // ReconcileInterval=0 checks every run: the row is marked deleted, nothing else is.
    const now = await replicate(`${statement}, ReconcileInterval=0`);
    expect(now.deleted).toBe(1);
    expect(await live()).toBe(false);
    const again = await replicate(`${statement}, ReconcileInterval=0`);
    expect(again.deleted).toBe(0);
    // Its comments: kept until the cadence says to check, then marked deleted with it.
    const liveComments = async () =>
      (
        await rows(
          "SELECT count(*)::int AS n FROM cadence.pull_request_comments WHERE repository_uuid = $1 AND pull_request_id = $2 AND bb_deleted_at IS NULL",
          [repo.uuid, victim.id],
        )
      )[0]?.n;
    const before = await liveComments();
    expect(before).toBeGreaterThan(0);
    expect((await replicate(comments)).deleted).toBe(0);
    const checked = await replicate(`${comments}, ReconcileInterval=0`);
    expect(checked.deleted).toBe(before);
    expect(await liveComments()).toBe(0);
  });

  it("ReplicateInterval loads window by window, resumes a cancelled load where it stopped, and ends equal", async () => {
    const plain = "REPLICATE [PullRequests] WITH DestinationSchema='plain'";
    await replicate(plain);
    const windowed =
      "REPLICATE [PullRequests] WITH DestinationSchema='windows', ReplicateInterval=7, ReplicateIntervalUnit='days', BatchSize=5";
    expect(await cancelledMidway(windowed)).toMatchObject({ code: "RUN_CANCELLED" });
    const partial = await rows(
      "SELECT state FROM windows.bb_replication_state WHERE table_name = 'pull_requests' AND state ? 'loadedUntil'",
    );
    expect(partial.length).toBeGreaterThan(0);
    await replicate(windowed);
    const states = await rows(
      "SELECT state FROM windows.bb_replication_state WHERE table_name = 'pull_requests'",
    );
    expect(states.every((s) => s.state.loadedUntil === undefined && typeof s.state.cursor === "string")).toBe(
      true,
    );
    const columns = "repository_uuid, id, title, state, updated_on";
    const left = await rows(
      `SELECT ${columns} FROM plain.pull_requests WHERE bb_deleted_at IS NULL ORDER BY 1, 2`,
    );
    const right = await rows(
      `SELECT ${columns} FROM windows.pull_requests WHERE bb_deleted_at IS NULL ORDER BY 1, 2`,
    );
    expect(right).toEqual(left);
  });
});

describe("whole-table reloads (DropTable, TruncateTableData)", () => {
  const columns = "repository_uuid, id, title, state, updated_on";
  const current = (table: string) => rows(`SELECT ${columns} FROM ${table} ORDER BY 1, 2`);
  const oid = async (table: string) => (await rows("SELECT to_regclass($1)::oid AS oid", [table]))[0]?.oid;

  it("DropTable loads a copy and puts it in the table's place at the end, with the table's grants and indexes", async () => {
    // A first run into a schema that does not exist yet.
    await replicate("REPLICATE [PullRequests] WITH DestinationSchema='dropped', DropTable=true");
    const before = await current("dropped.pull_requests");
    expect(before.length).toBeGreaterThan(10);
    const first = await oid("dropped.pull_requests");
    await db.pool.query(`CREATE INDEX pr_by_title ON dropped.pull_requests (title);
      GRANT SELECT ON dropped.pull_requests TO PUBLIC`);
    const reload = "REPLICATE [PullRequests] WITH DestinationSchema='dropped', DropTable=true, BatchSize=5";

    // Cancelled after some batches were loaded: the table is as it was, and no copy is left behind.
    expect(await cancelledMidway(reload)).toMatchObject({ code: "RUN_CANCELLED" });
    expect(await oid("dropped.pull_requests")).toBe(first);
    expect(await current("dropped.pull_requests")).toEqual(before);
    expect(await oid("dropped.bb_reload_pull_requests")).toBeNull();

    const logged: string[] = [];
    await replicate(reload, { log: (_level, message) => logged.push(message) });
    expect(await oid("dropped.pull_requests")).not.toBe(first);
    expect(await current("dropped.pull_requests")).toEqual(before);
    expect(await oid("dropped.bb_reload_pull_requests")).toBeNull();
    const kept = await rows(
      `SELECT (SELECT count(*)::int FROM pg_indexes WHERE schemaname = 'dropped' AND indexname = 'pr_by_title') AS index,
              has_table_privilege('public', 'dropped.pull_requests', 'SELECT') AS granted,
              (SELECT conname FROM pg_constraint WHERE conrelid = 'dropped.pull_requests'::regclass AND contype = 'p') AS key`,
    );
    expect(kept).toEqual([{ index: 1, granted: true, key: "pull_requests_pkey" }]);
    expect(logged.join("\n")).toMatch(
      /replaced by the reloaded rows with its SELECT granted to PUBLIC, index dropped.pr_by_title/,
    );
    const states = await rows("SELECT DISTINCT table_name FROM dropped.bb_replication_state ORDER BY 1");
    expect(states).toEqual([{ table_name: "pull_requests" }]);
  });

  it("TruncateTableData refills the table itself at the end: same table, views over it kept, nothing lost on failure", async () => {
    await replicate("REPLICATE [PullRequests] WITH DestinationSchema='refilled'");
    const before = await current("refilled.pull_requests");
    const first = await oid("refilled.pull_requests");
    await db.pool.query("CREATE VIEW refilled.open_prs AS SELECT id, title FROM refilled.pull_requests");
    const reload =
      "REPLICATE [PullRequests] WITH DestinationSchema='refilled', TruncateTableData=true, BatchSize=5";

    expect(await cancelledMidway(reload)).toMatchObject({ code: "RUN_CANCELLED" });
    expect(await current("refilled.pull_requests")).toEqual(before);
    expect(await oid("refilled.bb_reload_pull_requests")).toBeNull();

    await replicate(reload);
    expect(await oid("refilled.pull_requests")).toBe(first);
    expect(await current("refilled.pull_requests")).toEqual(before);
    expect(await rows("SELECT count(*)::int AS n FROM refilled.open_prs")).toEqual([{ n: before.length }]);
    expect(await oid("refilled.bb_reload_pull_requests")).toBeNull();
  });
});
