/**
 * Fidelity of the simulator to Bitbucket Cloud: every route it serves is requested over real HTTP and its body
 * checked against the official OpenAPI document in strict-properties mode, together with errors, partial
 * responses, relationships between objects, timestamp styles and seeded determinism.
 *
 * Where the real service departs from its own spec, the departure is listed once below with the reason; each
 * entry must be needed by at least one response (a stale exception fails the sweep), and anything not listed
 * fails. Fix the simulator rather than growing these lists.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RepositoryState, WorkspaceState } from "../../sim/data/model.js";
import { compileRoutes, matchRoute } from "../../sim/http/route-table.js";
import { type RunningSimulator, startSimulator } from "../../sim/server.js";
import { ALL_ROUTES } from "../../sim/simulator.js";
import { loadBitbucketSpec, specScopes, validateResponse } from "../support/openapi.js";

type Json = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------------------------
// Known departures of the real service from the spec

interface Exception {
  readonly reason: string;
}

/**
 * Properties the service sends although the spec's schema does not declare them (the validator's
 * `allowUndeclared`, by schema location).
 */
const UNDECLARED: ReadonlyArray<Exception & { location: string }> = [
  // Repository objects carry their slug, an embedded workspace and a `website` (often null) on the service.
  { location: "repository.slug", reason: "sent by the service; the spec only has `name` and `full_name`" },
  { location: "repository.workspace", reason: "sent by the service alongside `owner`" },
  { location: "repository.website", reason: "sent by the service (null when unset)" },
  // Workspaces still come back as `team` accounts in `owner`, with the workspace slug as `username`.
  {
    location: "team.username",
    reason: "team accounts keep `username` (only user accounts lost it for GDPR)",
  },
  // The spec's own prose (GET /user/permissions/workspaces) names both; they vanish for admin.atlassian.com orgs.
  { location: "workspace_membership.added_on", reason: "documented in the spec's prose, not its schema" },
  {
    location: "workspace_membership.last_accessed",
    reason: "documented in the spec's prose, not its schema",
  },
  {
    location: "pullrequest.description",
    reason: "the raw description; the spec only has `rendered.description`",
  },
  // Rendered-content triples are typed `"type": "rendered"` on the service.
  { location: "pullrequest.rendered.*.type", reason: "rendered triples carry `type: rendered`" },
  { location: "*.summary.type", reason: "rendered triples carry `type: rendered`" },
  { location: "*.content.type", reason: "rendered triples carry `type: rendered`" },
  // Pull request endpoints embed a commit reference with type and links, not the bare `{hash}` the spec closes.
  { location: "pullrequest_endpoint.commit.type", reason: "the service embeds a typed commit reference" },
  {
    location: "pullrequest_endpoint.commit.links",
    reason: "the service embeds the commit's self/html links",
  },
  // Commits: the spec's `base_commit` declares no links at all, and no `rendered`.
  { location: "commit.links", reason: "commits link self, html, diff, approve, comments, statuses, patch" },
  { location: "commit.rendered", reason: "the service sends `rendered.message`" },
  {
    location: "commitstatus.commit",
    reason: "live statuses embed their commit (spec gap reported publicly)",
  },
  // Deployments and environments: the spec documents a fraction of what the pipelines service returns.
  { location: "deployment.number", reason: "sent by the service" },
  { location: "deployment.key", reason: "sent by the service" },
  { location: "deployment.deployable", reason: "sent by the service (the pipeline that produced it)" },
  { location: "deployment.last_update_time", reason: "sent by the service" },
  { location: "deployment_environment.slug", reason: "live environments have 12 fields, the spec 2" },
  { location: "deployment_environment.rank", reason: "live environments have 12 fields, the spec 2" },
  { location: "deployment_environment.category", reason: "live environments have 12 fields, the spec 2" },
  {
    location: "deployment_environment.environment_type",
    reason: "live environments have 12 fields, the spec 2",
  },
  { location: "deployment_environment.lock", reason: "live environments have 12 fields, the spec 2" },
  { location: "deployment_environment.restrictions", reason: "live environments have 12 fields, the spec 2" },
  { location: "deployment_environment.hidden", reason: "live environments have 12 fields, the spec 2" },
  {
    location: "deployment_environment.environment_lock_enabled",
    reason: "live environments have 12 fields, the spec 2",
  },
  {
    location: "deployment_environment.deployment_gate_enabled",
    reason: "live environments have 12 fields, the spec 2",
  },
  // Pipelines and steps: counters and flags the pipelines service adds to every object.
  { location: "pipeline.run_number", reason: "sent by the service (re-runs increment it)" },
  { location: "pipeline.duration_in_seconds", reason: "sent by the service" },
  { location: "pipeline.first_successful", reason: "sent by the service" },
  { location: "pipeline.expired", reason: "sent by the service" },
  { location: "pipeline.has_variables", reason: "sent by the service" },
  { location: "pipeline_trigger_push.name", reason: "triggers are `{type, name: PUSH}` on the service" },
  { location: "pipeline_step.name", reason: "sent by the service (the step's name in the YAML)" },
  { location: "pipeline_step.pipeline", reason: "sent by the service (`{type, uuid}` of the pipeline)" },
  { location: "pipeline_step.run_number", reason: "sent by the service" },
  { location: "pipeline_step.duration_in_seconds", reason: "sent by the service" },
  { location: "pipeline_step.max_time", reason: "sent by the service (minutes)" },
  { location: "issue.watches", reason: "legacy issues counted watchers next to `votes`" },
];
const ALLOW_UNDECLARED = UNDECLARED.map((entry) => entry.location);

/**
 * Fields the spec types as a plain object or string but the service sends as `null` (the validator treats a
 * non-`nullable` field's null as a type error). We keep the service's behaviour: a connector must cope with it.
 */
const NULLS: ReadonlyArray<Exception & { pointer: RegExp }> = [
  { pointer: /\/merge_commit$/, reason: "`merge_commit: null` until a pull request is merged" },
  { pointer: /\/closed_by$/, reason: "`closed_by: null` while a pull request is open" },
  { pointer: /\/participants\/\d+\/state$/, reason: "no vote yet: the spec's own enum lists null" },
  {
    pointer: /^(\/values\/\d+)?\/(assignee|edited_on|milestone|version|component)$/,
    reason: "unset legacy-issue fields are null on the service",
  },
];

/** Other departures, matched on the validator's message and checked against the offending value. */
const DEVIATIONS: ReadonlyArray<Exception & { error: RegExp; value?: (value: unknown) => boolean }> = [
  {
    error: /^(\/values\/\d+)?\/links\/clone\/\d+\/href must match format "uri"$/,
    value: (v) => typeof v === "string" && /^git@[^:/]+:[^/]+\/[^/]+\.git$/.test(v),
    reason: "the SSH clone link is scp-style `git@bitbucket.org:w/r.git`, not a URI",
  },
  {
    error: /^(\/values\/\d+)?\/links(\/self|\/steps)? must have required property 'type'$/,
    reason:
      "pipeline links inherit `object` in the spec and so must be typed; the simulator serves plain " +
      "`{href}` links like everywhere else (unverified against the live service)",
  },
];

/** `type` values the service sends that are not component schemas in the spec. */
const UNSPECIFIED_TYPES: Readonly<Record<string, string>> = {
  rendered: "rendered-content triples",
  build: "commit statuses are `type: build`",
  deployment_deployable: "deployment.deployable",
  deployment_environment_type: "environment.environment_type",
  deployment_environment_lock_open: "environment.lock",
  deployment_restrictions_configuration: "environment.restrictions",
};

function globToRegex(glob: string): RegExp {
  return new RegExp(`^${glob.split("*").map(escapeRegex).join(".*")}$`);
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function valueAt(body: unknown, pointer: string): unknown {
  let value = body;
  for (const raw of pointer.split("/").slice(1)) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Json)[key];
  }
  return value;
}

interface Served {
  path: string;
  status: number;
  body: unknown;
}

/**
 * Strict-mode validation of one response; returns the errors no listed exception explains, and records in
 * `used` which exceptions were needed.
 */
function conformance(
  response: Served,
  extraErrorStatuses: readonly number[] = [],
  used = new Set<string>(),
): string[] {
  const request = { method: "GET", ...response };
  const { errors } = validateResponse(request, {
    strictProperties: true,
    allowUndeclared: ALLOW_UNDECLARED,
    extraErrorStatuses,
  });
  const left: string[] = [];
  for (const error of errors) {
    const typeError = /^(\/\S*) must be (?:object|string)$/.exec(error);
    const pointer = typeError?.[1];
    if (pointer !== undefined && valueAt(response.body, pointer) === null) {
      const entry = NULLS.find((n) => n.pointer.test(pointer));
      if (entry) {
        used.add(`null ${entry.pointer.source}`);
        continue;
      }
    }
    const deviation = DEVIATIONS.find(
      (d) =>
        d.error.test(error) &&
        (d.value === undefined || d.value(valueAt(response.body, error.split(" ")[0] as string))),
    );
    if (deviation) {
      used.add(`deviation ${deviation.error.source}`);
      continue;
    }
    left.push(error);
  }
  // Which `allowUndeclared` entries this response needed.
  const plain = validateResponse(request, { strictProperties: true, extraErrorStatuses });
  for (const error of plain.errors) {
    const location = /is not declared by the spec \(([^()]+)\)$/.exec(error)?.[1];
    const entry = location && UNDECLARED.find((u) => globToRegex(u.location).test(location));
    if (entry) used.add(`undeclared ${entry.location}`);
  }
  return left;
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP

interface Fetched extends Served {
  text: string;
  headers: Headers;
}

async function get(running: RunningSimulator, path: string, authorization?: string): Promise<Fetched> {
  const headers: Record<string, string> = {};
  if (authorization !== undefined) headers.authorization = authorization;
  const url = path.startsWith("http") ? path : `${running.apiUrl}${path}`;
  const res = await fetch(url, { headers });
  const text = await res.text();
  let body: unknown;
  try {
    body = text === "" ? undefined : JSON.parse(text);
  } catch {
    body = text;
  }
  return {
    path: new URL(url).pathname + new URL(url).search,
    status: res.status,
    body,
    text,
    headers: res.headers,
  };
}

function ownerAuth(running: RunningSimulator): string {
  const token = running.sim.auth.credentials().apiTokens[0];
  if (!token) throw new Error("no API token");
  return token.authorization;
}

/** All items of a list, following `next` exactly as given. */
async function all(running: RunningSimulator, path: string, auth: string): Promise<Json[]> {
  const items: Json[] = [];
  let next: string | undefined = path;
  for (let pages = 0; next !== undefined; pages++) {
    if (pages > 100) throw new Error(`${path}: more than 100 pages`);
    const page = await get(running, next, auth);
    expect(page.status, `${next}: ${page.text}`).toBe(200);
    const body = page.body as Json;
    items.push(...(body.values as Json[]));
    next = body.next as string | undefined;
  }
  return items;
}

const enc = encodeURIComponent;

// ---------------------------------------------------------------------------------------------------------------
// Path parameters from the generated data

interface Fixture {
  ws: WorkspaceState;
  repo: RepositoryState;
}

/** A repository that has something to serve on every route (an open PR, comments, statuses, issues...). */
function pickFixture(running: RunningSimulator): Fixture {
  const ws = running.sim.data.workspaces[0];
  if (!ws) throw new Error("no workspace");
  const repo = ws.repositories.find(
    (r) =>
      r.pullRequests.some((p) => p.entity.value.state === "OPEN" && p.commits.length > 0) &&
      r.pullRequests.some((p) => p.comments.length > 0) &&
      r.issues.some((i) => i.comments.length > 0) &&
      r.pipelines.some((p) => p.steps.length > 0) &&
      r.deployments.length > 0 &&
      r.statuses.size > 0 &&
      r.tags.length > 0,
  );
  if (!repo) throw new Error("no repository has data for every route; raise the counts");
  return { ws, repo };
}

function pathFor(template: string, { ws, repo }: Fixture): string {
  const openPr = repo.pullRequests.find((p) => p.entity.value.state === "OPEN" && p.commits.length > 0);
  const commentedPr = repo.pullRequests.find((p) => p.comments.length > 0);
  const issue = repo.issues.find((i) => i.comments.length > 0);
  const [statusHash, statuses] = [...repo.statuses.entries()][0] ?? [];
  const pipeline = repo.pipelines.find((p) => p.steps.length > 0);
  const member = ws.members[1] ?? ws.members[0];
  const onComments = template.includes("/comments");
  const pr = onComments ? commentedPr : openPr;
  const values: Record<string, string | undefined> = {
    workspace: ws.slug,
    repo_slug: repo.slug,
    project_key: ws.projects[0]?.key,
    member: member?.user.uuid,
    pull_request_id: pr && String(pr.id),
    issue_id: issue && String(issue.id),
    comment_id: String(
      template.includes("/issues/") ? issue?.comments[0]?.value.id : commentedPr?.comments[0]?.value.id,
    ),
    commit: statusHash,
    key: statuses?.[0]?.value.key as string | undefined,
    revision: "main",
    name: template.includes("/tags/") ? repo.tags[0]?.name : "main",
    pipeline_uuid: pipeline?.uuid,
    step_uuid: pipeline?.steps[0]?.value.uuid as string | undefined,
    deployment_uuid: repo.deployments[0]?.value.uuid as string | undefined,
    environment_uuid: repo.environments[0]?.value.uuid as string | undefined,
  };
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined || value === "undefined")
      throw new Error(`no value for {${name}} in ${template}`);
    return enc(value);
  });
}

// ---------------------------------------------------------------------------------------------------------------

describe("route table against the spec", () => {
  const spec = loadBitbucketSpec();

  it("has unique templates", () => {
    const templates = ALL_ROUTES.map((r) => r.template);
    expect(templates.length).toBeGreaterThan(30);
    expect(new Set(templates).size).toBe(templates.length);
  });

  it.each(ALL_ROUTES.map((r) => [r.template, r] as const))(
    "%s is a GET of the spec with its scopes",
    (template, route) => {
      const operation = spec.paths[template]?.get;
      expect(operation, `GET ${template} is not in the spec`).toBeTypeOf("object");
      const expected = specScopes("GET", template);
      expect({ classic: [...route.scopes.classic], granular: [...route.scopes.granular] }).toEqual(expected);
    },
  );
});

describe("every route's 200 body conforms to the spec (strict properties)", () => {
  let running: RunningSimulator;
  let fixture: Fixture;
  let auth: string;
  /** One response per route (owner's API token), fetched up front so every check below sees all of them. */
  const responses = new Map<string, Fetched>();
  const bodies: Array<{ template: string; body: unknown }> = [];

  beforeAll(async () => {
    running = await startSimulator({
      seed: 7,
      scale: "tiny",
      counts: { comments: 3 },
      legacyIssues: true,
      rateLimitPerHour: 100_000,
    });
    fixture = pickFixture(running);
    auth = ownerAuth(running);
    for (const route of ALL_ROUTES) {
      const res = await get(running, pathFor(route.template, fixture), auth);
      responses.set(route.template, res);
      bodies.push({ template: route.template, body: res.body });
    }
  });
  afterAll(() => running.stop());

  it.each(ALL_ROUTES.map((r) => [r.template, r] as const))("GET %s", (template, route) => {
    const res = responses.get(template) as Fetched;
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    if (route.list) {
      const values = (res.body as Json).values;
      expect(Array.isArray(values) && values.length > 0, `${res.path} served an empty page`).toBe(true);
    }
    expect(conformance(res)).toEqual([]);
  });

  it("serves the access-token pseudo-user and its workspaces in spec shape", async () => {
    const token = running.sim.auth.credentials().accessTokens[0];
    if (!token) throw new Error("no access token");
    for (const path of ["/user", "/user/workspaces", `/workspaces/${fixture.ws.slug}/members`]) {
      const res = await get(running, path, token.authorization);
      expect(res.status, res.text).toBe(200);
      expect(conformance(res)).toEqual([]);
    }
  });

  it("needs every listed exception (none is stale)", () => {
    const used = new Set<string>();
    for (const res of responses.values()) conformance(res, [], used);
    const declared = [
      ...UNDECLARED.map((u) => `undeclared ${u.location}`),
      ...NULLS.map((n) => `null ${n.pointer.source}`),
      ...DEVIATIONS.map((d) => `deviation ${d.error.source}`),
    ];
    expect(declared.filter((entry) => !used.has(entry))).toEqual([]);
  });

  it("uses only `type` values the spec defines (or that the service is known to send)", () => {
    const schemas = new Set(Object.keys(loadBitbucketSpec().components.schemas));
    const unknown = new Set<string>();
    const visit = (value: unknown, parentKey: string): void => {
      if (Array.isArray(value)) {
        for (const item of value) visit(item, parentKey);
        return;
      }
      if (value === null || typeof value !== "object") return;
      for (const [key, child] of Object.entries(value)) {
        // `pipeline_selector.type` is an enum (`branches`, `tags`, ...), not an object type.
        if (key === "type" && parentKey !== "selector" && typeof child === "string") {
          if (!schemas.has(child) && !(child in UNSPECIFIED_TYPES)) unknown.add(child);
        } else visit(child, key);
      }
    };
    for (const { body } of bodies) visit(body, "");
    expect(bodies.length).toBeGreaterThan(0);
    expect([...unknown]).toEqual([]);
  });

  it("formats timestamps like the service: microseconds for most, whole seconds for git dates", () => {
    const service = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/;
    const git = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/;
    const bad: string[] = [];
    let seen = 0;
    const visit = (value: unknown, where: string, owner: Json | undefined): void => {
      if (Array.isArray(value)) {
        for (const [i, item] of value.entries()) visit(item, `${where}/${i}`, owner);
        return;
      }
      if (typeof value === "string") {
        if (!/^\d{4}-\d\d-\d\d/.test(value)) return;
        seen++;
        // Commit and tag `date`s are git dates; everything else is a service timestamp.
        const isGitDate = where.endsWith("/date") && (owner?.type === "commit" || owner?.type === "tag");
        if (!(isGitDate ? git : service).test(value)) bad.push(`${where} = ${value}`);
        return;
      }
      if (value === null || typeof value !== "object") return;
      for (const [key, child] of Object.entries(value)) visit(child, `${where}/${key}`, value as Json);
    };
    for (const { template, body } of bodies) visit(body, template, undefined);
    expect(seen).toBeGreaterThan(100);
    expect(bad).toEqual([]);
  });

  it("serves every API link that points at a simulated endpoint", async () => {
    const compiled = compileRoutes(ALL_ROUTES);
    const hrefs = new Set<string>();
    const visit = (value: unknown, key: string): void => {
      if (Array.isArray(value)) {
        for (const item of value) visit(item, key);
        return;
      }
      if (value === null || typeof value !== "object") return;
      for (const [k, child] of Object.entries(value)) {
        if (k === "href" && typeof child === "string" && key !== "next" && key !== "previous")
          hrefs.add(child);
        else visit(child, k);
      }
    };
    for (const { body } of bodies) visit(body, "");
    const simulated = [...hrefs].filter((href) => {
      if (!href.startsWith(running.apiUrl)) return false;
      return matchRoute(compiled, new URL(href).pathname.slice("/2.0".length)) !== undefined;
    });
    expect(simulated.length).toBeGreaterThan(50);
    const broken: string[] = [];
    for (const href of simulated) {
      const res = await get(running, href, auth);
      if (res.status !== 200) broken.push(`${res.status} ${href}`);
    }
    expect(broken).toEqual([]);
  });

  it("follows the workspace's owners link to its administrators only", async () => {
    const ws = (await get(running, `/workspaces/${fixture.ws.slug}`, auth)).body as Json;
    const owners = await all(running, ((ws.links as Json).owners as Json).href as string, auth);
    const admins = fixture.ws.members.filter((m) => m.administrator).map((m) => m.user.uuid);
    expect(owners.map((m) => (m.user as Json).uuid).sort()).toEqual(admins.sort());
    expect(owners.length).toBeLessThan(fixture.ws.members.length);
    for (const member of owners) expect(member).not.toHaveProperty("permission");
  });

  describe("list envelopes under fields=", () => {
    const lists = ALL_ROUTES.filter((r) => r.list);

    it.each(lists.map((r) => [r.template] as const))("%s", async (template) => {
      const path = pathFor(template, fixture);
      const plain = await get(running, path, auth);
      const plainBody = plain.body as Json;
      const count = (plainBody.values as unknown[]).length;

      const withoutLinks = await get(running, `${path}?fields=-values.links`, auth);
      expect(withoutLinks.status, withoutLinks.text).toBe(200);
      expect(conformance(withoutLinks)).toEqual([]);
      const trimmed = withoutLinks.body as Json;
      expect(Object.keys(trimmed).sort()).toEqual(Object.keys(plainBody).sort());
      expect((trimmed.values as Json[]).length).toBe(count);
      for (const item of trimmed.values as Json[]) expect(item).not.toHaveProperty("links");

      // Narrowed objects legitimately lose required and distinguishing fields (commit statuses without `key`,
      // identical `{type}` items), so only the envelope's shape is checked here, not the item schema.
      const only = await get(running, `${path}?fields=values.type,pagelen`, auth);
      expect(only.status, only.text).toBe(200);
      const onlyBody = only.body as Json;
      expect(Object.keys(onlyBody).sort()).toEqual(["pagelen", "values"]);
      expect((onlyBody.values as Json[]).length).toBe(count);
      for (const item of onlyBody.values as Json[]) {
        expect(Object.keys(item).every((key) => key === "type")).toBe(true);
      }
    });

    it("reveals hidden pull request fields with +values.participants", async () => {
      const path = pathFor("/repositories/{workspace}/{repo_slug}/pullrequests", fixture);
      const plain = await get(running, path, auth);
      for (const item of (plain.body as Json).values as Json[])
        expect(item).not.toHaveProperty("participants");
      const res = await get(
        running,
        `${path}?state=MERGED&fields=%2Bvalues.participants,%2Bvalues.reviewers`,
        auth,
      );
      expect(res.status, res.text).toBe(200);
      expect(conformance(res)).toEqual([]);
      const values = (res.body as Json).values as Json[];
      expect(values.length).toBeGreaterThan(0);
      for (const item of values) {
        expect(Array.isArray(item.participants)).toBe(true);
        expect(Array.isArray(item.reviewers)).toBe(true);
      }
    });
  });
});

describe("the exception lists do not hide real mistakes", () => {
  it("still reports invented fields, wrong types and non-null values under a tolerated name", () => {
    const base = { path: "/repositories/acme/web/pullrequests/1", status: 200 };
    const pr = {
      type: "pullrequest",
      id: 1,
      title: "t",
      state: "OPEN",
      description: "allowed: listed",
      merge_commit: null,
      closed_by: null,
    };
    expect(conformance({ ...base, body: pr })).toEqual([]);
    expect(conformance({ ...base, body: { ...pr, invented: true } })).toEqual([
      "/invented is not declared by the spec (pullrequest.invented)",
    ]);
    expect(conformance({ ...base, body: { ...pr, merge_commit: "abc1234" } })).toEqual([
      "/merge_commit must be object",
    ]);
    expect(conformance({ ...base, body: { ...pr, state: "open" } })).toHaveLength(1);
    expect(conformance({ ...base, body: { ...pr, links: { self: { href: "x:/y" }, bogus: {} } } })).toEqual([
      "/links/bogus is not declared by the spec (pullrequest.links.bogus)",
    ]);
  });

  it("rejects a malformed error envelope", () => {
    const path = "/repositories/acme/nope";
    expect(conformance({ path, status: 404, body: { type: "error", error: { message: "m" } } })).toEqual([]);
    expect(conformance({ path, status: 404, body: { type: "error", error: { msg: "m" } } })).not.toEqual([]);
    expect(conformance({ path, status: 404, body: { type: "error" } })).toEqual([]); // `error` is optional
  });
});

describe("error responses", () => {
  let running: RunningSimulator;
  let fixture: Fixture;
  let auth: string;

  beforeAll(async () => {
    running = await startSimulator({
      seed: 7,
      scale: "tiny",
      counts: { comments: 3 },
      rateLimitPerHour: 100_000,
    });
    fixture = pickFixture(running);
    auth = ownerAuth(running);
  });
  afterAll(() => running.stop());

  function expectError(res: Fetched, status: number, message: RegExp): void {
    expect(res.status, res.text).toBe(status);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(((res.body as Json).error as Json).message).toMatch(message);
  }

  it("404 for an unknown repository", async () => {
    const res = await get(running, `/repositories/${fixture.ws.slug}/no-such-repo`, auth);
    expectError(res, 404, /not found/i);
    expect(conformance(res)).toEqual([]);
  });

  it("404 for a path that is no API", async () => {
    const res = await get(running, "/nope", auth);
    expectError(res, 404, /Resource not found/);
    // The spec has no operation at /nope; validate the body as the 404 of a real operation instead.
    expect(conformance({ ...res, path: "/user" })).toEqual([]);
  });

  it("400 for pagelen=500, with or without the documented 400", async () => {
    const res = await get(running, `/repositories/${fixture.ws.slug}?pagelen=500`, auth);
    expectError(res, 400, /Invalid pagelen/);
    expect(conformance(res, [400])).toEqual([]);
  });

  it("400 for malformed BBQL", async () => {
    const q = enc('name = "web" AND (');
    const res = await get(
      running,
      `/repositories/${fixture.ws.slug}/${fixture.repo.slug}/pullrequests?q=${q}`,
      auth,
    );
    expectError(res, 400, /./);
    expect(conformance(res, [400])).toEqual([]);
  });

  it("400 for malformed fields=", async () => {
    const res = await get(running, `/repositories/${fixture.ws.slug}?fields=values..name`, auth);
    expectError(res, 400, /./);
    expect(conformance(res, [400])).toEqual([]);
  });

  it("401 for a bad token", async () => {
    const res = await get(
      running,
      `/repositories/${fixture.ws.slug}/${fixture.repo.slug}`,
      "Bearer not-a-token",
    );
    expectError(res, 401, /./);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer /);
    expect(conformance(res)).toEqual([]);
  });

  it("403 when a scope is missing", async () => {
    const limited = running.sim.auth
      .credentials()
      .apiTokens.find((t) => !t.scopes.includes("read:pullrequest:bitbucket"));
    if (!limited) throw new Error("no API token without the pull request scope");
    const path = `/repositories/${fixture.ws.slug}/${fixture.repo.slug}/pullrequests`;
    const res = await get(running, path, limited.authorization);
    expectError(res, 403, /scope/i);
    expect(conformance(res)).toEqual([]);
    // The same token may read the repository itself.
    expect(
      (await get(running, `/repositories/${fixture.ws.slug}/${fixture.repo.slug}`, limited.authorization))
        .status,
    ).toBe(200);
  });

  it("410 for issues outside legacy mode", async () => {
    const base = `/repositories/${fixture.ws.slug}/${fixture.repo.slug}/issues`;
    for (const path of [base, `${base}/1`, `${base}/1/comments`]) {
      const res = await get(running, path, auth);
      expectError(res, 410, /no longer available/);
      expect(conformance(res)).toEqual([]);
    }
  });
});

describe("relationships between objects", () => {
  let running: RunningSimulator;
  let auth: string;
  let workspace: string;

  beforeAll(async () => {
    running = await startSimulator({ seed: 3, scale: "tiny", rateLimitPerHour: 100_000 });
    auth = ownerAuth(running);
    const workspaces = await all(running, "/user/workspaces", auth);
    workspace = ((workspaces[0] as Json).workspace as Json).slug as string;
  });
  afterAll(() => running.stop());

  async function commit(repoPath: string, hash: string): Promise<Json> {
    const res = await get(running, `${repoPath}/commit/${hash}`, auth);
    expect(res.status, `${repoPath}/commit/${hash}: ${res.text}`).toBe(200);
    const body = res.body as Json;
    expect((body.hash as string).startsWith(hash)).toBe(true);
    return body;
  }

  it("holds for every repository", async () => {
    const repos = await all(running, `/repositories/${workspace}`, auth);
    expect(repos.length).toBeGreaterThan(1);
    let checkedOpenPrs = 0;
    let checkedPipelines = 0;
    let checkedDeployments = 0;
    for (const repo of repos) {
      const repoPath = `/repositories/${workspace}/${repo.slug as string}`;
      const commits = await all(running, `${repoPath}/commits?pagelen=100`, auth);
      const reachable = new Set(commits.map((c) => c.hash as string));
      expect(commits.length).toBeGreaterThan(1);

      // Newest first; updated_on is the newest commit's date.
      const dates = commits.map((c) => Date.parse(c.date as string));
      expect(dates).toEqual([...dates].sort((a, b) => b - a));
      expect(Date.parse(repo.updated_on as string)).toBe(dates[0]);
      expect(Date.parse(repo.created_on as string)).toBeLessThanOrEqual(dates[dates.length - 1] as number);

      // Every parent named by a reachable commit is reachable too.
      for (const c of commits) {
        for (const parent of c.parents as Json[]) expect(reachable.has(parent.hash as string)).toBe(true);
      }

      const branches = await all(running, `${repoPath}/refs/branches`, auth);
      expect(branches.map((b) => b.name)).toContain((repo.mainbranch as Json).name);
      for (const branch of branches) {
        const head = (branch.target as Json).hash as string;
        expect(reachable.has(head), `branch ${branch.name as string}`).toBe(true);
        const along = await all(
          running,
          `${repoPath}/commits/${enc(branch.name as string)}?pagelen=100`,
          auth,
        );
        expect(along[0]?.hash).toBe(head);
      }
      for (const tag of await all(running, `${repoPath}/refs/tags`, auth)) {
        expect(reachable.has((tag.target as Json).hash as string), `tag ${tag.name as string}`).toBe(true);
      }

      const states = "state=OPEN&state=MERGED&state=DECLINED&state=SUPERSEDED";
      const prs = await all(running, `${repoPath}/pullrequests?${states}&pagelen=50`, auth);
      expect(prs.length).toBeGreaterThan(0);
      for (const pr of prs) {
        const source = (pr.source as Json).commit as Json;
        const destination = (pr.destination as Json).commit as Json;
        await commit(repoPath, source.hash as string);
        const base = await commit(repoPath, destination.hash as string);
        expect(reachable.has(base.hash as string)).toBe(true);
        if (pr.state === "MERGED") {
          const merge = await commit(repoPath, (pr.merge_commit as Json).hash as string);
          expect(reachable.has(merge.hash as string)).toBe(true);
          expect((merge.parents as Json[]).map((p) => p.hash)).toContain(
            (await commit(repoPath, source.hash as string)).hash,
          );
        } else {
          expect(pr.merge_commit).toBeNull();
        }
        if (pr.state === "OPEN") {
          expect(pr.closed_by).toBeNull();
          const prCommits = await all(running, `${repoPath}/pullrequests/${pr.id as number}/commits`, auth);
          expect(prCommits.length).toBeGreaterThan(0);
          expect(String(prCommits[0]?.hash).startsWith(source.hash as string)).toBe(true);
          for (const c of prCommits) {
            const served = await commit(repoPath, c.hash as string);
            expect(served.date).toBe(c.date);
            expect(reachable.has(c.hash as string)).toBe(true);
          }
          const branch = await get(
            running,
            `${repoPath}/refs/branches/${enc(((pr.source as Json).branch as Json).name as string)}`,
            auth,
          );
          expect(branch.status).toBe(200);
          expect(
            (((branch.body as Json).target as Json).hash as string).startsWith(source.hash as string),
          ).toBe(true);
          checkedOpenPrs++;
        } else {
          expect(pr.closed_by).not.toBeNull();
        }
      }

      const pipelines = await all(running, `${repoPath}/pipelines?pagelen=100`, auth);
      const byRef = new Map<string, Set<string>>();
      for (const pipeline of pipelines) {
        const target = pipeline.target as Json;
        const hash = (target.commit as Json).hash as string;
        await commit(repoPath, hash);
        if (target.ref_type === "branch") {
          const ref = target.ref_name as string;
          if (!byRef.has(ref)) {
            const along = await all(running, `${repoPath}/commits/${enc(ref)}?pagelen=100`, auth);
            byRef.set(ref, new Set(along.map((c) => c.hash as string)));
          }
          expect(byRef.get(ref)?.has(hash), `pipeline ${pipeline.build_number as number} on ${ref}`).toBe(
            true,
          );
        }
        const statuses = await all(running, `${repoPath}/commit/${hash}/statuses`, auth);
        expect(statuses.length).toBeGreaterThan(0);
        checkedPipelines++;
      }

      const environments = new Set(
        (await all(running, `${repoPath}/environments`, auth)).map((e) => e.uuid as string),
      );
      const pipelineUuids = new Set(pipelines.map((p) => p.uuid as string));
      for (const deployment of await all(running, `${repoPath}/deployments`, auth)) {
        expect(environments.has((deployment.environment as Json).uuid as string)).toBe(true);
        const release = deployment.release as Json;
        await commit(repoPath, (release.commit as Json).hash as string);
        expect(pipelineUuids.has(release.uuid as string)).toBe(true);
        checkedDeployments++;
      }
    }
    expect(checkedOpenPrs).toBeGreaterThan(0);
    expect(checkedPipelines).toBeGreaterThan(0);
    expect(checkedDeployments).toBeGreaterThan(0);
  });
});

describe("determinism", () => {
  let a: RunningSimulator;
  let b: RunningSimulator;
  let c: RunningSimulator;

  beforeAll(async () => {
    [a, b, c] = await Promise.all([
      startSimulator({ seed: 11, scale: "tiny" }),
      startSimulator({ seed: 11, scale: "tiny" }),
      startSimulator({ seed: 12, scale: "tiny" }),
    ]);
  });
  afterAll(() => Promise.all([a.stop(), b.stop(), c.stop()]));

  async function snapshot(running: RunningSimulator, repoIndex: number): Promise<string[]> {
    const auth = ownerAuth(running);
    const ws = running.sim.data.workspaces[0];
    const repo = ws?.repositories[repoIndex];
    if (!ws || !repo) throw new Error("no repository");
    const base = `/repositories/${ws.slug}/${repo.slug}`;
    const paths = [
      `/repositories/${ws.slug}`,
      `/workspaces/${ws.slug}/members`,
      `${base}/pullrequests?state=OPEN&state=MERGED&state=DECLINED&state=SUPERSEDED`,
      `${base}/pullrequests/activity`,
      `${base}/commits`,
      `${base}/refs/tags`,
      `${base}/pipelines`,
      `${base}/deployments`,
    ];
    const texts: string[] = [];
    for (const path of paths) {
      const res = await get(running, path, auth);
      expect(res.status, res.text).toBe(200);
      texts.push(res.text.split(running.origin).join("ORIGIN"));
    }
    return texts;
  }

  it("serves byte-identical bodies for the same seed", async () => {
    expect(a.origin).not.toBe(b.origin);
    const [first, second] = await Promise.all([snapshot(a, 1), snapshot(b, 1)]);
    expect(first.join("").length).toBeGreaterThan(10_000);
    expect(second).toEqual(first);
  });

  it("serves different data for a different seed", async () => {
    const [first, other] = await Promise.all([snapshot(a, 1), snapshot(c, 1)]);
    for (let i = 0; i < first.length; i++) expect(other[i], `body ${i}`).not.toBe(first[i]);
  });
});
