import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { migrate } from "../../src/app/database.js";
import { ensureTable } from "../../src/destination/postgres/index.js";
import { CHANGE_TRIGGER } from "../../src/odata/change-versions.js";
import { CredentialStore } from "../../src/odata/credentials.js";
import { READER_ROLE, readAsReader } from "../../src/odata/reader-role.js";
import { ODataService } from "../../src/odata/service.js";
import { ShareStore } from "../../src/odata/shares.js";
import { useTestDatabase } from "../support/postgres.js";
import { recordStatements } from "../support/recorded-pool.js";

const db = await useTestDatabase("odata-count-cache");
let data: pg.Pool;
let shares: ShareStore;
let service: ODataService;
let auth: string;
/** The text of every statement the service sent to the published database. */
let sent: string[] = [];

async function shareAsAdmin(schema: string, table: string) {
  const admin = await db.pool.connect();
  try {
    return await shares.share(schema, table, undefined, admin);
  } finally {
    admin.release();
  }
}

beforeAll(async () => {
  await migrate(db.pool);
  await db.pool.query(`
    CREATE SCHEMA bb;
    CREATE TABLE bb.commits (
      hash text PRIMARY KEY, author text NOT NULL, created_on timestamptz NOT NULL,
      bb_deleted_at timestamptz);
    INSERT INTO bb.commits (hash, author, created_on)
    SELECT md5(n::text), 'dev' || (n % 4), timestamptz '2026-01-01' + make_interval(hours => n)
    FROM generate_series(1, 500) AS n;
    CREATE VIEW bb.recent AS SELECT hash AS id, author FROM bb.commits;`);
  data = new pg.Pool({
    connectionString: db.url,
    options: "-c default_transaction_read_only=on -c TimeZone=UTC",
  });
  readAsReader(data);
  sent = recordStatements(data);
  shares = new ShareStore(db.pool, data);
  const shared = await shareAsAdmin("bb", "commits");
  expect(shared.changeTracking).toEqual({ installed: true });
  expect(shared.tracksChanges).toBe(true);
  const issued = await new CredentialStore(db.pool).create("counter");
  auth = `Basic ${Buffer.from(`${issued.username}:${issued.password}`).toString("base64")}`;
  service = new ODataService({
    app: db.pool,
    data,
    shares,
    tokenKey: Buffer.alloc(32, 1),
    baseUrl: "https://odata.example.com/odata/v4",
    modelTtlMs: 0,
  });
});

afterAll(async () => {
  await data?.end();
});

beforeEach(() => {
  sent.length = 0;
});

async function count(path: string): Promise<number> {
  const response = await service.handle({
    method: "GET",
    url: `/odata/v4/${path}`,
    headers: { authorization: auth },
  });
  if (response.status !== 200) throw new Error(`${path}: ${response.status} ${response.body}`);
  return path.includes("/$count") ? Number(response.body) : JSON.parse(response.body)["@odata.count"];
}

async function expected(where = "true"): Promise<number> {
  const result = await db.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM bb.commits WHERE bb_deleted_at IS NULL AND (${where})`,
  );
  return result.rows[0]?.n ?? -1;
}

const counted = () => sent.filter((text) => /count\(\*\)/.test(text)).length;
/** The statements that read the table (not the catalog reads that tell the service whether its model changed). */
const ofTable = () => sent.filter((text) => text.includes('"bb"."commits"') || text.includes("bb.commits"));

/** Every way of asking for this count: with a page, alone, and filtered. */
async function expectCountsEqualTable(): Promise<void> {
  expect(await count("commits?$select=hash&$count=true&$top=5")).toBe(await expected());
  expect(await count("commits/$count")).toBe(await expected());
  expect(await count("commits?$count=true&$top=1&$filter=author eq 'dev1'")).toBe(
    await expected("author = 'dev1'"),
  );
}

describe("counts remembered by change version", () => {
  it("a repeated count reads only the table's version while the table is unchanged", async () => {
    const first = await count("commits?$select=hash&$count=true&$top=5");
    expect(first).toBe(await expected());
    expect(counted()).toBe(1);
    sent.length = 0;
    expect(await count("commits?$select=hash&$count=true&$top=5")).toBe(first);
    expect(await count("commits?$select=hash&$count=true&$top=5")).toBe(first);
    expect(counted()).toBe(0);
    // A page reads the version in its own statement: one statement per request.
    expect(ofTable()).toHaveLength(2);
    expect(ofTable().every((text) => text.includes("version(to_regclass("))).toBe(true);
    // `/$count` has no page: it reads the version alone (the count is the one the pages remembered).
    sent.length = 0;
    expect(await count("commits/$count")).toBe(first);
    expect(await count("commits/$count")).toBe(first);
    expect(counted()).toBe(0);
    expect(sent.filter((text) => text.includes("version(to_regclass("))).toHaveLength(2);
  });

  it("requests arriving while the same count runs share it", async () => {
    await db.pool.query("INSERT INTO bb.commits (hash, author, created_on) VALUES ('s1', 'dev0', now())");
    sent.length = 0;
    const path = "commits?$count=true&$top=2&$filter=author ne 'nobody'";
    const answers = await Promise.all(Array.from({ length: 10 }, () => count(path)));
    expect(new Set(answers)).toEqual(new Set([await expected("author <> 'nobody'")]));
    expect(counted()).toBe(1);
  });

  it("counts again after every kind of committed change, from any connection", async () => {
    const writer = await db.connect();
    try {
      await expectCountsEqualTable();
      await writer.query(
        "INSERT INTO bb.commits (hash, author, created_on) VALUES ('x1', 'dev1', now()), ('x2', 'dev2', now())",
      );
      await expectCountsEqualTable();
      await writer.query(
        "UPDATE bb.commits SET bb_deleted_at = now() WHERE hash IN (SELECT hash FROM bb.commits WHERE author = 'dev1' LIMIT 3)",
      );
      await expectCountsEqualTable();
      await writer.query("DELETE FROM bb.commits WHERE author = 'dev2' AND created_on < '2026-01-05'");
      await expectCountsEqualTable();
      await pipeline(
        Readable.from(["c1\tdev1\t2026-02-01T00:00:00Z\t\\N\n", "c2\tdev3\t2026-02-01T00:00:00Z\t\\N\n"]),
        writer.query(copyFrom("COPY bb.commits (hash, author, created_on, bb_deleted_at) FROM STDIN")),
      );
      await expectCountsEqualTable();
      // Logical replication and some restore tools write with triggers off; this one is ENABLE ALWAYS.
      await writer.query("SET session_replication_role = replica");
      await writer.query("DELETE FROM bb.commits WHERE hash = 'c1'");
      await writer.query("RESET session_replication_role");
      await expectCountsEqualTable();
      await writer.query("BEGIN");
      await writer.query("CREATE TEMP TABLE keep ON COMMIT DROP AS SELECT * FROM bb.commits");
      await writer.query("TRUNCATE bb.commits");
      await writer.query("COMMIT");
      await expectCountsEqualTable();
      expect(await expected()).toBe(0);
      await writer.query(
        "INSERT INTO bb.commits (hash, author, created_on) SELECT md5(n::text), 'dev' || (n % 4), now() FROM generate_series(1, 300) n",
      );
      await expectCountsEqualTable();
    } finally {
      await writer.end();
    }
  });

  it("changes not yet committed, or rolled back, leave the remembered count as it is", async () => {
    const writer = await db.connect();
    try {
      const before = await count("commits/$count");
      await writer.query("BEGIN");
      await writer.query("INSERT INTO bb.commits (hash, author, created_on) VALUES ('open1', 'dev1', now())");
      sent.length = 0;
      expect(await count("commits/$count")).toBe(before);
      expect(counted()).toBe(0);
      await writer.query("ROLLBACK");
      expect(await count("commits/$count")).toBe(before);
      expect(counted()).toBe(0);
      await writer.query("BEGIN");
      await writer.query("INSERT INTO bb.commits (hash, author, created_on) VALUES ('open2', 'dev1', now())");
      expect(await count("commits/$count")).toBe(before);
      await writer.query("COMMIT");
      expect(await count("commits/$count")).toBe(before + 1);
      expect(counted()).toBe(1);
    } finally {
      await writer.end();
    }
  });

  it("a count that depends on the time (now()) is counted every time", async () => {
    const path = "commits?$count=true&$top=1&$filter=created_on lt now()";
    expect(await count(path)).toBe(await expected("created_on < now()"));
    expect(await count(path)).toBe(await expected("created_on < now()"));
    expect(counted()).toBe(2);
  });

  it("a disabled trigger, a table recreated or the versions dropped: counted plainly, still exact", async () => {
    await expectCountsEqualTable();
    await db.pool.query(`ALTER TABLE bb.commits DISABLE TRIGGER ${CHANGE_TRIGGER}`);
    await db.pool.query("INSERT INTO bb.commits (hash, author, created_on) VALUES ('d1', 'dev1', now())");
    await expectCountsEqualTable();
    sent.length = 0;
    await count("commits/$count");
    await count("commits/$count");
    expect(counted()).toBe(2);

    // Sharing again installs it afresh; a version after that is above any earlier one.
    expect((await shareAsAdmin("bb", "commits")).changeTracking).toEqual({ installed: true });
    await expectCountsEqualTable();
    await db.pool.query("INSERT INTO bb.commits (hash, author, created_on) VALUES ('d2', 'dev1', now())");
    await expectCountsEqualTable();

    // Dropped and created again under the same name (as REPLICATE ... WITH DropTable does): no trigger yet.
    await db.pool.query(`
      ALTER TABLE bb.commits RENAME TO commits_old;
      CREATE TABLE bb.commits (LIKE bb.commits_old INCLUDING ALL);
      INSERT INTO bb.commits SELECT * FROM bb.commits_old WHERE author = 'dev3';
      DROP TABLE bb.commits_old CASCADE;
      GRANT SELECT ON bb.commits TO ${READER_ROLE};
      CREATE OR REPLACE VIEW bb.recent AS SELECT hash AS id, author FROM bb.commits;`);
    await expectCountsEqualTable();
    expect((await shareAsAdmin("bb", "commits")).changeTracking).toEqual({ installed: true });
    await expectCountsEqualTable();

    await db.pool.query("DROP SCHEMA bitbridge_changes CASCADE");
    await db.pool.query("INSERT INTO bb.commits (hash, author, created_on) VALUES ('d3', 'dev2', now())");
    await expectCountsEqualTable();
    expect((await shareAsAdmin("bb", "commits")).changeTracking).toEqual({ installed: true });
  });

  it("views are shared without tracking; unsharing a table removes its trigger", async () => {
    const view = await shareAsAdmin("bb", "recent");
    expect(view.changeTracking?.installed).toBe(false);
    expect(view.tracksChanges).toBe(false);
    const admin = await db.pool.connect();
    try {
      await shares.unshare("bb", "commits", admin);
    } finally {
      admin.release();
    }
    const triggers = await db.pool.query(
      "SELECT 1 FROM pg_trigger WHERE tgrelid = 'bb.commits'::regclass AND tgname = $1",
      [CHANGE_TRIGGER],
    );
    expect(triggers.rowCount).toBe(0);
  });

  it("a table recreated by a DropTable load stays readable and tracked, and its new columns are published", async () => {
    const target = {
      schema: "bb",
      table: "Pulls",
      columns: [
        { name: "Id", type: "integer" as const },
        { name: "State", type: "string" as const },
      ],
      primaryKey: ["Id"],
    };
    const admin = await db.pool.connect();
    try {
      await ensureTable(admin, target);
      await admin.query("INSERT INTO bb.pulls (id, state) SELECT n, 'OPEN' FROM generate_series(1, 30) n");
      await shares.share("bb", "pulls", undefined, admin);
    } finally {
      admin.release();
    }
    expect(await count("pulls/$count")).toBe(30);

    const recreating = await db.pool.connect();
    try {
      const recreated = await ensureTable(recreating, {
        ...target,
        columns: [...target.columns, { name: "Title", type: "string" as const }],
        options: { dropTable: true },
      });
      expect(recreated.lost).toEqual([]);
      await recreating.query(
        "INSERT INTO bb.pulls (id, state, title) SELECT n, 'MERGED', 't' || n FROM generate_series(1, 12) n",
      );
    } finally {
      recreating.release();
    }
    sent.length = 0;
    expect(await count("pulls/$count")).toBe(12);
    expect(await count("pulls/$count")).toBe(12);
    expect(counted()).toBe(1);
    const page = await service.handle({
      method: "GET",
      url: "/odata/v4/pulls?$filter=title eq 't3'&$select=id,title",
      headers: { authorization: auth },
    });
    expect(page.status, page.body).toBe(200);
    expect(JSON.parse(page.body).value).toEqual([{ id: 3, title: "t3" }]);
  });
});
