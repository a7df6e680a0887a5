import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  call,
  enc,
  errorMessage,
  getJson,
  type Json,
  repoPath,
  type Sim,
  startSim,
  walk,
} from "./sim-http.js";

// BBQL `q=`/`sort=` and `fields=` over HTTP. Every filtered result is checked against a filter written
// here, in the test, over the unfiltered list.

let sim: Sim;
let ws: string;
let base: string;
let allPrs: Json[];
let allRepos: Json[];

const ALL_STATES = "state=OPEN&state=MERGED&state=DECLINED&state=SUPERSEDED";

beforeAll(async () => {
  sim = await startSim({ seed: 5, scale: "small", counts: { repositories: 14, pullRequests: 60 } });
  ws = sim.sim.data.workspaces[0]?.slug as string;
  const repo = sim.sim.data.workspaces[0]?.repositories[0]?.slug as string;
  base = repoPath(ws, repo);
  allPrs = (await walk(sim, `${base}/pullrequests?${ALL_STATES}&pagelen=50`)).values;
  allRepos = (await walk(sim, `/2.0/repositories/${ws}?pagelen=100`)).values;
  expect(allPrs.length).toBe(60);
});

afterAll(async () => {
  await sim.stop();
});

const micros = (s: unknown) => Date.parse(s as string);
const ids = (values: Json[], key = "id") => values.map((v) => v[key]);

/** Walks `path` with `q` (and optional sort) in small pages. */
async function query(path: string, q: string, extra = "", pagelen = 7): Promise<Json[]> {
  const sep = path.includes("?") ? "&" : "?";
  return (await walk(sim, `${path}${sep}q=${enc(q)}${extra}&pagelen=${pagelen}`)).values;
}

function sortedIdsBy(values: Json[], key: (v: Json) => number, descending: boolean): unknown[] {
  return values.map((v) => key(v)).sort((a, b) => (descending ? b - a : a - b));
}

describe("BBQL on pull requests", () => {
  it('state="MERGED" AND updated_on>=… sorted by -updated_on', async () => {
    const since = "2026-01-01T00:00:00+00:00";
    const got = await query(
      `${base}/pullrequests`,
      `state="MERGED" AND updated_on>=${since}`,
      "&sort=-updated_on",
    );
    const expected = allPrs.filter((p) => p.state === "MERGED" && micros(p.updated_on) >= Date.parse(since));
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(allPrs.filter((p) => p.state === "MERGED").length);
    expect(new Set(ids(got))).toEqual(new Set(ids(expected)));
    expect(got.length).toBe(expected.length);
    expect(got.map((p) => micros(p.updated_on))).toEqual(
      sortedIdsBy(expected, (p) => micros(p.updated_on), true),
    );
  });

  it("IN, ~, parentheses and null", async () => {
    const cases: [string, (p: Json) => boolean][] = [
      ['state IN ("DECLINED", "SUPERSEDED")', (p) => p.state === "DECLINED" || p.state === "SUPERSEDED"],
      ['state NOT IN ("MERGED")', (p) => p.state !== "MERGED"],
      ['title ~ "ADD"', (p) => (p.title as string).toLowerCase().includes("add")],
      ['title !~ "add"', (p) => !(p.title as string).toLowerCase().includes("add")],
      [
        '(state = "OPEN" OR state = "DECLINED") AND id > 10',
        (p) => (p.state === "OPEN" || p.state === "DECLINED") && (p.id as number) > 10,
      ],
      [
        'state = "MERGED" AND (id < 5 OR id >= 50)',
        (p) => p.state === "MERGED" && ((p.id as number) < 5 || (p.id as number) >= 50),
      ],
      ["closed_by = null", (p) => p.closed_by === null],
      ["closed_by != null", (p) => p.closed_by !== null],
      ['merge_commit = null AND state != "OPEN"', (p) => p.merge_commit === null && p.state !== "OPEN"],
      ['destination.branch.name = "main"', (p) => ((p.destination as Json).branch as Json).name === "main"],
      ['author.uuid = "{no-such-user}"', () => false],
    ];
    for (const [q, keep] of cases) {
      // Queries that do not name `state` would see OPEN pull requests only; ask for all of them.
      const got = await query(`${base}/pullrequests?${ALL_STATES}`, q);
      const expected = allPrs.filter(keep);
      expect(ids(got), q).toEqual(ids(expected));
    }
    // The filters above are not trivial: each of the first few keeps some and drops some.
    for (const [q, keep] of cases.slice(0, 8)) {
      const kept = allPrs.filter(keep).length;
      expect(kept, q).toBeGreaterThan(0);
      expect(kept, q).toBeLessThan(allPrs.length);
    }
  });

  it("a query naming state lifts the OPEN-only default; without one only OPEN pull requests match", async () => {
    const merged = await query(`${base}/pullrequests`, "id > 0");
    expect(ids(merged)).toEqual(ids(allPrs.filter((p) => p.state === "OPEN")));
    const all = await query(`${base}/pullrequests`, 'state != "none"');
    expect(ids(all)).toEqual(ids(allPrs));
  });

  it("sort ascending and descending by a number and by a datetime", async () => {
    const byId = (await walk(sim, `${base}/pullrequests?${ALL_STATES}&sort=-id&pagelen=25`)).values;
    expect(ids(byId)).toEqual(ids(allPrs).sort((a, b) => (b as number) - (a as number)));
    const byCreated = (await walk(sim, `${base}/pullrequests?${ALL_STATES}&sort=created_on&pagelen=25`))
      .values;
    expect(byCreated.map((p) => micros(p.created_on))).toEqual(
      sortedIdsBy(allPrs, (p) => micros(p.created_on), false),
    );
  });
});

describe("BBQL on repositories", () => {
  it("filters and sorts repositories", async () => {
    const language = allRepos[0]?.language as string;
    const median = [...allRepos].map((r) => micros(r.updated_on)).sort((a, b) => a - b)[7] as number;
    const since = new Date(median).toISOString().replace("Z", "+00:00");
    const slugs = allRepos.slice(2, 5).map((r) => r.slug as string);
    const cases: [string, (r: Json) => boolean][] = [
      [`language = "${language}"`, (r) => r.language === language],
      [`updated_on > ${since}`, (r) => micros(r.updated_on) > median],
      [`slug IN (${slugs.map((s) => `"${s}"`).join(", ")})`, (r) => slugs.includes(r.slug as string)],
      ['name ~ "E"', (r) => (r.name as string).toLowerCase().includes("e")],
      [
        `(language = "${language}" OR slug = "${slugs[0]}") AND is_private = true`,
        (r) => (r.language === language || r.slug === slugs[0]) && r.is_private === true,
      ],
      ["project.key != null", (r) => (r.project as Json | null)?.key != null],
    ];
    for (const [q, keep] of cases) {
      const got = await query(`/2.0/repositories/${ws}`, q, "", 3);
      expect(ids(got, "uuid"), q).toEqual(ids(allRepos.filter(keep), "uuid"));
    }
    const bySlug = (await walk(sim, `/2.0/repositories/${ws}?sort=-slug&pagelen=4`)).values;
    expect(ids(bySlug, "slug")).toEqual(
      ids(allRepos, "slug").sort((a, b) => ((a as string) < (b as string) ? 1 : -1)),
    );
  });
});

describe("BBQL errors", () => {
  it("answers malformed queries with 400, the error envelope and a position", async () => {
    for (const q of [
      'state = "MERGED" AND',
      "state ==",
      '(state = "OPEN"',
      'state = "unterminated',
      "= 1",
      "id > ",
    ]) {
      const reply = await call(sim, `${base}/pullrequests?q=${enc(q)}`);
      expect(reply.status, q).toBe(400);
      expect(errorMessage(reply), q).toMatch(/position \d+/);
    }
  });

  it("refuses unknown fields and sorts on them", async () => {
    for (const path of [`${base}/pullrequests`, `/2.0/repositories/${ws}`]) {
      const reply = await call(sim, `${path}?q=${enc('no_such_field = "x"')}`);
      expect(reply.status).toBe(400);
      expect(errorMessage(reply)).toMatch(/no_such_field/);
      const sort = await call(sim, `${path}?sort=no_such_field`);
      expect(sort.status).toBe(400);
      errorMessage(sort);
    }
  });
});

describe("fields= over HTTP", () => {
  it("-values.links drops links from every item, and only them", async () => {
    const plain = await getJson(sim, `/2.0/repositories/${ws}?pagelen=5`);
    const body = await getJson(sim, `/2.0/repositories/${ws}?pagelen=5&fields=-values.links`);
    const values = body.values as Json[];
    expect(values).toHaveLength(5);
    for (const [i, v] of values.entries()) {
      expect(v).not.toHaveProperty("links");
      const { links: _, ...rest } = (plain.values as Json[])[i] as Json;
      expect(v).toEqual(rest);
    }
    expect(body.next).toBe(
      `${sim.apiUrl}/repositories/${ws}?pagelen=5&fields=-values.links&page=2`.replace(
        "fields=-values.links",
        `fields=${enc("-values.links")}`,
      ),
    );
  });

  it("+values.participants shows the participants the pull request list hides", async () => {
    const plain = await getJson(sim, `${base}/pullrequests?${ALL_STATES}&pagelen=10`);
    for (const pr of plain.values as Json[]) {
      expect(pr).not.toHaveProperty("participants");
      expect(pr).not.toHaveProperty("reviewers");
    }
    const body = await getJson(
      sim,
      `${base}/pullrequests?${ALL_STATES}&pagelen=10&fields=${enc("+values.participants")}`,
    );
    const values = body.values as Json[];
    expect(values.every((v) => Array.isArray(v.participants))).toBe(true);
    expect(values.some((v) => (v.participants as unknown[]).length > 0)).toBe(true);
    expect(values.every((v) => !("reviewers" in v))).toBe(true);
    // The single object carries them without asking.
    const single = await getJson(sim, `${base}/pullrequests/${values[0]?.id}`);
    expect(single.participants).toEqual(values[0]?.participants);
  });

  it("values.id,next keeps only ids and the link; * reveals hidden fields", async () => {
    const body = await getJson(sim, `${base}/pullrequests?${ALL_STATES}&pagelen=10&fields=values.id,next`);
    expect(Object.keys(body).sort()).toEqual(["next", "values"]);
    expect((body.values as Json[]).every((v) => Object.keys(v).join() === "id")).toBe(true);
    expect(ids(body.values as Json[])).toEqual(ids(allPrs.slice(0, 10)));
    // `next` keeps fields=, so the following page is trimmed the same way.
    const second = await getJson(sim, body.next as string);
    expect(Object.keys(second).sort()).toEqual(["next", "values"]);
    expect(ids(second.values as Json[])).toEqual(ids(allPrs.slice(10, 20)));

    const star = await getJson(sim, `${base}/pullrequests?${ALL_STATES}&pagelen=10&fields=*`);
    const first = (star.values as Json[])[0] as Json;
    expect(first).toHaveProperty("participants");
    expect(first).toHaveProperty("reviewers");
    expect(first).toHaveProperty("links");
    expect(star).toHaveProperty("size", 60);
  });

  it("fields= works on single objects and rejects malformed specs", async () => {
    const repo = await getJson(sim, `${base}?fields=uuid,slug`);
    expect(Object.keys(repo).sort()).toEqual(["slug", "uuid"]);
    for (const spec of ["a,,b", "-", "values..id"]) {
      const reply = await call(sim, `${base}/pullrequests?fields=${enc(spec)}`);
      expect(reply.status, spec).toBe(400);
      errorMessage(reply);
    }
  });
});
