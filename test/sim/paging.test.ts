import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { RepositoryState } from "../../sim/data/model.js";
import {
  call,
  control,
  enc,
  errorMessage,
  getJson,
  type Json,
  repoPath,
  type Sim,
  startSim,
  walk,
} from "./sim-http.js";

// Paging over real HTTP: every list walked through `next` must yield each object once, in order, with the
// envelope the service uses for its kind of paging.

let sim: Sim;
let ws: string;
let repo: RepositoryState;
let base: string;

beforeAll(async () => {
  sim = await startSim({ seed: 31, scale: "small", counts: { repositories: 12, commits: 1000 } });
  const workspace = sim.sim.data.workspaces[0];
  if (!workspace) throw new Error("no workspace");
  ws = workspace.slug;
});

afterAll(async () => {
  await sim.stop();
});

beforeEach(async () => {
  await control(sim, "POST", "/reset");
  // The reset builds fresh state objects; look the repository up again.
  const found = sim.sim.data.workspaces[0]?.repositories[0];
  if (!found) throw new Error("no repository");
  repo = found;
  base = repoPath(ws, repo.slug);
});

const ids = (values: Json[], key = "id") => values.map((v) => v[key]);

/** Checks the page-based envelope of a finished walk: page numbers, size, previous, next. */
async function checkPageEnvelopes(pages: Json[], total: number, pagelen: number) {
  expect(pages.length).toBe(Math.max(1, Math.ceil(total / pagelen)));
  for (const [i, page] of pages.entries()) {
    expect(page.page).toBe(i + 1);
    expect(page.size).toBe(total);
    expect(page.pagelen).toBe(pagelen);
    if (i === 0) expect(page).not.toHaveProperty("previous");
    else {
      expect(typeof page.previous).toBe("string");
      expect(new URL(page.previous as string).searchParams.get("page")).toBe(String(i));
    }
    if (i === pages.length - 1) expect(page).not.toHaveProperty("next");
    else {
      expect(page.next as string).toMatch(new RegExp(`^${sim.apiUrl.replace(/[.]/g, "\\.")}/`));
    }
  }
  // `previous` is a working link too: it serves the page before.
  if (pages.length > 1) {
    const back = await getJson(sim, pages[1]?.previous as string);
    expect(back.page).toBe(1);
  }
}

function checkCursorEnvelopes(pages: Json[], pagelen: number) {
  for (const [i, page] of pages.entries()) {
    expect(page).not.toHaveProperty("size");
    expect(page).not.toHaveProperty("previous");
    expect(page).not.toHaveProperty("page");
    expect(page.pagelen).toBe(pagelen);
    if (i < pages.length - 1) expect(page.next as string).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/2\.0\//);
    else expect(page).not.toHaveProperty("next");
  }
}

/** Hashes reachable from the heads, computed from the parent links (independently of the simulator's walk). */
function reachable(r: RepositoryState, heads: string[]): Set<string> {
  const seen = new Set<string>();
  const stack = [...heads];
  while (stack.length > 0) {
    const hash = stack.pop() as string;
    if (seen.has(hash)) continue;
    seen.add(hash);
    stack.push(...(r.commitsByHash.get(hash)?.parents ?? []));
  }
  return seen;
}

/** Newest first: the order of the commit store, reversed, restricted to `set`. */
function newestFirst(r: RepositoryState, set: Set<string>): string[] {
  return [...r.commits]
    .reverse()
    .map((c) => c.hash)
    .filter((h) => set.has(h));
}

describe("page-based lists", () => {
  it("walks repositories once each, in order, with size/page/previous", async () => {
    const expected = sim.sim.data.workspaces[0]?.repositories.map((r) => r.uuid) ?? [];
    expect(expected.length).toBe(12);
    const { values, pages } = await walk(sim, `/2.0/repositories/${ws}?pagelen=5`);
    expect(ids(values, "uuid")).toEqual(expected);
    await checkPageEnvelopes(pages, 12, 5);
  });

  it("walks pull requests of every state once each (pagelen 7)", async () => {
    const { values, pages } = await walk(
      sim,
      `${base}/pullrequests?state=OPEN&state=MERGED&state=DECLINED&state=SUPERSEDED&pagelen=7`,
    );
    expect(ids(values)).toEqual(repo.pullRequests.map((p) => p.id));
    expect(new Set(values.map((v) => v.state)).size).toBeGreaterThan(1);
    await checkPageEnvelopes(pages, repo.pullRequests.length, 7);
    // `next` keeps the repeated state parameters.
    expect(new URL(pages[0]?.next as string).searchParams.getAll("state")).toEqual([
      "OPEN",
      "MERGED",
      "DECLINED",
      "SUPERSEDED",
    ]);
  });

  it("lists only OPEN pull requests by default", async () => {
    const open = repo.pullRequests.filter((p) => p.entity.value.state === "OPEN").map((p) => p.id);
    expect(open.length).toBeGreaterThan(0);
    expect(open.length).toBeLessThan(repo.pullRequests.length);
    const { values } = await walk(sim, `${base}/pullrequests?pagelen=2`);
    expect(ids(values)).toEqual(open);
    expect(values.every((v) => v.state === "OPEN")).toBe(true);
  });

  it("walks pull request comments, pipelines and branches", async () => {
    const pr = [...repo.pullRequests].sort((a, b) => b.comments.length - a.comments.length)[0];
    if (!pr || pr.comments.length < 3) throw new Error("seed has no pull request with 3+ comments");
    const comments = await walk(sim, `${base}/pullrequests/${pr.id}/comments?pagelen=2`);
    expect(ids(comments.values)).toEqual(pr.comments.map((c) => c.value.id));
    await checkPageEnvelopes(comments.pages, pr.comments.length, 2);

    const pipelines = await walk(sim, `${base}/pipelines?pagelen=9`);
    expect(ids(pipelines.values, "uuid")).toEqual(repo.pipelines.map((p) => p.uuid));
    await checkPageEnvelopes(pipelines.pages, repo.pipelines.length, 9);

    const branches = await walk(sim, `${base}/refs/branches?pagelen=2`);
    const names = [...repo.branches.keys()].sort((a, b) => a.localeCompare(b));
    expect(ids(branches.values, "name")).toEqual(names);
    await checkPageEnvelopes(branches.pages, names.length, 2);
  });

  it("answers a page past the end with no values and no next", async () => {
    const body = await getJson(sim, `/2.0/repositories/${ws}?pagelen=10&page=9`);
    expect(body.values).toEqual([]);
    expect(body).not.toHaveProperty("next");
    expect(body.size).toBe(12);
    for (const page of ["0", "-1", "x", "1.5", ""]) {
      const reply = await call(sim, `/2.0/repositories/${ws}?page=${page}`);
      expect(reply.status, page).toBe(400);
      errorMessage(reply);
    }
  });
});

describe("cursor-based lists", () => {
  it("walks 1,000 commits with pagelen 100: each once, newest first, no size/previous", async () => {
    const { values, pages } = await walk(sim, `${base}/commits?pagelen=100`);
    const expected = newestFirst(
      repo,
      reachable(
        repo,
        [...repo.branches.values()].map((b) => b.head),
      ),
    );
    expect(values.length).toBe(expected.length);
    expect(ids(values, "hash")).toEqual(expected);
    expect(pages.length).toBe(Math.ceil(expected.length / 100));
    checkCursorEnvelopes(pages, 100);
    // Dates never increase down the list.
    const dates = values.map((v) => Date.parse(v.date as string));
    for (let i = 1; i < dates.length; i++) expect(dates[i]).toBeLessThanOrEqual(dates[i - 1] as number);
  });

  it("keeps an ongoing commit walk stable while new commits are pushed", async () => {
    const before = newestFirst(
      repo,
      reachable(
        repo,
        [...repo.branches.values()].map((b) => b.head),
      ),
    );
    const first = await getJson(sim, `${base}/commits?pagelen=100`);
    const seen = ids(first.values as Json[], "hash");
    let next = first.next as string | undefined;
    let round = 0;
    while (next !== undefined) {
      // Push to main and to a topic branch between pages.
      await control(sim, "POST", `/repositories/${ws}/${repo.slug}/push`, { count: 3 });
      await control(sim, "POST", `/repositories/${ws}/${repo.slug}/push`, { branch: `topic-${round++}` });
      const page = await getJson(sim, next);
      seen.push(...ids(page.values as Json[], "hash"));
      next = page.next as string | undefined;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(before);
    // A fresh walk sees the new commits first.
    const fresh = await getJson(sim, `${base}/commits?pagelen=3`);
    expect(ids(fresh.values as Json[], "hash")).not.toEqual(before.slice(0, 3));
  });

  it("walks pull request activity and repository activity once each, newest first", async () => {
    const pr = [...repo.pullRequests].sort((a, b) => b.activity.length - a.activity.length)[0];
    if (!pr || pr.activity.length < 4) throw new Error("seed has no pull request with 4+ activity entries");
    const prWalk = await walk(sim, `${base}/pullrequests/${pr.id}/activity?pagelen=3`);
    expect(prWalk.values.map((v) => JSON.stringify(v))).toEqual(pr.activity.map((a) => a.entity.json()));
    checkCursorEnvelopes(prWalk.pages, 3);

    const total = repo.pullRequests.reduce((n, p) => n + p.activity.length, 0);
    expect(total).toBeGreaterThan(50);
    const small = await walk(sim, `${base}/pullrequests/activity?pagelen=7`);
    const large = await walk(sim, `${base}/pullrequests/activity?pagelen=50`);
    checkCursorEnvelopes(small.pages, 7);
    checkCursorEnvelopes(large.pages, 50);
    const texts = small.values.map((v) => JSON.stringify(v));
    expect(texts.length).toBe(total);
    expect(new Set(texts).size).toBe(total);
    expect(large.values.map((v) => JSON.stringify(v))).toEqual(texts);
    const times = small.values.map(activityTime);
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeLessThanOrEqual(times[i - 1] as number);
  });

  it("keeps a pull request activity walk stable while the pull request changes", async () => {
    const pr = [...repo.pullRequests].sort((a, b) => b.activity.length - a.activity.length)[0];
    if (!pr) throw new Error("no pull request");
    const before = pr.activity.map((a) => a.entity.json());
    const first = await getJson(sim, `${base}/pullrequests/${pr.id}/activity?pagelen=2`);
    const seen = (first.values as Json[]).map((v) => JSON.stringify(v));
    let next = first.next as string | undefined;
    let round = 0;
    while (next !== undefined) {
      await control(sim, "POST", "/clock", { advanceSeconds: 60 });
      await control(sim, "PUT", `/repositories/${ws}/${repo.slug}/pullrequests/${pr.id}`, {
        title: `Renamed ${round++}`,
      });
      const page = await getJson(sim, next);
      seen.push(...(page.values as Json[]).map((v) => JSON.stringify(v)));
      next = page.next as string | undefined;
    }
    expect(seen).toEqual(before);
  });

  it("keeps a repository activity walk stable while pull requests change", async () => {
    const all = await walk(sim, `${base}/pullrequests/activity?pagelen=50`);
    const before = all.values.map((v) => JSON.stringify(v));
    const first = await getJson(sim, `${base}/pullrequests/activity?pagelen=10`);
    const seen = (first.values as Json[]).map((v) => JSON.stringify(v));
    let next = first.next as string | undefined;
    let round = 0;
    while (next !== undefined) {
      const pr = repo.pullRequests[round % repo.pullRequests.length];
      await control(sim, "POST", "/clock", { advanceSeconds: 60 });
      await control(sim, "PUT", `/repositories/${ws}/${repo.slug}/pullrequests/${pr?.id}`, {
        title: `Renamed ${round++}`,
      });
      const page = await getJson(sim, next);
      seen.push(...(page.values as Json[]).map((v) => JSON.stringify(v)));
      next = page.next as string | undefined;
    }
    expect(seen).toEqual(before);
  });
});

describe("next links and parameters", () => {
  it("serves next verbatim and refuses the original parameters appended again", async () => {
    const cases = [
      `/2.0/repositories/${ws}?pagelen=3&sort=slug`,
      `${base}/pullrequests?state=MERGED&pagelen=5&q=${enc('state="MERGED"')}`,
      `${base}/commits?pagelen=20`,
      `${base}/pullrequests/activity?pagelen=5`,
    ];
    for (const first of cases) {
      const page = await getJson(sim, first);
      const next = page.next as string;
      expect(next, first).toMatch(/^http:\/\//);
      expect((await call(sim, next)).status, first).toBe(200);
      const query = new URL(first, sim.origin).search.slice(1);
      const doubled = await call(sim, `${next}&${query}`);
      expect(doubled.status, first).toBe(400);
      expect(errorMessage(doubled)).toMatch(/more than once/);
    }
  });

  it("enforces each endpoint's pagelen limit", async () => {
    const limits: [string, number][] = [
      [`/2.0/repositories/${ws}`, 100],
      [`${base}/pullrequests`, 50],
      [`${base}/pullrequests/activity`, 50],
      [`${base}/commits`, 100],
      [`${base}/refs/branches`, 100],
      [`${base}/pipelines`, 100],
    ];
    for (const [path, max] of limits) {
      expect((await call(sim, `${path}?pagelen=${max}`)).status, path).toBe(200);
      for (const bad of [String(max + 1), "0", "abc", "-1", "1.5", "", "99999999999999999999"]) {
        const reply = await call(sim, `${path}?pagelen=${bad}`);
        expect(reply.status, `${path} pagelen=${bad}`).toBe(400);
        expect(errorMessage(reply)).toBe("Invalid pagelen");
      }
    }
  });

  it("refuses cursor tokens it did not issue", async () => {
    const forged = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    for (const page of [
      "garbage!",
      forged({ a: 1 }),
      forged(["", -5]),
      forged(["", 1.5]),
      forged(["", 1e300]),
    ]) {
      const reply = await call(sim, `${base}/commits?page=${enc(page)}`);
      expect(reply.status, page).toBe(400);
      expect(errorMessage(reply)).toBe("Invalid page");
    }
  });
});

describe("commit selection", () => {
  it("include/exclude select the commits of one ref that another lacks", async () => {
    const topic = [...repo.branches.keys()].find((n) => n.startsWith("feature/"));
    const tag = repo.tags[Math.floor(repo.tags.length / 2)];
    if (!topic || !tag) throw new Error("seed has no topic branch or no tag");
    const head = (name: string) => repo.branches.get(name)?.head as string;
    const cases: [string, string, string[], string[]][] = [
      ["main", tag.name, [head("main")], [tag.target]],
      [topic, "main", [head(topic)], [head("main")]],
    ];
    for (const [include, exclude, from, without] of cases) {
      const excluded = reachable(repo, without);
      const expected = newestFirst(repo, new Set([...reachable(repo, from)].filter((h) => !excluded.has(h))));
      expect(expected.length).toBeGreaterThan(0);
      const { values } = await walk(
        sim,
        `${base}/commits?include=${enc(include)}&exclude=${enc(exclude)}&pagelen=30`,
      );
      expect(ids(values, "hash"), `${include} ^${exclude}`).toEqual(expected);
    }
    // Two includes: the union, still newest first.
    const both = await walk(sim, `${base}/commits?include=main&include=${enc(topic)}&pagelen=100`);
    expect(ids(both.values, "hash")).toEqual(newestFirst(repo, reachable(repo, [head("main"), head(topic)])));
  });

  it("/commits/{branch} lists the branch's history, also for names with a slash", async () => {
    const topic = [...repo.branches.keys()].find((n) => n.includes("/"));
    if (!topic) throw new Error("seed has no branch with a slash");
    for (const name of ["main", topic]) {
      const head = repo.branches.get(name)?.head as string;
      const expected = newestFirst(repo, reachable(repo, [head]));
      const byPath = await walk(sim, `${base}/commits/${enc(name)}?pagelen=100`);
      const byInclude = await walk(sim, `${base}/commits?include=${enc(name)}&pagelen=100`);
      expect(ids(byPath.values, "hash"), name).toEqual(expected);
      expect(ids(byInclude.values, "hash"), name).toEqual(expected);
    }
    const unknown = await call(sim, `${base}/commits/no-such-branch`);
    expect(unknown.status).toBe(404);
    errorMessage(unknown);
  });
});

function activityTime(item: Json): number {
  for (const kind of ["update", "approval", "changes_requested"]) {
    const entry = item[kind] as Json | undefined;
    if (entry) return Date.parse(entry.date as string);
  }
  const comment = item.comment as Json | undefined;
  if (comment) return Date.parse(comment.created_on as string);
  throw new Error(`unknown activity ${JSON.stringify(item).slice(0, 200)}`);
}
