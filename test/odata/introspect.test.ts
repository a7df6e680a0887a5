import { describe, expect, it } from "vitest";
import { BitbridgeError } from "../../src/app/errors.js";
import { chooseMaxLengths, describeEntitySet, type ShareSpec } from "../../src/odata/introspect.js";
import type { EdmProperty, EntitySet } from "../../src/odata/model.js";
import { entitySetName, isAcceptableName, odataName, propertyNames } from "../../src/odata/names.js";
import { useTestDatabase } from "../support/postgres.js";

const db = await useTestDatabase();

const citext = (await db.pool.query("SELECT 1 FROM pg_available_extensions WHERE name = 'citext'")).rowCount;

async function describeShare(share: ShareSpec): Promise<EntitySet> {
  const client = await db.pool.connect();
  try {
    return await describeEntitySet(client, share);
  } finally {
    client.release();
  }
}

async function failure(share: ShareSpec): Promise<BitbridgeError> {
  const error = await describeShare(share).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(BitbridgeError);
  return error as BitbridgeError;
}

function property(set: EntitySet, name: string): EdmProperty {
  const found = set.properties.find((candidate) => candidate.name === name);
  if (found === undefined) throw new Error(`no property ${name} in ${set.name}`);
  return found;
}

/** The facets of a property, as a compact comparable object. */
function facets(p: EdmProperty): Record<string, unknown> {
  return {
    type: p.type,
    kind: p.kind,
    ...(p.maxLength === undefined ? {} : { maxLength: p.maxLength }),
    ...(p.precision === undefined ? {} : { precision: p.precision }),
    ...(p.scale === undefined ? {} : { scale: p.scale }),
  };
}

describe("describeEntitySet: types", () => {
  it("maps every column type to an Edm type Salesforce accepts, with its facets and value kind", async () => {
    await db.pool.query(`
      CREATE TYPE mood AS ENUM ('happy', 'sad');
      CREATE DOMAIN short_code AS varchar(20) NOT NULL;
      CREATE DOMAIN shorter_code AS short_code;
      CREATE TABLE all_types (
        k integer PRIMARY KEY,
        i2 smallint,
        i8 bigint,
        num numeric(10,2),
        num_free numeric,
        num_neg numeric(3,-2),
        num_tiny numeric(2,4),
        f4 real,
        f8 double precision,
        b boolean,
        d date,
        ts timestamp,
        tstz timestamptz,
        tstz3 timestamp(3) with time zone,
        t text,
        vc varchar(40),
        vc_long varchar(1000),
        vc_huge varchar(500000),
        vc_free varchar,
        ch char(3),
        nm name,
        u uuid,
        j json,
        jb jsonb,
        arr integer[],
        en mood,
        en_arr mood[],
        tm time,
        iv interval,
        by bytea,
        code shorter_code,
        ip inet,
        rng int4range
      )`);
    const set = await describeShare({ schema: "public", table: "all_types" });
    const byName = Object.fromEntries(set.properties.map((p) => [p.name, facets(p)]));
    const long = { type: "Edm.String", maxLength: 131072 };
    expect(byName).toEqual({
      k: { type: "Edm.Int32", kind: "integer" },
      i2: { type: "Edm.Int16", kind: "integer" },
      i8: { type: "Edm.Int64", kind: "bigint" },
      num: { type: "Edm.Decimal", kind: "decimal", precision: 10, scale: 2 },
      num_free: { type: "Edm.Decimal", kind: "decimal", precision: 18, scale: "variable" },
      num_neg: { type: "Edm.Decimal", kind: "decimal", precision: 5, scale: 0 },
      num_tiny: { type: "Edm.Decimal", kind: "decimal", precision: 4, scale: 4 },
      f4: { type: "Edm.Single", kind: "double" },
      f8: { type: "Edm.Double", kind: "double" },
      b: { type: "Edm.Boolean", kind: "boolean" },
      d: { type: "Edm.Date", kind: "date" },
      ts: { type: "Edm.DateTimeOffset", kind: "timestamp", precision: 6 },
      tstz: { type: "Edm.DateTimeOffset", kind: "timestamp", precision: 6 },
      tstz3: { type: "Edm.DateTimeOffset", kind: "timestamp", precision: 3 },
      t: { ...long, kind: "text" },
      vc: { type: "Edm.String", kind: "text", maxLength: 40 },
      vc_long: { type: "Edm.String", kind: "text", maxLength: 1000 },
      vc_huge: { ...long, kind: "text" },
      vc_free: { ...long, kind: "text" },
      ch: { type: "Edm.String", kind: "text", maxLength: 3 },
      nm: { type: "Edm.String", kind: "text", maxLength: 63 },
      u: { type: "Edm.String", kind: "uuid", maxLength: 36 },
      j: { ...long, kind: "json" },
      jb: { ...long, kind: "json" },
      arr: { ...long, kind: "json" },
      en: { type: "Edm.String", kind: "text", maxLength: 63 },
      en_arr: { ...long, kind: "json" },
      tm: { ...long, kind: "text" },
      iv: { ...long, kind: "text" },
      by: { type: "Edm.Binary", kind: "bytes" },
      code: { type: "Edm.String", kind: "text", maxLength: 20 },
      ip: { ...long, kind: "text" },
      rng: { ...long, kind: "text" },
    });
    expect(property(set, "num").pgType).toBe("numeric(10,2)");
    expect(property(set, "tstz3").pgType).toBe("timestamp(3) with time zone");
    expect(property(set, "code").pgType).toBe("shorter_code");
    // The domain's NOT NULL reaches the column through a domain over it.
    expect(property(set, "code").nullable).toBe(false);
    expect(property(set, "t").nullable).toBe(true);
    expect(set.properties.filter((p) => p.searchable).map((p) => p.name)).toEqual([
      "t",
      "vc",
      "vc_long",
      "vc_huge",
      "vc_free",
      "ch",
      "nm",
      "en",
      "code",
    ]);
    expect(set.key).toEqual(["k"]);
    expect(property(set, "k").nullable).toBe(false);
    expect(set.relkind).toBe("table");
    expect(set.hidesDeleted).toBe(false);
  });

  it.runIf(citext)("maps citext (from the extension, in any schema) to a searchable String", async () => {
    await db.pool.query(`
      CREATE SCHEMA ext;
      CREATE EXTENSION IF NOT EXISTS citext SCHEMA ext;
      CREATE TABLE with_citext (id bigint PRIMARY KEY, email ext.citext)`);
    const set = await describeShare({ schema: "public", table: "with_citext" });
    expect(facets(property(set, "email"))).toEqual({ type: "Edm.String", kind: "text", maxLength: 131072 });
    expect(property(set, "email").searchable).toBe(true);
  });

  it("refuses a key column whose type OData does not allow in keys", async () => {
    await db.pool.query(`CREATE TABLE double_key (score double precision PRIMARY KEY)`);
    const error = await failure({ schema: "public", table: "double_key" });
    expect(error.code).toBe("ODATA_INVALID_KEY");
    expect(error.message).toContain("score");
  });
});

describe("describeEntitySet: replicated tables", () => {
  it("reads a pull_requests-like table: composite key in key order, comments, hidesDeleted", async () => {
    await db.pool.query(`
      CREATE SCHEMA bitbucket;
      CREATE TABLE bitbucket.pull_requests (
        id bigint NOT NULL,
        repository_uuid text NOT NULL,
        title text,
        comment_count integer,
        created_on timestamptz,
        links jsonb,
        bb_synced_at timestamptz NOT NULL DEFAULT now(),
        bb_deleted_at timestamptz,
        PRIMARY KEY (repository_uuid, id)
      );
      COMMENT ON TABLE bitbucket.pull_requests IS 'Pull requests of every repository';
      COMMENT ON COLUMN bitbucket.pull_requests.title IS 'Title <as typed> & "quoted"';
      COMMENT ON COLUMN bitbucket.pull_requests.links IS '   ';`);
    const set = await describeShare({ schema: "bitbucket", table: "pull_requests" });
    expect(set).toMatchObject({
      name: "pull_requests",
      schema: "bitbucket",
      table: "pull_requests",
      relkind: "table",
      key: ["repository_uuid", "id"],
      hidesDeleted: true,
      description: "Pull requests of every repository",
    });
    expect(set.properties.map((p) => p.name)).toEqual([
      "id",
      "repository_uuid",
      "title",
      "comment_count",
      "created_on",
      "links",
      "bb_synced_at",
    ]);
    expect(property(set, "title").description).toBe('Title <as typed> & "quoted"');
    expect(property(set, "links").description).toBeUndefined();
    expect(property(set, "repository_uuid")).toMatchObject({ nullable: false, type: "Edm.String" });
    expect(property(set, "bb_synced_at")).toMatchObject({
      type: "Edm.DateTimeOffset",
      precision: 6,
      nullable: false,
    });
    // Soft-deleted rows are never served: their marker column is not published.
    expect(set.properties.some((p) => p.column === "bb_deleted_at")).toBe(false);
  });

  it("uses the share's entity set name and checks it", async () => {
    const set = await describeShare({ schema: "bitbucket", table: "pull_requests", name: "PullRequests" });
    expect(set.name).toBe("PullRequests");
    const error = await failure({ schema: "bitbucket", table: "pull_requests", name: "pull__requests" });
    expect(error.code).toBe("ODATA_INVALID_NAME");
    const container = await failure({ schema: "bitbucket", table: "pull_requests", name: "container" });
    expect(container.code).toBe("ODATA_INVALID_NAME");
  });

  it("answers the same model for the same relation (stability)", async () => {
    const first = await describeShare({ schema: "bitbucket", table: "pull_requests" });
    const second = await describeShare({ schema: "bitbucket", table: "pull_requests" });
    expect(second).toEqual(first);
  });

  it("reports a missing relation and refuses relations that hold no rows", async () => {
    const missing = await failure({ schema: "bitbucket", table: "Pull_Requests" });
    expect(missing.code).toBe("ODATA_RELATION_NOT_FOUND");
    expect(missing.status).toBe(404);
    await db.pool.query(`CREATE SEQUENCE bitbucket.counter`);
    const sequence = await failure({ schema: "bitbucket", table: "counter" });
    expect(sequence.code).toBe("ODATA_NOT_SHAREABLE");
  });
});

describe("describeEntitySet: keys of views and tables without a primary key", () => {
  it("refuses a view without an id column with the clear error", async () => {
    await db.pool.query(
      `CREATE VIEW bitbucket.pr_titles AS SELECT repository_uuid, title FROM bitbucket.pull_requests`,
    );
    const error = await failure({ schema: "bitbucket", table: "pr_titles" });
    expect(error.code).toBe("ODATA_NO_KEY");
    expect(error.message).toContain("views need a unique id column; tables need a primary key");
    expect(error.message).toContain("bitbucket.pr_titles");
  });

  it("accepts a view with an id column (any case) as its key, non-nullable", async () => {
    await db.pool.query(`
      CREATE VIEW bitbucket.open_prs AS
        SELECT repository_uuid || '/' || id AS "ID", title, bb_deleted_at
        FROM bitbucket.pull_requests WHERE bb_deleted_at IS NULL`);
    const set = await describeShare({ schema: "bitbucket", table: "open_prs" });
    expect(set).toMatchObject({ relkind: "view", key: ["ID"], hidesDeleted: true });
    expect(property(set, "ID")).toMatchObject({ nullable: false, type: "Edm.String" });
    expect(property(set, "title").nullable).toBe(true);
  });

  it("prefers the column named exactly id when several match ignoring case", async () => {
    await db.pool.query(`CREATE VIEW bitbucket.two_ids AS SELECT 1 AS "Id", 2 AS id`);
    const set = await describeShare({ schema: "bitbucket", table: "two_ids" });
    // Names go by column order, so the key column is the one renamed.
    expect(set.properties.map((p) => [p.column, p.name])).toEqual([
      ["Id", "Id"],
      ["id", "id_2"],
    ]);
    expect(set.key).toEqual(["id_2"]);
  });

  it("accepts a materialized view with id; hidesDeleted is false without bb_deleted_at", async () => {
    await db.pool.query(
      `CREATE MATERIALIZED VIEW bitbucket.pr_counts AS SELECT repository_uuid AS id, count(*) AS n FROM bitbucket.pull_requests GROUP BY 1`,
    );
    const set = await describeShare({ schema: "bitbucket", table: "pr_counts" });
    expect(set).toMatchObject({ relkind: "materialized view", key: ["id"], hidesDeleted: false });
    expect(property(set, "n").type).toBe("Edm.Int64");
  });

  it("keys a table without a primary key on its id column, and refuses one without", async () => {
    await db.pool.query(`
      CREATE TABLE bitbucket.loose (id text, note text);
      CREATE TABLE bitbucket.keyless (note text);`);
    const set = await describeShare({ schema: "bitbucket", table: "loose" });
    expect(set.key).toEqual(["id"]);
    expect(property(set, "id").nullable).toBe(false);
    const error = await failure({ schema: "bitbucket", table: "keyless" });
    expect(error.code).toBe("ODATA_NO_KEY");
    expect(error.message).toContain("tables need a primary key");
  });
});

describe("chooseMaxLengths", () => {
  it("measures unbounded text columns in one pass and the model honours the stored lengths", async () => {
    await db.pool.query(`
      CREATE TABLE bitbucket.notes (
        id integer PRIMARY KEY,
        short_text text,
        long_text text,
        empty_text text,
        bounded varchar(40),
        wide varchar(1000),
        body jsonb
      );
      INSERT INTO bitbucket.notes VALUES
        (1, repeat('é', 255), repeat('x', 256), NULL, 'a', 'short', '{}'),
        (2, 'b', 'c', NULL, 'b', 'also short', '{}');`);
    const client = await db.pool.connect();
    let lengths: Record<string, number>;
    try {
      lengths = await chooseMaxLengths(client, "bitbucket", "notes");
    } finally {
      client.release();
    }
    expect(lengths).toEqual({ short_text: 255, long_text: 131072, empty_text: 131072, wide: 255 });
    const set = await describeShare({ schema: "bitbucket", table: "notes", maxLengths: lengths });
    expect(set.properties.map((p) => [p.name, p.maxLength])).toEqual([
      ["id", undefined],
      ["short_text", 255],
      ["long_text", 131072],
      ["empty_text", 131072],
      ["bounded", 40],
      ["wide", 255],
      ["body", 131072],
    ]);
    // A stored length never widens what the column type guarantees.
    const widened = await describeShare({
      schema: "bitbucket",
      table: "notes",
      maxLengths: { bounded: 131072, body: 10 },
    });
    expect(property(widened, "bounded").maxLength).toBe(40);
    expect(property(widened, "body").maxLength).toBe(131072);
  });

  it("returns nothing, without scanning, when no column needs measuring", async () => {
    const client = await db.pool.connect();
    try {
      expect(await chooseMaxLengths(client, "public", "double_key")).toEqual({});
    } finally {
      client.release();
    }
  });
});

describe("names", () => {
  it("keeps acceptable names unchanged, never re-cased", () => {
    expect(odataName("pull_requests", 37)).toBe("pull_requests");
    expect(odataName("PullRequests", 37)).toBe("PullRequests");
    expect(odataName("bb_synced_at", 40)).toBe("bb_synced_at");
  });

  it("repairs invalid names", () => {
    expect(odataName("2fa", 40)).toBe("c_2fa");
    expect(odataName("my__col", 40)).toBe("my_col");
    expect(odataName("_private_", 40)).toBe("private");
    expect(odataName("trailing_", 40)).toBe("trailing");
    expect(odataName("my col-name", 40)).toBe("my_col_name");
    expect(odataName("Café Owner", 40)).toBe("Cafe_Owner");
    expect(odataName("日付", 40)).toBe("c");
    expect(odataName("$$", 40)).toBe("c");
    expect(odataName(`${"x".repeat(39)}_yz`, 40)).toBe("x".repeat(39));
    expect(odataName("a".repeat(50), 37)).toHaveLength(37);
    for (const source of ["2fa", "my__col", "__", "a b_", "Ünïcödé", "x".repeat(80), "9".repeat(45)])
      expect(isAcceptableName(odataName(source, 40), 40)).toBe(true);
  });

  it("resolves collisions by column order, ignoring case, within the length limit", () => {
    expect(propertyNames(["my col", "my_col", "My_Col", "my__col", "my_col_2"])).toEqual([
      "my_col",
      "my_col_2",
      "My_Col_3",
      "my_col_4",
      "my_col_2_2",
    ]);
    const long = "a".repeat(40);
    expect(propertyNames([long, `${long}b`, `${long}c`])).toEqual([
      long,
      `${"a".repeat(38)}_2`,
      `${"a".repeat(38)}_3`,
    ]);
  });

  it("keeps existing names when a colliding column is added later (stability)", () => {
    const before = propertyNames(["id", "my-col", "title"]);
    const after = propertyNames(["id", "my-col", "title", "my_col"]);
    expect(after.slice(0, 3)).toEqual(before);
    expect(after[3]).toBe("my_col_2");
    expect(propertyNames(["id", "my-col", "title"])).toEqual(before);
  });

  it("prefixes the schema only when table names clash across schemas", () => {
    const taken = new Set<string>();
    const first = entitySetName("bitbucket", "pull_requests", taken);
    taken.add(first);
    const second = entitySetName("archive", "pull_requests", taken);
    taken.add(second);
    const third = entitySetName("archive", "Pull_Requests", taken);
    expect([first, second, third]).toEqual([
      "pull_requests",
      "archive_pull_requests",
      "archive_Pull_Requests_2",
    ]);
    expect(entitySetName("bitbucket", "container", taken)).toBe("bitbucket_container");
    expect(entitySetName("bitbucket", "pull_requests", taken)).toBe("bitbucket_pull_requests");
  });
});
