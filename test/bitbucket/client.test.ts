import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BudgetRegistry, RollingWindowBudget } from "../../src/bitbucket/budget.js";
import { createClient } from "../../src/bitbucket/client.js";
import { parseConnectionString } from "../../src/bitbucket/connection-properties.js";
import type { Page } from "../../src/bitbucket/types.js";
import {
  accessTokenProps,
  apiTokenProps,
  fakeTime,
  localServer,
  rejection,
  startTestSim,
  type TestSim,
} from "./helpers.js";

// Paging, errors, retries, Retry-After, the request budget and the counters, over HTTP.

let sim: TestSim;
let ws: string;
let repo: string;

const COMMITS = "GET /repositories/{workspace}/{repo_slug}/commits";
const PULLS = "GET /repositories/{workspace}/{repo_slug}/pullrequests";
const REPOS = "GET /repositories/{workspace}";

beforeAll(async () => {
  sim = await startTestSim({ seed: 3 });
  ws = sim.workspace;
  repo = sim.repos[0] as string;
});

afterAll(async () => {
  await sim.stop();
});

beforeEach(async () => {
  await sim.control("POST", "/reset");
  await sim.control("PUT", "/config", { rateLimitPerHour: 1000 });
});

async function collect<T>(pages: AsyncIterable<Page<T>>): Promise<{ rows: T[]; pages: number }> {
  const rows: T[] = [];
  let n = 0;
  for await (const page of pages) {
    n++;
    rows.push(...page.values);
  }
  return { rows, pages: n };
}

describe("paging", () => {
  it("follows cursor next links verbatim and sees every commit once", async () => {
    const client = createClient(apiTokenProps(sim));
    const all = await collect(
      client.pages<{ hash: string }>(`/repositories/${ws}/${repo}/commits`, { pagelen: 100 }),
    );
    await sim.control("DELETE", "/stats");

    const pagelen = 7;
    const { rows, pages } = await collect(
      client.pages<{ hash: string }>(`/repositories/${ws}/${repo}/commits`, { pagelen }),
    );
    expect(rows.length).toBe(all.rows.length);
    expect(rows.length).toBeGreaterThan(pagelen * 3);
    expect(new Set(rows.map((r) => r.hash)).size).toBe(rows.length);
    const expectedPages = Math.ceil(rows.length / pagelen);
    expect(pages).toBe(expectedPages);
    const stats = await sim.stats();
    expect(stats.byEndpoint[COMMITS]).toBe(expectedPages);
    expect(stats.byStatus["400"]).toBeUndefined();
    expect(client.counts().byEndpoint["/repositories/{w}/{r}/commits"]).toBe(1 + expectedPages);
  });

  it("follows page-based lists with repeated parameters, and the counts match the simulator's", async () => {
    const client = createClient(apiTokenProps(sim));
    const states = ["OPEN", "MERGED", "DECLINED", "SUPERSEDED"];
    const { rows, pages } = await collect(
      client.pages<{ id: number; state: string }>(`/repositories/${ws}/${repo}/pullrequests`, {
        state: states,
        pagelen: 4,
      }),
    );
    const expected = sim.sim.data.workspaces[0]?.repositories[0]?.pullRequests.length ?? 0;
    expect(rows.length).toBe(expected);
    expect(new Set(rows.map((r) => r.id)).size).toBe(expected);
    expect(pages).toBe(Math.ceil(expected / 4));
    expect((await sim.stats()).byEndpoint[PULLS]).toBe(pages);
  });

  it("stops requesting when the consumer stops", async () => {
    const client = createClient(apiTokenProps(sim));
    for await (const page of client.pages(`/repositories/${ws}/${repo}/commits`, { pagelen: 5 })) {
      expect(page.values).toHaveLength(5);
      break;
    }
    expect((await sim.stats()).byEndpoint[COMMITS]).toBe(1);
    expect(client.counts().requests).toBe(1);
  });

  it("sends a literal + in fields= as %2B (hidden fields appear)", async () => {
    const client = createClient(apiTokenProps(sim));
    const plain = await client.get<Page<{ user: Record<string, unknown> }>>(`/workspaces/${ws}/members`);
    expect(plain.values[0]?.user.email).toBeUndefined();
    const withEmail = await client.get<Page<{ user: Record<string, unknown> }>>(`/workspaces/${ws}/members`, {
      fields: "+values.user.email",
    });
    expect(withEmail.values[0]?.user.email).toEqual(expect.stringContaining("@"));
  });
});

describe("errors", () => {
  it("explains once that the issue tracker was retired", async () => {
    const client = createClient(apiTokenProps(sim));
    const error = await rejection(client.get(`/repositories/${ws}/${repo}/issues`));
    expect(error.code).toBe("BITBUCKET_ISSUES_RETIRED");
    expect(error.message).toMatch(/retired its issue tracker on 2026-08-20/);
    const paged = await rejection(collect(client.pages(`/repositories/${ws}/${repo}/issues/1/comments`)));
    expect(paged.code).toBe("BITBUCKET_ISSUES_RETIRED");
    expect(client.counts().retries).toBe(0);
  });

  it("maps 404 with the path and 400 with the service's message", async () => {
    const client = createClient(apiTokenProps(sim));
    const missing = await rejection(client.get(`/repositories/${ws}/no-such-repo`));
    expect(missing.code).toBe("BITBUCKET_NOT_FOUND");
    expect(missing.message).toContain(`/repositories/${ws}/no-such-repo`);
    const bad = await rejection(client.get(`/repositories/${ws}`, { pagelen: 1000 }));
    expect(bad.code).toBe("BITBUCKET_BAD_REQUEST");
    expect(bad.message).toContain("Invalid pagelen");
    expect(client.counts().retries).toBe(0);
  });
});

describe("retries", () => {
  it("recover from random 5xx faults", async () => {
    await sim.control("PUT", "/faults", { global: { errorRate: 0.4 } });
    const time = fakeTime();
    const client = createClient(apiTokenProps(sim), { sleep: time.sleep, now: time.now, maxAttempts: 10 });
    const { rows } = await collect(
      client.pages<{ hash: string }>(`/repositories/${ws}/${repo}/commits`, { pagelen: 5 }),
    );
    expect(new Set(rows.map((r) => r.hash)).size).toBe(rows.length);
    const counts = client.counts();
    expect(counts.retries).toBeGreaterThan(0);
    expect(counts.requests).toBe((await sim.stats()).total);
    expect(time.sleeps).toHaveLength(counts.retries);
  });

  it("back off exponentially with full jitter through a 429 burst", async () => {
    await sim.control("PUT", "/faults", {
      endpoints: { "/repositories/{workspace}": { rateLimitBurst: 3 } },
    });
    const time = fakeTime();
    const client = createClient(apiTokenProps(sim), {
      sleep: time.sleep,
      now: time.now,
      random: () => 0.9999,
    });
    await client.get(`/repositories/${ws}`);
    expect(time.sleeps).toEqual([999, 1999, 3999]);
    expect(client.counts()).toMatchObject({
      requests: 4,
      retries: 3,
      byEndpoint: { "/repositories/{w}": 4 },
    });
    expect((await sim.stats()).byStatus["429"]).toBe(3);
  });

  it("retry bodies cut half-way", async () => {
    const path = `/repositories/${ws}/${repo}/commits`;
    const clean = await collect(
      createClient(apiTokenProps(sim)).pages<{ hash: string }>(path, { pagelen: 10 }),
    );
    await sim.control("PUT", "/faults", {
      endpoints: { "/repositories/{workspace}/{repo_slug}/commits": { cutRate: 0.5 } },
    });
    const time = fakeTime();
    const client = createClient(apiTokenProps(sim), { sleep: time.sleep, now: time.now, maxAttempts: 12 });
    const { rows } = await collect(client.pages<{ hash: string }>(path, { pagelen: 10 }));
    expect(rows.map((r) => r.hash)).toEqual(clean.rows.map((r) => r.hash));
    expect(client.counts().retries).toBeGreaterThan(0);
  });

  it("give up after the last attempt, naming the endpoint and the cause", async () => {
    await sim.control("PUT", "/faults", { global: { errorRate: 1, errorStatuses: [503] } });
    const time = fakeTime();
    const client = createClient(apiTokenProps(sim), { sleep: time.sleep, now: time.now });
    const error = await rejection(client.get(`/repositories/${ws}/${repo}`));
    expect(error.code).toBe("BITBUCKET_SERVER_ERROR");
    expect(error.message).toContain(`GET /repositories/${ws}/${repo} failed after 5 attempts: HTTP 503`);
    expect(time.sleeps).toHaveLength(4);
    expect(client.counts()).toMatchObject({ requests: 5, retries: 4 });
  });

  it("honour Retry-After in seconds and as an HTTP date", async () => {
    const time = fakeTime();
    const server = await localServer((_req, res, n) => {
      if (n === 1)
        res.writeHead(429, { "retry-after": "7" }).end("Rate limit for this resource has been exceeded");
      else if (n === 2)
        res.writeHead(503, { "retry-after": new Date(time.now() + 30_000).toUTCString() }).end();
      else res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    });
    try {
      const props = parseConnectionString(
        `AuthScheme=AccessToken;AccessToken=tok;Workspace=w;Url=${server.url}`,
      );
      const client = createClient(props, { sleep: time.sleep, now: time.now, random: () => 0 });
      expect(await client.get("/thing")).toEqual({ ok: true });
      expect(time.sleeps).toEqual([7000, 30_000]);
      expect(client.counts().retries).toBe(2);
    } finally {
      await server.close();
    }
  });

  it("retry truncated JSON and refuse non-JSON with a hint about Url", async () => {
    const server = await localServer((req, res, n) => {
      if (req.url?.startsWith("/2.0/html")) {
        res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>Bitbucket</title>");
      } else if (n === 1) {
        res.writeHead(200, { "content-type": "application/json" });
        res.end('{"values": [1, 2');
      } else res.writeHead(200, { "content-type": "application/json" }).end('{"values": [1, 2]}');
    });
    try {
      const time = fakeTime();
      const props = parseConnectionString(
        `AuthScheme=AccessToken;AccessToken=tok;Workspace=w;Url=${server.url}`,
      );
      const client = createClient(props, { sleep: time.sleep, now: time.now });
      expect(await client.get("/list")).toEqual({ values: [1, 2] });
      expect(client.counts().retries).toBe(1);
      const html = await rejection(client.get("/html"));
      expect(html.code).toBe("BITBUCKET_INVALID_RESPONSE");
      expect(html.message).toMatch(/instead of JSON. Check Url/);
    } finally {
      await server.close();
    }
  });

  it("follow redirects on the API's origin with the credentials, and refuse them to another host", async () => {
    const seen: (string | undefined)[] = [];
    const server = await localServer((req, res) => {
      seen.push(req.headers.authorization);
      if (req.url?.startsWith("/2.0/old")) res.writeHead(301, { location: "/2.0/new?x=1" }).end();
      else if (req.url?.startsWith("/2.0/away"))
        res.writeHead(302, { location: "https://elsewhere.example/2.0/new" }).end();
      else if (req.url?.startsWith("/2.0/loop")) res.writeHead(307, { location: req.url }).end();
      else res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ url: req.url }));
    });
    try {
      const props = parseConnectionString(
        `AuthScheme=AccessToken;AccessToken=tok;Workspace=w;Url=${server.url}`,
      );
      const client = createClient(props);
      expect(await client.get("/old")).toEqual({ url: "/2.0/new?x=1" });
      expect(seen).toEqual(["Bearer tok", "Bearer tok"]);
      const away = await rejection(client.get("/away"));
      expect(away.code).toBe("BITBUCKET_FOREIGN_URL");
      expect(away.message).toContain("https://elsewhere.example");
      const loop = await rejection(client.get("/loop"));
      expect(loop.code).toBe("BITBUCKET_TOO_MANY_REDIRECTS");
      expect(loop.message).toBe("GET /loop was redirected more than 5 times (last to /loop).");
      expect(server.hits()).toBe(2 + 1 + 6);
    } finally {
      await server.close();
    }
  });

  it("time out slow answers, and refuse next links to another host", async () => {
    const server = await localServer((req, res) => {
      if (req.url?.startsWith("/2.0/slow")) return; // never answers
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ values: [1], next: "https://elsewhere.example/2.0/list?page=2" }));
    });
    try {
      const time = fakeTime();
      const props = parseConnectionString(
        `AuthScheme=AccessToken;AccessToken=secret-token-1;Workspace=w;Url=${server.url};Timeout=0.1`,
      );
      const client = createClient(props, { sleep: time.sleep, now: time.now, maxAttempts: 2 });
      const slow = await rejection(client.get("/slow"));
      expect(slow.code).toBe("BITBUCKET_NETWORK_ERROR");
      expect(slow.message).toBe("GET /slow failed after 2 attempts: no answer within 0.1 s (Timeout).");
      const foreign = await rejection(collect(client.pages("/list")));
      expect(foreign.code).toBe("BITBUCKET_FOREIGN_URL");
      expect(server.hits()).toBe(3);
    } finally {
      await server.close();
    }
  });
});

describe("request budget", () => {
  it("paces the 21st request of the hour instead of collecting a 429", async () => {
    await sim.control("PUT", "/config", { rateLimitPerHour: 20 });
    const time = fakeTime(sim);
    const client = createClient(apiTokenProps(sim, "RequestsPerHour=20"), {
      sleep: time.sleep,
      now: time.now,
    });
    for (let i = 0; i < 20; i++) await client.get(`/repositories/${ws}`, { pagelen: 1 });
    // The simulator's clock runs in real time too, so "no wait" may read as a millisecond or two.
    expect(client.counts().throttledMs).toBeLessThan(100);
    await client.get(`/repositories/${ws}`, { pagelen: 1 });
    const counts = client.counts();
    expect(counts.throttledMs).toBeGreaterThanOrEqual(3_600_000 - 60_000);
    expect(counts.throttledMs).toBeLessThanOrEqual(3_600_000 + 2_000);
    expect(counts).toMatchObject({ requests: 21, retries: 0 });
    const stats = await sim.stats();
    expect(stats.byEndpoint[REPOS]).toBe(21);
    expect(stats.byStatus["429"]).toBeUndefined();
  });

  it("without pacing the same sequence hits the simulator's limit (the test above can fail)", async () => {
    await sim.control("PUT", "/config", { rateLimitPerHour: 20 });
    const time = fakeTime(sim);
    const client = createClient(apiTokenProps(sim, "RequestsPerHour=1000"), {
      sleep: time.sleep,
      now: time.now,
      maxAttempts: 1,
    });
    for (let i = 0; i < 20; i++) await client.get(`/repositories/${ws}`, { pagelen: 1 });
    expect((await rejection(client.get(`/repositories/${ws}`))).code).toBe("BITBUCKET_RATE_LIMITED");
  });

  it("shares one budget between clients of the same credential", async () => {
    await sim.control("PUT", "/config", { rateLimitPerHour: 20 });
    const time = fakeTime(sim);
    const budgets = new BudgetRegistry(
      (n) => new RollingWindowBudget({ limitPerHour: n, now: time.now, sleep: time.sleep }),
    );
    const a = createClient(apiTokenProps(sim, "RequestsPerHour=20"), {
      budgets,
      now: time.now,
      sleep: time.sleep,
    });
    const b = createClient(apiTokenProps(sim, "RequestsPerHour=20"), {
      budgets,
      now: time.now,
      sleep: time.sleep,
    });
    for (let i = 0; i < 10; i++) {
      await a.get(`/repositories/${ws}`, { pagelen: 1 });
      await b.get(`/repositories/${ws}`, { pagelen: 1 });
    }
    await b.get(`/repositories/${ws}`, { pagelen: 1 });
    expect(b.counts().throttledMs).toBeGreaterThan(3_000_000);
    expect((await sim.stats()).byStatus["429"]).toBeUndefined();
  });

  it("slows down when Bitbucket says NearLimit", async () => {
    await sim.control("PUT", "/config", { rateLimitPerHour: 20 });
    const time = fakeTime(sim);
    const client = createClient(accessTokenProps(sim, "workspace", "RequestsPerHour=20"), {
      sleep: time.sleep,
      now: time.now,
    });
    // NearLimit turns true with under 20% left: after the 17th request.
    for (let i = 0; i < 17; i++) await client.get(`/repositories/${ws}`, { pagelen: 1 });
    expect(client.counts().throttledMs).toBeLessThan(100);
    await client.get(`/repositories/${ws}`, { pagelen: 1 });
    expect(client.counts().throttledMs).toBeGreaterThanOrEqual(3_600_000 / 20 - 1000);
    expect((await sim.stats()).byStatus["429"]).toBeUndefined();
  });

  it("caps parallel requests at MaxConcurrency", async () => {
    let active = 0;
    let peak = 0;
    const server = await localServer((_req, res) => {
      active++;
      peak = Math.max(peak, active);
      setTimeout(() => {
        active--;
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      }, 20);
    });
    try {
      const props = parseConnectionString(
        `AuthScheme=AccessToken;AccessToken=t;Workspace=w;Url=${server.url};MaxConcurrency=2`,
      );
      const client = createClient(props);
      await Promise.all(Array.from({ length: 6 }, (_, i) => client.get(`/repositories/w/r${i}`)));
      expect(peak).toBe(2);
      expect(client.counts().byEndpoint).toEqual({ "/repositories/{w}/{r}": 6 });
    } finally {
      await server.close();
    }
  });
});
