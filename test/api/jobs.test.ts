import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatReplicate, parseReplicate } from "../../src/sql/replicate.js";
import { useTestDatabase } from "../support/postgres.js";
import { startTestApi, type TestApi } from "./jobs-server.js";

const db = await useTestDatabase("api_jobs");
let api: TestApi;

beforeAll(async () => {
  api = await startTestApi(db);
  // Bitbucket statements are checked against the built-in catalog: the source is never contacted.
  await api.connections.add({
    name: "bb",
    connector: "bitbucket",
    properties: {
      AuthScheme: "APIToken",
      User: "someone@example.com",
      APIToken: "tok",
      Workspace: "acme",
      Url: "http://127.0.0.1:9/2.0",
    },
  });
  await api.connections.add({
    name: "dw",
    connector: "postgresql",
    properties: { URL: db.url, Schema: "dw" },
  });
  await db.pool.query(`
    CREATE SCHEMA crm;
    CREATE TABLE crm.customers (id integer PRIMARY KEY, name text, "order" integer, changed_at timestamptz);`);
  await api.connections.add({
    name: "crm",
    connector: "postgresql",
    kind: "source",
    properties: { URL: db.url, Schema: "crm" },
  });
}, 60_000);

afterAll(async () => {
  await api?.close();
});

describe("jobs", () => {
  it("are created, listed, shown and deleted", async () => {
    const created = await api.call("POST", "/api/jobs", { name: "nightly", source: "bb", destination: "dw" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: "nightly",
      source: "bb",
      destination: "dw",
      tasks: [],
      schedule: null,
      nextRuns: [],
      lastRun: null,
    });
    expect(Date.parse(created.body.createdAt)).not.toBeNaN();

    const list = await api.call("GET", "/api/jobs");
    expect(list.status).toBe(200);
    expect(list.body).toEqual([
      { name: "nightly", source: "bb", destination: "dw", taskCount: 0, schedule: null, lastRun: null },
    ]);
    const shown = await api.call("GET", "/api/jobs/nightly");
    expect(shown.body).toEqual(created.body);

    expect((await api.call("DELETE", "/api/jobs/nightly")).status).toBe(204);
    const gone = await api.call("GET", "/api/jobs/nightly");
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe("JOB_NOT_FOUND");
    expect((await api.call("DELETE", "/api/jobs/nightly")).status).toBe(404);
  });

  it("refuse invalid input with the fields at fault, unknown connections and duplicates", async () => {
    const invalid = await api.call("POST", "/api/jobs", { name: "1st", destination: "" });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.code).toBe("VALIDATION");
    expect(invalid.body.error.fields.map((f: { field: string }) => f.field).sort()).toEqual([
      "body.destination",
      "body.name",
      "body.source",
    ]);

    const unknown = await api.call("POST", "/api/jobs", { name: "x", source: "nope", destination: "dw" });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ code: "CONNECTION_NOT_FOUND" });
    const kind = await api.call("POST", "/api/jobs", { name: "x", source: "dw", destination: "dw" });
    expect(kind.status).toBe(400);
    expect(kind.body.error.code).toBe("CONNECTION_KIND");

    expect(
      (await api.call("POST", "/api/jobs", { name: "twice", source: "bb", destination: "dw" })).status,
    ).toBe(201);
    const again = await api.call("POST", "/api/jobs", { name: "twice", source: "bb", destination: "dw" });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("JOB_EXISTS");
  });

  it("answer 401 without a session or token", async () => {
    const anonymous = await api.anonymous("GET", "/api/jobs");
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error.code).toBe("UNAUTHENTICATED");
  });
});

describe("tasks", () => {
  beforeAll(async () => {
    await api.call("POST", "/api/jobs", { name: "tasks", source: "bb", destination: "dw" });
  });

  it("are added in canonical form with their source table, at the end or at a position", async () => {
    const added = await api.call("POST", "/api/jobs/tasks/tasks", {
      statements: [
        "replicate  [Commits]",
        "REPLICATE Prs SELECT Id, Title FROM PullRequests WHERE State = 'OPEN'",
      ],
    });
    expect(added.status).toBe(201);
    expect(added.body).toEqual([
      { position: 1, statement: "REPLICATE [Commits]", table: "Commits" },
      {
        position: 2,
        statement: "REPLICATE Prs SELECT Id, Title FROM PullRequests WHERE State = 'OPEN'",
        table: "PullRequests",
      },
    ]);
    const first = await api.call("POST", "/api/jobs/tasks/tasks", {
      statements: ["REPLICATE Repos FROM Information.Repositories -- all of them"],
      position: 1,
    });
    expect(first.body).toEqual([
      {
        position: 1,
        statement: "REPLICATE Repos FROM Information.Repositories",
        table: "Information.Repositories",
      },
    ]);
    const job = await api.call("GET", "/api/jobs/tasks");
    expect(job.body.tasks.map((t: { position: number; table: string }) => [t.position, t.table])).toEqual([
      [1, "Information.Repositories"],
      [2, "Commits"],
      [3, "PullRequests"],
    ]);
    const list = await api.call("GET", "/api/jobs");
    expect(list.body.find((j: { name: string }) => j.name === "tasks").taskCount).toBe(3);
  });

  it("refuse SQL errors with code, line, column, excerpt and the statement at fault, storing nothing", async () => {
    const before = (await api.call("GET", "/api/jobs/tasks")).body.tasks;
    const syntax = await api.call("POST", "/api/jobs/tasks/tasks", {
      statements: ["REPLICATE [Tags]", "REPLICATE Issues\nSELEC Id FROM Issues"],
    });
    expect(syntax.status).toBe(400);
    expect(syntax.body.error).toMatchObject({
      code: "SQL_SYNTAX",
      line: 2,
      column: 1,
      field: "body.statements.1",
    });
    expect(syntax.body.error.excerpt).toBe("2 | SELEC Id FROM Issues\n  | ^^^^^");
    expect(syntax.body.error.message).toMatch(/at line 2, column 1/);

    const bind = await api.call("POST", "/api/jobs/tasks/tasks", {
      statements: ["REPLICATE X SELECT Nme FROM Repositories"],
    });
    expect(bind.status).toBe(400);
    expect(bind.body.error).toMatchObject({
      code: "SQL_UNKNOWN_COLUMN",
      line: 1,
      column: 20,
      suggestion: "Name",
    });
    expect(bind.body.error.excerpt).toBe(
      "1 | REPLICATE X SELECT Nme FROM Repositories\n  |                    ^^^",
    );
    const position = await api.call("POST", "/api/jobs/tasks/tasks", {
      statements: ["REPLICATE Tags"],
      position: 9,
    });
    expect(position.status).toBe(400);
    expect(position.body.error.code).toBe("TASK_POSITION_INVALID");
    const empty = await api.call("POST", "/api/jobs/tasks/tasks", { statements: [] });
    expect(empty.status).toBe(400);
    expect(empty.body.error.fields).toEqual([{ field: "body.statements", message: expect.any(String) }]);
    expect((await api.call("GET", "/api/jobs/tasks")).body.tasks).toEqual(before);
  });

  it("are edited in place and removed, the rest moving up", async () => {
    const edited = await api.call("PUT", "/api/jobs/tasks/tasks/2", {
      statement: "replicate Commits select Hash, Date from Commits with BatchSize = 100",
    });
    expect(edited.status).toBe(200);
    expect(edited.body).toEqual({
      position: 2,
      statement: "REPLICATE Commits SELECT Hash, Date FROM Commits WITH BatchSize=100",
      table: "Commits",
    });
    const bad = await api.call("PUT", "/api/jobs/tasks/tasks/2", {
      statement: "REPLICATE Commits\nWITH BatchSiz=1",
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: "SQL_SYNTAX", line: 2, column: 6, field: "body.statement" });
    expect(bad.body.error.message).toMatch(/Did you mean BatchSize/);
    const missing = await api.call("PUT", "/api/jobs/tasks/tasks/7", { statement: "REPLICATE Tags" });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("TASK_NOT_FOUND");
    const notNumber = await api.call("PUT", "/api/jobs/tasks/tasks/first", { statement: "REPLICATE Tags" });
    expect(notNumber.status).toBe(400);
    expect(notNumber.body.error.fields[0].field).toBe("params.position");

    expect((await api.call("DELETE", "/api/jobs/tasks/tasks/1")).status).toBe(204);
    const job = await api.call("GET", "/api/jobs/tasks");
    expect(
      job.body.tasks.map((t: { position: number; statement: string }) => [t.position, t.statement]),
    ).toEqual([
      [1, "REPLICATE Commits SELECT Hash, Date FROM Commits WITH BatchSize=100"],
      [2, "REPLICATE Prs SELECT Id, Title FROM PullRequests WHERE State = 'OPEN'"],
    ]);
    expect((await api.call("DELETE", "/api/jobs/tasks/tasks/3")).status).toBe(404);
  });

  it("of a PostgreSQL source are checked against its tables, read from it", async () => {
    await api.call("POST", "/api/jobs", { name: "crm_copy", source: "crm", destination: "dw" });
    const added = await api.call("POST", "/api/jobs/crm_copy/tasks", {
      statements: ["REPLICATE customers WITH IncrementalCheckColumn=changed_at"],
    });
    expect(added.status).toBe(201);
    expect(added.body[0]).toMatchObject({ table: "customers" });
    const bad = await api.call("POST", "/api/jobs/crm_copy/tasks", {
      statements: ["REPLICATE c SELECT nam FROM customers"],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({
      code: "SQL_UNKNOWN_COLUMN",
      line: 1,
      column: 20,
      suggestion: "name",
    });
  });
});

describe("schedules", () => {
  beforeAll(async () => {
    await api.call("POST", "/api/jobs", { name: "sched", source: "bb", destination: "dw" });
  });

  it("take every form, answer the next run times and show on the job", async () => {
    const every = await api.call("PUT", "/api/jobs/sched/schedule", { every: 15 });
    expect(every.status).toBe(200);
    expect(every.body.schedule).toEqual({ description: "every 15m", cron: "*/15 * * * *", timeZone: "UTC" });
    expect(every.body.nextRuns).toHaveLength(5);
    const times = every.body.nextRuns.map((t: string) => Date.parse(t));
    for (const [i, t] of times.entries()) {
      expect(new Date(t).getUTCMinutes() % 15).toBe(0);
      if (i > 0) expect(t - times[i - 1]).toBe(15 * 60_000);
    }
    expect((await api.call("PUT", "/api/jobs/sched/schedule", { every: 60 })).body.schedule.cron).toBe(
      "0 * * * *",
    );
    expect((await api.call("PUT", "/api/jobs/sched/schedule", { daily: "02:30" })).body.schedule).toEqual({
      description: "daily at 02:30",
      cron: "30 2 * * *",
      timeZone: "UTC",
    });
    const monthly = await api.call("PUT", "/api/jobs/sched/schedule", {
      monthly: { day: 31, time: "06:00" },
    });
    expect(monthly.body.schedule.cron).toBe("0 6 31 * *");
    for (const t of monthly.body.nextRuns) expect(new Date(t).getUTCDate()).toBe(31);
    const cron = await api.call("PUT", "/api/jobs/sched/schedule", { cron: " 0  */2 * * * " });
    expect(cron.body.schedule).toMatchObject({ cron: "0 */2 * * *", description: "cron 0 */2 * * *" });

    const weekly = await api.call("PUT", "/api/jobs/sched/schedule", {
      weekly: { day: "monday", time: "09:00" },
      timeZone: "Europe/Paris",
    });
    expect(weekly.body.schedule).toEqual({
      description: "weekly on Monday at 09:00",
      cron: "0 9 * * 1",
      timeZone: "Europe/Paris",
    });
    const paris = new Intl.DateTimeFormat("en-GB", {
      timeZone: "Europe/Paris",
      weekday: "long",
      hour: "2-digit",
      minute: "2-digit",
    });
    for (const t of weekly.body.nextRuns) expect(paris.format(new Date(t))).toBe("Monday 09:00");

    const job = await api.call("GET", "/api/jobs/sched");
    expect(job.body.schedule).toEqual(weekly.body.schedule);
    expect(job.body.nextRuns).toEqual(weekly.body.nextRuns);
    const list = await api.call("GET", "/api/jobs");
    expect(list.body.find((j: { name: string }) => j.name === "sched").schedule).toEqual(
      weekly.body.schedule,
    );

    expect((await api.call("DELETE", "/api/jobs/sched/schedule")).status).toBe(204);
    const off = await api.call("GET", "/api/jobs/sched");
    expect(off.body).toMatchObject({ schedule: null, nextRuns: [] });
  });

  it("refuse invalid schedules naming the field", async () => {
    const fieldsOf = async (body: unknown) => {
      const answer = await api.call("PUT", "/api/jobs/sched/schedule", body);
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe("VALIDATION");
      return answer.body.error.fields.map((f: { field: string }) => f.field);
    };
    expect(await fieldsOf({ every: 7 })).toEqual(["body.every"]);
    expect(await fieldsOf({ daily: "24:00" })).toEqual(["body.daily"]);
    expect(await fieldsOf({ weekly: { day: "someday", time: "09:00" } })).toEqual(["body.weekly.day"]);
    expect(await fieldsOf({ monthly: { day: 32, time: "09:00" } })).toEqual(["body.monthly.day"]);
    expect(await fieldsOf({ daily: "09:00", every: 10 })).toEqual(["body"]);
    expect(await fieldsOf({})).toEqual(["body"]);
    expect(await fieldsOf({ cron: "0 * * *" })).toEqual(["body.cron"]);
    expect(await fieldsOf({ cron: "0 25 * * *" })).toEqual(["body.cron"]);
    expect(await fieldsOf({ daily: "09:00", timeZone: "Mars/Olympus" })).toEqual(["body.timeZone"]);
    expect(await fieldsOf({ daily: "09:00", at: "noon" })).toEqual(["body"]);
    const unknown = await api.call("PUT", "/api/jobs/nope/schedule", { daily: "09:00" });
    expect(unknown.status).toBe(404);
  });
});

/** Statements whose model the round trip is checked on: every part of the grammar the model holds. */
const STATEMENTS = [
  "REPLICATE [Issues]",
  "replicate Issues",
  "REPLICATE Prs FROM PullRequests",
  "REPLICATE Repos FROM [Information].Repositories AS r",
  "REPLICATE [Issues] SELECT * FROM [Issues]",
  "REPLICATE Prs SELECT Id, Title AS [PR Title], lower(State) AS state FROM PullRequests WHERE State = 'OPEN' AND (Id > 3 OR Title LIKE '%fix%')",
  "REPLICATE Authors SELECT DISTINCT AuthorUsername FROM Commits",
  "REPLICATE C SELECT c.*, 1 + 2 * 3 AS n FROM Commits AS c ORDER BY Date DESC NULLS LAST, Hash",
  "REPLICATE Counts SELECT RepositorySlug, count(*) AS commits FROM Commits GROUP BY RepositorySlug HAVING count(*) > 1",
  "REPLICATE [Issues] WITH BatchSize = 100, DeletePolicy = hard, DropTable = true, ReplicateStartDate = '2024-01-01', TableNamePrefix = 'bb_'",
];

describe("task editor", () => {
  it("round-trips: format(parse(s)) is the canonical statement, parse(format(m)) is m", async () => {
    for (const statement of STATEMENTS) {
      const parsed = await api.call("POST", "/api/replicate/parse", { statement });
      expect(parsed.status, statement).toBe(200);
      const formatted = await api.call("POST", "/api/replicate/format", parsed.body);
      expect(formatted.status, statement).toBe(200);
      expect(formatted.body.statement).toBe(formatReplicate(parseReplicate(statement)));
      const again = await api.call("POST", "/api/replicate/parse", { statement: formatted.body.statement });
      expect(again.body).toEqual(parsed.body);
    }
  });

  it("parses into the model the Columns and Query tabs edit", async () => {
    const parsed = await api.call("POST", "/api/replicate/parse", { statement: STATEMENTS[7] });
    expect(parsed.body).toEqual({
      target: "C",
      table: "Commits AS c",
      distinct: false,
      columns: [
        { expression: "c.*", alias: null },
        { expression: "1 + 2 * 3", alias: "n" },
      ],
      where: null,
      groupBy: [],
      having: null,
      orderBy: [
        { expression: "Date", descending: true, nulls: "last" },
        { expression: "Hash", descending: false, nulls: null },
      ],
      options: {},
    });
    const implicit = await api.call("POST", "/api/replicate/parse", { statement: STATEMENTS[0] });
    expect(implicit.body).toMatchObject({ target: "[Issues]", table: "[Issues]", columns: [] });
    const options = await api.call("POST", "/api/replicate/parse", { statement: STATEMENTS[9] });
    expect(options.body.options).toEqual({
      BatchSize: 100,
      DeletePolicy: "hard",
      DropTable: true,
      ReplicateStartDate: "2024-01-01",
      TableNamePrefix: "bb_",
    });
  });

  it("formats a model built by the UI, with the optional parts left out and form values as text", async () => {
    const formatted = await api.call("POST", "/api/replicate/format", {
      target: "OpenPrs",
      table: "PullRequests",
      columns: [
        { expression: "Id", alias: null },
        { expression: "Title", alias: "[PR Title]" },
      ],
      where: "State='OPEN'",
      groupBy: [],
      orderBy: [{ expression: "Id", descending: true }],
      options: { BatchSize: "500", DeletePolicy: "hard", AlterSchema: "false" },
    });
    expect(formatted.status).toBe(200);
    expect(formatted.body.statement).toBe(
      "REPLICATE OpenPrs SELECT Id, Title AS [PR Title] FROM PullRequests WHERE State = 'OPEN' ORDER BY Id DESC WITH BatchSize=500, DeletePolicy='hard', AlterSchema=false",
    );
    const allColumns = await api.call("POST", "/api/replicate/format", {
      target: "Open",
      table: "PullRequests",
      columns: [],
      where: "State = 'OPEN'",
      groupBy: [],
      orderBy: [],
      options: {},
    });
    expect(allColumns.body.statement).toBe("REPLICATE Open SELECT * FROM PullRequests WHERE State = 'OPEN'");
  });

  it("names the field of a piece that does not parse, with a line and column inside it", async () => {
    const model = {
      target: "T",
      table: "Issues",
      columns: [{ expression: "Id", alias: null }],
      where: null,
      groupBy: [],
      orderBy: [],
      options: {},
    };
    const where = await api.call("POST", "/api/replicate/format", { ...model, where: "Id =\n= 3" });
    expect(where.status).toBe(400);
    expect(where.body.error).toMatchObject({ code: "SQL_SYNTAX", field: "body.where", line: 2, column: 1 });
    expect(where.body.error.excerpt).toBe("2 | = 3\n  | ^");

    const spill = await api.call("POST", "/api/replicate/format", { ...model, where: "Id = 1 GROUP BY Id" });
    expect(spill.body.error).toMatchObject({ code: "SQL_SYNTAX", field: "body.where", column: 8 });
    const column = await api.call("POST", "/api/replicate/format", {
      ...model,
      columns: [
        { expression: "Id", alias: null },
        { expression: "Title,", alias: null },
      ],
    });
    expect(column.body.error).toMatchObject({ field: "body.columns.1.expression", column: 6 });
    const alias = await api.call("POST", "/api/replicate/format", {
      ...model,
      columns: [{ expression: "*", alias: "everything" }],
    });
    expect(alias.body.error).toMatchObject({
      code: "VALIDATION",
      fields: [{ field: "body.columns.0.alias", message: "* takes no alias; remove it" }],
    });
    const target = await api.call("POST", "/api/replicate/format", { ...model, target: "a.b" });
    expect(target.body.error).toMatchObject({ code: "SQL_SYNTAX", field: "body.target", column: 2 });
    const option = await api.call("POST", "/api/replicate/format", {
      ...model,
      options: { BatchSize: 100, DeletePolicy: "hrad" },
    });
    expect(option.body.error).toMatchObject({ code: "SQL_SYNTAX", field: "body.options.DeletePolicy" });
    expect(option.body.error.message).toMatch(/Did you mean hard/);
    const unknownOption = await api.call("POST", "/api/replicate/format", {
      ...model,
      options: { BatchSiz: 1 },
    });
    expect(unknownOption.body.error).toMatchObject({ field: "body.options.BatchSiz" });
    expect(unknownOption.body.error.message).toMatch(/Did you mean BatchSize/);

    const shape = await api.call("POST", "/api/replicate/format", { ...model, target: undefined, extra: 1 });
    expect(shape.status).toBe(400);
    expect(shape.body.error.fields.map((f: { field: string }) => f.field).sort()).toEqual([
      "body",
      "body.target",
    ]);
  });

  it("checks against a source when given one, listing the source table's columns", async () => {
    const parsed = await api.call("POST", "/api/replicate/parse", {
      statement: "REPLICATE Tags SELECT Name FROM Tags",
      source: "bb",
    });
    expect(parsed.status).toBe(200);
    expect(parsed.body.availableColumns.map((c: { name: string }) => c.name)).toContain("Name");
    expect(parsed.body.availableColumns[0]).toEqual({
      name: expect.any(String),
      expression: expect.any(String),
      type: expect.any(String),
      description: expect.any(String),
    });
    // The parse answer goes back to format as it is.
    expect((await api.call("POST", "/api/replicate/format", parsed.body)).body.statement).toBe(
      "REPLICATE Tags SELECT Name FROM Tags",
    );

    const postgres = await api.call("POST", "/api/replicate/parse", {
      statement: "REPLICATE customers",
      source: "crm",
    });
    expect(postgres.body.availableColumns).toEqual([
      { name: "id", expression: "id", type: "integer", description: expect.any(String) },
      { name: "name", expression: "name", type: "string", description: expect.any(String) },
      { name: "order", expression: "[order]", type: "integer", description: expect.any(String) },
      { name: "changed_at", expression: "changed_at", type: "datetime", description: expect.any(String) },
    ]);

    const unknown = await api.call("POST", "/api/replicate/parse", {
      statement: "REPLICATE T SELECT Nmae FROM Tags",
      source: "bb",
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({
      code: "SQL_UNKNOWN_COLUMN",
      column: 20,
      field: "body.statement",
    });
    const syntax = await api.call("POST", "/api/replicate/parse", { statement: "REPLICATE" });
    expect(syntax.status).toBe(400);
    expect(syntax.body.error).toMatchObject({ code: "SQL_SYNTAX", line: 1, column: 10 });
    const notSource = await api.call("POST", "/api/replicate/parse", {
      statement: "REPLICATE Tags",
      source: "dw",
    });
    expect(notSource.body.error.code).toBe("CONNECTION_KIND");
  });
});

describe("OpenAPI document", () => {
  it("describes every jobs, tasks, task editor and schedule route with a summary and tags", async () => {
    const doc = await api.anonymous("GET", "/api/openapi.json");
    expect(doc.status).toBe(200);
    const expected: [string, string][] = [
      ["/api/jobs", "get"],
      ["/api/jobs", "post"],
      ["/api/jobs/{name}", "get"],
      ["/api/jobs/{name}", "delete"],
      ["/api/jobs/{name}/tasks", "post"],
      ["/api/jobs/{name}/tasks/{position}", "put"],
      ["/api/jobs/{name}/tasks/{position}", "delete"],
      ["/api/jobs/{name}/schedule", "put"],
      ["/api/jobs/{name}/schedule", "delete"],
      ["/api/replicate/parse", "post"],
      ["/api/replicate/format", "post"],
    ];
    for (const [path, method] of expected) {
      const operation = doc.body.paths[path]?.[method];
      expect(operation, `${method} ${path}`).toBeDefined();
      expect(operation.summary).toMatch(/\w/);
      expect(operation.tags.length).toBeGreaterThan(0);
    }
  });
});
