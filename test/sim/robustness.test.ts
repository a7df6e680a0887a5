import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, type Reply, type Sim, startSim } from "./sim-http.js";

// Hostile and malformed input: whatever arrives, the simulator answers with a sensible status and, outside
// the OAuth pages, the API's JSON error envelope; it never answers 500 and never stops serving.

let sim: Sim;
let ws: string;
let repo: string;

beforeAll(async () => {
  sim = await startSim({ seed: 99, scale: "tiny" });
  ws = sim.sim.data.workspaces[0]?.slug as string;
  repo = sim.sim.data.workspaces[0]?.repositories[0]?.slug as string;
});

afterAll(async () => {
  await sim.stop();
});

/** A small seeded generator, so a failure names a reproducible request. */
function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  const text = (alphabet: string, max: number) => {
    let out = "";
    for (let i = int(max) + 1; i > 0; i--) out += alphabet[int(alphabet.length)];
    return out;
  };
  return { next, int, pick, text };
}

const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join("");
const URL_SAFE = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%{}!$&'()*+,;=:@";
const SENSIBLE = [200, 201, 204, 302, 400, 401, 403, 404, 405, 410, 413, 429, 431];

interface Probe {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/** Bitbucket's envelope, or the OAuth endpoints' own answers (HTML pages, RFC 6749 JSON errors). */
function checkReply(probe: Probe, reply: Reply) {
  const label = `${probe.method} ${probe.path.slice(0, 200)}`;
  expect(SENSIBLE, label).toContain(reply.status);
  if (probe.path.startsWith("/site/oauth2/")) return;
  if (reply.status === 204 || probe.method === "HEAD") return;
  expect(reply.headers.get("content-type"), label).toMatch(/^application\/json/);
  expect(reply.json, `${label}: ${reply.text.slice(0, 200)}`).toBeDefined();
  if (reply.status >= 400) {
    expect(reply.json?.type, label).toBe("error");
    expect(typeof (reply.json?.error as { message?: unknown } | undefined)?.message, label).toBe("string");
  }
}

function probes(seed: number, count: number): Probe[] {
  const r = random(seed);
  const repoBase = `/2.0/repositories/${ws}/${repo}`;
  const garbageSegment = () =>
    r.pick([
      () => r.text(URL_SAFE, 12),
      () => "%zz",
      () => `%${r.text("0123456789abcdefXYZ", 2)}`,
      () => "%",
      () => "..",
      () => "%2e%2e",
      () => "%00",
      () => encodeURIComponent(r.text(PRINTABLE, 10)),
      () => "%F0%9F%92%A9",
      () => "%C0%AF",
      () => `%7B${r.text("0123456789abcdef-", 36)}%7D`,
      () => "%7B%7D",
      () => "{not-a-uuid}",
    ])();
  const base = () =>
    r.pick([
      "/2.0",
      "/2.0/repositories",
      `/2.0/repositories/${ws}`,
      repoBase,
      `${repoBase}/pullrequests`,
      `${repoBase}/pullrequests/1`,
      `${repoBase}/commits`,
      `${repoBase}/commit`,
      `${repoBase}/refs/branches`,
      `${repoBase}/pipelines`,
      "/2.0/workspaces",
      "/2.0/user",
      "/_sim",
      "/_sim/repositories",
      `/_sim/repositories/${ws}/${repo}/pullrequests`,
      "",
      "/site/oauth2",
    ]);
  const query = () =>
    r.pick([
      () =>
        `pagelen=${r.pick(["0", "-1", "1e3", "999999999999999999999999", "0x10", "abc", "", "10&pagelen=20"])}`,
      () =>
        `page=${r.pick(["0", "-3", "abc", "99999999999999", "%zz", "W10", "WyJ4Iiw1XQ", encodeURIComponent(r.text(PRINTABLE, 30))])}`,
      () => `q=${encodeURIComponent(r.text(PRINTABLE, 60))}`,
      () => `q=${encodeURIComponent(`${"(".repeat(r.int(3000))}id=1${")".repeat(r.int(3000))}`)}`,
      () => `q=${encodeURIComponent('state = "OPEN" AND')}&sort=${encodeURIComponent(r.text(PRINTABLE, 20))}`,
      () => `fields=${encodeURIComponent(r.text(PRINTABLE, 40))}`,
      () => `state=${encodeURIComponent(r.text(PRINTABLE, 8))}`,
      () => `include=${encodeURIComponent(r.text(URL_SAFE, 20))}&exclude=%zz`,
      () => `${r.text(URL_SAFE, 10)}=${r.text(URL_SAFE, 10)}`,
      () => `x=${"a".repeat(12_000)}`,
      () => "%zz=%zz&&&=&",
    ])();
  const authorization = () =>
    r.pick([
      () => r.text(PRINTABLE, 80).trim() || "x",
      () => `Basic ${r.text(PRINTABLE, 40)}`.trim(),
      () => `Basic ${Buffer.from(r.text(PRINTABLE, 30)).toString("base64")}`,
      () => `Basic ${Buffer.from(`a@b.c:${r.text(URL_SAFE, 40)}`).toString("base64")}`,
      () => `Bearer ${r.text(URL_SAFE, 100)}`,
      () => `Bearer ${"x".repeat(8000)}`,
      () => "Bearer",
      () => "Bearer a b c",
      () => `JWT ${r.text(URL_SAFE, 30)}`,
      () => `Digest username="${r.text(URL_SAFE, 8)}"`,
    ])();
  const adminBody = () =>
    r.pick([
      "{",
      "[]",
      "null",
      "42",
      '"text"',
      "{}",
      '{"advanceSeconds":-5}',
      '{"advanceSeconds":1e308}',
      '{"global":{"errorRate":"high"}}',
      '{"endpoints":{"/user":{"latencyMs":-1}}}',
      '{"count":"many"}',
      '{"count":1e9}',
      '{"source":123}',
      '{"state":["OPEN"]}',
      '{"slug":"../../etc"}',
      '{"rateLimitPerHour":-1}',
      '{"text":{"nested":true}}',
      r.text(PRINTABLE, 50),
      `{"slug":"${"a".repeat(5000)}"}`,
    ]);
  const adminPath = () =>
    r.pick([
      "/_sim/clock",
      "/_sim/faults",
      "/_sim/config",
      `/_sim/repositories/${ws}`,
      `/_sim/repositories/${ws}/${repo}/push`,
      `/_sim/repositories/${ws}/${repo}/pullrequests`,
      `/_sim/repositories/${ws}/${repo}/pullrequests/1`,
      `/_sim/repositories/${ws}/${repo}/pullrequests/abc/comments`,
      `/_sim/repositories/${ws}/${repo}/pullrequests/1/comments/%zz`,
      `/_sim/repositories/${ws}/${repo}/branches/%zz`,
      "/_sim/%zz",
      `/_sim/${r.text(URL_SAFE, 20)}`,
    ]);

  const out: Probe[] = [];
  for (let i = 0; i < count; i++) {
    const kind = r.int(6);
    if (kind === 0) {
      const segments = Array.from({ length: r.int(4) + 1 }, garbageSegment).join("/");
      out.push({ method: "GET", path: `${base()}/${segments}` });
    } else if (kind === 1) {
      out.push({
        method: "GET",
        path: `${r.pick([`/2.0/repositories/${ws}`, `${repoBase}/pullrequests`, `${repoBase}/commits`, `${repoBase}/pullrequests/activity`])}?${query()}`,
      });
    } else if (kind === 2) {
      out.push({
        method: "GET",
        path: r.pick(["/2.0/user", `/2.0/repositories/${ws}`, repoBase]),
        headers: { authorization: authorization() },
      });
    } else if (kind === 3) {
      out.push({
        method: r.pick(["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "FOO", "PROPFIND"]),
        path: r.pick([
          "/2.0/user",
          `/2.0/repositories/${ws}`,
          `${repoBase}/pullrequests`,
          "/nowhere",
          "/_sim/reset-not",
        ]),
        body: r.next() < 0.5 ? r.text(PRINTABLE, 100) : undefined,
      });
    } else if (kind === 4) {
      out.push({
        method: r.pick(["POST", "PUT", "DELETE", "GET"]),
        path: adminPath(),
        headers: {
          "content-type": r.pick(["application/json", "text/plain", "application/x-www-form-urlencoded"]),
        },
        body: adminBody(),
      });
    } else {
      out.push({
        method: r.pick(["GET", "POST"]),
        path: r.pick([
          `/site/oauth2/authorize?${query()}`,
          `/site/oauth2/authorize?client_id=${r.text(URL_SAFE, 18)}&response_type=code&redirect_uri=${encodeURIComponent("javascript:alert(1)")}`,
          "/site/oauth2/access_token",
          `/site/oauth2/${garbageSegment()}`,
        ]),
        headers: { authorization: authorization(), "content-type": "application/x-www-form-urlencoded" },
        body: r.pick([
          "grant_type=client_credentials",
          "grant_type=refresh_token&refresh_token=x",
          r.text(PRINTABLE, 60),
          "%zz=%zz",
        ]),
      });
    }
  }
  return out;
}

async function send(probe: Probe): Promise<Reply> {
  return call(sim, probe.path, {
    method: probe.method,
    auth: probe.headers?.authorization ?? undefined,
    headers: Object.fromEntries(Object.entries(probe.headers ?? {}).filter(([k]) => k !== "authorization")),
    // fetch refuses bodies on GET and HEAD.
    body: probe.method === "GET" || probe.method === "HEAD" ? undefined : probe.body,
  });
}

/** Writes raw bytes on a fresh connection and returns everything the server sends back. */
function raw(bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const url = new URL(sim.origin);
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    socket.setTimeout(5000, () => socket.destroy(new Error("no answer within 5 s")));
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("close", () => resolve(Buffer.concat(chunks).toString("utf8")));
    socket.write(bytes, "latin1");
  });
}

describe("malformed and hostile requests", () => {
  it("answers 450 random malformed requests sensibly, never with 500", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    const seen = new Map<number, number>();
    process.on("warning", onWarning);
    try {
      for (const probe of probes(20_261_128, 450)) {
        let reply: Reply;
        try {
          reply = await send(probe);
        } catch (error) {
          throw new Error(`${probe.method} ${probe.path.slice(0, 200)}: ${String(error)}`);
        }
        checkReply(probe, reply);
        seen.set(reply.status, (seen.get(reply.status) ?? 0) + 1);
      }
    } finally {
      process.off("warning", onWarning);
    }
    // The probes reach past the first checks: many kinds of answers, successes among them.
    expect(seen.size).toBeGreaterThanOrEqual(6);
    expect(seen.get(200)).toBeGreaterThan(10);
    // The simulator reports its own bugs as warnings before answering 500.
    expect(warnings.filter((w) => w.includes("bitbridge simulator"))).toEqual([]);
    const stats = sim.sim.stats.snapshot().byStatus;
    expect(Object.keys(stats).filter((s) => s.startsWith("5"))).toEqual([]);
    // Still serving, with the seeded credentials.
    await call(sim, "/_sim/reset", { method: "POST", auth: null });
    expect((await call(sim, "/2.0/user")).status).toBe(200);
    expect((await call(sim, `/2.0/repositories/${ws}`)).status).toBe(200);
  });

  it("specific edge cases", async () => {
    const cases: [Probe, number][] = [
      [{ method: "GET", path: "/2.0/repositories/%7Bnot-a-uuid%7D" }, 404],
      [{ method: "GET", path: "/2.0/repositories/%7B%7D" }, 404],
      [{ method: "GET", path: `/2.0/repositories/${ws}/%zz` }, 404],
      [{ method: "GET", path: "/_sim/%zz" }, 400],
      [{ method: "GET", path: `/2.0/repositories/${ws}?pagelen=1000000000000` }, 400],
      [
        {
          method: "GET",
          path: `/2.0/repositories/${ws}?q=${"(".repeat(5000)}slug%3D%22a%22${")".repeat(5000)}`,
        },
        400,
      ],
      [
        { method: "GET", path: `/2.0/repositories/${ws}?q=${"(".repeat(50)}slug%3D%22a%22${")".repeat(50)}` },
        200,
      ],
      [{ method: "GET", path: `/2.0/repositories/${ws}?x=${"a".repeat(200_000)}` }, 431],
      [{ method: "FOO", path: "/2.0/user" }, 400],
      [{ method: "PATCH", path: "/2.0/user" }, 405],
      [{ method: "POST", path: "/_sim/clock", body: "{not json" }, 400],
      [{ method: "POST", path: "/_sim/reset", body: "x".repeat(2 << 20) }, 413],
      [{ method: "GET", path: "//2.0/user" }, 404],
      [{ method: "GET", path: "/2.0/user", headers: { authorization: `Basic ${"A".repeat(5000)}` } }, 401],
    ];
    for (const [probe, status] of cases) {
      const reply = await send(probe);
      expect(reply.status, `${probe.method} ${probe.path.slice(0, 80)}`).toBe(status);
      checkReply(probe, reply);
    }
    expect((await call(sim, "/2.0/user")).status).toBe(200);
  });

  it("answers requests the HTTP parser rejects with the error envelope", async () => {
    const requests = [
      "GARBAGE\r\n\r\n",
      "GET /2.0/user HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n",
      "GET /2.0/user HTTP/9.9\r\nHost: x\r\n\r\n",
      "GET /2.0/user HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
      `GET /2.0/user HTTP/1.1\r\nHost: x\r\nX-Big: ${"b".repeat(40_000)}\r\n\r\n`,
      // Parsed, but not a path: answered by the simulator itself (so the connection must be closed).
      "GET * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ];
    for (const request of requests) {
      const answer = await raw(request);
      const label = request.slice(0, 40);
      expect(answer, label).toMatch(/^HTTP\/1\.1 4\d\d /);
      const body = answer.slice(answer.indexOf("\r\n\r\n") + 4);
      const parsed = JSON.parse(body) as { type: string; error: { message: string } };
      expect(parsed.type, label).toBe("error");
      expect(typeof parsed.error.message, label).toBe("string");
    }
    // Absolute-form targets (as sent through a proxy) are served by their path.
    const absolute = await raw(
      `GET ${sim.apiUrl}/user HTTP/1.1\r\nHost: x\r\nAuthorization: ${sim.owner}\r\nConnection: close\r\n\r\n`,
    );
    expect(absolute).toMatch(/^HTTP\/1\.1 200 /);
    expect((await call(sim, "/2.0/user")).status).toBe(200);
  });

  it("survives clients that disconnect mid-request or while a delayed answer is pending", async () => {
    await call(sim, "/_sim/faults", {
      method: "PUT",
      auth: null,
      body: JSON.stringify({ endpoints: { "/user": { latencyMs: 100 } } }),
    });
    try {
      const aborted = Array.from({ length: 10 }, async () => {
        const controller = new AbortController();
        const pending = fetch(`${sim.apiUrl}/user`, {
          headers: { authorization: sim.owner },
          signal: controller.signal,
        });
        setTimeout(() => controller.abort(), 10);
        await pending.catch(() => undefined);
      });
      await Promise.all(aborted);
      // Half a request, then gone.
      await new Promise<void>((resolve) => {
        const url = new URL(sim.origin);
        const socket = connect(Number(url.port), url.hostname, () => {
          socket.write('POST /_sim/reset HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"a":');
          setTimeout(() => {
            socket.destroy();
            resolve();
          }, 20);
        });
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      await call(sim, "/_sim/faults", { method: "DELETE", auth: null });
    }
    expect((await call(sim, "/2.0/user")).status).toBe(200);
  });
});
