import { Ajv } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RouteModule } from "../../src/api/app.js";
import { API_ROUTES } from "../../src/api/routes/index.js";
import { useTestDatabase } from "../support/postgres.js";
import { startTestApp, type TestApp } from "./harness.js";

const db = await useTestDatabase("api-openapi");
const registered: { method: string; url: string }[] = [];
/** Registered first, it sees every route the real modules add. */
const recorder: RouteModule = (api) => {
  api.addHook("onRoute", (route) => {
    if (route.schema?.hide) return;
    for (const method of [route.method].flat()) registered.push({ method, url: route.url });
  });
};
let app: TestApp;
let doc: OpenApi;

interface Operation {
  summary?: string;
  parameters?: { name: string; in: string; schema: object }[];
  requestBody?: { content: Record<string, { schema: object }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: object }> }>;
}
interface OpenApi {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, unknown> };
}

beforeAll(async () => {
  app = await startTestApp(db, { routes: [recorder, ...API_ROUTES] });
  const response = await fetch(`${app.origin}/api/openapi.json`);
  expect(response.status).toBe(200);
  doc = JSON.parse(await response.text()) as OpenApi;
});
afterAll(async () => {
  await app?.close();
});

/** What an OpenAPI 3.0 Schema Object may hold (3.0 is not JSON Schema: no `const`, no `type: [..]`, no "null"). */
const SCHEMA_KEYWORDS = new Set([
  "title",
  "multipleOf",
  "maximum",
  "exclusiveMaximum",
  "minimum",
  "exclusiveMinimum",
  "maxLength",
  "minLength",
  "pattern",
  "maxItems",
  "minItems",
  "uniqueItems",
  "maxProperties",
  "minProperties",
  "required",
  "enum",
  "type",
  "allOf",
  "oneOf",
  "anyOf",
  "not",
  "items",
  "properties",
  "additionalProperties",
  "description",
  "format",
  "default",
  "nullable",
  "discriminator",
  "readOnly",
  "writeOnly",
  "example",
  "deprecated",
  "$ref",
]);
const TYPES = new Set(["string", "number", "integer", "boolean", "array", "object"]);

function schemaProblems(schema: unknown, where: string): string[] {
  if (typeof schema !== "object" || schema === null) return [`${where}: not an object`];
  const problems: string[] = [];
  for (const [keyword, value] of Object.entries(schema)) {
    if (!SCHEMA_KEYWORDS.has(keyword) && !keyword.startsWith("x-")) problems.push(`${where}: ${keyword}`);
    if (keyword === "type" && !TYPES.has(value as string))
      problems.push(`${where}: type ${JSON.stringify(value)}`);
    if (keyword === "properties")
      for (const [name, sub] of Object.entries(value as object))
        problems.push(...schemaProblems(sub, `${where}.${name}`));
    if (
      keyword === "items" ||
      keyword === "not" ||
      (keyword === "additionalProperties" && typeof value === "object")
    )
      problems.push(...schemaProblems(value, `${where}/${keyword}`));
    if (keyword === "allOf" || keyword === "oneOf" || keyword === "anyOf")
      (value as unknown[]).forEach((sub, i) => {
        problems.push(...schemaProblems(sub, `${where}/${keyword}[${i}]`));
      });
  }
  return problems;
}

describe("the OpenAPI document", () => {
  it("is OpenAPI 3.0 with both ways to authenticate", () => {
    expect(doc.openapi).toBe("3.0.3");
    expect(doc.info).toMatchObject({ title: "bitbridge API", version: "1" });
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(["session", "token"]);
  });

  it("describes every API route", () => {
    const api = registered.filter(
      (r) => r.url.startsWith("/api/") && r.method !== "HEAD" && !r.url.startsWith("/api/docs"),
    );
    expect(api.length).toBeGreaterThan(20);
    const missing = api.filter((r) => {
      const path = r.url.replace(/:([A-Za-z_]+)/g, "{$1}");
      return !doc.paths[path]?.[r.method.toLowerCase()];
    });
    expect(missing).toEqual([]);
    for (const path of [
      "/api/session",
      "/api/session/password",
      "/api/tokens/{id}",
      "/api/connectors",
      "/api/connections/{name}/tables",
      "/api/connections/{name}/oauth",
      "/api/oauth/callback",
      "/api/odata/shares/{entitySet}",
      "/api/odata/preview/{entitySet}",
    ])
      expect(Object.keys(doc.paths)).toContain(path);
  });

  it("declares each operation's path parameters, responses and valid schemas", () => {
    // Formats are OpenAPI's (date-time...) and only annotate here: compiling checks the schemas' structure.
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    const problems: string[] = [];
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const where = `${method.toUpperCase()} ${path}`;
        if (!operation.summary) problems.push(`${where}: no summary`);
        if (Object.keys(operation.responses ?? {}).length === 0) problems.push(`${where}: no responses`);
        for (const [, name] of path.matchAll(/\{([^}]+)\}/g))
          if (!operation.parameters?.some((p) => p.in === "path" && p.name === name))
            problems.push(`${where}: path parameter ${name} undeclared`);
        const schemas = [
          ...(operation.parameters ?? []).map((p) => [`parameter ${p.name}`, p.schema] as const),
          ...Object.values(operation.requestBody?.content ?? {}).map((c) => ["body", c.schema] as const),
          ...Object.entries(operation.responses).flatMap(([status, r]) =>
            Object.values(r.content ?? {}).map((c) => [`response ${status}`, c.schema] as const),
          ),
        ];
        for (const [what, schema] of schemas) {
          problems.push(...schemaProblems(schema, `${where} ${what}`));
          try {
            ajv.compile(schema);
          } catch (error) {
            problems.push(`${where} ${what}: ${(error as Error).message}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("marks the public routes as needing no authentication", () => {
    expect(doc.paths["/api/health"]?.get).toMatchObject({ security: [] });
    expect(doc.paths["/api/oauth/callback"]?.get).toMatchObject({ security: [] });
    expect(doc.paths["/api/session"]?.post).toMatchObject({ security: [] });
    expect(doc.paths["/api/session"]?.get).not.toHaveProperty("security");
  });
});
