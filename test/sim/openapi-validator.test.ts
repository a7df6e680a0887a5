import { describe, expect, it } from "vitest";
import {
  loadBitbucketSpec,
  specOperation,
  specScopes,
  UNIVERSAL_ERROR_STATUSES,
  validateResponse,
} from "../support/openapi.js";

const API = "https://api.bitbucket.org/2.0";
const WEB = "https://bitbucket.org";
const REPO_UUID = "{6b1e3c1a-64a2-4c7e-9d8e-3f4c2a1b0d9e}";
const USER_UUID = "{0f8e6d4c-2b1a-4f3e-8d7c-6b5a4e3d2c1b}";
const PR_TEMPLATE = "/repositories/{workspace}/{repo_slug}/pullrequests";

function link(href: string) {
  return { href };
}

function user() {
  return {
    type: "user",
    uuid: USER_UUID,
    display_name: "Ada Lovelace",
    account_id: "557058:ada",
    nickname: "ada",
    links: {
      self: link(`${API}/users/%7B0f8e6d4c-2b1a-4f3e-8d7c-6b5a4e3d2c1b%7D`),
      html: link(`${WEB}/%7B0f8e6d4c-2b1a-4f3e-8d7c-6b5a4e3d2c1b%7D/`),
      avatar: link("https://avatar-management.example/ada.png"),
    },
  };
}

function repository() {
  return {
    type: "repository",
    uuid: REPO_UUID,
    full_name: "acme/web",
    name: "web",
    links: {
      self: link(`${API}/repositories/acme/web`),
      html: link(`${WEB}/acme/web`),
    },
  };
}

function pullRequest(id: number) {
  const self = `${API}/repositories/acme/web/pullrequests/${id}`;
  return {
    type: "pullrequest",
    id,
    title: `Change ${id}`,
    state: "OPEN",
    draft: false,
    author: user(),
    source: { repository: repository(), branch: { name: `feature/${id}` }, commit: { hash: "0123456789ab" } },
    destination: { repository: repository(), branch: { name: "main" }, commit: { hash: "fedcba987654" } },
    comment_count: 2,
    task_count: 0,
    close_source_branch: true,
    created_on: "2026-03-01T10:00:00.000000+00:00",
    updated_on: "2026-03-02T11:30:00.123456+00:00",
    summary: { raw: "Body", markup: "markdown", html: "<p>Body</p>" },
    links: {
      self: link(self),
      html: link(`${WEB}/acme/web/pull-requests/${id}`),
      activity: link(`${self}/activity`),
    },
  };
}

function pullRequestPage() {
  return {
    size: 2,
    page: 1,
    pagelen: 10,
    values: [pullRequest(3), pullRequest(4)],
  };
}

const prList = (body: unknown, status = 200) => ({
  method: "GET",
  path: "/2.0/repositories/acme/web/pullrequests",
  status,
  body,
});

describe("loadBitbucketSpec", () => {
  it("loads the OpenAPI 3.0 document once", () => {
    const spec = loadBitbucketSpec();
    expect(spec.openapi).toBe("3.0.0");
    expect(spec.servers?.[0]?.url).toBe("https://api.bitbucket.org/2.0");
    expect(Object.keys(spec.paths).length).toBeGreaterThan(150);
    expect(loadBitbucketSpec()).toBe(spec);
  });
});

describe("validateResponse: bodies", () => {
  it("accepts a valid paginated pull request page (lax and strict)", () => {
    const lax = validateResponse(prList(pullRequestPage()));
    expect(lax).toEqual({ operation: `GET ${PR_TEMPLATE}`, errors: [] });
    expect(validateResponse(prList(pullRequestPage()), { strictProperties: true }).errors).toEqual([]);
  });

  it("reports wrong types with the instance path", () => {
    const page = pullRequestPage();
    const first = page.values[0] as Record<string, unknown>;
    first.id = "3";
    (first.author as Record<string, unknown>).uuid = 42;
    const { errors } = validateResponse(prList(page));
    expect(errors).toContain("/values/0/id must be integer");
    expect(errors).toContain("/values/0/author/uuid must be string");
    expect(errors).toHaveLength(2);
  });

  it("checks enums, formats, required discriminators and the page envelope", () => {
    const page: Record<string, unknown> = { ...pullRequestPage(), pagelen: 0, nxt: "x" };
    const values = page.values as Array<Record<string, unknown>>;
    const first = values[0] as Record<string, unknown>;
    first.state = "open";
    first.created_on = "2026-03-01 10:00";
    (first.links as Record<string, { href: string }>).html = { href: "/acme/web/pull-requests/3" };
    delete (first.author as Record<string, unknown>).type;
    const { errors } = validateResponse(prList(page));
    expect(errors).toEqual(
      expect.arrayContaining([
        "/pagelen must be >= 1",
        "/nxt is not declared by the spec (paginated_pullrequests.nxt)",
        '/values/0/state must be one of ["OPEN","DRAFT","QUEUED","MERGED","DECLINED","SUPERSEDED"]',
        '/values/0/created_on must match format "date-time"',
        '/values/0/links/html/href must match format "uri"',
        "/values/0/author must have required property 'type'",
      ]),
    );
  });

  it("dispatches on `type` to the subtype schema (discriminator)", () => {
    const page = pullRequestPage();
    // `account_id` exists on `user` only, so its type is checked only when `author` is validated as a user.
    (page.values[0]?.author as Record<string, unknown>).account_id = 7;
    expect(validateResponse(prList(page)).errors).toEqual(["/values/0/author/account_id must be string"]);
  });

  it("reports undeclared properties only in strictProperties mode, with an allow-list", () => {
    const page = pullRequestPage();
    (page.values[0]?.author as Record<string, unknown>).nick_name = "ada";
    (page.values[1]?.source.repository as Record<string, unknown>).slug = "web";
    expect(validateResponse(prList(page)).errors).toEqual([]);
    const strict = validateResponse(prList(page), { strictProperties: true });
    expect(strict.errors).toEqual([
      "/values/0/author/nick_name is not declared by the spec (user.nick_name)",
      "/values/1/source/repository/slug is not declared by the spec (repository.slug)",
    ]);
    const allowed = validateResponse(prList(page), {
      strictProperties: true,
      allowUndeclared: ["repository.slug"],
    });
    expect(allowed.errors).toEqual([
      "/values/0/author/nick_name is not declared by the spec (user.nick_name)",
    ]);
  });

  it("merges allOf members instead of letting one member's additionalProperties:false reject the others", () => {
    // `task` does not derive from `object`: no `type` property, and both allOf members are closed.
    const task = {
      id: 9,
      state: "UNRESOLVED",
      created_on: "2026-03-01T10:00:00+00:00",
      updated_on: "2026-03-01T10:00:00+00:00",
      content: { raw: "do it", markup: "markdown", html: "<p>do it</p>" },
      creator: user(),
      links: { self: link(`${API}/repositories/acme/web/pullrequests/3/tasks/9`) },
    };
    const result = validateResponse({
      method: "GET",
      path: "/repositories/acme/web/pullrequests/3/tasks/9",
      status: 200,
      body: task,
    });
    expect(result.operation).toBe(
      "GET /repositories/{workspace}/{repo_slug}/pullrequests/{pull_request_id}/tasks/{task_id}",
    );
    expect(result.errors).toEqual([]);
  });
});

describe("validateResponse: statuses and errors", () => {
  const envelope = { type: "error", error: { message: "Invalid pagelen" } };

  it("accepts a valid error envelope for documented and universal error statuses", () => {
    expect(
      validateResponse(prList({ type: "error", error: { message: "Repository not found" } }, 404)).errors,
    ).toEqual([]);
    // 401 is documented without content: checked against the error schema anyway.
    expect(validateResponse(prList(envelope, 401)).errors).toEqual([]);
    // 429 is not listed for this operation but Bitbucket can send it anywhere.
    expect(UNIVERSAL_ERROR_STATUSES.has(429)).toBe(true);
    expect(validateResponse(prList(envelope, 429)).errors).toEqual([]);
  });

  it("rejects an error envelope without a message", () => {
    const { errors } = validateResponse(prList({ type: "error", error: { detail: "no message" } }, 404));
    expect(errors).toEqual(["/error must have required property 'message'"]);
    expect(validateResponse(prList({ error: { message: "x" } }, 404)).errors).toEqual([
      "(root) must have required property 'type'",
    ]);
  });

  it("reports undocumented statuses unless allowed explicitly", () => {
    expect(validateResponse(prList(envelope, 418)).errors).toEqual([
      `status 418 not documented for GET ${PR_TEMPLATE}`,
    ]);
    // `Invalid pagelen` is a 400 the spec does not list for this operation.
    expect(validateResponse(prList(envelope, 400)).errors).toEqual([
      `status 400 not documented for GET ${PR_TEMPLATE}`,
    ]);
    expect(validateResponse(prList(envelope, 400), { extraErrorStatuses: [400] }).errors).toEqual([]);
  });

  it("checks 204 responses carry no body and a JSON status carries one", () => {
    const approve = {
      method: "DELETE",
      path: "/2.0/repositories/acme/web/pullrequests/3/approve",
      status: 204,
    };
    expect(validateResponse({ ...approve, body: undefined }).errors).toEqual([]);
    expect(validateResponse({ ...approve, body: { ok: true } }).errors).toEqual([
      "status 204 must not carry a body",
    ]);
    expect(validateResponse(prList(undefined)).errors).toEqual([
      `status 200 of GET ${PR_TEMPLATE} must carry a JSON body`,
    ]);
  });

  it("reports unknown paths and methods", () => {
    expect(validateResponse({ method: "GET", path: "/2.0/nope/x", status: 200, body: {} })).toEqual({
      operation: "GET /nope/x",
      errors: ["no spec path matches /nope/x"],
    });
    expect(
      validateResponse({ method: "PATCH", path: "/2.0/repositories/acme/web", status: 200, body: {} }).errors,
    ).toEqual(["method PATCH not documented for /repositories/{workspace}/{repo_slug}"]);
  });
});

describe("specOperation: template matching", () => {
  it("prefers literal segments over parameters", () => {
    expect(specOperation("GET", "/2.0/repositories/acme/web/pullrequests/activity")?.template).toBe(
      "/repositories/{workspace}/{repo_slug}/pullrequests/activity",
    );
    expect(specOperation("GET", "/2.0/repositories/acme/web/pullrequests/3")?.template).toBe(
      "/repositories/{workspace}/{repo_slug}/pullrequests/{pull_request_id}",
    );
  });

  it("accepts paths with or without /2.0, with a query string or as a full URL", () => {
    const template = "/repositories/{workspace}/{repo_slug}/pullrequests/{pull_request_id}";
    expect(specOperation("get", "/repositories/acme/web/pullrequests/3")?.template).toBe(template);
    expect(specOperation("GET", "/2.0/repositories/acme/web/pullrequests/3?fields=%2Bvalues")?.template).toBe(
      template,
    );
    expect(specOperation("GET", `${API}/repositories/acme/web/pullrequests/3`)?.template).toBe(template);
  });

  it("matches percent-encoded UUID segments as parameters", () => {
    const found = specOperation(
      "GET",
      "/2.0/repositories/%7B6b1e3c1a-64a2-4c7e-9d8e-3f4c2a1b0d9e%7D/%7B%7D/pullrequests",
    );
    expect(found?.template).toBe(PR_TEMPLATE);
    expect(specOperation("GET", "/2.0/users/%7B0f8e6d4c-2b1a-4f3e-8d7c-6b5a4e3d2c1b%7D")?.template).toBe(
      "/users/{selected_user}",
    );
  });

  it("lets a trailing {path} span several segments and matches mixed segments", () => {
    expect(specOperation("GET", "/2.0/repositories/acme/web/src/abc123/docs/guide/intro.md")?.template).toBe(
      "/repositories/{workspace}/{repo_slug}/src/{commit}/{path}",
    );
    expect(specOperation("GET", "/2.0/repositories/acme/web/issues/export/web-issues-7.zip")?.template).toBe(
      "/repositories/{workspace}/{repo_slug}/issues/export/{repo_name}-issues-{task_id}.zip",
    );
  });

  it("resolves a sample path of every spec template back to that template", () => {
    const spec = loadBitbucketSpec();
    const misses: string[] = [];
    for (const [template, item] of Object.entries(spec.paths)) {
      const sample = template.replace(/\{([^{}]+)\}/g, (_, name: string) =>
        name === "path" ? "a/b.txt" : `v-${name}`,
      );
      for (const method of Object.keys(item).filter((key) => key !== "parameters")) {
        const found = specOperation(method, `/2.0${sample}`);
        if (found?.template !== template) misses.push(`${method} ${template} -> ${found?.template}`);
      }
    }
    expect(misses).toEqual([]);
  });

  it("returns the spec operation object", () => {
    const found = specOperation("GET", "/2.0/repositories/acme/web/pullrequests");
    expect(found?.operation.security).toBeDefined();
    expect(found?.operation["x-atlassian-oauth2-scopes"]?.[0]?.state).toBe("Current");
    expect(specOperation("GET", "/2.0/definitely/not/here")).toBeUndefined();
  });
});

describe("specScopes", () => {
  it("returns classic and granular scopes of the pull request list", () => {
    expect(specScopes("GET", PR_TEMPLATE)).toEqual({
      classic: ["pullrequest"],
      granular: ["read:pullrequest:bitbucket"],
    });
    expect(specScopes("get", "/2.0/repositories/acme/web/pullrequests")).toEqual(
      specScopes("GET", PR_TEMPLATE),
    );
  });

  it("throws for operations the spec does not have", () => {
    expect(() => specScopes("PATCH", PR_TEMPLATE)).toThrow(/no operation PATCH/);
  });
});
