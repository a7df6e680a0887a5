import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { admin, call, control, errorMessage, repoPath, type Sim, startSim } from "./sim-http.js";

// The hourly budget on /2.0/repositories/*, request statistics and fault injection, over HTTP.

let sim: Sim;
let ws: string;
let repo: string;

beforeAll(async () => {
  sim = await startSim({ seed: 21, scale: "tiny", rateLimitPerHour: 20 });
  ws = sim.sim.data.workspaces[0]?.slug as string;
  repo = sim.sim.data.workspaces[0]?.repositories[0]?.slug as string;
});

afterAll(async () => {
  await sim.stop();
});

beforeEach(async () => {
  await control(sim, "POST", "/reset");
});

function workspaceToken() {
  const t = sim.creds.accessTokens.find((a) => a.type === "workspace");
  const record = sim.sim.auth.listAccessTokens().find((a) => a.token === t?.token);
  if (!t || !record) throw new Error("no workspace access token");
  return { auth: t.authorization, credentialId: `access_token:${record.id}` };
}

async function oauthToken(): Promise<string> {
  const c = sim.creds.oauth.consumers[0];
  if (!c) throw new Error("no consumer");
  const reply = await call(sim, sim.creds.oauth.tokenUrl, {
    method: "POST",
    auth: c.tokenEndpointAuthorization,
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "grant_type=client_credentials",
  });
  return `Bearer ${reply.json?.access_token as string}`;
}

describe("rate limit", () => {
  it("answers the 21st request of the hour with 429; other credentials and /2.0/user are unaffected", async () => {
    const { auth, credentialId } = workspaceToken();
    const paths = [`/2.0/repositories/${ws}`, repoPath(ws, repo), `${repoPath(ws, repo)}/commits`];
    for (let i = 0; i < 20; i++) {
      const reply = await call(sim, paths[i % paths.length] as string, { auth });
      expect(reply.status, `request ${i + 1}`).toBe(200);
      // Access tokens get the scaled-limit headers; NearLimit turns true with under 20% left.
      expect(reply.headers.get("x-ratelimit-limit")).toBe("20");
      expect(reply.headers.get("x-ratelimit-resource")).toBe("api-repository");
      expect(reply.headers.get("x-ratelimit-nearlimit")).toBe(String(20 - (i + 1) < 4));
    }
    const limited = await call(sim, `/2.0/repositories/${ws}`, { auth });
    expect(limited.status).toBe(429);
    expect(errorMessage(limited)).toBe("Rate limit for this resource has been exceeded");
    // Refusals do not use up budget, and keep being refused.
    expect((await call(sim, `${repoPath(ws, repo)}/pullrequests`, { auth })).status).toBe(429);

    // Not a repository endpoint: not counted.
    expect((await call(sim, "/2.0/user", { auth })).status).toBe(200);
    expect((await call(sim, `/2.0/workspaces/${ws}`, { auth })).status).toBe(200);

    // Other credentials have budgets of their own; only access tokens see the headers.
    const api = await call(sim, `/2.0/repositories/${ws}`);
    expect(api.status).toBe(200);
    expect(api.headers.get("x-ratelimit-limit")).toBeNull();
    const oauth = await call(sim, `/2.0/repositories/${ws}`, { auth: await oauthToken() });
    expect(oauth.status).toBe(200);
    expect(oauth.headers.get("x-ratelimit-limit")).toBeNull();

    // The window rolls: an hour after the requests the budget is back. (The clock is wall time plus
    // an offset, so leave the wall-clock duration of this test some room.)
    await control(sim, "POST", "/clock", { advanceSeconds: 3000 });
    expect((await call(sim, `/2.0/repositories/${ws}`, { auth })).status).toBe(429);
    await control(sim, "POST", "/clock", { advanceSeconds: 600 });
    const again = await call(sim, `/2.0/repositories/${ws}`, { auth });
    expect(again.status).toBe(200);
    expect(again.headers.get("x-ratelimit-nearlimit")).toBe("false");

    const stats = (await control(sim, "GET", "/stats")) as {
      byCredential: Record<string, number>;
      byEndpoint: Record<string, number>;
    };
    expect(stats.byCredential[credentialId]).toBe(20 + 2 + 2 + 2);
  });

  it("uses the limit set through /_sim/config, and /2.0/user never counts", async () => {
    expect((await control(sim, "PUT", "/config", { rateLimitPerHour: 3 })).rateLimitPerHour).toBe(3);
    try {
      for (let i = 0; i < 10; i++) expect((await call(sim, "/2.0/user")).status).toBe(200);
      for (let i = 0; i < 3; i++) expect((await call(sim, `/2.0/repositories/${ws}`)).status).toBe(200);
      expect((await call(sim, `/2.0/repositories/${ws}`)).status).toBe(429);
      // A reset refills budgets but keeps the setting.
      await control(sim, "POST", "/reset");
      expect((await control(sim, "GET", "/config")).rateLimitPerHour).toBe(3);
      for (let i = 0; i < 3; i++) expect((await call(sim, `/2.0/repositories/${ws}`)).status).toBe(200);
      expect((await call(sim, `/2.0/repositories/${ws}`)).status).toBe(429);
    } finally {
      await control(sim, "PUT", "/config", { rateLimitPerHour: 20 });
    }
  });
});

describe("request statistics", () => {
  it("counts per endpoint, per credential and per status exactly as sent", async () => {
    await control(sim, "DELETE", "/stats");
    const { auth, credentialId } = workspaceToken();
    const owner = `api_token:${sim.creds.owner.uuid}`;
    for (let i = 0; i < 3; i++) await call(sim, `/2.0/repositories/${ws}`);
    for (let i = 0; i < 2; i++) await call(sim, `${repoPath(ws, repo)}/commits`, { auth });
    await call(sim, repoPath(ws, "no-such-repo"));
    await call(sim, "/2.0/user", { auth: null });
    await call(sim, "/2.0/user", { auth: "Bearer nonsense" });
    await call(sim, "/2.0/nowhere");
    const stats = (await control(sim, "GET", "/stats")) as {
      total: number;
      byEndpoint: Record<string, number>;
      byCredential: Record<string, number>;
      byStatus: Record<string, number>;
    };
    expect(stats.total).toBe(9);
    expect(stats.byEndpoint).toMatchObject({
      "GET /repositories/{workspace}": 3,
      "GET /repositories/{workspace}/{repo_slug}/commits": 2,
      "GET /repositories/{workspace}/{repo_slug}": 1,
      "GET /user": 2,
    });
    expect(stats.byCredential).toEqual({ [owner]: 4, [credentialId]: 2, anonymous: 3 });
    // Anonymous /2.0/user: the API answers 401 for a missing Authorization as for a wrong one.
    expect(stats.byStatus).toEqual({ "200": 5, "404": 2, "401": 2 });
    await control(sim, "DELETE", "/stats");
    expect((await control(sim, "GET", "/stats")).total).toBe(0);
  });
});

describe("faults", () => {
  const prs = () => `${repoPath(ws, repo)}/pullrequests`;

  it("errorRate 1 fails the configured endpoint only, with the error envelope", async () => {
    const config = {
      endpoints: {
        "/repositories/{workspace}/{repo_slug}/pullrequests": { errorRate: 1, errorStatuses: [503] },
      },
    };
    expect(await control(sim, "PUT", "/faults", config)).toEqual(config);
    expect(await control(sim, "GET", "/faults")).toEqual(config);
    for (let i = 0; i < 5; i++) {
      const reply = await call(sim, prs());
      expect(reply.status).toBe(503);
      errorMessage(reply);
    }
    expect((await call(sim, repoPath(ws, repo))).status).toBe(200);
    expect((await call(sim, `${prs()}/1`)).status).toBe(200);

    // Default statuses: 500, 502 or 503.
    await control(sim, "PUT", "/faults", { global: { errorRate: 1 } });
    const seen = new Set<number>();
    for (let i = 0; i < 30; i++) {
      const reply = await call(sim, "/2.0/user");
      seen.add(reply.status);
      expect(errorMessage(reply)).toBeTruthy();
    }
    for (const status of seen) expect([500, 502, 503]).toContain(status);
    expect(seen.size).toBeGreaterThan(1);
  });

  it("a path prefix (with or without /2.0) selects every endpoint below it", async () => {
    for (const prefix of [`/repositories/${ws}/${repo}`, `/2.0/repositories/${ws}/${repo}`]) {
      await control(sim, "PUT", "/faults", {
        endpoints: { [prefix]: { errorRate: 1, errorStatuses: [500] } },
      });
      expect((await call(sim, repoPath(ws, repo))).status, prefix).toBe(500);
      expect((await call(sim, `${repoPath(ws, repo)}/commits`)).status, prefix).toBe(500);
      expect((await call(sim, `/2.0/repositories/${ws}`)).status, prefix).toBe(200);
    }
  });

  it("rateLimitBurst N answers exactly N requests with 429", async () => {
    await control(sim, "PUT", "/faults", { endpoints: { [`/repositories/${ws}`]: { rateLimitBurst: 3 } } });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await call(sim, `${repoPath(ws, repo)}/commits`)).status);
    expect(statuses).toEqual([429, 429, 429, 200, 200, 200]);
    const limited = await call(sim, `/2.0/repositories/${ws}`);
    expect(limited.status).toBe(200);
    // Re-configuring re-arms the burst.
    await control(sim, "PUT", "/faults", { global: { rateLimitBurst: 1 } });
    const reply = await call(sim, "/2.0/user");
    expect(reply.status).toBe(429);
    expect(errorMessage(reply)).toBe("Rate limit for this resource has been exceeded");
    expect((await call(sim, "/2.0/user")).status).toBe(200);
  });

  it("latencyMs delays the answer", async () => {
    await control(sim, "PUT", "/faults", { endpoints: { "/user": { latencyMs: 600 } } });
    const started = performance.now();
    expect((await call(sim, "/2.0/user")).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(590);
    // Other endpoints are not delayed (loose bound: test files run in parallel).
    const quick = performance.now();
    expect((await call(sim, `/2.0/repositories/${ws}`)).status).toBe(200);
    expect(performance.now() - quick).toBeLessThan(500);
  });

  it("cutRate 1 truncates the body: the client sees a network or parse error", async () => {
    await control(sim, "PUT", "/faults", { endpoints: { "/repositories/{workspace}": { cutRate: 1 } } });
    for (let i = 0; i < 3; i++) {
      let failed = false;
      try {
        const res = await fetch(`${sim.apiUrl}/repositories/${ws}`, {
          headers: { authorization: sim.owner },
        });
        JSON.parse(await res.text());
      } catch {
        failed = true;
      }
      expect(failed).toBe(true);
    }
    // Error answers are not cut, and the server keeps serving.
    expect((await call(sim, `/2.0/repositories/${ws}?pagelen=0`)).status).toBe(400);
    expect((await call(sim, repoPath(ws, repo))).status).toBe(200);
  });

  it("refuses invalid configurations with 400 and keeps the previous one", async () => {
    const valid = { global: { latencyMs: 1 } };
    await control(sim, "PUT", "/faults", valid);
    const invalid: unknown[] = [
      { global: { errorRate: 2 } },
      { global: { errorRate: "1" } },
      { global: { cutRate: -0.1 } },
      { global: { latencyMs: -1 } },
      { global: { latencyMs: 1.5 } },
      { global: { latencyMs: 1e12 } },
      { global: { rateLimitBurst: "3" } },
      { global: { errorStatuses: [404] } },
      { global: { errorStatuses: [] } },
      { global: { errorStatuses: 503 } },
      { global: { errorrate: 1 } },
      { global: "everything" },
      { global: null },
      { endpoints: "abc" },
      { endpoints: { "/user": 1 } },
      { endpoints: { "": { errorRate: 1 } } },
      { globl: { errorRate: 1 } },
    ];
    for (const body of invalid) {
      const reply = await admin(sim, "PUT", "/faults", body);
      expect(reply.status, JSON.stringify(body)).toBe(400);
      errorMessage(reply);
    }
    for (const raw of ["{not json", "[]", "42", '"x"']) {
      const reply = await call(sim, "/_sim/faults", { method: "PUT", auth: null, body: raw });
      expect(reply.status, raw).toBe(400);
      errorMessage(reply);
    }
    expect(await control(sim, "GET", "/faults")).toEqual(valid);
  });

  it("reset and DELETE clear faults", async () => {
    await control(sim, "PUT", "/faults", { global: { errorRate: 1 } });
    expect((await call(sim, "/2.0/user")).status).toBeGreaterThanOrEqual(500);
    await control(sim, "POST", "/reset");
    expect(await control(sim, "GET", "/faults")).toEqual({});
    expect((await call(sim, "/2.0/user")).status).toBe(200);
    await control(sim, "PUT", "/faults", { global: { errorRate: 1 } });
    expect(await control(sim, "DELETE", "/faults")).toEqual({});
    expect((await call(sim, "/2.0/user")).status).toBe(200);
  });
});

describe("clock and config control", () => {
  it("moves the clock forward only, within rendered dates", async () => {
    const before = Date.parse((await control(sim, "GET", "/clock")).now as string);
    const after = Date.parse(
      (await control(sim, "POST", "/clock", { advanceSeconds: 86_400 })).now as string,
    );
    expect(after - before).toBeGreaterThanOrEqual(86_400_000);
    for (const body of [
      { advanceSeconds: -1 },
      { advanceSeconds: "10" },
      { advanceSeconds: 1e13 },
      { advanceSeconds: 1e306 },
      {},
    ]) {
      const reply = await admin(sim, "POST", "/clock", body);
      expect(reply.status, JSON.stringify(body)).toBe(400);
      errorMessage(reply);
    }
    // Everything still renders.
    expect((await call(sim, `/2.0/repositories/${ws}`)).status).toBe(200);
    expect((await control(sim, "GET", "/clock")).now).toMatch(/^20\d\d-/);
  });

  it("reports and validates settings; the token lifetime survives a reset", async () => {
    const initial = await control(sim, "GET", "/config");
    expect(initial).toMatchObject({ rateLimitPerHour: 20, accessTokenTtlSeconds: 3600, legacyIssues: false });
    for (const body of [
      { rateLimitPerHour: 0 },
      { rateLimitPerHour: "10" },
      { accessTokenTtlSeconds: 0.5 },
      { legacyIssues: "yes" },
      { rateLimit: 5 },
    ]) {
      const reply = await admin(sim, "PUT", "/config", body);
      expect(reply.status, JSON.stringify(body)).toBe(400);
      errorMessage(reply);
    }
    expect(await control(sim, "GET", "/config")).toEqual(initial);
    try {
      await control(sim, "PUT", "/config", { accessTokenTtlSeconds: 60 });
      await control(sim, "POST", "/reset");
      expect((await control(sim, "GET", "/config")).accessTokenTtlSeconds).toBe(60);
      const token = await oauthToken();
      await control(sim, "POST", "/clock", { advanceSeconds: 61 });
      const expired = await call(sim, "/2.0/user", { auth: token });
      expect(expired.status).toBe(401);
      expect(errorMessage(expired)).toBe("Access token expired.");
    } finally {
      await control(sim, "PUT", "/config", { accessTokenTtlSeconds: 3600 });
    }
  });
});
