/**
 * Response validation against the official Bitbucket Cloud OpenAPI 3.0 document
 * (`spec/bitbucket-cloud-openapi.json`), for the simulator's fidelity tests.
 *
 * The spec's component schemas are not fed to ajv verbatim. They are first normalised into a plain JSON Schema
 * (draft-07) document, once per mode:
 * - `allOf` chains (`pullrequest` = `object` + own properties, ...) are merged into one object schema, so an
 *   `additionalProperties: false` on one member does not reject the properties declared by another member
 *   (taken literally, the spec would reject every real `pullrequest_task`).
 * - The `discriminator` on `object` (property `type`) is honoured: a reference to a schema that has subtypes
 *   (`account` -> `user`, `team`, `app_user`; `comment` -> `pullrequest_comment`, ...) dispatches on the
 *   instance's `type` to the subtype's schema, falling back to the referenced schema for other values.
 * - OpenAPI-only keywords are translated (`nullable`, boolean `exclusiveMinimum`/`exclusiveMaximum`) or dropped
 *   (`discriminator`, `example`, `readOnly`, `x-*`, descriptions, ...).
 * - In strict-properties mode every object schema that declares properties is closed
 *   (`additionalProperties: false`), which catches invented or misspelt field names the lax spec lets through.
 */
import { readFileSync } from "node:fs";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import ajvFormats from "ajv-formats";

// ---------------------------------------------------------------------------------------------------------------
// Spec types (only what this module reads)

export type JsonSchema = { [keyword: string]: unknown };

export interface SpecResponse {
  description?: string;
  content?: Record<string, { schema?: JsonSchema }>;
}

export interface SpecOAuth2Scopes {
  state: string;
  scheme: string;
  scopes: string[];
}

export interface SpecOperation {
  operationId?: string;
  summary?: string;
  tags?: string[];
  responses?: Record<string, SpecResponse>;
  security?: Array<Record<string, string[]>>;
  "x-atlassian-oauth2-scopes"?: SpecOAuth2Scopes[];
  [key: string]: unknown;
}

export interface OpenApiSpec {
  openapi: string;
  servers?: Array<{ url: string }>;
  security?: Array<Record<string, string[]>>;
  paths: Record<string, Record<string, unknown>>;
  components: {
    schemas: Record<string, JsonSchema>;
    securitySchemes?: Record<string, { type?: string; [key: string]: unknown }>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface ResponseToValidate {
  method: string;
  /** Concrete request path, with or without `/2.0`; a query string or a full `https://` URL is tolerated. */
  path: string;
  status: number;
  /** The parsed JSON body (`undefined` when there is none). */
  body: unknown;
}

export interface ValidateOptions {
  /** Report properties that the spec's schemas do not declare (the spec itself mostly allows any). */
  strictProperties?: boolean;
  /** Statuses accepted on every operation (validated against the error schema) on top of {@link UNIVERSAL_ERROR_STATUSES}. */
  extraErrorStatuses?: readonly number[];
  /**
   * Undeclared properties to tolerate, named by schema location as printed in the error, e.g.
   * `"repository.slug"` or `"pullrequest.rendered.title.type"`; `*` matches any characters (`"*.links.avatar"`).
   */
  allowUndeclared?: readonly string[];
}

export interface ResponseValidation {
  /** `"GET /repositories/{workspace}/{repo_slug}/pullrequests"`, or the method and concrete path when no template matched. */
  operation: string;
  /** Empty when the response conforms. */
  errors: string[];
}

/** Statuses Bitbucket may answer on any endpoint even where the spec does not list them. */
export const UNIVERSAL_ERROR_STATUSES: ReadonlySet<number> = new Set([
  401, 403, 404, 410, 429, 500, 502, 503,
]);

const SPEC_URL = new URL("../../spec/bitbucket-cloud-openapi.json", import.meta.url);
const HTTP_METHODS = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);

// ---------------------------------------------------------------------------------------------------------------
// Loading

let specCache: OpenApiSpec | undefined;

/** The parsed spec document (read once per process). */
export function loadBitbucketSpec(): OpenApiSpec {
  if (specCache === undefined) {
    specCache = JSON.parse(readFileSync(SPEC_URL, "utf8")) as OpenApiSpec;
  }
  return specCache;
}

// ---------------------------------------------------------------------------------------------------------------
// Path template matching

type SegmentMatcher =
  | { kind: "literal"; text: string }
  | { kind: "param" }
  | { kind: "pattern"; regex: RegExp }
  | { kind: "rest" };

interface CompiledTemplate {
  template: string;
  segments: SegmentMatcher[];
}

let templatesCache: CompiledTemplate[] | undefined;

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function compileTemplate(template: string): CompiledTemplate {
  const parts = splitPath(template, false);
  const segments = parts.map((part, index): SegmentMatcher => {
    if (/^\{[^{}]+\}$/.test(part)) {
      // A trailing `{path}` (src, filehistory, attachments, snippet files) spans any number of segments.
      return index === parts.length - 1 && part === "{path}" ? { kind: "rest" } : { kind: "param" };
    }
    if (part.includes("{")) {
      const source = part
        .split(/(\{[^{}]+\})/)
        .map((piece) => (/^\{[^{}]+\}$/.test(piece) ? "[^/]+?" : escapeRegex(piece)))
        .join("");
      return { kind: "pattern", regex: new RegExp(`^${source}$`) };
    }
    return { kind: "literal", text: part };
  });
  return { template, segments };
}

function templates(): CompiledTemplate[] {
  if (templatesCache === undefined) {
    templatesCache = Object.keys(loadBitbucketSpec().paths).map(compileTemplate);
  }
  return templatesCache;
}

function splitPath(path: string, decode: boolean): string[] {
  const parts = path.split("/").filter((part) => part !== "");
  if (!decode) return parts;
  return parts.map((part) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  });
}

/** Strips scheme/host, query, fragment and the `/2.0` prefix. */
function normalisePath(path: string): string {
  let result = path;
  if (/^https?:\/\//i.test(result)) result = new URL(result).pathname;
  result = result.replace(/[?#].*$/, "");
  if (!result.startsWith("/")) result = `/${result}`;
  if (result === "/2.0" || result.startsWith("/2.0/")) result = result.slice(4) || "/";
  return result;
}

/** Per-segment ranks (0 literal, 1 mixed, 2 parameter, 3 rest); lower sorts first. Undefined when no match. */
function matchTemplate(compiled: CompiledTemplate, segments: string[]): number[] | undefined {
  const ranks: number[] = [];
  for (let i = 0; i < compiled.segments.length; i++) {
    const matcher = compiled.segments[i] as SegmentMatcher;
    if (matcher.kind === "rest") {
      if (i >= segments.length) return undefined;
      ranks.push(3);
      return ranks;
    }
    const segment = segments[i];
    if (segment === undefined) return undefined;
    if (matcher.kind === "literal") {
      if (segment !== matcher.text) return undefined;
      ranks.push(0);
    } else if (matcher.kind === "pattern") {
      if (!matcher.regex.test(segment)) return undefined;
      ranks.push(1);
    } else {
      ranks.push(2);
    }
  }
  return compiled.segments.length === segments.length ? ranks : undefined;
}

function compareRanks(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const diff = (a[i] as number) - (b[i] as number);
    if (diff !== 0) return diff;
  }
  return b.length - a.length;
}

/** All templates matching the concrete path, most specific first. */
function matchingTemplates(path: string): string[] {
  const segments = splitPath(normalisePath(path), true);
  const hits: Array<{ template: string; ranks: number[] }> = [];
  for (const compiled of templates()) {
    const ranks = matchTemplate(compiled, segments);
    if (ranks !== undefined) hits.push({ template: compiled.template, ranks });
  }
  hits.sort((a, b) => compareRanks(a.ranks, b.ranks));
  return hits.map((hit) => hit.template);
}

function operationAt(template: string, method: string): SpecOperation | undefined {
  const lower = method.toLowerCase();
  if (!HTTP_METHODS.has(lower)) return undefined;
  const item = loadBitbucketSpec().paths[template];
  const operation = item?.[lower];
  return operation !== null && typeof operation === "object" ? (operation as SpecOperation) : undefined;
}

/**
 * The spec operation serving `method path` (concrete path, `/2.0` optional). Literal segments win over
 * parameters (`/pullrequests/activity` beats `/pullrequests/{pull_request_id}`); among matching templates the
 * most specific one that defines the method is chosen. Undefined when no template defines the method.
 */
export function specOperation(
  method: string,
  path: string,
): { template: string; operation: SpecOperation } | undefined {
  for (const template of matchingTemplates(path)) {
    const operation = operationAt(template, method);
    if (operation !== undefined) return { template, operation };
  }
  return undefined;
}

/**
 * Scopes required by an operation: `classic` from the OAuth2 entries of `security`, `granular` from the first
 * `x-atlassian-oauth2-scopes` entry in state `Current` (empty when the spec gives none). `template` is a spec
 * path template; a concrete path is accepted too. Throws when the spec has no such operation.
 */
export function specScopes(method: string, template: string): { classic: string[]; granular: string[] } {
  const spec = loadBitbucketSpec();
  const operation = operationAt(template, method) ?? specOperation(method, template)?.operation;
  if (operation === undefined)
    throw new Error(`no operation ${method.toUpperCase()} ${template} in the spec`);

  const schemes = spec.components.securitySchemes ?? {};
  const isOAuth2 = (name: string) =>
    schemes[name]?.type === "oauth2" || (!(name in schemes) && name === "oauth2");
  const classic: string[] = [];
  for (const requirement of operation.security ?? spec.security ?? []) {
    for (const [name, scopes] of Object.entries(requirement)) {
      if (!isOAuth2(name)) continue;
      for (const scope of scopes) if (!classic.includes(scope)) classic.push(scope);
    }
  }
  const current = (operation["x-atlassian-oauth2-scopes"] ?? []).find((entry) => entry.state === "Current");
  return { classic, granular: [...(current?.scopes ?? [])] };
}

// ---------------------------------------------------------------------------------------------------------------
// Schema normalisation (OpenAPI 3.0 schema objects -> draft-07 JSON Schema)

type Mode = "lax" | "strict";

const DOC_IDS: Record<Mode, string> = {
  lax: "https://bitbridge.invalid/bitbucket-openapi/lax.json",
  strict: "https://bitbridge.invalid/bitbucket-openapi/strict.json",
};
const COMPONENT_PREFIX = "#/components/schemas/";
const POLY_SUFFIX = "~dispatch";

/** Keywords copied unchanged (after recursion where they hold schemas). */
const PLAIN_KEYWORDS = [
  "required",
  "enum",
  "const",
  "multipleOf",
  "minimum",
  "maximum",
  "minLength",
  "maxLength",
  "pattern",
  "minItems",
  "maxItems",
  "uniqueItems",
  "minProperties",
  "maxProperties",
] as const;

/** Formats used by the spec that ajv-formats validates; any other format is dropped rather than guessed. */
const KNOWN_FORMATS = new Set([
  "date",
  "time",
  "date-time",
  "duration",
  "uri",
  "uri-reference",
  "uri-template",
  "url",
  "email",
  "hostname",
  "ipv4",
  "ipv6",
  "regex",
  "uuid",
  "json-pointer",
  "relative-json-pointer",
  "byte",
  "int32",
  "int64",
  "float",
  "double",
  "password",
  "binary",
]);

function isObject(value: unknown): value is JsonSchema {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function pointerToken(name: string): string {
  return encodeURIComponent(name.replace(/~/g, "~0").replace(/\//g, "~1"));
}

function componentName(ref: string): string {
  if (!ref.startsWith(COMPONENT_PREFIX)) throw new Error(`unsupported $ref ${ref}`);
  return decodeURIComponent(ref.slice(COMPONENT_PREFIX.length)).replace(/~1/g, "/").replace(/~0/g, "~");
}

/** Where each normalised object schema comes from (`pullrequest.rendered.title`), for error messages. */
const schemaLocations = new WeakMap<object, string>();

/** Records a location label for every schema node below `schema` (stopping at `$ref`s). */
function labelSchema(schema: unknown, label: string): void {
  if (!isObject(schema)) return;
  schemaLocations.set(schema, label);
  if (isObject(schema.properties)) {
    for (const [key, value] of Object.entries(schema.properties)) labelSchema(value, `${label}.${key}`);
  }
  if (Array.isArray(schema.items)) for (const item of schema.items) labelSchema(item, `${label}[]`);
  else labelSchema(schema.items, `${label}[]`);
  labelSchema(schema.additionalProperties, `${label}.*`);
  for (const keyword of ["allOf", "anyOf", "oneOf"]) {
    const list = schema[keyword];
    if (Array.isArray(list)) for (const member of list) labelSchema(member, label);
  }
  for (const keyword of ["not", "if", "then", "else"]) labelSchema(schema[keyword], label);
}

class SchemaNormaliser {
  readonly definitions: Record<string, JsonSchema> = {};
  private readonly flattened = new Map<string, JsonSchema>();
  private readonly inProgress = new Set<string>();
  /** Component -> [discriminator value, subtype component] pairs, for components with subtypes. */
  private readonly dispatch = new Map<string, { property: string; cases: Array<[string, string]> }>();
  /** Component -> components its `allOf` references. */
  private readonly parents = new Map<string, string[]>();
  /** `$ref` URI produced by {@link refTo} -> component name. */
  private readonly refNames = new Map<string, string>();

  constructor(
    private readonly spec: OpenApiSpec,
    private readonly mode: Mode,
  ) {
    this.planDispatch();
    for (const name of Object.keys(spec.components.schemas)) {
      this.definitions[name] = this.component(name);
      const plan = this.dispatch.get(name);
      if (plan !== undefined) this.definitions[name + POLY_SUFFIX] = this.dispatchSchema(name, plan);
    }
    for (const [name, schema] of Object.entries(this.definitions)) labelSchema(schema, name);
  }

  /** URI of the schema to use where the spec says `$ref: #/components/schemas/<name>`. */
  refTo(name: string): string {
    if (!(name in this.spec.components.schemas)) throw new Error(`unknown schema ${name}`);
    const target = this.dispatch.has(name) ? name + POLY_SUFFIX : name;
    const uri = `${DOC_IDS[this.mode]}#/definitions/${pointerToken(target)}`;
    this.refNames.set(uri, name);
    return uri;
  }

  private isSubtype(name: string, ancestor: string, seen = new Set<string>()): boolean {
    if (name === ancestor) return true;
    if (seen.has(name)) return false;
    seen.add(name);
    return (this.parents.get(name) ?? []).some((parent) => this.isSubtype(parent, ancestor, seen));
  }

  /**
   * A property declared by several `allOf` members. Subtypes commonly redeclare an inherited property with a
   * narrower type (`account.links: account_links` vs `user.links: user_links`), so the more derived reference
   * wins; two inline objects are merged like `allOf` members; anything else must satisfy both.
   */
  private mergeProperty(existing: JsonSchema, value: JsonSchema): JsonSchema {
    if (JSON.stringify(existing) === JSON.stringify(value)) return existing;
    const existingName = typeof existing.$ref === "string" ? this.refNames.get(existing.$ref) : undefined;
    const valueName = typeof value.$ref === "string" ? this.refNames.get(value.$ref) : undefined;
    if (existingName !== undefined && valueName !== undefined) {
      if (this.isSubtype(valueName, existingName)) return value;
      if (this.isSubtype(existingName, valueName)) return existing;
    }
    const inlineObject = (schema: JsonSchema) =>
      schema.$ref === undefined && (schema.type === "object" || isObject(schema.properties));
    if (inlineObject(existing) && inlineObject(value)) return this.merge([existing, value]);
    return { allOf: [existing, value] };
  }

  private plainRefTo(name: string): string {
    return `${DOC_IDS[this.mode]}#/definitions/${pointerToken(name)}`;
  }

  /** Subtypes are the components whose `allOf` references a component carrying (or inheriting) a discriminator. */
  private planDispatch(): void {
    const schemas = this.spec.components.schemas;
    const parents = this.parents;
    const children = new Map<string, string[]>();
    for (const [name, schema] of Object.entries(schemas)) {
      const refs = (Array.isArray(schema.allOf) ? schema.allOf : [])
        .filter((member): member is JsonSchema => isObject(member) && typeof member.$ref === "string")
        .map((member) => componentName(member.$ref as string));
      parents.set(name, refs);
      for (const parent of refs) children.set(parent, [...(children.get(parent) ?? []), name]);
    }
    const discriminatorOf = (name: string, seen: Set<string>): JsonSchema | undefined => {
      if (seen.has(name)) return undefined;
      seen.add(name);
      const own = schemas[name]?.discriminator;
      if (isObject(own) && typeof own.propertyName === "string") return own;
      for (const parent of parents.get(name) ?? []) {
        const inherited = discriminatorOf(parent, seen);
        if (inherited !== undefined) return inherited;
      }
      return undefined;
    };
    for (const name of Object.keys(schemas)) {
      const discriminator = discriminatorOf(name, new Set());
      if (discriminator === undefined) continue;
      const descendants: string[] = [];
      const queue = [...(children.get(name) ?? [])];
      while (queue.length > 0) {
        const next = queue.shift() as string;
        if (descendants.includes(next) || next === name) continue;
        descendants.push(next);
        queue.push(...(children.get(next) ?? []));
      }
      if (descendants.length === 0) continue;
      const cases = new Map<string, string>();
      const mapping = isObject(discriminator.mapping) ? discriminator.mapping : {};
      for (const [value, ref] of Object.entries(mapping)) {
        if (typeof ref !== "string") continue;
        const target = ref.startsWith(COMPONENT_PREFIX) ? componentName(ref) : ref;
        if (descendants.includes(target)) cases.set(value, target);
      }
      for (const descendant of descendants) if (!cases.has(descendant)) cases.set(descendant, descendant);
      this.dispatch.set(name, { property: discriminator.propertyName as string, cases: [...cases] });
    }
  }

  private dispatchSchema(
    name: string,
    plan: { property: string; cases: Array<[string, string]> },
  ): JsonSchema {
    const when = (condition: JsonSchema): JsonSchema => ({
      type: "object",
      required: [plan.property],
      properties: { [plan.property]: condition },
    });
    return {
      allOf: [
        ...plan.cases.map(([value, target]) => ({
          if: when({ const: value }),
          // biome-ignore lint/suspicious/noThenProperty: JSON Schema `if`/`then`, never awaited.
          then: { $ref: this.plainRefTo(target) },
        })),
        {
          if: when({ enum: plan.cases.map(([value]) => value) }),
          else: { $ref: this.plainRefTo(name) },
        },
      ],
    };
  }

  /** The component with its `allOf` merged; memoised. */
  component(name: string): JsonSchema {
    const cached = this.flattened.get(name);
    if (cached !== undefined) return cached;
    const source = this.spec.components.schemas[name];
    if (source === undefined) throw new Error(`unknown schema ${name}`);
    if (this.inProgress.has(name)) throw new Error(`allOf cycle through ${name}`);
    this.inProgress.add(name);
    const result = this.convert(source);
    this.inProgress.delete(name);
    this.flattened.set(name, result);
    return result;
  }

  convert(schema: unknown): JsonSchema {
    if (!isObject(schema)) return schema === false ? { not: {} } : {};
    if (typeof schema.$ref === "string") return { $ref: this.refTo(componentName(schema.$ref)) };
    if (Array.isArray(schema.allOf)) {
      const { allOf, ...rest } = schema;
      const members = allOf.map((member: unknown) =>
        isObject(member) && typeof member.$ref === "string"
          ? structuredClone(this.component(componentName(member.$ref)))
          : this.convert(member),
      );
      const own = this.convert(rest);
      if (Object.keys(own).length > 0) members.push(own);
      return this.merge(members);
    }

    const out: JsonSchema = {};
    const nullable = schema.nullable === true;
    if (schema.type !== undefined) {
      out.type = nullable && typeof schema.type === "string" ? [schema.type, "null"] : schema.type;
    }
    for (const keyword of PLAIN_KEYWORDS) {
      if (schema[keyword] !== undefined) out[keyword] = structuredClone(schema[keyword]);
    }
    if (nullable && Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
    // OpenAPI 3.0 (draft-04 style) boolean exclusive bounds.
    if (schema.exclusiveMinimum === true && typeof schema.minimum === "number") {
      out.exclusiveMinimum = schema.minimum;
      delete out.minimum;
    }
    if (schema.exclusiveMaximum === true && typeof schema.maximum === "number") {
      out.exclusiveMaximum = schema.maximum;
      delete out.maximum;
    }
    if (typeof schema.format === "string" && KNOWN_FORMATS.has(schema.format)) out.format = schema.format;
    if (isObject(schema.properties)) {
      const properties: JsonSchema = {};
      for (const [key, value] of Object.entries(schema.properties)) properties[key] = this.convert(value);
      out.properties = properties;
    }
    if (schema.items !== undefined) {
      out.items = Array.isArray(schema.items)
        ? schema.items.map((item: unknown) => this.convert(item))
        : this.convert(schema.items);
    }
    if (typeof schema.additionalProperties === "boolean")
      out.additionalProperties = schema.additionalProperties;
    else if (isObject(schema.additionalProperties)) {
      out.additionalProperties = this.convert(schema.additionalProperties);
    }
    for (const keyword of ["anyOf", "oneOf"] as const) {
      const list = schema[keyword];
      if (Array.isArray(list)) out[keyword] = list.map((member: unknown) => this.convert(member));
    }
    if (schema.not !== undefined) out.not = this.convert(schema.not);
    if (nullable && out.type === undefined && (out.anyOf !== undefined || out.oneOf !== undefined)) {
      return { anyOf: [{ type: "null" }, this.close(out)] };
    }
    return this.close(out);
  }

  /** Strict mode: an object schema that declares properties admits no others. */
  private close(schema: JsonSchema): JsonSchema {
    if (this.mode !== "strict") return schema;
    const properties = schema.properties;
    if (!isObject(properties) || Object.keys(properties).length === 0) return schema;
    if (isObject(schema.additionalProperties)) return schema;
    schema.additionalProperties = false;
    return schema;
  }

  /**
   * Merges `allOf` members into one object schema: properties and `required` are united, and the object is
   * closed if any member closes it (lax mode) or if it declares properties (strict mode). Keywords that cannot be
   * merged stay behind in an `allOf` of leftovers.
   */
  private merge(members: JsonSchema[]): JsonSchema {
    const properties: JsonSchema = {};
    const required: string[] = [];
    const leftovers: JsonSchema[] = [];
    let objectType = false;
    let closed = false;
    let hasProperties = false;
    for (const member of members) {
      const {
        type,
        properties: memberProperties,
        required: memberRequired,
        additionalProperties,
        ...rest
      } = member;
      if (type === "object") objectType = true;
      else if (type !== undefined) rest.type = type;
      if (isObject(memberProperties)) {
        hasProperties = true;
        for (const [key, value] of Object.entries(memberProperties)) {
          const existing = properties[key];
          properties[key] =
            existing === undefined ? value : this.mergeProperty(existing as JsonSchema, value as JsonSchema);
        }
      }
      if (Array.isArray(memberRequired)) {
        for (const key of memberRequired)
          if (typeof key === "string" && !required.includes(key)) required.push(key);
      }
      if (additionalProperties === false) closed = true;
      else if (isObject(additionalProperties)) rest.additionalProperties = additionalProperties;
      if (Object.keys(rest).length > 0) leftovers.push(rest);
    }
    const out: JsonSchema = {};
    if (objectType) out.type = "object";
    if (hasProperties) out.properties = properties;
    if (required.length > 0) out.required = required;
    if (leftovers.length > 0) out.allOf = leftovers;
    if (closed && leftovers.every((leftover) => leftover.additionalProperties === undefined)) {
      out.additionalProperties = false;
    }
    return this.close(out);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// ajv

interface Engine {
  ajv: Ajv;
  /** Built on first use of each mode, and then registered with ajv as one schema document. */
  normalisers: Partial<Record<Mode, SchemaNormaliser>>;
  validators: Map<string, ValidateFunction>;
}

let engineCache: Engine | undefined;

type FormatsPlugin = (ajv: Ajv) => Ajv;

function engine(): Engine {
  if (engineCache !== undefined) return engineCache;
  // `verbose` exposes the failing schema object, which `schemaLocations` maps back to a spec location.
  const ajv = new Ajv({ strict: false, allErrors: true, verbose: true, validateSchema: false });
  // ajv-formats is CommonJS; depending on the loader its default import is the plugin or the module object.
  const formats = ajvFormats as unknown as FormatsPlugin | { default: FormatsPlugin };
  (typeof formats === "function" ? formats : formats.default)(ajv);
  engineCache = { ajv, normalisers: {}, validators: new Map() };
  return engineCache;
}

function normaliser(mode: Mode): SchemaNormaliser {
  const { ajv, normalisers } = engine();
  let result = normalisers[mode];
  if (result === undefined) {
    result = new SchemaNormaliser(loadBitbucketSpec(), mode);
    ajv.addSchema({ $id: DOC_IDS[mode], definitions: result.definitions });
    normalisers[mode] = result;
  }
  return result;
}

/** Compiled validator for a response schema as written in the spec (a `$ref` or an inline schema); cached. */
function validatorFor(schema: JsonSchema, mode: Mode): ValidateFunction {
  const { ajv, validators } = engine();
  const key = `${mode} ${JSON.stringify(schema)}`;
  let validate = validators.get(key);
  if (validate === undefined) {
    const normalised = normaliser(mode).convert(schema);
    labelSchema(normalised, "(response)");
    validate = ajv.compile(normalised);
    validators.set(key, validate);
  }
  return validate;
}

function undeclaredLocation(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  const parent = error.parentSchema;
  const label = parent !== undefined && parent !== null ? schemaLocations.get(parent) : undefined;
  return `${label ?? "?"}.${String(params.additionalProperty)}`;
}

function globToRegex(glob: string): RegExp {
  return new RegExp(`^${glob.split("*").map(escapeRegex).join(".*")}$`);
}

function formatError(error: ErrorObject): string {
  const at = error.instancePath === "" ? "(root)" : error.instancePath;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "additionalProperties":
      return `${error.instancePath}/${String(params.additionalProperty)} is not declared by the spec (${undeclaredLocation(error)})`;
    case "enum":
      return `${at} must be one of ${JSON.stringify(params.allowedValues)}`;
    case "const":
      return `${at} must be ${JSON.stringify(params.allowedValue)}`;
    default:
      return `${at} ${error.message ?? error.keyword}`;
  }
}

function describeErrors(
  errors: ErrorObject[] | null | undefined,
  allowUndeclared: readonly string[],
): string[] {
  const allowed = allowUndeclared.map(globToRegex);
  const messages = new Set<string>();
  for (const error of errors ?? []) {
    // `if`/`then` wrappers of the discriminator dispatch add nothing beyond the nested errors.
    if (error.keyword === "if") continue;
    if (error.keyword === "additionalProperties") {
      const location = undeclaredLocation(error);
      if (allowed.some((pattern) => pattern.test(location))) continue;
    }
    messages.add(formatError(error));
  }
  return [...messages];
}

function jsonSchemaOf(response: SpecResponse): { schema?: JsonSchema; otherContent: boolean } {
  const content = response.content ?? {};
  for (const [type, media] of Object.entries(content)) {
    const base = type.split(";")[0]?.trim().toLowerCase() ?? "";
    if ((base === "application/json" || base.endsWith("+json")) && media.schema !== undefined) {
      return { schema: media.schema, otherContent: false };
    }
  }
  return { otherContent: Object.keys(content).length > 0 };
}

function errorSchema(): JsonSchema {
  return { $ref: `${COMPONENT_PREFIX}error` };
}

/**
 * Validates a simulator response against the spec: finds the operation for `method path`, the response for the
 * status (exact code, `4XX`-style range, then `default`), and checks the body against its JSON schema. Error
 * statuses documented without a body schema, and statuses in {@link UNIVERSAL_ERROR_STATUSES}, are checked
 * against `#/components/schemas/error`; other undocumented statuses are reported.
 */
export function validateResponse(
  response: ResponseToValidate,
  options: ValidateOptions = {},
): ResponseValidation {
  const method = response.method.toUpperCase();
  const found = specOperation(method, response.path);
  if (found === undefined) {
    const path = normalisePath(response.path);
    const templatesHere = matchingTemplates(response.path);
    const reason =
      templatesHere.length === 0
        ? `no spec path matches ${path}`
        : `method ${method} not documented for ${templatesHere[0] as string}`;
    return { operation: `${method} ${path}`, errors: [reason] };
  }
  const operation = `${method} ${found.template}`;
  const { status, body } = response;
  const responses = found.operation.responses ?? {};
  const documented =
    responses[String(status)] ?? responses[`${String(status).charAt(0)}XX`] ?? responses.default ?? undefined;

  let schema: JsonSchema | undefined;
  if (documented === undefined) {
    const universal =
      UNIVERSAL_ERROR_STATUSES.has(status) || (options.extraErrorStatuses ?? []).includes(status);
    if (!universal) return { operation, errors: [`status ${status} not documented for ${operation}`] };
    schema = errorSchema();
  } else {
    const { schema: jsonSchema, otherContent } = jsonSchemaOf(documented);
    if (jsonSchema !== undefined) schema = jsonSchema;
    else if (status >= 400) schema = errorSchema();
    else if (otherContent) return { operation, errors: [] }; // binary/multipart payloads are not checked
  }

  if (schema === undefined) {
    const empty = body === undefined || body === null || body === "";
    if (status === 204 && !empty) return { operation, errors: [`status 204 must not carry a body`] };
    return { operation, errors: [] };
  }
  if (body === undefined) {
    return { operation, errors: [`status ${status} of ${operation} must carry a JSON body`] };
  }
  const validate = validatorFor(schema, options.strictProperties === true ? "strict" : "lax");
  if (validate(body)) return { operation, errors: [] };
  return { operation, errors: describeErrors(validate.errors, options.allowUndeclared ?? []) };
}
