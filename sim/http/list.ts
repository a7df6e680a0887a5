import { BbqlError, compareByPath, compileBbql, parseBbql, parseSort } from "../bbql/index.js";
import type { Entity } from "../data/entity.js";
import { applyFields, FieldsError, parseFields } from "../fields.js";
import { errors } from "./errors.js";
import type { ListSpec } from "./route-table.js";
import { jsonResponse, type WireResponse } from "./types.js";

/**
 * The generic list runner: BBQL filter and sort, page- or cursor-based paging with an absolute
 * `next`, `fields=`; every list endpoint goes through here.
 */
const VALUES_OPEN = Buffer.from('{"values":[');
const COMMA = Buffer.from(",");

export function renderList(
  url: URL,
  spec: ListSpec,
  all: readonly Entity[],
  keyOf: ((entity: Entity) => string) | undefined,
): WireResponse {
  const pagelen = parsePagelen(url.searchParams.get("pagelen"), spec);
  let items = all;
  const q = url.searchParams.get("q");
  const sort = url.searchParams.get("sort");
  if ((q !== null || sort !== null) && spec.bbql !== false) {
    const allowed = new Set(spec.bbql);
    const fieldFilter = (path: string) => allowed.has(path.split(".")[0] ?? "");
    try {
      if (q !== null && q.trim() !== "") {
        const predicate = compileBbql(parseBbql(q), { fields: fieldFilter });
        items = items.filter((e) => predicate(e.value));
      }
      if (sort !== null && sort !== "") {
        const order = parseSort(sort, { fields: fieldFilter });
        const compare = compareByPath(order.path, order.descending);
        items = [...items].sort((a, b) => compare(a.value, b.value));
      }
    } catch (error) {
      if (error instanceof BbqlError) throw errors.badRequest(error.message);
      throw error;
    }
  }

  const hidden = spec.hidden ?? [];
  let start: number;
  let envelope: Record<string, unknown>;
  let nextUrl: string | undefined;
  if (spec.pagination === "page") {
    const page = parsePage(url.searchParams.get("page"));
    start = (page - 1) * pagelen;
    const end = start + pagelen;
    if (end < items.length) nextUrl = withParam(url, "page", String(page + 1));
    envelope = { pagelen, size: items.length, page };
    if (page > 1) envelope.previous = withParam(url, "page", String(page - 1));
  } else {
    start = cursorStart(url.searchParams.get("page"), items, keyOf);
    const last = items[start + pagelen - 1];
    if (start + pagelen < items.length && last) {
      nextUrl = withParam(url, "page", encodeCursor(keyOf ? keyOf(last) : "", start + pagelen));
    }
    envelope = { pagelen };
  }
  const pageItems = items.slice(start, start + pagelen);
  if (nextUrl) envelope.next = nextUrl;

  const fields = url.searchParams.get("fields");
  if (fields === null || fields === "") {
    // Hot path: splice cached item bytes into the envelope without re-serialising anything.
    const parts: Buffer[] = [VALUES_OPEN];
    pageItems.forEach((e, i) => {
      if (i > 0) parts.push(COMMA);
      parts.push(e.bytes(hidden));
    });
    parts.push(Buffer.from(`],${JSON.stringify(envelope).slice(1)}`));
    return {
      status: 200,
      headers: { "Content-Type": "application/json; charset=utf-8" },
      body: Buffer.concat(parts),
    };
  }
  let parsed: ReturnType<typeof parseFields>;
  try {
    parsed = parseFields(fields);
  } catch (error) {
    if (error instanceof FieldsError) throw errors.badRequest(error.message);
    throw error;
  }
  const hiddenPaths = hidden.map((h) => `values.${h}`);
  // Items and envelope are projected apart (rules apply per item, whatever the page holds), so each
  // item's projection is cached and pages are spliced from bytes as on the hot path above.
  const { values: kept, ...rest } = applyFields({ values: [], ...envelope }, parsed, hiddenPaths) as Record<
    string,
    unknown
  >;
  if (kept === undefined) return jsonResponse(200, rest);
  const key = `fields=${fields}&hidden=${hidden.join(",")}`;
  const project = (e: Entity) => () =>
    JSON.stringify(
      (applyFields({ values: [e.value] }, parsed, hiddenPaths) as { values: unknown[] }).values[0],
    );
  const parts: Buffer[] = [VALUES_OPEN];
  pageItems.forEach((e, i) => {
    if (i > 0) parts.push(COMMA);
    parts.push(e.form(key, project(e)));
  });
  const tail = JSON.stringify(rest).slice(1);
  parts.push(Buffer.from(tail === "}" ? "]}" : `],${tail}`));
  return {
    status: 200,
    headers: { "Content-Type": "application/json; charset=utf-8" },
    body: Buffer.concat(parts),
  };
}

/** A single object, with the same `fields=` handling. */
export function renderObject(url: URL, entity: Entity, hidden: readonly string[] = []): WireResponse {
  const fields = url.searchParams.get("fields");
  if (fields === null || fields === "") {
    return {
      status: 200,
      headers: { "Content-Type": "application/json; charset=utf-8" },
      body: entity.json(hidden),
    };
  }
  try {
    return jsonResponse(200, applyFields(entity.value, parseFields(fields), hidden));
  } catch (error) {
    if (error instanceof FieldsError) throw errors.badRequest(error.message);
    throw error;
  }
}

function parsePagelen(raw: string | null, spec: ListSpec): number {
  if (raw === null) return spec.defaultPagelen;
  if (!/^\d+$/.test(raw)) throw errors.invalidPagelen();
  const value = Number(raw);
  if (value < 1 || value > spec.maxPagelen) throw errors.invalidPagelen();
  return value;
}

function parsePage(raw: string | null): number {
  if (raw === null) return 1;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw errors.badRequest("Invalid page");
  return Number(raw);
}

function withParam(url: URL, name: string, value: string): string {
  const next = new URL(url.href);
  next.searchParams.set(name, value);
  return next.href;
}

/** Cursor tokens carry the last key served plus its offset, so a walk survives inserts at the front. */
function encodeCursor(key: string, offset: number): string {
  return Buffer.from(JSON.stringify([key, offset])).toString("base64url");
}

function cursorStart(
  raw: string | null,
  items: readonly Entity[],
  keyOf: ((e: Entity) => string) | undefined,
): number {
  if (raw === null) return 0;
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(raw, "base64url").toString("utf8"));
  } catch {
    throw errors.badRequest(
      "Invalid page",
      "The page token is not one this service issued; follow `next` as given.",
    );
  }
  // A token this service issued holds a whole, non-negative offset; anything else would serve a
  // shifted or empty page that still carries a `next`.
  if (
    !Array.isArray(decoded) ||
    typeof decoded[0] !== "string" ||
    !Number.isSafeInteger(decoded[1]) ||
    (decoded[1] as number) < 0
  ) {
    throw errors.badRequest(
      "Invalid page",
      "The page token is not one this service issued; follow `next` as given.",
    );
  }
  const [key, offset] = decoded as [string, number];
  if (keyOf && key !== "") {
    const at = items[offset - 1];
    if (at && keyOf(at) === key) return offset;
    const index = items.findIndex((e) => keyOf(e) === key);
    if (index >= 0) return index + 1;
  }
  return Math.min(offset, items.length);
}
