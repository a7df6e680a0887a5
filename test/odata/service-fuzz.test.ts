import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { migrate } from "../../src/app/database.js";
import { CredentialStore } from "../../src/odata/credentials.js";
import { ODataService } from "../../src/odata/service.js";
import { ShareStore } from "../../src/odata/shares.js";
import { useTestDatabase } from "../support/postgres.js";

const db = await useTestDatabase("odata-fuzz");
let data: pg.Pool;
let service: ODataService;
let auth: string;

beforeAll(async () => {
  await migrate(db.pool);
  await db.pool.query(`
    CREATE SCHEMA bb;
    CREATE TABLE bb.pull_requests (
      repository_uuid text NOT NULL, id integer NOT NULL, title text, state text, votes integer,
      amount numeric(10, 2), created_on timestamptz, merged boolean, labels jsonb, day date,
      PRIMARY KEY (repository_uuid, id));
    INSERT INTO bb.pull_requests
    SELECT '{r' || (n % 4) || '}', n, 'Title ' || n, (ARRAY['OPEN', 'MERGED'])[1 + n % 2],
           CASE WHEN n % 3 = 0 THEN NULL ELSE n % 11 END, n * 0.5, timestamptz '2026-01-01' + make_interval(hours => n),
           n % 2 = 0, jsonb_build_object('n', n), date '2026-01-01' + n
    FROM generate_series(1, 400) AS n;
    CREATE TABLE bb.private_notes (id integer PRIMARY KEY, secret text);
    INSERT INTO bb.private_notes VALUES (1, 'CLASSIFIED-4242');
    CREATE VIEW bb.notes_view AS SELECT id, secret FROM bb.private_notes;
  `);
  data = new pg.Pool({
    connectionString: db.url,
    options: "-c default_transaction_read_only=on -c statement_timeout=5000 -c TimeZone=UTC",
  });
  const shares = new ShareStore(db.pool, data);
  await shares.share("bb", "pull_requests");
  const issued = await new CredentialStore(db.pool).create("fuzzer", 1_000_000);
  auth = `Basic ${Buffer.from(`fuzzer:${issued.password}`).toString("base64")}`;
  service = new ODataService({
    app: db.pool,
    data,
    shares,
    tokenKey: Buffer.alloc(32, 1),
    credentialTtlMs: 60_000,
  });
});

afterAll(async () => {
  await data?.end();
});

/** A seeded generator, so a failure names a URL that fails again. */
function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const HOSTILE = [
  "'; DROP TABLE bb.pull_requests; --",
  "' OR 1=1 --",
  "\\'; SELECT pg_sleep(10); --",
  '" OR ""="',
  "%27%20OR%201%3D1",
  "private_notes",
  "bb.private_notes",
  "$metadata",
  "../../etc/passwd",
  "%00",
  "%FF%FE",
  "%E0%80%80",
  "%",
  "%zz",
  "\u0000",
  "🙂",
  "x".repeat(100_000),
  "9".repeat(400),
  "1e999999",
  "((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((",
  "not not not not not not not not not not not not not not not not not not not not not not not true",
  `${"title eq 'x' or ".repeat(300)}true`,
  "secret eq 'SECRET-MARKER-7731'",
  "contains(secret,'SECRET')",
  "$it/secret eq null",
  "pull_requests/any(x:x/id eq 1)",
  "cast(id,Edm.String) eq '1'",
  "id eq 1L",
  "id in (1,2,",
  "created_on gt 2026-13-45T99:99:99Z",
  "day eq 2026-02-30",
  "amount div 0 gt 1",
  "votes mod 0 eq 1",
  "length(title) eq -9223372036854775809",
  "substring(title,-5,-5) eq ''",
  "concat(title",
  "now() gt 2026-01-01T00:00:00Z",
];

const VALID = [
  "id eq 5",
  "state eq 'OPEN' and votes ge 3",
  "contains(title,'1') eq true",
  "not (votes gt 5)",
  "amount add 1 gt 10.5",
  "created_on lt 2026-01-05T00:00:00Z",
  "year(created_on) eq 2026",
  "merged eq true or votes eq null",
  "id in (1,2,3)",
  "day ge 2026-01-10",
];

function cut(text: string, rnd: () => number): string {
  const a = Math.floor(rnd() * (text.length + 1));
  const b = Math.floor(rnd() * (text.length + 1));
  return text.slice(0, Math.min(a, b)) + text.slice(Math.max(a, b));
}

function urls(): string[] {
  const rnd = random(20261128);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)] as T;
  const encode = (s: string) =>
    rnd() < 0.5 ? encodeURIComponent(s) : s.replaceAll(" ", "%20").replaceAll("#", "%23");
  const options = [
    "$filter",
    "$orderby",
    "$select",
    "$top",
    "$skip",
    "$count",
    "$search",
    "$format",
    "$skiptoken",
    "$expand",
    "filter",
    "$FILTER",
    "$apply",
  ];
  const out: string[] = [];
  for (const h of HOSTILE) {
    for (const option of options) out.push(`pull_requests?${option}=${encode(h)}`);
    out.push(`pull_requests(${encode(h)})`);
    out.push(`pull_requests(repository_uuid=${encode(h)},id=1)`);
    out.push(`${encode(h)}`);
    out.push(`pull_requests/${encode(h)}`);
  }
  while (out.length < 1500) {
    const base = pick(VALID);
    const mutated =
      rnd() < 0.5
        ? cut(base, rnd)
        : base.replace(pick(["eq", "'", "(", ")", " "]), pick(HOSTILE).slice(0, 40));
    const option = pick(["$filter", "$orderby", "$select", "$search"]);
    out.push(`pull_requests?${option}=${encode(mutated)}&$top=${pick(["5", "-1", "x", "99999999999", "0"])}`);
  }
  return out;
}

async function fingerprint(): Promise<string> {
  const result = await db.pool.query(`
    SELECT (SELECT md5(string_agg(p::text, ',' ORDER BY repository_uuid, id)) FROM bb.pull_requests p) ||
           (SELECT md5(string_agg(n::text, ',' ORDER BY id)) FROM bb.private_notes n) ||
           (SELECT count(*)::text FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = 'bb') AS f`);
  return result.rows[0].f;
}

it("1,500 malformed and hostile URLs: only 2xx or 4xx/501 OData errors, no unshared row, the database unchanged", async () => {
  const before = await fingerprint();
  const list = urls();
  expect(list.length).toBeGreaterThanOrEqual(1000);
  const statuses = new Map<number, number>();
  for (const path of list) {
    const response = await service.handle({
      method: "GET",
      url: `/odata/v4/${path}`,
      headers: { authorization: auth },
    });
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    const where = `${path.slice(0, 200)} → ${response.status} ${response.body.slice(0, 300)}`;
    expect(response.status < 500 || response.status === 501, where).toBe(true);
    // Requests may quote their own text back in errors; the unshared table's value never comes back.
    expect(response.body, where).not.toContain("CLASSIFIED-4242");
    expect(response.headers["content-type"], where).toMatch(/json|text\/plain|xml/);
    if (response.status >= 400)
      expect(JSON.parse(response.body).error.message, where).toEqual(expect.any(String));
  }
  expect(await fingerprint()).toBe(before);
  // Some requests must have been valid, or the fuzzing proves nothing about the query path.
  expect(statuses.get(200) ?? 0).toBeGreaterThan(50);
  expect(statuses.get(400) ?? 0).toBeGreaterThan(500);
}, 120_000);
