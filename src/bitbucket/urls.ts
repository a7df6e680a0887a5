/** Request URLs: query encoding, resolving paths against the base, and endpoint keys for the counters. */
import { BitbridgeError } from "../app/errors.js";
import type { QueryParams } from "./types.js";

/**
 * `a=1&state=OPEN&state=MERGED`: arrays repeat the parameter, `undefined` is left out, everything is
 * percent-encoded with `encodeURIComponent`, so a literal `+` in `fields=+values.x` travels as `%2B` (a bare
 * `+` would read as a space) and BBQL expressions keep their quotes and spaces.
 */
export function encodeQuery(params: QueryParams | undefined): string {
  if (params === undefined) return "";
  const parts: string[] = [];
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? (value as readonly string[]) : [String(value)];
    for (const v of values) parts.push(`${encodeURIComponent(name)}=${encodeURIComponent(v)}`);
  }
  return parts.join("&");
}

/**
 * The URL to request: `path` relative to the base (`/repositories/acme`) or absolute (a `next` link, used
 * verbatim). Absolute URLs must stay on the base's origin, so credentials never travel elsewhere.
 */
export function resolveUrl(baseUrl: string, path: string, params?: QueryParams): string {
  let url: string;
  if (/^https?:\/\//i.test(path)) {
    const target = new URL(path);
    const base = new URL(baseUrl);
    if (target.origin !== base.origin) {
      throw new BitbridgeError(
        "BITBUCKET_FOREIGN_URL",
        `Refusing to send credentials to ${target.origin}: it is not the API at ${base.origin} (Url).`,
        { url: `${target.origin}${target.pathname}` },
        502,
      );
    }
    url = path;
  } else {
    url = `${baseUrl}${path.startsWith("/") ? "" : "/"}${path}`;
  }
  const query = encodeQuery(params);
  if (query === "") return url;
  return `${url}${url.includes("?") ? "&" : "?"}${query}`;
}

/** The path below the base (`/repositories/acme/web`), without the query, for messages. */
export function displayPath(baseUrl: string, url: string): string {
  const pathname = new URL(url).pathname;
  const basePath = new URL(baseUrl).pathname.replace(/\/+$/, "");
  const below =
    basePath !== "" && pathname.startsWith(`${basePath}/`) ? pathname.slice(basePath.length) : pathname;
  try {
    return decodeURI(below);
  } catch {
    return below;
  }
}

/** Path segments that are part of the API's vocabulary, not identifiers. */
const LITERALS = new Set([
  "user",
  "users",
  "workspaces",
  "repositories",
  "projects",
  "members",
  "permissions",
  "pullrequests",
  "activity",
  "comments",
  "commits",
  "commit",
  "statuses",
  "build",
  "refs",
  "branches",
  "tags",
  "pipelines",
  "steps",
  "log",
  "test_reports",
  "deployments",
  "environments",
  "issues",
  "changes",
  "attachments",
  "hooks",
  "hook_events",
  "src",
  "diff",
  "diffstat",
  "patch",
  "forks",
  "watchers",
  "default-reviewers",
  "effective-default-reviewers",
  "branch-restrictions",
  "branching-model",
  "downloads",
  "variables",
  "search",
  "code",
  "tasks",
  "pullrequests_for_commit",
  "approve",
  "request-changes",
  "merge",
  "decline",
  "snippets",
]);

/** After these literals, the next N segments are identifiers whatever they spell. */
const IDENTIFIERS_AFTER: Readonly<Record<string, readonly string[]>> = {
  repositories: ["{w}", "{r}"],
  workspaces: ["{w}"],
  users: ["{user}"],
  projects: ["{project}"],
  members: ["{member}"],
};

/**
 * The endpoint a URL hits, identifiers stripped: `/repositories/{w}/{r}/pullrequests/{id}/comments`.
 * Consecutive identifiers (branch names with slashes, file paths) fold into one.
 */
export function endpointKey(baseUrl: string, url: string): string {
  const basePath = new URL(baseUrl).pathname.replace(/\/+$/, "");
  let pathname = new URL(url).pathname;
  if (basePath !== "" && pathname.startsWith(`${basePath}/`)) pathname = pathname.slice(basePath.length);
  const out: string[] = [];
  let forced: readonly string[] = [];
  for (const segment of pathname.split("/").filter(Boolean)) {
    const [placeholder, ...rest] = forced;
    if (placeholder !== undefined) {
      out.push(placeholder);
      forced = rest;
      continue;
    }
    if (LITERALS.has(segment)) {
      out.push(segment);
      forced = IDENTIFIERS_AFTER[segment] ?? [];
      continue;
    }
    if (out[out.length - 1] !== "{id}") out.push("{id}");
  }
  return `/${out.join("/")}`;
}
