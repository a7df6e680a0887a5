import type { QueryParams } from "../bitbucket/types.js";
import { findTable } from "../source/catalog.js";
import { listQuery, lookupQuery, REPOSITORIES_QUERY, REPOSITORY_QUERY } from "../source/reader.js";
import type { BoundQuery } from "./bind.js";
import { toSql } from "./printer.js";
import type { ReadPlan } from "./pushdown.js";

/** What `EXPLAIN SELECT ...` prints: the requests the query would make, and what bitbridge evaluates itself. */
export function describeRead(bound: BoundQuery, plan: ReadPlan | undefined, baseUrl: string): string[] {
  if (bound.source.kind === "system" || !plan) {
    return [`${bound.source.table.name}: answered from bitbridge's catalog, no API requests.`];
  }
  const { request } = plan;
  const table = request.table;
  const def = table.def;
  const w = request.workspace ?? "{workspace}";
  const lines = [`${table.name} (${table.schema}) from ${baseUrl}`];
  let step = 1;
  const say = (text: string) => lines.push(`${step++}. ${text}`);
  const level = def.level;
  const fill = (path: string, extra: Record<string, string> = {}) =>
    path.replace(/\{(\w+)\}/g, (m, name: string) => (name === "workspace" ? w : (extra[name] ?? m)));

  if (level.kind === "repository" || level.kind === "child") {
    if (request.repositories && request.repositoryUuid === false) {
      lines.push(
        `   repositories ${request.repositories.join(", ")} named by the query: no request of their own`,
      );
    } else if (request.repositories) {
      for (const slug of request.repositories) {
        say(
          `GET ${fill("/repositories/{workspace}/{repo_slug}", { repo_slug: slug })}${qs(REPOSITORY_QUERY)}  (1 request)`,
        );
      }
    } else {
      say(`GET /repositories/${w}${qs(REPOSITORIES_QUERY)}  (1 request per 100 repositories)`);
    }
  }
  const per = level.kind === "repository" || level.kind === "child" ? "for each repository: " : "";
  if (level.kind === "child") {
    if (request.parentKeys) {
      say(
        `${per}${level.parent} ${request.parentKeys.join(", ")} taken from the query (no listing of ${level.parent})`,
      );
    } else {
      const parent = findTable(level.parent);
      const key = parent?.columns.find((c) => c.name === level.parentColumn)?.field;
      if (parent && key) {
        const query = listQuery({ table: parent, fields: [key] }, level.parentParams);
        say(
          `${per}list ${level.parent}: GET ${fill(parent.def.path)}${qs(query)}  (1 request per ${parent.def.maxPageLength} rows)`,
        );
      }
    }
    say(
      `for each ${level.parent} row: GET ${fill(def.path)}${qs(listQuery(request))}  (1 request per ${def.maxPageLength} rows)`,
    );
  } else if (request.keys && def.lookup) {
    for (const key of request.keys) {
      say(
        `${per}GET ${fill(def.lookup.path, { [def.lookup.param]: key })}${qs(lookupQuery(request))}  (1 request)`,
      );
    }
  } else {
    say(`${per}GET ${fill(def.path)}${qs(listQuery(request))}  (1 request per ${def.maxPageLength} rows)`);
  }
  if (plan.pushed.length > 0) lines.push(`Pushed to the API: ${plan.pushed.join("; ")}`);
  const statement = bound.statement;
  const local = [
    statement.where ? `WHERE ${toSql(statement.where)}` : "",
    statement.groupBy.length ? `GROUP BY ${statement.groupBy.map(toSql).join(", ")}` : "",
    statement.having ? `HAVING ${toSql(statement.having)}` : "",
    statement.orderBy.length
      ? `ORDER BY ${statement.orderBy.map((o) => `${toSql(o.expr)} ${o.direction.toUpperCase()}`).join(", ")}`
      : "",
  ].filter(Boolean);
  if (local.length > 0) lines.push(`Evaluated by bitbridge (exactly): ${local.join(" ")}`);
  if (plan.stopAfter !== undefined) lines.push(`Stops reading after ${plan.stopAfter} matching rows.`);
  if (def.retired)
    lines.push(
      `Note: ${def.retired.what} was retired on ${def.retired.on}; the real service answers 410 Gone.`,
    );
  return lines;
}

function qs(params: QueryParams): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) search.append(k, String(x));
    else search.append(k, String(v));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
