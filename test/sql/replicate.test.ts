import { describe, expect, it } from "vitest";
import { BitbridgeError } from "../../src/app/errors.js";
import { convertName } from "../../src/destination/postgres/naming.js";
import { SqlBindError } from "../../src/sql/bind.js";
import {
  bindReplicate,
  bindReplicateScript,
  DEFAULT_REPLICATE_OPTIONS,
  formatAst,
  formatReplicate,
  formatReplicateScript,
  parseReplicate,
  parseReplicateScript,
  type ReplicateStatement,
  SqlSyntaxError,
} from "../../src/sql/index.js";

/** "line:column message" of the error `run` throws. */
function failure(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof SqlSyntaxError || error instanceof SqlBindError) {
      return `${error.line}:${error.column} ${error.message}`;
    }
    throw error;
  }
  throw new Error("expected an error");
}

const parseError = (sql: string) => failure(() => parseReplicate(sql));
const bindError = (sql: string) => failure(() => bindReplicate(sql, parseReplicate(sql)));

/** The statement without spans, for comparing a round trip. */
function shape(statement: ReplicateStatement): unknown {
  return JSON.parse(
    JSON.stringify(statement, (key, value: unknown) => {
      if (key === "span" || key === "valueSpan") return undefined;
      if (key === "written") return undefined;
      return typeof value === "bigint" ? `${value}n` : value;
    }),
  );
}

describe("REPLICATE grammar", () => {
  it("REPLICATE [T] replicates every column into a table named after T", () => {
    const sql = "REPLICATE [Issues]";
    const statement = parseReplicate(sql);
    expect(statement.kind).toBe("replicate");
    expect(statement.destination).toEqual({
      kind: "identifier",
      name: "Issues",
      quoted: true,
      span: { start: 10, end: 18 },
    });
    expect(statement.implicitSelect).toBe(true);
    expect(formatAst(statement.select)).toBe("(select (cols *) (from Issues))");
    expect(statement.options).toEqual(DEFAULT_REPLICATE_OPTIONS);
    expect(statement.settings).toEqual([]);
    expect(statement.span).toEqual({ start: 0, end: sql.length });

    const bound = bindReplicate(sql, statement);
    expect(bound.table.name).toBe("Issues");
    expect(bound.destination).toEqual({ schema: undefined, name: "issues" });
    expect(bound.columns.map((c) => c.destinationName)).toEqual([
      "workspace_slug",
      "repository_slug",
      "repository_uuid",
      "id",
      "title",
      "content_raw",
      "state",
      "kind",
      "priority",
      "reporter_uuid",
      "assignee_uuid",
      "votes",
      "created_on",
      "updated_on",
      "edited_on",
    ]);
    expect(bound.primaryKey).toEqual(["repository_uuid", "id"]);
    expect(bound.incrementalColumn?.name).toBe("UpdatedOn");
  });

  it("REPLICATE [Issues] SELECT [Title], [ContentRaw] FROM [Issues] WHERE [Id] = 1", () => {
    const sql = "REPLICATE [Issues] SELECT [Title], [ContentRaw] FROM [Issues] WHERE [Id] = 1";
    const statement = parseReplicate(sql);
    expect(statement.implicitSelect).toBe(false);
    expect(formatAst(statement.select)).toBe(
      "(select (cols (col Title) (col ContentRaw)) (from Issues) (where (= (col Id) 1)))",
    );
    const bound = bindReplicate(sql, statement);
    expect(bound.columns.map((c) => [c.name, c.destinationName, c.sourceColumn, c.type])).toEqual([
      ["Title", "title", "Title", "string"],
      ["ContentRaw", "content_raw", "ContentRaw", "string"],
    ]);
    expect(bound.primaryKey).toEqual([]);
    expect(bound.incrementalColumn).toBeUndefined();
  });

  it("keywords are case-insensitive and names may be bare, bracketed or double-quoted", () => {
    const statement = parseReplicate('replicate "Open PRs" select Id from pullrequests;');
    expect(statement.destination.name).toBe("Open PRs");
    expect(statement.select.from.name).toBe("pullrequests");
    const bound = bindReplicate('replicate "Open PRs" select Id from pullrequests;', statement);
    expect(bound.destination.name).toBe("open_p_rs");
    expect(bound.table.name).toBe("PullRequests");
  });

  it("aliases rename destination columns and expressions transform them", () => {
    const sql =
      "REPLICATE [PrTitles] SELECT Id, Title AS PrTitle, UPPER(State) AS StateUpper, UpdatedOn\n" +
      "FROM [PullRequests] WHERE State = 'OPEN' ORDER BY Id DESC";
    const statement = parseReplicate(sql);
    const bound = bindReplicate(sql, statement);
    expect(bound.destination.name).toBe("pr_titles");
    expect(bound.columns.map((c) => [c.name, c.destinationName, c.sourceColumn, c.type])).toEqual([
      ["Id", "id", "Id", "integer"],
      ["PrTitle", "pr_title", "Title", "string"],
      ["StateUpper", "state_upper", undefined, "unknown"],
      ["UpdatedOn", "updated_on", "UpdatedOn", "datetime"],
    ]);
    expect(formatAst(bound.columns[2]?.expr ?? statement.select)).toBe("(call UPPER (col State))");
  });

  it("GROUP BY is allowed; aggregates keep no incremental column or key", () => {
    const sql = "REPLICATE [PrCounts] SELECT State, COUNT(*) AS Total FROM PullRequests GROUP BY State";
    const bound = bindReplicate(sql, parseReplicate(sql));
    expect(bound.columns.map((c) => c.destinationName)).toEqual(["state", "total"]);
    expect(bound.incrementalColumn).toBeUndefined();
    expect(bound.primaryKey).toEqual([]);
  });

  it("REPLICATE [Dest] SELECT ... FROM [Src] and REPLICATE [Dest] FROM [Src]", () => {
    const a = parseReplicate("REPLICATE [Dest] SELECT Title FROM [Issues]");
    expect(a.destination.name).toBe("Dest");
    expect(a.select.from.name).toBe("Issues");
    const b = parseReplicate("REPLICATE [Dest] FROM [Issues] WITH BatchSize=10");
    expect(b.implicitSelect).toBe(true);
    expect(formatAst(b.select)).toBe("(select (cols *) (from Issues))");
    expect(b.options.batchSize).toBe(10);
  });

  it("rejects LIMIT and a dotted destination", () => {
    expect(parseError("REPLICATE Issues SELECT Id FROM Issues LIMIT 5")).toBe(
      "1:46 LIMIT, TOP and OFFSET are not allowed in REPLICATE at line 1, column 46. A replication copies every row the WHERE clause selects",
    );
    expect(parseError("REPLICATE acme.Issues")).toBe(
      "1:15 The destination table is one name at line 1, column 15, found '.'. Choose the PostgreSQL schema with WITH DestinationSchema='name'",
    );
  });

  it("suggests keywords after the destination and after the SELECT", () => {
    expect(parseError("REPLICATE Issues SELEC Id FROM Issues")).toBe(
      "1:18 Expected SELECT, FROM, WITH or the end of the statement after the destination table at line 1, column 18, found 'SELEC'. Did you mean SELECT?",
    );
    expect(parseError("REPLICATE Issues SELECT Id FROM Issues WIHT BatchSize=1")).toBe(
      "1:40 Expected end of statement at line 1, column 40, found 'WIHT'. Did you mean WITH?",
    );
    expect(parseError("")).toBe("1:1 Empty statement: expected REPLICATE at line 1, column 1");
    expect(parseError("SELECT * FROM Issues")).toBe(
      "1:1 Expected REPLICATE at line 1, column 1, found 'SELECT'. Each task is one REPLICATE statement",
    );
  });
});

describe("REPLICATE options", () => {
  it("reads every option type, case-insensitively, with defaults for the rest", () => {
    const statement = parseReplicate(
      "REPLICATE Issues SELECT Id, UpdatedOn FROM Issues WITH droptable=TRUE, AlterSchema = false, " +
        "ReplicateStartDate='2025-01-01', ReplicateInterval=7, ReplicateIntervalUnit=days, " +
        "IncrementalCheckColumn='UpdatedOn', BATCHSIZE=1000, TableNamePrefix='bb_', " +
        "DestinationSchema=[bitbucket], DeletePolicy='HARD'",
    );
    expect(statement.options).toEqual({
      dropTable: true,
      truncateTableData: false,
      alterSchema: false,
      replicateStartDate: "2025-01-01",
      replicateInterval: 7,
      replicateIntervalUnit: "days",
      incrementalCheckColumn: "UpdatedOn",
      batchSize: 1000,
      tableNamePrefix: "bb_",
      destinationSchema: "bitbucket",
      deletePolicy: "hard",
      reconcileInterval: 24,
      reconcileIntervalUnit: "hours",
    });
    expect(statement.settings.map((s) => s.name)).toEqual([
      "DropTable",
      "AlterSchema",
      "ReplicateStartDate",
      "ReplicateInterval",
      "ReplicateIntervalUnit",
      "IncrementalCheckColumn",
      "BatchSize",
      "TableNamePrefix",
      "DestinationSchema",
      "DeletePolicy",
    ]);
    expect(statement.settings[0]?.written.name).toBe("droptable");
  });

  it("ReconcileInterval: 0 checks every run; units as for ReplicateInterval; no negative values", () => {
    const statement = parseReplicate(
      "REPLICATE PullRequests WITH ReconcileInterval=0, ReconcileIntervalUnit=day",
    );
    expect(statement.options).toMatchObject({ reconcileInterval: 0, reconcileIntervalUnit: "days" });
    expect(() => parseReplicate("REPLICATE PullRequests WITH ReconcileInterval=-1")).toThrow(
      /Invalid ReconcileInterval -1: expected a whole number from 0 to 100,000/,
    );
  });

  it("defaults: soft deletes, batches of 5000, days, alter schema, no drop or truncate", () => {
    expect(DEFAULT_REPLICATE_OPTIONS).toEqual({
      dropTable: false,
      truncateTableData: false,
      alterSchema: true,
      replicateStartDate: undefined,
      replicateInterval: undefined,
      replicateIntervalUnit: "days",
      incrementalCheckColumn: undefined,
      batchSize: 5000,
      tableNamePrefix: "",
      destinationSchema: undefined,
      deletePolicy: "soft",
      reconcileInterval: 24,
      reconcileIntervalUnit: "hours",
    });
  });

  it("accepts DATE and TIMESTAMP literals, timestamps with zones, 'true' strings and singular units", () => {
    const a = parseReplicate(
      "REPLICATE Issues WITH ReplicateStartDate=DATE '2024-02-29', TruncateTableData='true', ReplicateInterval=1, ReplicateIntervalUnit='Hour'",
    );
    expect(a.options.replicateStartDate).toBe("2024-02-29");
    expect(a.options.truncateTableData).toBe(true);
    expect(a.options.replicateIntervalUnit).toBe("hours");
    const b = parseReplicate("REPLICATE Issues WITH ReplicateStartDate='2025-01-01T10:30:00+02:00'");
    expect(b.options.replicateStartDate).toBe("2025-01-01T10:30:00+02:00");
    const c = parseReplicate("REPLICATE Issues WITH ReplicateStartDate=TIMESTAMP '2025-01-01 00:00:00'");
    expect(c.options.replicateStartDate).toBe("2025-01-01 00:00:00");
  });

  it("an unknown option suggests the closest name, or lists them all", () => {
    expect(parseError("REPLICATE Issues WITH BatchSzie = 10")).toBe(
      "1:23 Unknown option BatchSzie at line 1, column 23, found 'BatchSzie'. Did you mean BatchSize?",
    );
    expect(parseError("REPLICATE Issues\nWITH DropTable = true,\n     DeletPolicy = 'soft'")).toBe(
      "3:6 Unknown option DeletPolicy at line 3, column 6, found 'DeletPolicy'. Did you mean DeletePolicy?",
    );
    expect(parseError("REPLICATE Issues WITH Foo = 1")).toMatch(
      /^1:23 Unknown option Foo at line 1, column 23, found 'Foo'\. Options are DropTable, TruncateTableData, .*DeletePolicy, ReconcileInterval, ReconcileIntervalUnit$/,
    );
  });

  it("bad values report the value's position", () => {
    const cases: [string, string][] = [
      [
        "REPLICATE Issues WITH BatchSize = 0",
        "1:35 Invalid BatchSize 0: expected a whole number from 1 to 1,000,000 at line 1, column 35",
      ],
      [
        "REPLICATE Issues WITH BatchSize = 1000001",
        "1:35 Invalid BatchSize 1000001: expected a whole number from 1 to 1,000,000 at line 1, column 35",
      ],
      [
        "REPLICATE Issues WITH BatchSize = 2.5",
        "1:35 Invalid BatchSize 2.5: expected a whole number from 1 to 1,000,000 at line 1, column 35",
      ],
      [
        "REPLICATE Issues WITH BatchSize = '100'",
        "1:35 Invalid BatchSize '100': expected a whole number from 1 to 1,000,000 at line 1, column 35",
      ],
      [
        "REPLICATE Issues WITH ReplicateInterval = -1",
        "1:43 Invalid ReplicateInterval -1: expected a whole number from 1 to 100,000 at line 1, column 43",
      ],
      [
        "REPLICATE Issues WITH DropTable = 1",
        "1:35 Invalid DropTable 1: expected true or false at line 1, column 35",
      ],
      [
        "REPLICATE Issues WITH AlterSchema = NULL",
        "1:37 AlterSchema cannot be NULL at line 1, column 37. Leave the option out to use its default",
      ],
      [
        "REPLICATE Issues WITH ReplicateStartDate = '2025-02-30'",
        "1:44 Invalid ReplicateStartDate '2025-02-30': expected a real date 'YYYY-MM-DD' or timestamp 'YYYY-MM-DD HH:MM[:SS][+HH:MM]' at line 1, column 44",
      ],
      [
        "REPLICATE Issues WITH ReplicateStartDate = 'yesterday'",
        "1:44 Invalid ReplicateStartDate 'yesterday': expected a real date 'YYYY-MM-DD' or timestamp 'YYYY-MM-DD HH:MM[:SS][+HH:MM]' at line 1, column 44",
      ],
      [
        "REPLICATE Issues WITH ReplicateInterval = 1, ReplicateIntervalUnit = 'fortnights'",
        "1:70 Invalid ReplicateIntervalUnit 'fortnights': expected minutes, hours, days, weeks, months or years at line 1, column 70",
      ],
      [
        "REPLICATE Issues WITH DeletePolicy = sotf",
        "1:38 Invalid DeletePolicy sotf: expected soft, hard or ignore at line 1, column 38. Did you mean soft?",
      ],
      [
        "REPLICATE Issues WITH TableNamePrefix = 'bb-'",
        "1:41 Invalid TableNamePrefix 'bb-': expected letters, digits and underscores, not starting with a digit (at most 63) at line 1, column 41",
      ],
      [
        "REPLICATE Issues WITH DestinationSchema = ''",
        "1:43 Invalid DestinationSchema '': expected a name of letters, digits and underscores, not starting with a digit (at most 63) at line 1, column 43",
      ],
      [
        "REPLICATE Issues WITH BatchSize = 10 * 100",
        "1:35 Invalid BatchSize 10 * 100: expected a whole number from 1 to 1,000,000 at line 1, column 35",
      ],
    ];
    for (const [sql, message] of cases) expect(parseError(sql), sql).toBe(message);
  });

  it("rejects a repeated option, DropTable with TruncateTableData, and a unit without an interval", () => {
    expect(parseError("REPLICATE Issues WITH BatchSize=1, batchsize=2")).toBe(
      "1:36 Option BatchSize is given twice at line 1, column 36. Keep one of them",
    );
    expect(parseError("REPLICATE Issues WITH TruncateTableData=true, DropTable=true")).toBe(
      "1:47 DropTable=true and TruncateTableData=true cannot be combined at line 1, column 47. DropTable already starts each run from an empty table; keep one of them",
    );
    expect(
      parseReplicate("REPLICATE Issues WITH TruncateTableData=false, DropTable=true").options,
    ).toMatchObject({
      dropTable: true,
      truncateTableData: false,
    });
    expect(parseError("REPLICATE Issues WITH ReplicateIntervalUnit=weeks")).toBe(
      "1:23 ReplicateIntervalUnit needs ReplicateInterval at line 1, column 23. Add ReplicateInterval=n to load weeks n at a time",
    );
  });

  it("a missing comma between options is reported", () => {
    expect(parseError("REPLICATE Issues WITH DeletePolicy = soft BatchSize = 5")).toBe(
      "1:43 Expected end of statement at line 1, column 43, found 'BatchSize'",
    );
  });

  it("IncrementalCheckColumn must be a selected datetime column of the source table", () => {
    expect(bindError("REPLICATE Issues WITH IncrementalCheckColumn = UpdatdOn")).toBe(
      "1:48 Unknown column UpdatdOn in Issues (IncrementalCheckColumn) at line 1, column 48. Did you mean UpdatedOn?",
    );
    expect(bindError("REPLICATE Issues WITH IncrementalCheckColumn = Id")).toBe(
      "1:48 IncrementalCheckColumn must be a datetime column (such as CreatedOn, UpdatedOn, EditedOn); Id is integer at line 1, column 48.",
    );
    expect(
      bindError("REPLICATE Issues SELECT Id FROM Issues WITH IncrementalCheckColumn = [UpdatedOn]"),
    ).toBe(
      "1:70 IncrementalCheckColumn UpdatedOn must be selected; add it to the select list at line 1, column 70.",
    );
    const sql =
      "REPLICATE Issues SELECT Id, CreatedOn AS Opened FROM Issues WITH IncrementalCheckColumn = createdon";
    const bound = bindReplicate(sql, parseReplicate(sql));
    expect(bound.incrementalColumn?.destinationName).toBe("opened");
    expect(bound.incrementalColumn?.sourceColumn).toBe("CreatedOn");
  });

  it("prefix and schema shape the destination table", () => {
    const sql = "REPLICATE [PullRequests] WITH TableNamePrefix = 'bb_', DestinationSchema = 'bitbucket'";
    const bound = bindReplicate(sql, parseReplicate(sql));
    expect(bound.destination).toEqual({ schema: "bitbucket", name: "bb_pull_requests" });
  });
});

describe("REPLICATE validation against the catalog", () => {
  it("unknown table and column carry position and suggestion", () => {
    expect(bindError("REPLICATE [Isues]")).toBe(
      "1:11 Unknown table Isues at line 1, column 11. Did you mean Issues?",
    );
    expect(bindError("REPLICATE Issues SELECT Title,\n  ContentRwa FROM Issues")).toBe(
      "2:3 Unknown column ContentRwa in Issues at line 2, column 3. Did you mean ContentRaw?",
    );
    expect(bindError("REPLICATE Issues SELECT Title FROM Issues WHERE Stat = 'new'")).toBe(
      "1:49 Unknown column Stat in Issues at line 1, column 49. Did you mean State?",
    );
  });

  it("an expression without alias asks for a name", () => {
    const message = bindError("REPLICATE Issues SELECT Id, Votes + 1 FROM Issues");
    expect(message).toBe(
      "1:29 This expression needs a destination column name (give the expression a name with AS) at line 1, column 29.",
    );
  });

  it("destination column names are unique, case-insensitively and after snake_case", () => {
    expect(bindError("REPLICATE Issues SELECT Title, [TITLE] FROM Issues")).toBe(
      "1:32 Duplicate destination column title: Title is selected twice (first at line 1, column 25); rename one with AS at line 1, column 32.",
    );
    expect(bindError("REPLICATE Issues SELECT ContentRaw, Title AS content_raw FROM Issues")).toBe(
      "1:46 Duplicate destination column content_raw: content_raw and ContentRaw (at line 1, column 25) both become content_raw; rename one with AS at line 1, column 46.",
    );
    expect(bindError("REPLICATE Issues SELECT *, Id FROM Issues")).toMatch(
      /^1:28 Duplicate destination column id: Id is selected twice \(first at line 1, column 25\)/,
    );
    const sql = "REPLICATE Issues SELECT Title, Title AS Title2 FROM Issues";
    expect(bindReplicate(sql, parseReplicate(sql)).columns.map((c) => c.destinationName)).toEqual([
      "title",
      "title2",
    ]);
  });

  it("destination names must be usable in PostgreSQL", () => {
    // A leading digit gets a letter in front rather than an error (PostgreSQL and Salesforce need one).
    const digits = "REPLICATE [9Lives] SELECT Id AS [2nd] FROM Issues";
    const bound = bindReplicate(digits, parseReplicate(digits));
    expect(bound.destination.name).toBe("c_9_lives");
    expect(bound.columns.map((c) => c.destinationName)).toEqual(["c_2nd"]);
    expect(bindError("REPLICATE Issues SELECT Id AS [--] FROM Issues")).toBe(
      "1:31 Destination column name -- has no letters or digits; rename it with AS at line 1, column 31.",
    );
    const long = `${"A".repeat(30)}${"B".repeat(30)}Cc`;
    expect(bindError(`REPLICATE Issues SELECT Id AS [${long}x] FROM Issues`)).toMatch(
      /^1:31 Destination column name A+B+Ccx is longer than PostgreSQL's 63 bytes/,
    );
  });

  it("the preserve naming policy keeps names as written", () => {
    const sql = "REPLICATE [Issues] SELECT [ContentRaw] AS [Body Text] FROM Issues";
    const bound = bindReplicate(sql, parseReplicate(sql), { naming: "source" });
    expect(bound.destination.name).toBe("Issues");
    expect(bound.columns.map((c) => c.destinationName)).toEqual(["Body Text"]);
  });

  it("rejects parameters and system tables", () => {
    expect(bindError("REPLICATE Issues SELECT Id FROM Issues WHERE Id > @since")).toBe(
      "1:51 Parameters are not allowed in REPLICATE (replication runs unattended); write the value at line 1, column 51.",
    );
    expect(bindError("REPLICATE [T] FROM sys_tables")).toMatch(
      /^1:20 sys_tables is a system table; only Bitbucket tables can be replicated/,
    );
  });

  it("errors are BitbridgeErrors with positions in details", () => {
    try {
      bindReplicate(
        "REPLICATE Issues SELECT Nope FROM Issues",
        parseReplicate("REPLICATE Issues SELECT Nope FROM Issues"),
      );
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(BitbridgeError);
      expect((error as BitbridgeError).details).toMatchObject({ line: 1, column: 25 });
    }
  });
});

describe("REPLICATE scripts", () => {
  const script = [
    "-- pull requests and their titles",
    "REPLICATE [PullRequests];",
    "",
    "/* issues, filtered */",
    "REPLICATE [Issues] SELECT [Title], [ContentRaw] FROM [Issues] WHERE [Id] = 1",
    "  WITH BatchSize = 100;;",
    "REPLICATE [Commits] WITH DeletePolicy = 'ignore'",
  ].join("\n");

  it("splits statements on ';', skipping comments and empty statements", () => {
    const statements = parseReplicateScript(script);
    expect(statements.map((s) => s.destination.name)).toEqual(["PullRequests", "Issues", "Commits"]);
    expect(statements.map((s) => script.slice(s.span.start, s.span.end))).toEqual([
      "REPLICATE [PullRequests]",
      "REPLICATE [Issues] SELECT [Title], [ContentRaw] FROM [Issues] WHERE [Id] = 1\n  WITH BatchSize = 100",
      "REPLICATE [Commits] WITH DeletePolicy = 'ignore'",
    ]);
    expect(statements[1]?.options.batchSize).toBe(100);
    expect(statements[2]?.options.deletePolicy).toBe("ignore");
    expect(bindReplicateScript(script).map((b) => b.destination.name)).toEqual([
      "pull_requests",
      "issues",
      "commits",
    ]);
    expect(parseReplicateScript("  -- nothing\n;")).toEqual([]);
  });

  it("an error in a later statement reports its line and column in the whole script", () => {
    const bad = `${script};\nREPLICATE [Tags]\n  WITH BatchSize = 0`;
    expect(failure(() => parseReplicateScript(bad))).toBe(
      "9:20 Invalid BatchSize 0: expected a whole number from 1 to 1,000,000 at line 9, column 20",
    );
    const unknownColumn = "REPLICATE Issues;\nREPLICATE Tags;\nREPLICATE Issues SELECT Titel FROM Issues";
    expect(failure(() => bindReplicateScript(unknownColumn))).toBe(
      "3:25 Unknown column Titel in Issues at line 3, column 25. Did you mean Title?",
    );
  });

  it("a missing ';' between statements says so", () => {
    expect(failure(() => parseReplicateScript("REPLICATE A\nREPLICATE B"))).toBe(
      "2:1 Expected ';' before the next statement at line 2, column 1, found 'REPLICATE'. End each REPLICATE statement with ;",
    );
    expect(failure(() => parseReplicateScript("REPLICATE A SELECT Id FROM Issues\nREPLICATE B"))).toBe(
      "2:1 Expected ';' before the next statement at line 2, column 1, found 'REPLICATE'. End each REPLICATE statement with ;",
    );
    expect(failure(() => parseReplicate("REPLICATE A; REPLICATE B"))).toBe(
      "1:14 Only one statement is allowed at line 1, column 14, found 'REPLICATE'. Run statements one at a time",
    );
  });
});

describe("destination names (the destination's naming, used by the binder)", () => {
  it.each([
    ["ContentRaw", "content_raw"],
    ["HTMLUrl", "html_url"],
    ["IsPRDraft", "is_pr_draft"],
    ["Id", "id"],
    ["URL", "url"],
    ["RepositoryUuid", "repository_uuid"],
    ["getHTTPResponseCode", "get_http_response_code"],
    ["Sha256Hash", "sha256_hash"],
    ["V2API", "v2_api"],
    ["Line2", "line2"],
    ["Pull Request Title", "pull_request_title"],
    ["already_snake", "already_snake"],
    ["Mixed__Under-Score", "mixed_under_score"],
    ["ÄrgerÜber", "ärger_über"],
    ["--", ""],
    ["2FA", "c_2_fa"],
  ])("%s → %s", (name, expected) => {
    expect(convertName(name)).toBe(expected);
  });
});

describe("formatReplicate", () => {
  const statements = [
    "REPLICATE [Issues]",
    "replicate Issues",
    "REPLICATE [Issues] SELECT [Title], [ContentRaw] FROM [Issues] WHERE [Id] = 1",
    "REPLICATE [Dest] FROM [Information].[Repositories] r",
    "REPLICATE [PrTitles] SELECT Id, Title AS PrTitle, CAST(Votes AS BIGINT) * 2 AS Score FROM PullRequests " +
      "WHERE State IN ('OPEN', 'MERGED') AND CreatedOn >= DATE '2025-01-01' GROUP BY Id, Title, Votes ORDER BY Id DESC",
    "REPLICATE [Issues] SELECT * FROM Issues WITH DropTable=true, AlterSchema=FALSE, ReplicateStartDate='2025-01-01', " +
      "ReplicateInterval=7, ReplicateIntervalUnit=days, IncrementalCheckColumn=[Updated'On], BatchSize=1000, " +
      "TableNamePrefix=bb_, DestinationSchema='bitbucket', DeletePolicy=hard",
  ];

  it("prints canonical text", () => {
    expect(statements.map((sql) => formatReplicate(parseReplicate(sql)))).toEqual([
      "REPLICATE [Issues]",
      "REPLICATE Issues",
      "REPLICATE [Issues] SELECT [Title], [ContentRaw] FROM [Issues] WHERE [Id] = 1",
      "REPLICATE [Dest] FROM [Information].[Repositories] AS r",
      "REPLICATE [PrTitles] SELECT Id, Title AS PrTitle, CAST(Votes AS BIGINT) * 2 AS Score FROM PullRequests " +
        "WHERE State IN ('OPEN', 'MERGED') AND CreatedOn >= DATE '2025-01-01' GROUP BY Id, Title, Votes ORDER BY Id DESC",
      "REPLICATE [Issues] SELECT * FROM Issues WITH DropTable=true, AlterSchema=false, ReplicateStartDate='2025-01-01', " +
        "ReplicateInterval=7, ReplicateIntervalUnit='days', IncrementalCheckColumn='Updated''On', BatchSize=1000, " +
        "TableNamePrefix='bb_', DestinationSchema='bitbucket', DeletePolicy='hard'",
    ]);
  });

  it.each(statements)("round-trips %s", (sql) => {
    const statement = parseReplicate(sql);
    const text = formatReplicate(statement);
    const again = parseReplicate(text);
    expect(shape(again)).toEqual(shape(statement));
    expect(formatReplicate(again)).toBe(text);
  });

  it("regenerates the text after an edit of the select list", () => {
    const statement = parseReplicate("REPLICATE [Issues] SELECT Title FROM Issues WITH BatchSize=10");
    const added = parseReplicate("REPLICATE x SELECT Id FROM t").select.columns;
    const edited: ReplicateStatement = {
      ...statement,
      select: { ...statement.select, columns: [...statement.select.columns, ...added] },
    };
    expect(formatReplicate(edited)).toBe("REPLICATE [Issues] SELECT Title, Id FROM Issues WITH BatchSize=10");
  });

  it("formats a script that parses back to the same statements", () => {
    const text = "REPLICATE A;\nREPLICATE B SELECT Id FROM Issues WITH BatchSize=5";
    const printed = formatReplicateScript(parseReplicateScript(text));
    expect(printed).toBe("REPLICATE A;\nREPLICATE B SELECT Id FROM Issues WITH BatchSize=5;\n");
    expect(parseReplicateScript(printed).map(shape)).toEqual(parseReplicateScript(text).map(shape));
  });
});
