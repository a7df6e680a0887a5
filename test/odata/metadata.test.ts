import { existsSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import ajvFormats from "ajv-formats";
import { beforeAll, describe, expect, it } from "vitest";
import { validateXML } from "xmllint-wasm";
import { BitbridgeError } from "../../src/app/errors.js";
import { toCsdlJson } from "../../src/odata/csdl-json.js";
import { toCsdlXml } from "../../src/odata/csdl-xml.js";
import { chooseMaxLengths, describeEntitySet } from "../../src/odata/introspect.js";
import type { EdmModel, EntitySet } from "../../src/odata/model.js";
import { CONTAINER_NAME, entitySetName } from "../../src/odata/names.js";
import { useTestDatabase } from "../support/postgres.js";
import { sharedFile } from "../support/shared.js";

// The OASIS schemas live next to the repository (../shared from its root); nothing of them is copied in.
const SCHEMA_DIR = `${dirname(sharedFile("odata/oasis/odata-csdl-schemas/schemas/edmx.xsd") ?? "../shared/odata/oasis/odata-csdl-schemas/schemas/edmx.xsd")}/`;
const schemasPresent = ["edmx.xsd", "edm.xsd", "csdl.schema.json"].every((file) =>
  existsSync(`${SCHEMA_DIR}${file}`),
);
if (!schemasPresent)
  console.warn(
    `[metadata.test] OASIS CSDL schemas not found in ${SCHEMA_DIR}: schema validation tests are skipped`,
  );

const db = await useTestDatabase();

async function validateCsdlXml(xml: string): Promise<{ valid: boolean; errors: string[] }> {
  const result = await validateXML({
    xml: [{ fileName: "metadata.xml", contents: xml }],
    schema: [{ fileName: "edmx.xsd", contents: readFileSync(`${SCHEMA_DIR}edmx.xsd`, "utf8") }],
    preload: [{ fileName: "edm.xsd", contents: readFileSync(`${SCHEMA_DIR}edm.xsd`, "utf8") }],
  });
  return { valid: result.valid, errors: result.errors.map((error) => error.rawMessage) };
}

let csdlJsonValidator: ValidateFunction | undefined;
function validateCsdlJson(document: unknown): { valid: boolean; errors: string[] } {
  if (csdlJsonValidator === undefined) {
    // csdl.schema.json declares draft-07, the dialect of ajv's default class.
    const ajv = new Ajv({ strict: false, allErrors: true });
    const formats = ajvFormats as unknown as ((a: Ajv) => Ajv) | { default: (a: Ajv) => Ajv };
    (typeof formats === "function" ? formats : formats.default)(ajv);
    csdlJsonValidator = ajv.compile(JSON.parse(readFileSync(`${SCHEMA_DIR}csdl.schema.json`, "utf8")));
  }
  const valid = csdlJsonValidator(document) === true;
  const errors = (csdlJsonValidator.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? e.keyword}`);
  return { valid, errors };
}

/** The JSON object at `path` inside a CSDL JSON document (fails the test when absent). */
function at(document: unknown, ...path: string[]): Record<string, unknown> {
  let node = document;
  for (const member of path) node = (node as Record<string, unknown> | undefined)?.[member];
  if (node === null || typeof node !== "object") throw new Error(`no object at ${path.join("/")}`);
  return node as Record<string, unknown>;
}

let model: EdmModel;

beforeAll(async () => {
  await db.pool.query(`
    CREATE TYPE state AS ENUM ('OPEN', 'MERGED', 'DECLINED');
    CREATE SCHEMA bitbucket;
    CREATE SCHEMA archive;
    CREATE TABLE bitbucket.pull_requests (
      id bigint NOT NULL,
      repository_uuid text NOT NULL,
      title text,
      state state,
      comment_count integer,
      task_count smallint,
      created_on timestamptz,
      merged_on timestamp(3),
      due date,
      score numeric(12,4),
      size numeric,
      ratio real,
      weight double precision,
      draft boolean,
      author_uuid uuid,
      links jsonb,
      labels text[],
      patch bytea,
      "2fa" boolean,
      "my__col" text,
      bb_synced_at timestamptz NOT NULL DEFAULT now(),
      bb_deleted_at timestamptz,
      PRIMARY KEY (repository_uuid, id)
    );
    COMMENT ON TABLE bitbucket.pull_requests IS 'Pull requests <replicated> & "kept" for ''Salesforce''';
    COMMENT ON COLUMN bitbucket.pull_requests.title IS E'Line one\\nline two\\ttabbed \\u0001 control';
    CREATE TABLE archive.pull_requests (id integer PRIMARY KEY, title varchar(200));
    CREATE VIEW bitbucket.open_pull_requests AS
      SELECT repository_uuid || '/' || id AS id, title, created_on
      FROM bitbucket.pull_requests WHERE bb_deleted_at IS NULL;
    COMMENT ON VIEW bitbucket.open_pull_requests IS 'Open pull requests';
    INSERT INTO bitbucket.pull_requests (id, repository_uuid, title) VALUES (1, '{r}', 'Short title');`);
  const client = await db.pool.connect();
  try {
    const taken = new Set<string>();
    const sets: EntitySet[] = [];
    for (const [schema, table] of [
      ["bitbucket", "pull_requests"],
      ["archive", "pull_requests"],
      ["bitbucket", "open_pull_requests"],
    ] as const) {
      const name = entitySetName(schema, table, taken);
      taken.add(name);
      const maxLengths = await chooseMaxLengths(client, schema, table);
      sets.push(await describeEntitySet(client, { schema, table, name, maxLengths }));
    }
    model = { namespace: "bitbridge", container: CONTAINER_NAME, entitySets: sets };
  } finally {
    client.release();
  }
});

describe("toCsdlXml", () => {
  it("names entity sets after their tables, prefixing the schema only on a clash", () => {
    expect(model.entitySets.map((set) => set.name)).toEqual([
      "pull_requests",
      "archive_pull_requests",
      "open_pull_requests",
    ]);
  });

  it("writes keys, typed properties with facets, and escapes comments", () => {
    const xml = toCsdlXml(model);
    expect(xml).toContain(`<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">`);
    expect(xml).toContain(`<edmx:Include Namespace="Org.OData.Core.V1" Alias="Core"/>`);
    expect(xml).toContain(`<edmx:Include Namespace="Org.OData.Capabilities.V1" Alias="Capabilities"/>`);
    expect(xml).toContain(
      `<Key>\n          <PropertyRef Name="repository_uuid"/>\n          <PropertyRef Name="id"/>\n        </Key>`,
    );
    expect(xml).toContain(`<Property Name="id" Type="Edm.Int64" Nullable="false"/>`);
    expect(xml).toContain(
      `<Property Name="repository_uuid" Type="Edm.String" Nullable="false" MaxLength="255"/>`,
    );
    expect(xml).toContain(
      `<Property Name="score" Type="Edm.Decimal" Nullable="true" Precision="12" Scale="4"/>`,
    );
    expect(xml).toContain(
      `<Property Name="size" Type="Edm.Decimal" Nullable="true" Precision="18" Scale="variable"/>`,
    );
    expect(xml).toContain(
      `<Property Name="merged_on" Type="Edm.DateTimeOffset" Nullable="true" Precision="3"/>`,
    );
    expect(xml).toContain(`<Property Name="c_2fa" Type="Edm.Boolean" Nullable="true"/>`);
    expect(xml).toContain(`<Property Name="my_col" Type="Edm.String" Nullable="true" MaxLength="131072"/>`);
    expect(xml).toContain(`<Property Name="patch" Type="Edm.Binary" Nullable="true"/>`);
    expect(xml).toContain(
      `<Annotation Term="Core.Description" String="Pull requests &lt;replicated&gt; &amp; &quot;kept&quot; for &apos;Salesforce&apos;"/>`,
    );
    expect(xml).toContain(
      `<Annotation Term="Core.Description" String="Line one&#10;line two&#9;tabbed \uFFFD control"/>`,
    );
    expect(xml).toContain(`<EntitySet Name="pull_requests" EntityType="bitbridge.pull_requests">`);
    expect(xml).toContain(
      `<EntitySet Name="archive_pull_requests" EntityType="bitbridge.archive_pull_requests">`,
    );
  });

  it("annotates entity sets with the capabilities of a read-only replica", () => {
    const xml = toCsdlXml(model);
    const set = xml.slice(
      xml.indexOf(`<EntitySet Name="pull_requests"`),
      xml.indexOf(`</EntitySet>`, xml.indexOf(`<EntitySet Name="pull_requests"`)),
    );
    for (const [term, property, value] of [
      ["InsertRestrictions", "Insertable", false],
      ["UpdateRestrictions", "Updatable", false],
      ["DeleteRestrictions", "Deletable", false],
      ["CountRestrictions", "Countable", true],
      ["FilterRestrictions", "Filterable", true],
      ["SortRestrictions", "Sortable", true],
      ["SearchRestrictions", "Searchable", true],
      ["ExpandRestrictions", "Expandable", false],
      ["SelectSupport", "Supported", true],
    ] as const) {
      expect(set).toContain(
        `<Annotation Term="Capabilities.${term}">\n            <Record>\n              <PropertyValue Property="${property}" Bool="${value}"/>`,
      );
    }
    for (const tag of ["TopSupported", "SkipSupported", "IndexableByKey"])
      expect(set).toContain(`<Annotation Term="Capabilities.${tag}" Bool="true"/>`);
    expect(xml).toContain(
      `<Annotation Term="Capabilities.ConformanceLevel" EnumMember="Capabilities.ConformanceLevelType/Intermediate"/>`,
    );
  });

  it("is the same document for the same model (stability)", () => {
    expect(toCsdlXml(model)).toBe(toCsdlXml(structuredClone(model)));
  });

  it("refuses a model whose entity type would clash with the container", () => {
    const first = model.entitySets[0] as EntitySet;
    const clash: EdmModel = { ...model, entitySets: [{ ...first, name: "Container" }] };
    expect(() => toCsdlXml(clash)).toThrow(BitbridgeError);
    expect(() => toCsdlJson(clash)).toThrow(/container/);
  });

  describe.skipIf(!schemasPresent)("against the OASIS edmx.xsd (xmllint)", () => {
    it("is valid", async () => {
      const result = await validateCsdlXml(toCsdlXml(model));
      expect(result.errors).toEqual([]);
      expect(result.valid).toBe(true);
    });

    it("would catch a Property without Type and an unknown facet (negative check)", async () => {
      const xml = toCsdlXml(model);
      const untyped = xml.replace(`<Property Name="title" Type="Edm.String"`, `<Property Name="title"`);
      expect(untyped).not.toBe(xml);
      const result = await validateCsdlXml(untyped);
      expect(result.valid).toBe(false);
      expect(result.errors.join("\n")).toMatch(/Type/);
      const badScale = xml.replace(`Scale="variable"`, `Scale="some"`);
      expect((await validateCsdlXml(badScale)).valid).toBe(false);
    });
  });
});

describe("toCsdlJson", () => {
  it("describes the same model as the XML", () => {
    const json = toCsdlJson(model);
    expect(json.$Version).toBe("4.0");
    expect(json.$EntityContainer).toBe("bitbridge.Container");
    expect(Object.keys(at(json, "$Reference"))).toEqual([
      "https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Core.V1.json",
      "https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Capabilities.V1.json",
    ]);
    const type = at(json, "bitbridge", "pull_requests");
    expect(type.$Kind).toBe("EntityType");
    expect(type.$Key).toEqual(["repository_uuid", "id"]);
    expect(type.id).toEqual({ $Type: "Edm.Int64" });
    expect(type.size).toEqual({ $Type: "Edm.Decimal", $Nullable: true, $Precision: 18, $Scale: "variable" });
    expect(at(type, "title")["@Core.Description"]).toBe("Line one\nline two\ttabbed \u0001 control");
    expect(type["@Core.Description"]).toContain(`<replicated> & "kept"`);
    const container = at(json, "bitbridge", "Container");
    expect(container.$Kind).toBe("EntityContainer");
    expect(container["@Capabilities.ConformanceLevel"]).toBe("Intermediate");
    expect(container.pull_requests).toMatchObject({
      $Collection: true,
      $Type: "bitbridge.pull_requests",
      "@Capabilities.InsertRestrictions": { Insertable: false },
      "@Capabilities.SearchRestrictions": { Searchable: true },
      "@Capabilities.TopSupported": true,
    });
    const xmlSets = [...toCsdlXml(model).matchAll(/<EntitySet Name="([^"]+)"/g)].map((m) => m[1]);
    expect(Object.keys(container).filter((key) => !key.startsWith("$") && !key.startsWith("@"))).toEqual(
      xmlSets,
    );
  });

  describe.skipIf(!schemasPresent)("against the OASIS csdl.schema.json (ajv)", () => {
    it("is valid", () => {
      const result = validateCsdlJson(toCsdlJson(model));
      expect(result.errors).toEqual([]);
      expect(result.valid).toBe(true);
    });

    it("would catch a broken document (negative check)", () => {
      const zeroLength = toCsdlJson(model);
      at(zeroLength, "bitbridge", "pull_requests", "title").$MaxLength = 0;
      expect(validateCsdlJson(zeroLength).valid).toBe(false);
      const unknownKind = toCsdlJson(model);
      at(unknownKind, "bitbridge", "pull_requests").$Kind = "Entity";
      expect(validateCsdlJson(unknownKind).valid).toBe(false);
      const badScale = toCsdlJson(model);
      at(badScale, "bitbridge", "pull_requests", "size").$Scale = "some";
      expect(validateCsdlJson(badScale).valid).toBe(false);
    });
  });
});
