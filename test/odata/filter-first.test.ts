import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { migrate } from "../../src/app/database.js";
import { readPage } from "../../src/odata/collection.js";
import { CredentialStore } from "../../src/odata/credentials.js";
import { parseQueryOptions } from "../../src/odata/parser/index.js";
import { createContainsIndexes, createSearchIndex } from "../../src/odata/search-index.js";
import { ODataService } from "../../src/odata/service.js";
import { ShareStore } from "../../src/odata/shares.js";
import { useTestDatabase } from "../support/postgres.js";
import { recordStatements } from "../support/recorded-pool.js";

const db = await useTestDatabase("odata-filter-first");
let data: pg.Pool;
let service: ODataService;
let auth: string;
let sent: string[] = [];
let shares: ShareStore;

beforeAll(async () => {
  await migrate(db.pool);
  // The matches cluster at the end of the key order, as one customer's pull requests cluster in one repository.
  await db.pool.query(`
    CREATE SCHEMA bb;
    CREATE TABLE bb.pull_requests (
      repo text NOT NULL, id integer NOT NULL, title text NOT NULL, author text NOT NULL,
      bb_deleted_at timestamptz, PRIMARY KEY (repo, id));
    INSERT INTO bb.pull_requests (repo, id, title, author)
    SELECT 'repo-' || lpad((n / 500)::text, 3, '0'), n,
           CASE WHEN n > 9400 AND n % 3 = 0 THEN 'Acme rollout ' || n ELSE 'Refactor ' || n END,
           CASE WHEN n % 1000 = 7 THEN 'Acme bot' ELSE 'dev ' || (n % 13) END
    FROM generate_series(1, 10000) AS n;
    ANALYZE bb.pull_requests;`);
  data = new pg.Pool({ connectionString: db.url, options: "-c TimeZone=UTC" });
  sent = recordStatements(data);
  shares = new ShareStore(db.pool, data);
  const admin = await db.pool.connect();
  try {
    const set = await shares.share("bb", "pull_requests", undefined, admin);
    await createSearchIndex(admin, set);
    await createContainsIndexes(admin, set, ["title", "author"]);
  } finally {
    admin.release();
  }
  const issued = await new CredentialStore(db.pool).create("searcher");
  auth = `Basic ${Buffer.from(`${issued.username}:${issued.password}`).toString("base64")}`;
  service = new ODataService({
    app: db.pool,
    data,
    shares,
    tokenKey: Buffer.alloc(32, 3),
    baseUrl: "https://odata.example.com/odata/v4",
  });
});

afterAll(async () => {
  await data?.end();
});

beforeEach(() => {
  sent.length = 0;
});

async function body(path: string) {
  const response = await service.handle({
    method: "GET",
    url: `/odata/v4/${path}`,
    headers: { authorization: auth },
  });
  if (response.status !== 200) throw new Error(`${path}: ${response.status} ${response.body}`);
  return JSON.parse(response.body);
}

/** Every page from `url` on, following nextLink, at most 40 rows each. */
async function pageThrough(url: string): Promise<{ "@odata.count"?: number; value: unknown[] }[]> {
  const pages = [];
  for (let next: string | undefined = url; next; ) {
    const page = await service.handle({
      method: "GET",
      url: `/odata/v4/${next}`,
      headers: { authorization: auth, prefer: "odata.maxpagesize=40" },
    });
    const parsed = JSON.parse(page.body);
    pages.push(parsed);
    next = parsed["@odata.nextLink"]?.replace("https://odata.example.com/odata/v4/", "");
  }
  return pages;
}

const filterFirst = () => sent.filter((text) => text.includes("bb_matches")).length;
const rows = async (where: string, order = "repo, id") =>
  (await db.pool.query(`SELECT id, title FROM bb.pull_requests WHERE ${where} ORDER BY ${order}`)).rows;

describe("index-led searches with a count are read filter-first", () => {
  const ACME = "(strpos(title, 'Acme') > 0 OR strpos(author, 'Acme') > 0)";

  it("contains(...) eq true OR-ed over indexed properties: same rows, read after the count", async () => {
    const result = await body(
      "pull_requests?$select=id,title&$count=true&$filter=contains(title,'Acme') eq true or contains(author,'Acme') eq true&$top=25",
    );
    const expected = await rows(ACME);
    expect(result["@odata.count"]).toBe(expected.length);
    expect(result.value).toEqual(expected.slice(0, 25));
    expect(filterFirst()).toBe(1);
  });

  it("$search, descending order, $skip, and server paging through nextLink", async () => {
    const expected = await rows(ACME, "id DESC, repo, id");
    const skipped = await body(
      "pull_requests?$select=id,title&$count=true&$search=Acme&$orderby=id desc&$top=10&$skip=5",
    );
    expect(skipped.value).toEqual(expected.slice(5, 15));
    const pages = await pageThrough(
      "pull_requests?$select=id,title&$count=true&$search=Acme&$orderby=id desc",
    );
    for (const page of pages) expect(page["@odata.count"]).toBe(expected.length);
    expect(pages.flatMap((page) => page.value)).toEqual(expected);
    expect(filterFirst()).toBeGreaterThan(2);
  });

  it("not on a property without an index, or for a filter an index cannot lead", async () => {
    await body("pull_requests?$select=id&$count=true&$filter=contains(repo,'007')&$top=5");
    await body("pull_requests?$select=id&$count=true&$filter=contains(title,'Acme') or id lt 5&$top=5");
    await body("pull_requests?$select=id&$count=true&$search=NOT Acme&$top=5");
    expect(filterFirst()).toBe(0);
    // An AND needs one indexed side.
    const both = await body(
      "pull_requests?$select=id,title&$count=true&$filter=contains(title,'Acme') and id lt 9500&$top=5",
    );
    expect(both.value).toEqual((await rows("strpos(title, 'Acme') > 0 AND id < 9500")).slice(0, 5));
    expect(filterFirst()).toBe(1);
  });
});

describe("index-led searches without a count read a bounded number of matches first", () => {
  const bounded = () => sent.filter((text) => text.includes("bb_found"));

  it("the same rows as SQL, from one statement, while the matches stay under the bound", async () => {
    const result = await body(
      "pull_requests?$select=id,title&$filter=contains(title,'Acme') eq true or contains(author,'Acme') eq true&$orderby=id desc&$top=25&$skip=3",
    );
    expect(result.value).toEqual(
      (await rows("strpos(title, 'Acme') > 0 OR strpos(author, 'Acme') > 0", "id DESC, repo, id")).slice(
        3,
        28,
      ),
    );
    expect(bounded()).toHaveLength(1);
    expect(sent).toHaveLength(1);
    // Nothing to count, nothing to read first: a filter no index leads.
    await body("pull_requests?$select=id&$filter=contains(repo,'007')&$top=5");
    expect(bounded()).toHaveLength(1);
  });

  it("server paging through nextLink of a $search without a count: every page from one statement", async () => {
    const expected = await rows(
      "strpos(title, 'Acme') > 0 OR strpos(author, 'Acme') > 0",
      "id DESC, repo, id",
    );
    const pages = await pageThrough("pull_requests?$select=id,title&$search=Acme&$orderby=id desc");
    expect(pages.flatMap((page) => page.value)).toEqual(expected);
    expect(bounded()).toHaveLength(pages.length);
    expect(sent).toHaveLength(pages.length);
  });

  it("matches past the bound: the page is read PostgreSQL's way, with the same rows", async () => {
    const model = await shares.model();
    const set = model.entitySets.find((s) => s.name === "pull_requests");
    if (!set) throw new Error("pull_requests is not shared");
    const read = (query: string, filterFirstMaxRows: number) =>
      readPage(data, {
        set,
        options: parseQueryOptions(query),
        pageSize: 100,
        ieee754: false,
        filterFirstMaxRows,
      });
    const query = "$select=id,title&$filter=contains(title,'Acme')&$top=30";
    const expected = (await rows("strpos(title, 'Acme') > 0")).slice(0, 30);
    sent.length = 0;
    const within = await read(query, 1000);
    expect(within.rows.map((r) => JSON.parse(r))).toEqual(expected);
    expect(sent).toHaveLength(1);
    sent.length = 0;
    // 200 matches, a bound of 50: the first statement finds more than 50, the second reads the page.
    const past = await read(query, 50);
    expect(past.rows.map((r) => JSON.parse(r))).toEqual(expected);
    expect(sent).toHaveLength(2);
    expect(sent[0]).toContain("bb_found");
    expect(sent[1]).not.toContain("bb_matches");
    sent.length = 0;
    // Skipped past every match: no row either way.
    const beyond = await read(`${query}&$skip=500`, 50);
    expect(beyond.rows).toEqual([]);
    expect(sent).toHaveLength(2);
  });
});
