import type pg from "pg";
import { requestOrigin } from "../server/origin.js";
import type { QueryOptions } from "./ast.js";
import { countRows, keySegment, MAX_PAGE_SIZE, queryError, readEntity, readPage } from "./collection.js";
import { CountCache } from "./count-cache.js";
import { Authenticator } from "./credentials.js";
import { toCsdlJson } from "./csdl-json.js";
import { toCsdlXml } from "./csdl-xml.js";
import { ODataError } from "./errors.js";
import { type JsonFormat, jsonContentType, negotiateJson, preferredPageSize } from "./format.js";
import type { EdmModel, EntitySet } from "./model.js";
import { parseKeyPredicate, parseQueryOptions } from "./parser/index.js";
import { RateLimiter } from "./rate-limit.js";
import type { ShareStore } from "./shares.js";
import { SkipTokens } from "./skiptoken.js";
import { StatementLanes } from "./statement-lanes.js";

export const ODATA_ROOT = "/odata/v4";

export interface ODataRequest {
  readonly method: string;
  /** Path and query, as received (`/odata/v4/PullRequests?$top=5`). */
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface ODataResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface ODataServiceOptions {
  readonly shares: ShareStore;
  /** The application database (credentials). */
  readonly app: pg.Pool;
  /** The published database, read-only, with a statement timeout. */
  readonly data: pg.Pool;
  /** Signs `$skiptoken`s. */
  readonly tokenKey: Buffer;
  /** Absolute service root for links (`https://example.com/odata/v4`); else from the request's headers. */
  readonly baseUrl?: string;
  readonly log?: (message: string) => void;
  /** How long a built model is trusted before the shares are checked again. */
  readonly modelTtlMs?: number;
  /** How long a credential read from the database is trusted (default 1 s). */
  readonly credentialTtlMs?: number;
  /** Remember counts of tables with change tracking until they change (default true). */
  readonly countCache?: boolean;
}

/**
 * The OData 4.0 service: authentication on every request (`$metadata` too), the service document,
 * `$metadata` as CSDL XML or JSON, collections with the query options, `/$count`, entities by key and their
 * properties. Read-only: writes answer 405. Every failure is an OData JSON error, never HTML.
 */
export class ODataService {
  private readonly auth: Authenticator;
  private readonly limiter = new RateLimiter();
  private readonly tokens: SkipTokens;
  private readonly counts?: CountCache;
  private readonly statements: StatementLanes;
  private cached?: { model: EdmModel; version: string; checked: number };
  private checking?: Promise<EdmModel>;
  private generation = 0;

  constructor(private readonly options: ODataServiceOptions) {
    this.auth = new Authenticator(options.app, options.credentialTtlMs);
    this.tokens = new SkipTokens(options.tokenKey);
    this.statements = new StatementLanes(options.data);
    if (options.countCache !== false) this.counts = new CountCache();
  }

  async handle(request: ODataRequest): Promise<ODataResponse> {
    return this.answer(request, false);
  }

  /**
   * Answers as `handle` does, but without authentication or rate limit: for callers in this process that
   * have authenticated the user themselves (the REST API's previews). The HTTP front never calls it.
   */
  async handleTrusted(request: ODataRequest): Promise<ODataResponse> {
    return this.answer(request, true);
  }

  private async answer(request: ODataRequest, trusted: boolean): Promise<ODataResponse> {
    try {
      return await this.route(request, trusted);
    } catch (error) {
      const known = error instanceof ODataError ? error : queryError(error);
      if (known) return errorResponse(known);
      this.options.log?.(`OData request failed: ${error instanceof Error ? error.stack : String(error)}`);
      return errorResponse(new ODataError(500, "InternalError", "The service failed to answer; see its log"));
    }
  }

  /** Forget the cached model (after sharing or unsharing in this process). */
  invalidate(): void {
    this.generation++;
    this.cached = undefined;
    this.checking = undefined;
  }

  private async route(request: ODataRequest, trusted: boolean): Promise<ODataResponse> {
    const version = header(request, "odata-maxversion");
    if (version && Number.parseFloat(version) < 4)
      throw new ODataError(400, "UnsupportedVersion", `This service speaks OData 4.0, not ${version}`);
    if (!trusted) {
      const user = await this.auth.check(header(request, "authorization"));
      if (!user) return unauthorized();
      const wait = this.limiter.take(user.username, user.requestsPerHour);
      if (wait > 0) return tooManyRequests(wait);
      this.auth.noteUse(user.username);
    }
    const { path, query } = splitUrl(request.url);
    if (!path.startsWith(ODATA_ROOT)) throw notFound(`No resource at ${path}`);
    const resource = path.slice(ODATA_ROOT.length).replace(/^\/+/, "");
    if (request.method !== "GET" && request.method !== "HEAD") {
      const response = errorResponse(
        new ODataError(
          405,
          "MethodNotAllowed",
          `This service is read-only: ${request.method} is not allowed`,
        ),
      );
      response.headers.allow = "GET, HEAD";
      return response;
    }
    return this.read(request, resource, query);
  }

  private async read(request: ODataRequest, resource: string, query: string): Promise<ODataResponse> {
    const root = this.root(request);
    const model = await this.model();
    if (resource === "$metadata") return this.metadata(model, request, query);
    if (resource === "$batch") throw new ODataError(501, "NotImplemented", "$batch is not supported");
    const options = parseQueryOptions(query);
    const format = negotiateJson(options.format, header(request, "accept"));
    if (resource === "") return this.serviceDocument(model, root, format);
    const match = /^([^/(]+)(?:\(([^)]*)\))?(?:\/(.*))?$/.exec(decodePath(resource));
    const set = match?.[1] ? findSet(model, match[1]) : undefined;
    if (!match || !set)
      throw notFound(`No entity set ${match?.[1] ?? resource}; the service document lists them`);
    const keyText = match[2];
    const rest = match[3];
    if (keyText === undefined) {
      if (rest === "$count") {
        const n = await countRows(this.statements, set, options, this.counts);
        return {
          status: 200,
          headers: { ...odataHeaders(), "content-type": "text/plain;charset=utf-8" },
          body: String(n),
        };
      }
      if (rest !== undefined) throw notFound(`No resource ${rest} under ${set.name}`);
      return this.collection(request, set, options, format, root, query);
    }
    // A property path reads only that property; the entity itself is read once either way.
    const [propertyName, value] = rest === undefined ? [] : rest.split("/");
    const property =
      rest === undefined
        ? undefined
        : set.properties.find((p) => p.name.toLowerCase() === (propertyName ?? "").toLowerCase());
    if (rest !== undefined && (!property || (value !== undefined && value !== "$value")))
      throw notFound(`${set.name} has no property ${propertyName}`);
    const entity = await readEntity(
      this.statements,
      set,
      parseKeyPredicate(keyText),
      property ? { select: [property.name] } : options,
      format.ieee754,
    );
    if (!entity) throw notFound(`${set.name}(${keyText}) does not exist`);
    if (!property) {
      const context = `${root}/$metadata#${set.name}/$entity`;
      return json(format, entityJson(entity.json, format, context, set, entity.keys, root));
    }
    const whole = JSON.parse(entity.json) as Record<string, unknown>;
    const v = whole[property.name] ?? null;
    if (value === "$value") {
      if (v === null) return { status: 204, headers: odataHeaders(), body: "" };
      return {
        status: 200,
        headers: { ...odataHeaders(), "content-type": "text/plain;charset=utf-8" },
        body: String(v),
      };
    }
    const prefix =
      format.metadata === "none"
        ? ""
        : `"@odata.context":${JSON.stringify(`${root}/$metadata#${set.name}${keySegment(set, entity.keys)}/${property.name}`)},`;
    return json(format, `{${prefix}"value":${JSON.stringify(v)}}`);
  }

  private async collection(
    request: ODataRequest,
    set: EntitySet,
    options: QueryOptions,
    format: JsonFormat,
    root: string,
    query: string,
  ): Promise<ODataResponse> {
    const binding = withoutOption(query, "$skiptoken");
    const token = options.skiptoken
      ? this.tokens.verify(options.skiptoken, `${set.name}?${binding}`)
      : undefined;
    const preferred = preferredPageSize(header(request, "prefer"));
    const pageSize = Math.min(MAX_PAGE_SIZE, preferred ?? MAX_PAGE_SIZE);
    const page = await readPage(
      this.statements,
      {
        set,
        options,
        pageSize,
        ieee754: format.ieee754,
        token,
      },
      this.counts,
    );
    const parts: string[] = [];
    if (format.metadata !== "none") {
      const selection =
        options.select && !options.select.includes("*")
          ? `(${page.selected.map((p) => p.name).join(",")})`
          : "";
      parts.push(`"@odata.context":${JSON.stringify(`${root}/$metadata#${set.name}${selection}`)}`);
    }
    if (page.count !== undefined)
      parts.push(`"@odata.count":${format.ieee754 ? JSON.stringify(String(page.count)) : page.count}`);
    const rows =
      format.metadata === "full"
        ? page.rows.map((row, i) => annotate(row, set, page.keys[i] ?? [], root))
        : page.rows;
    parts.push(`"value":[${rows.join(",")}]`);
    if (page.next) {
      const token = this.tokens.sign(page.next, `${set.name}?${binding}`);
      const next = `${root}/${encodeURIComponent(set.name)}?${binding ? `${binding}&` : ""}$skiptoken=${encodeURIComponent(token)}`;
      parts.push(`"@odata.nextLink":${JSON.stringify(next)}`);
    }
    const response = json(format, `{${parts.join(",")}}`);
    if (preferred !== undefined) response.headers["preference-applied"] = `odata.maxpagesize=${pageSize}`;
    return response;
  }

  private metadata(model: EdmModel, request: ODataRequest, query: string): ODataResponse {
    const format = new URLSearchParams(query).get("$format") ?? undefined;
    const accept = header(request, "accept") ?? "";
    const wantsJson =
      (format ?? "").toLowerCase().includes("json") ||
      (format === undefined && /application\/json/i.test(accept) && !/xml/i.test(accept));
    if (wantsJson)
      return {
        status: 200,
        headers: { ...odataHeaders(), "content-type": "application/json;charset=utf-8" },
        body: JSON.stringify(toCsdlJson(model)),
      };
    return {
      status: 200,
      headers: { ...odataHeaders(), "content-type": "application/xml;charset=utf-8" },
      body: toCsdlXml(model),
    };
  }

  private serviceDocument(model: EdmModel, root: string, format: JsonFormat): ODataResponse {
    const value = model.entitySets.map((s) => ({ name: s.name, kind: "EntitySet", url: s.name }));
    const body =
      format.metadata === "none"
        ? JSON.stringify({ value })
        : JSON.stringify({ "@odata.context": `${root}/$metadata`, value });
    return json(format, body);
  }

  private model(): Promise<EdmModel> {
    const ttl = this.options.modelTtlMs ?? 5_000;
    if (this.cached && Date.now() - this.cached.checked < ttl) return Promise.resolve(this.cached.model);
    // One check at a time: requests arriving while it runs share it, instead of each sending its own.
    if (!this.checking) {
      const check = this.checkModel(this.generation).finally(() => {
        if (this.checking === check) this.checking = undefined;
      });
      this.checking = check;
    }
    return this.checking;
  }

  private async checkModel(generation: number): Promise<EdmModel> {
    const now = Date.now();
    const version = await this.options.shares.version();
    const cached = this.cached;
    if (cached && cached.version === version) {
      cached.checked = now;
      return cached.model;
    }
    const model = await this.options.shares.model((share, error) =>
      this.options.log?.(
        `OData: ${share.schema}.${share.table} is shared but cannot be published: ${error instanceof Error ? error.message : String(error)}`,
      ),
    );
    // A check that began before `invalidate` answers its own requests but is not remembered.
    if (generation === this.generation) this.cached = { model, version, checked: now };
    return model;
  }

  private root(request: ODataRequest): string {
    if (this.options.baseUrl) return this.options.baseUrl.replace(/\/+$/, "");
    return `${requestOrigin(request.headers)}${ODATA_ROOT}`;
  }
}

function header(request: ODataRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

function splitUrl(url: string): { path: string; query: string } {
  const q = url.indexOf("?");
  return q < 0 ? { path: url, query: "" } : { path: url.slice(0, q), query: url.slice(q + 1) };
}

function decodePath(resource: string): string {
  try {
    return decodeURIComponent(resource);
  } catch {
    throw new ODataError(400, "InvalidUrl", "The resource path has an invalid percent-encoding");
  }
}

/** Entity sets match case-insensitively (4.01) when no exact match exists. */
function findSet(model: EdmModel, name: string): EntitySet | undefined {
  return (
    model.entitySets.find((s) => s.name === name) ??
    model.entitySets.find((s) => s.name.toLowerCase() === name.toLowerCase())
  );
}

/** The query string without one system option (whatever its spelling), for links and token binding. */
function withoutOption(query: string, option: string): string {
  const bare = option.replace(/^\$/, "").toLowerCase();
  return query
    .split("&")
    .filter((part) => {
      if (part === "") return false;
      let name = part.split("=")[0] ?? "";
      try {
        name = decodeURIComponent(name);
      } catch {
        return true;
      }
      return name.replace(/^\$/, "").toLowerCase() !== bare;
    })
    .join("&");
}

function annotate(row: string, set: EntitySet, keys: readonly unknown[], root: string): string {
  const id = `${set.name}${keySegment(set, keys)}`;
  const head = `"@odata.id":${JSON.stringify(`${root}/${id}`)},"@odata.editLink":${JSON.stringify(id)}`;
  return row === "{}" ? `{${head}}` : `{${head},${row.slice(1)}`;
}

function entityJson(
  row: string,
  format: JsonFormat,
  context: string,
  set: EntitySet,
  keys: readonly unknown[],
  root: string,
): string {
  if (format.metadata === "none") return row;
  const body = format.metadata === "full" ? annotate(row, set, keys, root) : row;
  const head = `"@odata.context":${JSON.stringify(context)}`;
  return body === "{}" ? `{${head}}` : `{${head},${body.slice(1)}`;
}

function odataHeaders(): Record<string, string> {
  return { "odata-version": "4.0" };
}

function json(format: JsonFormat, body: string): ODataResponse {
  return { status: 200, headers: { ...odataHeaders(), "content-type": jsonContentType(format) }, body };
}

function notFound(message: string): ODataError {
  return new ODataError(404, "NotFound", message);
}

export function errorResponse(error: ODataError): ODataResponse {
  const body: Record<string, unknown> = { code: error.code, message: error.message };
  if (error.target) body.target = error.target;
  return {
    status: error.status,
    headers: { ...odataHeaders(), "content-type": "application/json;charset=utf-8" },
    body: JSON.stringify({ error: body }),
  };
}

function unauthorized(): ODataResponse {
  const response = errorResponse(
    new ODataError(401, "Unauthorized", "Give an OData user name and password (HTTP Basic)"),
  );
  response.headers["www-authenticate"] = 'Basic realm="bitbridge OData", charset="UTF-8"';
  return response;
}

function tooManyRequests(waitSeconds: number): ODataResponse {
  const response = errorResponse(
    new ODataError(
      429,
      "TooManyRequests",
      `This user's hourly request limit is reached; retry in ${waitSeconds} s`,
    ),
  );
  response.headers["retry-after"] = String(waitSeconds);
  return response;
}
