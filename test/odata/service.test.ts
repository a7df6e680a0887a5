import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "../../src/app/database.js";
import { ExpressionCompiler, SqlParams } from "../../src/odata/compile.js";
import { Authenticator, CredentialStore } from "../../src/odata/credentials.js";
import { parseFilter } from "../../src/odata/parser/expression.js";
import { READER_ROLE, readAsReader } from "../../src/odata/reader-role.js";
import { createContainsIndexes, createSearchIndex } from "../../src/odata/search-index.js";
import { type ODataResponse, ODataService } from "../../src/odata/service.js";
import { ShareStore } from "../../src/odata/shares.js";
import { type RunningHttpServer, startHttpServer } from "../../src/server/http.js";
import { useTestDatabase } from "../support/postgres.js";

const db = await useTestDatabase("odata-service");
const ROWS = 3000;
let data: pg.Pool;
let service: ODataService;
let auth: string;
let http: RunningHttpServer;

beforeAll(async () => {
  await migrate(db.pool);
  await db.pool.query(`
    CREATE SCHEMA bb;
    CREATE TABLE bb.pull_requests (
      repository_uuid text NOT NULL,
      id integer NOT NULL,
      title text NOT NULL,
      state text NOT NULL,
      comment_count integer,
      amount numeric(12, 2),
      created_on timestamptz NOT NULL,
      merged boolean,
      participants jsonb,
      bb_synced_at timestamptz NOT NULL DEFAULT now(),
      bb_deleted_at timestamptz,
      PRIMARY KEY (repository_uuid, id)
    );
    INSERT INTO bb.pull_requests (repository_uuid, id, title, state, comment_count, amount, created_on, merged, participants, bb_deleted_at)
    SELECT '{repo-' || (n % 3) || '}', n,
           CASE WHEN n % 7 = 0 THEN 'Fix Acme login ' || n WHEN n % 11 = 0 THEN 'It''s 100% done ' || n ELSE 'Change ' || n END,
           (ARRAY['OPEN', 'MERGED', 'DECLINED'])[1 + n % 3],
           CASE WHEN n % 5 = 0 THEN NULL ELSE n % 9 END,
           (n * 1.25)::numeric(12, 2),
           timestamptz '2026-01-01 00:00:00+00' + make_interval(mins => n * 37),
           CASE WHEN n % 4 = 0 THEN NULL ELSE n % 2 = 0 END,
           jsonb_build_array('u' || n),
           CASE WHEN n % 97 = 0 THEN now() END
    FROM generate_series(1, ${ROWS}) AS n;
    CREATE TABLE bb.secret_stuff (id integer PRIMARY KEY, token text);
    INSERT INTO bb.secret_stuff VALUES (1, 'do-not-leak');
  `);
  data = new pg.Pool({
    connectionString: db.url,
    options: "-c default_transaction_read_only=on -c TimeZone=UTC",
  });
  readAsReader(data);
  const shares = new ShareStore(db.pool, data);
  const admin = await db.pool.connect();
  try {
    const shared = await shares.share("bb", "pull_requests", undefined, admin);
    expect(shared.readerRole).toEqual({ granted: true });
  } finally {
    admin.release();
  }
  const issued = await new CredentialStore(db.pool).create("salesforce");
  auth = `Basic ${Buffer.from(`${issued.username}:${issued.password}`).toString("base64")}`;
  service = new ODataService({
    app: db.pool,
    data,
    shares,
    tokenKey: Buffer.alloc(32, 7),
    baseUrl: "https://odata.example.com/odata/v4",
    credentialTtlMs: 0,
  });
  http = await startHttpServer({ odata: service, port: 0 });
});

afterAll(async () => {
  await http?.close();
  await data?.end();
});

async function get(path: string, headers: Record<string, string> = {}): Promise<ODataResponse> {
  return service.handle({
    method: "GET",
    url: `/odata/v4/${path}`,
    headers: { authorization: auth, ...headers },
  });
}

async function body(path: string, headers: Record<string, string> = {}) {
  const response = await get(path, headers);
  if (response.status !== 200) throw new Error(`${path}: ${response.status} ${response.body}`);
  return JSON.parse(response.body);
}

const LIVE = "bb_deleted_at IS NULL";
const sql = async (text: string, values: unknown[] = []) => (await db.pool.query(text, values)).rows;
const keyOf = (r: { repository_uuid: string; id: number }) => `${r.repository_uuid}/${r.id}`;

describe("Salesforce Connect request shapes, checked against SQL", () => {
  it("select with count and top: the count after filters, before paging; rows in key order", async () => {
    const result = await body("pull_requests?$select=title,state&$count=true&$top=25");
    const [{ n }] = await sql(`SELECT count(*)::int AS n FROM bb.pull_requests WHERE ${LIVE}`);
    expect(result["@odata.count"]).toBe(n);
    expect(result["@odata.context"]).toBe(
      "https://odata.example.com/odata/v4/$metadata#pull_requests(title,state)",
    );
    const expected = await sql(
      `SELECT title, state FROM bb.pull_requests WHERE ${LIVE} ORDER BY repository_uuid, id LIMIT 25`,
    );
    expect(result.value).toEqual(expected);
    expect(result["@odata.nextLink"]).toBeUndefined();
  });

  it("filter with order and top", async () => {
    const result = await body(
      "pull_requests?$filter=state eq 'OPEN' and comment_count ge 3&$orderby=created_on desc&$top=10&$select=id,created_on,comment_count",
    );
    const expected = await sql(
      `SELECT id, to_char(created_on AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_on, comment_count
       FROM bb.pull_requests WHERE ${LIVE} AND state = 'OPEN' AND comment_count >= 3
       ORDER BY created_on DESC, repository_uuid, id LIMIT 10`,
    );
    expect(result.value).toEqual(expected);
  });

  it("search as contains(...) eq true, OR-ed over text properties, and as $search", async () => {
    const shaped = await body(
      "pull_requests?$select=id,title&$count=true&$filter=contains(title,'Acme') eq true or contains(state,'Acme') eq true&$top=25",
    );
    const expected = await sql(
      `SELECT id, title FROM bb.pull_requests WHERE ${LIVE} AND (strpos(title, 'Acme') > 0 OR strpos(state, 'Acme') > 0) ORDER BY repository_uuid, id`,
    );
    expect(shaped["@odata.count"]).toBe(expected.length);
    expect(shaped.value).toEqual(expected.slice(0, 25));
    const searched = await body("pull_requests?$select=id,title&$count=true&$search=Acme&$top=25");
    expect(searched["@odata.count"]).toBe(expected.length);
    expect(searched.value).toEqual(expected.slice(0, 25));
  });

  it("client paging with top/skip in batches of 500 returns every live row once", async () => {
    const seen: string[] = [];
    for (let skip = 0; ; skip += 500) {
      const page = await body(`pull_requests?$select=repository_uuid,id&$top=500&$skip=${skip}&$count=true`);
      seen.push(...page.value.map(keyOf));
      if (page.value.length < 500) break;
    }
    const expected = (
      await sql(`SELECT repository_uuid, id FROM bb.pull_requests WHERE ${LIVE} ORDER BY 1, 2`)
    ).map(keyOf);
    expect(seen).toEqual(expected);
  });

  it("server paging: pages of at most 2,000 rows and an absolute nextLink keeping every option", async () => {
    const seen: string[] = [];
    let url: string | undefined =
      "pull_requests?$select=repository_uuid,id&$filter=id gt 10&$orderby=state desc";
    let pages = 0;
    while (url) {
      const page = await body(url);
      expect(page.value.length).toBeLessThanOrEqual(2000);
      seen.push(...page.value.map(keyOf));
      pages++;
      const next: string | undefined = page["@odata.nextLink"];
      if (next) {
        expect(next.startsWith("https://odata.example.com/odata/v4/pull_requests?")).toBe(true);
        expect(decodeURIComponent(next)).toContain("$filter=id gt 10");
        expect(decodeURIComponent(next)).toContain("$orderby=state desc");
      }
      url = next?.replace("https://odata.example.com/odata/v4/", "");
    }
    const expected = (
      await sql(
        `SELECT repository_uuid, id FROM bb.pull_requests WHERE ${LIVE} AND id > 10 ORDER BY state DESC, repository_uuid, id`,
      )
    ).map(keyOf);
    expect(pages).toBe(Math.ceil(expected.length / 2000));
    expect(seen).toEqual(expected);
  });

  it("Prefer: odata.maxpagesize pages smaller, over a nullable sort key, with no row lost or repeated", async () => {
    const seen: string[] = [];
    let url: string | undefined =
      "pull_requests?$select=repository_uuid,id&$orderby=merged desc,comment_count";
    while (url) {
      const response = await get(url, { prefer: "odata.maxpagesize=333" });
      expect(response.headers["preference-applied"]).toBe("odata.maxpagesize=333");
      const page = JSON.parse(response.body);
      expect(page.value.length).toBeLessThanOrEqual(333);
      seen.push(...page.value.map(keyOf));
      url = page["@odata.nextLink"]?.replace("https://odata.example.com/odata/v4/", "");
    }
    const expected = (
      await sql(
        `SELECT repository_uuid, id FROM bb.pull_requests WHERE ${LIVE}
         ORDER BY merged DESC NULLS LAST, comment_count ASC NULLS FIRST, repository_uuid, id`,
      )
    ).map(keyOf);
    expect(seen).toEqual(expected);
  });

  it("key lookup, composite key; a missing key is a 404 OData error", async () => {
    const entity = await body("pull_requests(repository_uuid='{repo-1}',id=4)");
    expect(entity).toMatchObject({
      id: 4,
      repository_uuid: "{repo-1}",
      state: "MERGED",
      amount: 5,
      participants: '["u4"]',
    });
    expect(entity["@odata.context"]).toBe(
      "https://odata.example.com/odata/v4/$metadata#pull_requests/$entity",
    );
    const title = await body("pull_requests(repository_uuid='{repo-1}',id=4)/title");
    expect(title).toEqual({
      "@odata.context":
        "https://odata.example.com/odata/v4/$metadata#pull_requests(repository_uuid='%7Brepo-1%7D',id=4)/title",
      value: "Change 4",
    });
    const raw = await get("pull_requests(repository_uuid='{repo-1}',id=4)/title/$value");
    expect([raw.status, raw.body]).toEqual([200, "Change 4"]);
    expect((await get("pull_requests(repository_uuid='{repo-1}',id=4)/nope")).status).toBe(404);
    const missing = await get("pull_requests(repository_uuid='{repo-1}',id=999999)");
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body).error.code).toBe("NotFound");
  });

  it("$count=false and /$count", async () => {
    const result = await body("pull_requests?$count=false&$top=1");
    expect(result["@odata.count"]).toBeUndefined();
    const counted = await get("pull_requests/$count?$filter=state eq 'MERGED'");
    const [{ n }] = await sql(
      `SELECT count(*)::int AS n FROM bb.pull_requests WHERE ${LIVE} AND state = 'MERGED'`,
    );
    expect(counted.body).toBe(String(n));
  });
});

describe("OData semantics", () => {
  it("not, ne and comparisons treat null as OData does (two-valued)", async () => {
    const notGt = await body("pull_requests?$count=true&$top=0&$filter=not (comment_count gt 5)");
    const [{ n }] = await sql(
      `SELECT count(*)::int AS n FROM bb.pull_requests WHERE ${LIVE} AND (comment_count <= 5 OR comment_count IS NULL)`,
    );
    expect(notGt["@odata.count"]).toBe(n);
    const ne = await body("pull_requests?$count=true&$top=0&$filter=merged ne true");
    const [{ m }] = await sql(
      `SELECT count(*)::int AS m FROM bb.pull_requests WHERE ${LIVE} AND merged IS DISTINCT FROM true`,
    );
    expect(ne["@odata.count"]).toBe(m);
    const isNull = await body("pull_requests?$count=true&$top=0&$filter=comment_count eq null");
    const [{ z }] = await sql(
      `SELECT count(*)::int AS z FROM bb.pull_requests WHERE ${LIVE} AND comment_count IS NULL`,
    );
    expect(isNull["@odata.count"]).toBe(z);
  });

  it("IEEE754Compatible and odata.metadata=full|none", async () => {
    const strict = await body("pull_requests?$select=id,amount&$top=1&$count=true", {
      accept: "application/json;odata.metadata=full;IEEE754Compatible=true",
    });
    expect(strict["@odata.count"]).toMatch(/^\d+$/);
    expect(strict.value[0]).toMatchObject({
      amount: "3.75",
      "@odata.id": expect.stringContaining("pull_requests("),
    });
    const none = await body("pull_requests?$top=1&$format=application/json;odata.metadata=none");
    expect(none["@odata.context"]).toBeUndefined();
  });

  it("bad requests are OData JSON errors: 400 for grammar and types, 501 for what is not implemented", async () => {
    for (const [path, status] of [
      ["pull_requests?$filter=title eq", 400],
      ["pull_requests?$filter=title eq 5", 400],
      ["pull_requests?$filter=nope eq 1", 400],
      ["pull_requests?$expand=x", 501],
      ["pull_requests?$select=id&$select=title", 400],
      ["nothing_here", 404],
      ["secret_stuff", 404],
      ["secret_stuff(1)", 404],
    ] as const) {
      const response = await get(path);
      expect(response.status, path).toBe(status);
      expect(response.headers["content-type"], path).toMatch(/^application\/json/);
      expect(JSON.parse(response.body).error.message, path).toEqual(expect.any(String));
      expect(response.body).not.toContain("do-not-leak");
    }
  });
});

describe("$search index", () => {
  it("--search-index builds a GIN index on exactly the document $search queries, and the planner uses it", async () => {
    const shares = new ShareStore(db.pool, data);
    const set = (await shares.model()).entitySets.find((s) => s.name === "pull_requests");
    if (!set) throw new Error("not shared");
    const admin = await db.pool.connect();
    try {
      const index = await createSearchIndex(admin, set);
      expect(index).toMatch(/^bb_search_/);
      const params = new SqlParams();
      const where = new ExpressionCompiler(set, params).search({
        kind: "term",
        value: "Acme",
        phrase: false,
      });
      await admin.query("SET enable_seqscan = off");
      const plan = await admin.query(`EXPLAIN SELECT id FROM bb.pull_requests WHERE ${where}`, params.values);
      expect(plan.rows.map((r) => r["QUERY PLAN"]).join("\n")).toContain(index);
      await admin.query("RESET enable_seqscan");
    } finally {
      admin.release();
    }
  });
});

describe("contains, startswith and endswith", () => {
  it("match the needle literally: LIKE's wildcards and escape character in it are plain text", async () => {
    const cases: [string, string, unknown[]][] = [
      ["contains(title,'100%')", "strpos(title, $1) > 0", ["100%"]],
      ["contains(title,'% d')", "strpos(title, $1) > 0", ["% d"]],
      ["contains(title,'_')", "strpos(title, $1) > 0", ["_"]],
      ["contains(title,'\\')", "strpos(title, $1) > 0", ["\\"]],
      ["contains(title,'') and id lt 5", "id < 5", []],
      ["startswith(title,'It''s 100%')", "starts_with(title, $1)", ["It's 100%"]],
      ["endswith(title,'% done 22')", "right(title, 9) = $1", ["% done 22"]],
      ["not contains(title,'Acme') and id lt 1500", "strpos(title, 'Acme') = 0 AND id < 1500", []],
      ["contains(state,'PEN') eq true and id lt 1500", "strpos(state, 'PEN') > 0 AND id < 1500", []],
    ];
    for (const [filter, where, values] of cases) {
      const result = await body(`pull_requests?$select=id&$filter=${encodeURIComponent(filter)}&$top=2000`);
      const expected = await sql(
        `SELECT id FROM bb.pull_requests WHERE ${LIVE} AND ${where} ORDER BY repository_uuid, id`,
        values,
      );
      expect(result.value, filter).toEqual(expected);
    }
    // Unescaped, '_' and '%' would have matched every row.
    expect((await body("pull_requests?$count=true&$top=0&$filter=contains(title,'_')"))["@odata.count"]).toBe(
      0,
    );
  });

  it("--contains-index builds trigram indexes the planner uses for them", async () => {
    const shares = new ShareStore(db.pool, data);
    const set = (await shares.model()).entitySets.find((s) => s.name === "pull_requests");
    if (!set) throw new Error("not shared");
    const admin = await db.pool.connect();
    try {
      const [index] = await createContainsIndexes(admin, set, ["title"]);
      expect(index).toMatch(/^bb_trgm_/);
      await expect(createContainsIndexes(admin, set, ["comment_count"])).rejects.toThrow(
        /no string property comment_count/,
      );
      await admin.query("SET enable_seqscan = off");
      for (const filter of [
        "contains(title,'Acme') eq true",
        "startswith(title,'Fix')",
        "endswith(title,'done 22')",
      ]) {
        const params = new SqlParams();
        const where = new ExpressionCompiler(set, params).filter(parseFilter(filter));
        const plan = await admin.query(
          `EXPLAIN SELECT id FROM bb.pull_requests WHERE ${where}`,
          params.values,
        );
        expect(plan.rows.map((r) => r["QUERY PLAN"]).join("\n"), filter).toContain(index);
      }
      await admin.query("RESET enable_seqscan");
    } finally {
      admin.release();
    }
  });
});

describe("the service's database sessions", () => {
  it("take the read-only reader role: shared tables are readable, others are not, nothing is writable", async () => {
    const client = await data.connect();
    try {
      expect((await client.query("SELECT current_user AS u")).rows[0].u).toBe(READER_ROLE);
      expect((await client.query("SELECT count(*)::int AS n FROM bb.pull_requests")).rows[0].n).toBe(ROWS);
      await expect(client.query("SELECT * FROM bb.secret_stuff")).rejects.toMatchObject({ code: "42501" });
      await expect(client.query("DELETE FROM bb.pull_requests")).rejects.toMatchObject({ code: "25006" });
    } finally {
      client.release();
    }
  });
});

describe("the model", () => {
  it("is checked once for requests arriving together, and a share change is seen after invalidate", async () => {
    const shares = new ShareStore(db.pool, data);
    let checks = 0;
    const version = shares.version.bind(shares);
    shares.version = async () => {
      checks++;
      return version();
    };
    const fresh = new ODataService({
      app: db.pool,
      data,
      shares,
      tokenKey: Buffer.alloc(32, 7),
      modelTtlMs: 200,
    });
    const request = () =>
      fresh.handle({
        method: "GET",
        url: "/odata/v4/pull_requests?$top=1",
        headers: { authorization: auth },
      });
    expect((await request()).status).toBe(200);
    expect(checks).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 250));
    // The model is due for a check: twelve requests at once send one.
    const answers = await Promise.all(Array.from({ length: 12 }, request));
    expect(answers.map((a) => a.status)).toEqual(Array(12).fill(200));
    expect(checks).toBe(2);
    fresh.invalidate();
    expect((await request()).status).toBe(200);
    expect(checks).toBe(3);
  });
});

describe("credentials and limits", () => {
  it("every request needs HTTP Basic, $metadata included; reset keeps the old password 10 minutes; revoke stops both", async () => {
    const anonymous = await service.handle({ method: "GET", url: "/odata/v4/$metadata", headers: {} });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers["www-authenticate"]).toMatch(/^Basic /);
    const store = new CredentialStore(db.pool);
    const first = await store.create("rotating");
    const basic = (password: string) => `Basic ${Buffer.from(`rotating:${password}`).toString("base64")}`;
    const as = (password: string) =>
      service.handle({ method: "GET", url: "/odata/v4/", headers: { authorization: basic(password) } });
    expect((await as(first.password)).status).toBe(200);
    expect((await as("wrong-password")).status).toBe(401);
    const second = await store.reset("rotating");
    expect((await as(first.password)).status).toBe(200);
    expect((await as(second.password)).status).toBe(200);
    await db.pool.query(
      "UPDATE bitbridge.odata_credentials SET previous_valid_until = now() - interval '1 second' WHERE username = 'rotating'",
    );
    expect((await as(first.password)).status).toBe(401);
    await store.revoke("rotating");
    expect((await as(second.password)).status).toBe(401);
    const stored = await sql(
      "SELECT password_hash FROM bitbridge.odata_credentials WHERE username = 'rotating'",
    );
    expect(stored[0].password_hash).not.toContain(second.password);
  });

  it("requests arriving together read their credential once, and again after its time to live", async () => {
    const app = new pg.Pool({ connectionString: db.url, max: 4 });
    let reads = 0;
    const query = app.query.bind(app);
    app.query = ((config: unknown, ...rest: unknown[]) => {
      if ((config as { name?: string }).name === "bitbridge-odata-credential") reads++;
      return (query as (...args: unknown[]) => unknown)(config, ...rest);
    }) as typeof app.query;
    const authenticator = new Authenticator(app, 200);
    const together = () => Promise.all(Array.from({ length: 12 }, () => authenticator.check(auth)));
    try {
      expect((await together()).map((user) => user?.username)).toEqual(Array(12).fill("salesforce"));
      expect(reads).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 250));
      expect((await together()).map((user) => user?.username)).toEqual(Array(12).fill("salesforce"));
      expect(reads).toBe(2);
    } finally {
      await app.end();
    }
  });

  it("a per-user hourly limit answers 429 with Retry-After", async () => {
    const limited = await new CredentialStore(db.pool).create("limited", 60);
    const headers = {
      authorization: `Basic ${Buffer.from(`limited:${limited.password}`).toString("base64")}`,
    };
    const statuses: number[] = [];
    for (let i = 0; i < 62; i++)
      statuses.push((await service.handle({ method: "GET", url: "/odata/v4/", headers })).status);
    expect(statuses.slice(0, 60).every((s) => s === 200)).toBe(true);
    const last = await service.handle({ method: "GET", url: "/odata/v4/", headers });
    expect(last.status).toBe(429);
    expect(Number(last.headers["retry-after"])).toBeGreaterThan(0);
  });

  it("serves over HTTP: JSON errors, never HTML, for any path; writes are refused", async () => {
    const root = await fetch(`${http.origin}/`, {});
    expect(root.status).toBe(404);
    expect(root.headers.get("content-type")).toMatch(/json/);
    const post = await fetch(`${http.origin}/odata/v4/pull_requests`, {
      method: "POST",
      headers: { authorization: auth },
      body: "{}",
    });
    expect(post.status).toBe(405);
    const metadata = await fetch(`${http.origin}/odata/v4/$metadata`, { headers: { authorization: auth } });
    expect(metadata.status).toBe(200);
    expect(metadata.headers.get("odata-version")).toBe("4.0");
    expect(await metadata.text()).toContain('<EntitySet Name="pull_requests"');
  });
});
