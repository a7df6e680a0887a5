import type { QueryOptions } from "../ast.js";
import { badRequest, notImplemented } from "../errors.js";
import { decodeComponent } from "./decode.js";
import { parseFilter, parseOrderBy } from "./expression.js";
import { checkLength, MAX_TOP } from "./limits.js";
import { parseSearch } from "./search.js";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** System query options this service serves, by lower-case name without `$`. */
const SUPPORTED = new Set([
  "filter",
  "select",
  "orderby",
  "top",
  "skip",
  "count",
  "search",
  "format",
  "skiptoken",
]);

/** Valid OData system query options the service does not implement: 501, as the minimal conformance level asks. */
const NOT_IMPLEMENTED = new Set([
  "expand",
  "apply",
  "compute",
  "levels",
  "index",
  "id",
  "deltatoken",
  "schemaversion",
]);

const IDENTIFIER = /^[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Nd}\p{Mn}\p{Mc}\p{Pc}\p{Cf}]{0,127}$/u;
const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/;

/**
 * Parses a URL's query string (without `?`, still percent-encoded). System options are recognised with or
 * without `$` and in any case (OData 4.01); other names are custom options and aliases (`@x`), which the
 * service ignores.
 */
export function parseQueryOptions(rawQuery: string): QueryOptions {
  const options: Mutable<QueryOptions> = {};
  const seen = new Set<string>();
  for (const pair of rawQuery.split("&")) {
    if (pair === "") continue;
    const equals = pair.indexOf("=");
    const rawName = equals < 0 ? pair : pair.slice(0, equals);
    const name = decodeComponent(rawName, rawName);
    const key = systemOptionKey(name);
    if (key === undefined) continue;
    const target = `$${key}`;
    if (key === "inlinecount") {
      setOnce(seen, "count", target);
      options.count = inlineCount(value(pair, equals, target));
      continue;
    }
    if (NOT_IMPLEMENTED.has(key)) {
      // `$schemaversion=*` asks for the current schema, which is the only one this service has.
      if (key === "schemaversion" && value(pair, equals, target) === "*") continue;
      throw notImplemented(`${target} is not supported`, target);
    }
    setOnce(seen, key, target);
    apply(options, key, value(pair, equals, target));
  }
  return options;
}

/** The lower-case name of a system option, or undefined for custom options and aliases. */
function systemOptionKey(name: string): string | undefined {
  if (name === "") throw badRequest("InvalidQueryOption", "a query option has an empty name");
  const lower = name.toLowerCase();
  if (!lower.startsWith("$")) return SUPPORTED.has(lower) || NOT_IMPLEMENTED.has(lower) ? lower : undefined;
  const key = lower.slice(1);
  // The OData 2.0 adapter of Salesforce Connect sends `$inlinecount`; it means `$count`, so it is honoured.
  if (SUPPORTED.has(key) || NOT_IMPLEMENTED.has(key) || key === "inlinecount") return key;
  throw badRequest("UnknownQueryOption", `unknown system query option '${name}'`, name);
}

function setOnce(seen: Set<string>, key: string, target: string): void {
  if (seen.has(key)) throw badRequest("DuplicateQueryOption", `${target} is given more than once`, target);
  seen.add(key);
}

function value(pair: string, equals: number, target: string): string {
  if (equals < 0) throw badRequest("InvalidQueryOption", `${target} needs a value (${target}=...)`, target);
  const raw = pair.slice(equals + 1);
  checkLength(target, raw);
  return decodeComponent(raw, target);
}

function apply(options: Mutable<QueryOptions>, key: string, text: string): void {
  switch (key) {
    case "filter":
      options.filter = parseFilter(text);
      return;
    case "orderby":
      options.orderby = parseOrderBy(text);
      return;
    case "search":
      options.search = parseSearch(text);
      return;
    case "select":
      options.select = parseSelect(text);
      return;
    case "top":
      options.top = nonNegativeInteger("$top", text, MAX_TOP);
      return;
    case "skip":
      options.skip = nonNegativeInteger("$skip", text, Number.MAX_SAFE_INTEGER);
      return;
    case "count":
      options.count = boolean("$count", text);
      return;
    case "format":
      options.format = parseFormat(text);
      return;
    case "skiptoken":
      if (text === "") throw badRequest("InvalidQueryOption", "$skiptoken needs a value", "$skiptoken");
      options.skiptoken = text;
      return;
  }
}

function nonNegativeInteger(target: string, text: string, max: number): number {
  if (!/^\d+$/.test(text)) {
    throw badRequest("InvalidQueryOption", `${target} must be a non-negative integer, not '${text}'`, target);
  }
  const number = Number(text);
  if (number > max) {
    throw badRequest("InvalidQueryOption", `${target} must be at most ${max}, not ${text}`, target);
  }
  return number;
}

function boolean(target: string, text: string): boolean {
  const lower = text.toLowerCase();
  if (lower === "true" || lower === "false") return lower === "true";
  throw badRequest("InvalidQueryOption", `${target} must be true or false, not '${text}'`, target);
}

function inlineCount(text: string): boolean {
  const lower = text.toLowerCase();
  if (lower === "allpages" || lower === "none") return lower === "allpages";
  throw badRequest(
    "InvalidQueryOption",
    `$inlinecount must be allpages or none, not '${text}'; OData 4 uses $count=true`,
    "$inlinecount",
  );
}

/** Property names or `*`; paths, casts, annotations and nested options are valid OData but not served. */
function parseSelect(text: string): string[] {
  const items = text.split(",").map((item) => item.trim());
  for (const [index, item] of items.entries()) {
    if (item === "*" || IDENTIFIER.test(item)) continue;
    const where = `item ${index + 1} ('${item}')`;
    if (item !== "" && /^[^\s,]+$/u.test(item) && /[/(.@]/.test(item)) {
      throw notImplemented(
        `$select: ${where}: paths, casts, annotations and nested options are not supported`,
        "$select",
      );
    }
    throw badRequest("SyntaxError", `$select: ${where} is not a property name or *`, "$select");
  }
  return items;
}

/** `json`, `xml`, or a media type with parameters; the result is lower case without spaces. */
function parseFormat(text: string): string {
  const [type = "", ...parameters] = text
    .toLowerCase()
    .split(";")
    .map((part) => part.trim());
  const supported =
    type === "json" || type === "xml" || type === "application/json" || type === "application/xml";
  if (supported && (parameters.length === 0 || type === "application/json")) {
    if (parameters.every((parameter) => /^[a-z0-9.!#$&^_+-]+=[^\s;]+$/.test(parameter))) {
      return [type, ...parameters].join(";");
    }
  } else if (type === "atom" || MEDIA_TYPE.test(type)) {
    throw notImplemented(`$format=${text} is not supported; use json`, "$format");
  }
  throw badRequest(
    "InvalidQueryOption",
    `$format must be json, xml or a media type, not '${text}'`,
    "$format",
  );
}
