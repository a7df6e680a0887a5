/**
 * A third-party OData client, generated from our `$metadata`, queries the service over HTTP.
 *
 * The SAP Cloud SDK generator (`@sap-cloud-sdk/generator` 4.5.1; 4.8.0 does not install) reads the `$metadata`
 * fetched with Basic auth and writes a typed client into a temporary folder outside the repository, then
 * transpiles it with strict TypeScript, so a generated client that does not type-check fails here. The compiled
 * client is loaded with `require` and its typed request builders run against the real HTTP service with Basic
 * auth; every answer is compared with rows computed independently with SQL on the same database.
 *
 * The runtime is pinned to the generator's release (`@sap-cloud-sdk/odata-v4` and `odata-common` 4.5.1): the
 * 4.8.0 runtime uses bignumber.js 11, whose typings reject the `import { BigNumber }` that generator 4.5.1 writes.
 *
 * Known client behaviour (SALESFORCE-CONNECT.md §9): Int64 literals are written as `10L` (we accept them); Int64
 * and Decimal values above 2^53 are exact only when the response carries them as strings (IEEE754Compatible=true);
 * `getAll()` returns the first server-driven page and ignores `@odata.nextLink`.
 */
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type {
  DefaultDeSerializers,
  DeserializedType,
  Entity,
  EntityApi,
  GetAllRequestBuilder,
  GetByKeyRequestBuilder,
  OrderableEdmTypeField,
  RequestBuilder,
} from "@sap-cloud-sdk/odata-v4";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "../../src/app/database.js";
import { CredentialStore } from "../../src/odata/credentials.js";
import { ODataService } from "../../src/odata/service.js";
import { ShareStore } from "../../src/odata/shares.js";
import { type RunningHttpServer, startHttpServer } from "../../src/server/http.js";
import { useTestDatabase } from "../support/postgres.js";

const require = createRequire(import.meta.url);
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const GENERATOR = "@sap-cloud-sdk/generator";

function missingGenerator(): string | undefined {
  try {
    require.resolve(GENERATOR);
    require.resolve("@sap-cloud-sdk/odata-v4");
    return undefined;
  } catch (error) {
    return `${GENERATOR} or @sap-cloud-sdk/odata-v4 is not installed (${(error as Error).message.split("\n")[0]}); run npm ci`;
  }
}

const missing = missingGenerator();
if (missing) console.warn(`Skipping the generated-client test: ${missing}`);

// ---- The shapes of the generated client that this test uses (the generated .d.ts files declare the same). ----

type DS = DefaultDeSerializers;
type Int64 = DeserializedType<DS, "Edm.Int64">;
type Decimal = DeserializedType<DS, "Edm.Decimal">;
type DateTimeOffset = DeserializedType<DS, "Edm.DateTimeOffset">;
type EdmDate = DeserializedType<DS, "Edm.Date">;

interface PullRequest extends Entity {
  repositoryUuid: string;
  id: number;
  title: string;
  state: string;
  commentCount?: number | null;
  sizeBytes?: Int64 | null;
  amount?: Decimal | null;
  merged?: boolean | null;
  createdOn: DateTimeOffset;
  dueOn?: EdmDate | null;
}

type Field<
  E extends Entity,
  T extends
    | "Edm.String"
    | "Edm.Int32"
    | "Edm.Int64"
    | "Edm.Decimal"
    | "Edm.Boolean"
    | "Edm.DateTimeOffset"
    | "Edm.Date",
  N extends boolean,
> = OrderableEdmTypeField<E, DS, T, N, true>;

interface PullRequestsApi extends EntityApi<PullRequest, DS> {
  requestBuilder(): RequestBuilder<PullRequest, DS> & {
    getAll(): GetAllRequestBuilder<PullRequest, DS>;
    getByKey(repositoryUuid: string, id: number): GetByKeyRequestBuilder<PullRequest, DS>;
  };
  schema: {
    REPOSITORY_UUID: Field<PullRequest, "Edm.String", false>;
    ID: Field<PullRequest, "Edm.Int32", false>;
    TITLE: Field<PullRequest, "Edm.String", false>;
    STATE: Field<PullRequest, "Edm.String", false>;
    COMMENT_COUNT: Field<PullRequest, "Edm.Int32", true>;
    SIZE_BYTES: Field<PullRequest, "Edm.Int64", true>;
    AMOUNT: Field<PullRequest, "Edm.Decimal", true>;
    MERGED: Field<PullRequest, "Edm.Boolean", true>;
    CREATED_ON: Field<PullRequest, "Edm.DateTimeOffset", false>;
    DUE_ON: Field<PullRequest, "Edm.Date", true>;
  };
}

interface Counter extends Entity {
  id: number;
  total: Int64;
  ratio: Decimal;
}

interface CountersApi extends EntityApi<Counter, DS> {
  requestBuilder(): RequestBuilder<Counter, DS> & {
    getAll(): GetAllRequestBuilder<Counter, DS>;
    getByKey(id: number): GetByKeyRequestBuilder<Counter, DS>;
  };
  schema: { ID: Field<Counter, "Edm.Int32", false> };
}

interface GeneratedService {
  bitbridge(): { pull_RequestsApi: PullRequestsApi; countersApi: CountersApi };
}

type Sdk = typeof import("@sap-cloud-sdk/odata-v4");
type Generator = typeof import("@sap-cloud-sdk/generator");

const PULL_REQUEST_FIELDS = [
  "REPOSITORY_UUID",
  "ID",
  "TITLE",
  "STATE",
  "COMMENT_COUNT",
  "SIZE_BYTES",
  "AMOUNT",
  "MERGED",
  "CREATED_ON",
  "DUE_ON",
];

// ---- Fixture: a database, two shared tables, an OData user, the HTTP service, the generated client. ----

const db = await useTestDatabase("odata-typed-client");
const ROWS = 300;
const LIVE = "bb_deleted_at IS NULL";
let data: pg.Pool;
let http: RunningHttpServer;
let destination: { url: string; username: string; password: string };
let auth: string;
let workDir: string | undefined;
let sdk: Sdk;
let pullRequests: PullRequestsApi;
let counters: CountersApi;
const requested: string[] = [];

/** Where the generator wrote (and transpiled) the client. */
const clientDir = () => path.join(workDir ?? "", "client", "bitbridge");
const sql = async (text: string, values: unknown[] = []) => (await db.pool.query(text, values)).rows;

/** The SQL projection that matches `plain(entity)`. */
const ROW = `repository_uuid AS "repositoryUuid", id, title, state, comment_count AS "commentCount",
  size_bytes::text AS "sizeBytes", amount::text AS amount, merged,
  to_char(created_on AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdOn", due_on::text AS "dueOn"`;

/** A generated entity as plain JSON-comparable values (BigNumber and Moment rendered as text). */
function plain(entity: PullRequest) {
  return {
    repositoryUuid: entity.repositoryUuid,
    id: entity.id,
    title: entity.title,
    state: entity.state,
    commentCount: entity.commentCount ?? null,
    sizeBytes: entity.sizeBytes == null ? null : entity.sizeBytes.toFixed(),
    amount: entity.amount == null ? null : entity.amount.toFixed(2),
    merged: entity.merged ?? null,
    createdOn: entity.createdOn.toISOString(),
    dueOn: entity.dueOn == null ? null : entity.dueOn.format("YYYY-MM-DD"),
  };
}

const keyOf = (r: { repositoryUuid: string; id: number }) => `${r.repositoryUuid}/${r.id}`;

describe.skipIf(missing !== undefined)("SAP Cloud SDK client generated from our $metadata", () => {
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
        size_bytes bigint,
        amount numeric(10, 2),
        merged boolean,
        created_on timestamptz NOT NULL,
        due_on date,
        bb_deleted_at timestamptz,
        PRIMARY KEY (repository_uuid, id)
      );
      INSERT INTO bb.pull_requests
      SELECT '{repo-' || (n % 3) || '}', n,
             CASE WHEN n % 7 = 0 THEN 'Fix Acme login ' || n WHEN n % 11 = 0 THEN 'It''s 100% done ' || n
                  ELSE 'Change ' || n END,
             (ARRAY['OPEN', 'MERGED', 'DECLINED'])[1 + n % 3],
             CASE WHEN n % 5 = 0 THEN NULL ELSE n % 9 END,
             CASE WHEN n % 6 = 0 THEN NULL ELSE n::bigint * 10000000019 END,
             CASE WHEN n % 8 = 0 THEN NULL ELSE (n * 1.25 - 100)::numeric(10, 2) END,
             CASE WHEN n % 4 = 0 THEN NULL ELSE n % 2 = 0 END,
             timestamptz '2026-01-01 00:00:00+00' + (n * 3701123) * interval '1 millisecond',
             CASE WHEN n % 10 = 0 THEN NULL ELSE date '2026-01-01' + n END,
             CASE WHEN n % 97 = 0 THEN now() END
      FROM generate_series(1, ${ROWS}) AS n;
      CREATE TABLE bb.counters (id integer PRIMARY KEY, total bigint NOT NULL, ratio numeric(20, 2) NOT NULL);
      INSERT INTO bb.counters VALUES
        (1, 9007199254740993, 123456789012345678.91),
        (2, -9223372036854775808, -0.01),
        (3, 9223372036854775807, 99999999999999999.99);
    `);
    data = new pg.Pool({
      connectionString: db.url,
      options: "-c default_transaction_read_only=on -c TimeZone=UTC",
    });
    const shares = new ShareStore(db.pool, data);
    await shares.share("bb", "pull_requests");
    await shares.share("bb", "counters");
    const issued = await new CredentialStore(db.pool).create("generated-client");
    auth = `Basic ${Buffer.from(`${issued.username}:${issued.password}`).toString("base64")}`;
    const service = new ODataService({
      app: db.pool,
      data,
      shares,
      tokenKey: Buffer.alloc(32, 9),
      credentialTtlMs: 0,
    });
    http = await startHttpServer({ odata: service, port: 0 });
    http.server.on("request", (req) => requested.push(`${req.method} ${req.url}`));
    destination = { url: http.origin, username: issued.username, password: issued.password };

    const metadata = await fetch(`${http.origin}/odata/v4/$metadata`, { headers: { authorization: auth } });
    expect(metadata.status).toBe(200);
    const edmx = await metadata.text();

    // Generate outside the repository (tsc and biome never see it); link node_modules for the runtime.
    workDir = await mkdtemp(path.join(tmpdir(), "bitbridge-typed-client-"));
    await mkdir(path.join(workDir, "input"));
    const input = path.join(workDir, "input", "bitbridge.edmx");
    await writeFile(input, edmx);
    await linkRuntime(workDir);
    // Services are keyed by their input path relative to the working directory.
    const key = path.relative(process.cwd(), input).split(path.sep).join("/");
    const optionsPerService = path.join(workDir, "options-per-service.json");
    await writeFile(
      optionsPerService,
      JSON.stringify({
        [key]: { directoryName: "bitbridge", packageName: "bitbridge", basePath: "/odata/v4" },
      }),
    );
    // The generator's default tsconfig (node10 resolution, which reads no `exports` map) misses the subpath
    // `@sap-cloud-sdk/connectivity/internal` of the current runtime packages: the same options and a path map.
    const tsconfig = path.join(workDir, "tsconfig.json");
    await writeFile(
      tsconfig,
      JSON.stringify({
        compilerOptions: {
          target: "es2021",
          module: "commonjs",
          moduleResolution: "node",
          lib: ["esnext"],
          declaration: true,
          strict: true,
          esModuleInterop: true,
          skipLibCheck: true,
          paths: {
            "@sap-cloud-sdk/*/internal": [
              path.join(REPO_ROOT, "node_modules/@sap-cloud-sdk/*/dist/internal.d.ts"),
            ],
          },
        },
        include: ["**/*.ts"],
        exclude: ["node_modules/**/*"],
      }),
    );
    const { generate } = require(GENERATOR) as Generator;
    await generate({
      input,
      outputDir: path.join(workDir, "client"),
      optionsPerService,
      transpile: true,
      tsconfig,
    });
    sdk = require("@sap-cloud-sdk/odata-v4") as Sdk;
    const generated = require(path.join(clientDir(), "index.js")) as GeneratedService;
    pullRequests = generated.bitbridge().pull_RequestsApi;
    counters = generated.bitbridge().countersApi;
  }, 120_000);

  afterAll(async () => {
    await http?.close();
    await data?.end();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it("one typed API per entity set, with the composite key and the EDM types of $metadata", async () => {
    expect(Object.keys(pullRequests.schema)).toEqual([...PULL_REQUEST_FIELDS, "ALL_FIELDS"]);
    expect(Object.keys(counters.schema)).toEqual(["ID", "TOTAL", "RATIO", "ALL_FIELDS"]);
    expect(pullRequests.entityConstructor._keys).toEqual(["repository_uuid", "id"]);
    const declared = await readFile(path.join(clientDir(), "Pull_Requests.d.ts"), "utf8");
    for (const line of [
      "repositoryUuid: DeserializedType<T, 'Edm.String'>;",
      "id: DeserializedType<T, 'Edm.Int32'>;",
      "sizeBytes?: DeserializedType<T, 'Edm.Int64'> | null;",
      "amount?: DeserializedType<T, 'Edm.Decimal'> | null;",
      "createdOn: DeserializedType<T, 'Edm.DateTimeOffset'>;",
      "dueOn?: DeserializedType<T, 'Edm.Date'> | null;",
    ])
      expect(declared).toContain(line);
  });

  it("filter (and, contains, Int64, Decimal, DateTimeOffset literals), order by, top", async () => {
    const { STATE, COMMENT_COUNT, SIZE_BYTES, AMOUNT, CREATED_ON, TITLE, ID } = pullRequests.schema;
    const int64 = sdk.defaultDeSerializers["Edm.Int64"].deserialize("500000000000");
    const decimal = sdk.defaultDeSerializers["Edm.Decimal"].deserialize("60.25");
    const since = sdk.defaultDeSerializers["Edm.DateTimeOffset"].deserialize("2026-01-03T12:00:00.000Z");
    const result = await pullRequests
      .requestBuilder()
      .getAll()
      .filter(
        sdk.and(
          STATE.notEquals("DECLINED"),
          COMMENT_COUNT.greaterOrEqual(2),
          SIZE_BYTES.greaterThan(int64),
          sdk.or(AMOUNT.lessThan(decimal), sdk.contains(TITLE, "Acme")),
          CREATED_ON.greaterOrEqual(since),
        ),
      )
      .orderBy(sdk.desc(CREATED_ON), sdk.asc(ID))
      .top(15)
      .execute(destination);
    const expected = await sql(
      `SELECT ${ROW} FROM bb.pull_requests
       WHERE ${LIVE} AND state <> 'DECLINED' AND comment_count >= 2 AND size_bytes > 500000000000
         AND (amount < 60.25 OR strpos(title, 'Acme') > 0) AND created_on >= '2026-01-03T12:00:00Z'
       ORDER BY created_on DESC, id LIMIT 15`,
    );
    expect(expected.length).toBe(15);
    expect(result.map(plain)).toEqual(expected);
    const sent = requested.findLast((r) => r.includes("$filter"));
    expect(sent).toBeDefined();
    // The SAP client writes Int64 literals with the V2 `L` suffix, which the service accepts.
    expect(decodeURIComponent(sent ?? "")).toContain("size_bytes gt 500000000000L");
  });

  it("count with a filter on null", async () => {
    const { COMMENT_COUNT, MERGED } = pullRequests.schema;
    const count = await pullRequests
      .requestBuilder()
      .getAll()
      .filter(COMMENT_COUNT.equals(null), MERGED.notEquals(true))
      .count()
      .execute(destination);
    const [{ n }] = await sql(
      `SELECT count(*)::int AS n FROM bb.pull_requests
       WHERE ${LIVE} AND comment_count IS NULL AND merged IS DISTINCT FROM true`,
    );
    expect(n).toBeGreaterThan(0);
    expect(count).toBe(n);
    const all = await pullRequests.requestBuilder().getAll().count().execute(destination);
    const [{ total }] = await sql(`SELECT count(*)::int AS total FROM bb.pull_requests WHERE ${LIVE}`);
    expect(all).toBe(total);
  });

  it("key lookup with the composite key; a missing key is a 404", async () => {
    const entity = await pullRequests.requestBuilder().getByKey("{repo-1}", 7).execute(destination);
    const [expected] = await sql(
      `SELECT ${ROW} FROM bb.pull_requests WHERE repository_uuid = '{repo-1}' AND id = 7`,
    );
    expect(plain(entity)).toEqual(expected);
    expect(requested).toContain(`GET /odata/v4/pull_requests(repository_uuid='%7Brepo-1%7D',id=7)`);
    const error = await pullRequests
      .requestBuilder()
      .getByKey("{repo-1}", 99999)
      .execute(destination)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(errorStatus(error)).toBe(404);
  });

  it("select of a few properties", async () => {
    const { ID, TITLE, AMOUNT, REPOSITORY_UUID, DUE_ON } = pullRequests.schema;
    const result = await pullRequests
      .requestBuilder()
      .getAll()
      .select(ID, TITLE, AMOUNT, DUE_ON)
      .filter(
        REPOSITORY_UUID.equals("{repo-2}"),
        DUE_ON.lessThan(sdk.defaultDeSerializers["Edm.Date"].deserialize("2026-03-01")),
      )
      .orderBy(sdk.asc(AMOUNT))
      .execute(destination);
    const expected = await sql(
      `SELECT id, title, amount::text AS amount, due_on::text AS "dueOn" FROM bb.pull_requests p
       WHERE ${LIVE} AND repository_uuid = '{repo-2}' AND due_on < '2026-03-01'
       ORDER BY p.amount ASC NULLS FIRST, p.repository_uuid, p.id`,
    );
    expect(expected.length).toBeGreaterThan(5);
    expect(
      result.map((e) => ({
        id: e.id,
        title: e.title,
        amount: e.amount == null ? null : e.amount.toFixed(2),
        dueOn: e.dueOn == null ? null : e.dueOn.format("YYYY-MM-DD"),
      })),
    ).toEqual(expected);
    for (const e of result) expect(e.state).toBeUndefined();
  });

  it("client-driven paging with top/skip returns every live row once, in key order", async () => {
    const seen: string[] = [];
    for (let skip = 0; ; skip += 70) {
      const page = await pullRequests.requestBuilder().getAll().skip(skip).top(70).execute(destination);
      seen.push(...page.map(keyOf));
      if (page.length < 70) break;
    }
    const expected = (
      await sql(
        `SELECT repository_uuid AS "repositoryUuid", id FROM bb.pull_requests WHERE ${LIVE} ORDER BY 1, 2`,
      )
    ).map(keyOf);
    expect(seen).toEqual(expected);
  });

  it("server-driven pages: getAll() returns the first page; the nextLinks, deserialized by the client, give the rest", async () => {
    const { MERGED, ID } = pullRequests.schema;
    const request = () =>
      pullRequests
        .requestBuilder()
        .getAll()
        .filter(MERGED.notEquals(false))
        .orderBy(sdk.desc(ID))
        .addCustomHeaders({ prefer: "odata.maxpagesize=40" });
    const expected = await sql(
      `SELECT ${ROW} FROM bb.pull_requests WHERE ${LIVE} AND merged IS DISTINCT FROM false ORDER BY id DESC`,
    );
    expect(expected.length).toBeGreaterThan(80);
    const first = await request().execute(destination);
    expect(first.map(plain)).toEqual(expected.slice(0, 40));

    const deserializer = sdk.entityDeserializer(sdk.defaultDeSerializers);
    const raw = await request().executeRaw(destination);
    expect(raw.headers["preference-applied"]).toBe("odata.maxpagesize=40");
    const rows: PullRequest[] = [];
    let page = raw.data as { value: unknown[]; "@odata.nextLink"?: string };
    for (;;) {
      rows.push(...page.value.map((json) => deserializer.deserializeEntity(json, pullRequests)));
      const next = page["@odata.nextLink"];
      if (!next) break;
      expect(next.startsWith(`${http.origin}/odata/v4/pull_requests?`)).toBe(true);
      const response = await fetch(next, {
        headers: { authorization: auth, prefer: "odata.maxpagesize=40" },
      });
      expect(response.status).toBe(200);
      page = (await response.json()) as typeof page;
    }
    expect(rows.map(plain)).toEqual(expected);
  });

  it("Int64 and Decimal beyond 2^53 are exact with IEEE754Compatible=true", async () => {
    const result = await counters
      .requestBuilder()
      .getAll()
      .orderBy(sdk.asc(counters.schema.ID))
      .addCustomHeaders({ accept: "application/json;odata.metadata=minimal;IEEE754Compatible=true" })
      .execute(destination);
    const expected = await sql(
      "SELECT id, total::text AS total, ratio::text AS ratio FROM bb.counters ORDER BY id",
    );
    expect(result.map((c) => ({ id: c.id, total: c.total.toFixed(), ratio: c.ratio.toFixed(2) }))).toEqual(
      expected,
    );
    const one = await counters
      .requestBuilder()
      .getByKey(3)
      .addCustomHeaders({ accept: "application/json;IEEE754Compatible=true" })
      .execute(destination);
    expect(one.total.toFixed()).toBe("9223372036854775807");
  });
});

/**
 * Give the generated client what its generated package.json would install: the runtime `@sap-cloud-sdk/odata-v4`
 * and the versions of `@sap-cloud-sdk/util`, `bignumber.js` and `moment` that this runtime uses (the hoisted
 * copies in the repository's node_modules may be other majors, pulled in by the generator's other dependencies).
 */
async function linkRuntime(dir: string): Promise<void> {
  const runtime = path.dirname(require.resolve("@sap-cloud-sdk/odata-v4/package.json"));
  const fromRuntime = createRequire(path.join(runtime, "package.json"));
  await mkdir(path.join(dir, "node_modules", "@sap-cloud-sdk"), { recursive: true });
  await symlink(runtime, path.join(dir, "node_modules", "@sap-cloud-sdk", "odata-v4"), "dir");
  for (const name of ["@sap-cloud-sdk/util", "bignumber.js", "moment"]) {
    const target = path.dirname(fromRuntime.resolve(`${name}/package.json`));
    await symlink(target, path.join(dir, "node_modules", name), "dir");
  }
}

/** The HTTP status of a failed SAP Cloud SDK request (an ErrorWithCause wrapping an axios error). */
function errorStatus(error: unknown): number | undefined {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const status = (current as { response?: { status?: number }; status?: number }).response?.status;
    if (status) return status;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
