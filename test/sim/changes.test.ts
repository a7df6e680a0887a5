import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  admin,
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

// Changes made through /_sim, as a sync would observe them over the API.

let sim: Sim;
let ws: string;
let repo: string;
let base: string;
let simRepo: string;

const ALL_STATES = "state=OPEN&state=MERGED&state=DECLINED&state=SUPERSEDED";

beforeAll(async () => {
  sim = await startSim({ seed: 17, scale: "small", counts: { repositories: 4 } });
  ws = sim.sim.data.workspaces[0]?.slug as string;
  repo = sim.sim.data.workspaces[0]?.repositories[1]?.slug as string;
  base = repoPath(ws, repo);
  simRepo = `/repositories/${ws}/${repo}`;
});

afterAll(async () => {
  await sim.stop();
});

beforeEach(async () => {
  await control(sim, "POST", "/reset");
});

async function clock(): Promise<number> {
  return Date.parse((await control(sim, "GET", "/clock")).now as string);
}

async function advance(seconds: number): Promise<number> {
  return Date.parse((await control(sim, "POST", "/clock", { advanceSeconds: seconds })).now as string);
}

const time = (value: unknown) => Date.parse(value as string);

/** Asserts a rendered timestamp lies within [from, to] (git dates carry whole seconds). */
function expectWithin(value: unknown, from: number, to: number) {
  const at = time(value);
  expect(at).toBeGreaterThanOrEqual(Math.floor(from / 1000) * 1000);
  expect(at).toBeLessThanOrEqual(to);
}

async function openPullRequest(): Promise<Json> {
  const open = (await getJson(sim, `${base}/pullrequests?pagelen=50`)).values as Json[];
  const pr = open[0];
  if (!pr) throw new Error("no open pull request");
  return pr;
}

describe("pushes", () => {
  it("move the repository's updated_on with the clock and the branch head", async () => {
    const before = await getJson(sim, base);
    const from = await advance(7 * 24 * 3600);
    const pushed = await control(sim, "POST", `${simRepo}/push`, { count: 2, message: "Pushed by the test" });
    const to = await clock();
    const hashes = pushed.commits as string[];
    expect(pushed.branch).toBe("main");
    expect(hashes).toHaveLength(2);

    const after = await getJson(sim, base);
    expect(time(after.updated_on)).toBeGreaterThan(time(before.updated_on));
    expectWithin(after.updated_on, from, to);
    expect(after.created_on).toBe(before.created_on);

    const main = await getJson(sim, `${base}/refs/branches/main`);
    expect((main.target as Json).hash).toBe(hashes[1]);
    const commits = await getJson(sim, `${base}/commits/main?pagelen=3`);
    const values = commits.values as Json[];
    expect(values.slice(0, 2).map((c) => c.hash)).toEqual([hashes[1], hashes[0]]);
    expect(values[0]?.message).toBe("Pushed by the test\n");
    expect(((values[0] as Json).parents as Json[])[0]?.hash).toBe(hashes[0]);
    expectWithin(values[0]?.date, from, to);
  });

  it("create a branch that the API then lists", async () => {
    const pushed = await control(sim, "POST", `${simRepo}/push`, { branch: "topic/from-test", count: 1 });
    const branch = await getJson(sim, `${base}/refs/branches/${enc("topic/from-test")}`);
    expect((branch.target as Json).hash).toBe((pushed.commits as string[])[0]);
    const names = (await walk(sim, `${base}/refs/branches?pagelen=100`)).values.map((b) => b.name);
    expect(names).toContain("topic/from-test");
    for (const bad of ["", "with space", "a:b", 7]) {
      const reply = await admin(sim, "POST", `${simRepo}/push`, { branch: bad });
      expect(reply.status, String(bad)).toBe(400);
      errorMessage(reply);
    }
  });
});

describe("pull requests", () => {
  it("an update moves the pull request's updated_on but not the repository's", async () => {
    const pr = await openPullRequest();
    const repoBefore = await getJson(sim, base);
    const from = await advance(3600);
    const updated = await control(sim, "PUT", `${simRepo}/pullrequests/${pr.id}`, { title: "Retitled" });
    const to = await clock();
    expect(updated.title).toBe("Retitled");

    const after = await getJson(sim, `${base}/pullrequests/${pr.id}`);
    expect(after.title).toBe("Retitled");
    expectWithin(after.updated_on, from, to);
    expect(time(after.updated_on)).toBeGreaterThan(time(pr.updated_on));
    expect(after.created_on).toBe(pr.created_on);
    expect((await getJson(sim, base)).updated_on).toBe(repoBefore.updated_on);

    // The update shows in the activity, newest first.
    const activity = await getJson(sim, `${base}/pullrequests/${pr.id}/activity?pagelen=1`);
    expect((((activity.values as Json[])[0] as Json).update as Json).title).toBe("Retitled");
  });

  it("a state change moves the pull request out of the default list", async () => {
    const pr = await openPullRequest();
    await control(sim, "PUT", `${simRepo}/pullrequests/${pr.id}`, { state: "DECLINED" });
    const open = (await walk(sim, `${base}/pullrequests?pagelen=50`)).values.map((p) => p.id);
    expect(open).not.toContain(pr.id);
    const declined = (await walk(sim, `${base}/pullrequests?state=DECLINED&pagelen=50`)).values;
    const found = declined.find((p) => p.id === pr.id);
    expect(found?.state).toBe("DECLINED");
    expect(found?.closed_by).not.toBeNull();
    const bad = await admin(sim, "PUT", `${simRepo}/pullrequests/${pr.id}`, { state: "merged-ish" });
    expect(bad.status).toBe(400);
    errorMessage(bad);
    expect((await admin(sim, "PUT", `${simRepo}/pullrequests/99999`, { title: "x" })).status).toBe(404);
  });

  it("a new comment appears with updated_on, and moves the pull request's updated_on", async () => {
    const pr = await openPullRequest();
    const from = await advance(600);
    const comment = await control(sim, "POST", `${simRepo}/pullrequests/${pr.id}/comments`, {
      text: "Looks good",
    });
    const to = await clock();
    const comments = (await walk(sim, `${base}/pullrequests/${pr.id}/comments?pagelen=100`)).values;
    const listed = comments.find((c) => c.id === comment.id);
    expect((listed as Json).content).toMatchObject({ raw: "Looks good" });
    expect(listed?.deleted).toBe(false);
    expectWithin(listed?.updated_on, from, to);
    expectWithin(listed?.created_on, from, to);

    const after = await getJson(sim, `${base}/pullrequests/${pr.id}`);
    expectWithin(after.updated_on, from, to);
    expect(after.comment_count).toBe((pr.comment_count as number) + 1);
    // A comment newer than the watermark is found by the incremental query too.
    const since = new Date(from - 1000).toISOString().replace("Z", "+00:00");
    const changed = await getJson(
      sim,
      `${base}/pullrequests/${pr.id}/comments?q=${enc(`updated_on > ${since}`)}`,
    );
    expect((changed.values as Json[]).map((c) => c.id)).toEqual([comment.id]);
    // And it is the newest activity entry.
    const activity = await getJson(sim, `${base}/pullrequests/${pr.id}/activity?pagelen=1`);
    expect((((activity.values as Json[])[0] as Json).comment as Json).id).toBe(comment.id);
  });

  it("editing and soft-deleting a comment", async () => {
    const pr = await openPullRequest();
    const comment = await control(sim, "POST", `${simRepo}/pullrequests/${pr.id}/comments`, {
      text: "First",
    });
    const countBefore = (await getJson(sim, `${base}/pullrequests/${pr.id}`)).comment_count as number;
    const from = await advance(60);
    await control(sim, "PUT", `${simRepo}/pullrequests/${pr.id}/comments/${comment.id}`, { text: "Edited" });
    const edited = await getJson(sim, `${base}/pullrequests/${pr.id}/comments/${comment.id}`);
    expect((edited.content as Json).raw).toBe("Edited");
    expectWithin(edited.updated_on, from, await clock());
    expect(edited.created_on).toBe(comment.created_on);

    await advance(60);
    await control(sim, "PUT", `${simRepo}/pullrequests/${pr.id}/comments/${comment.id}`, { deleted: true });
    const deleted = await getJson(sim, `${base}/pullrequests/${pr.id}/comments/${comment.id}`);
    expect(deleted.deleted).toBe(true);
    expect((deleted.content as Json).raw).toBe("");
    expect(time(deleted.updated_on)).toBeGreaterThan(time(edited.updated_on));
    // Soft delete: still listed, flagged.
    const comments = (await walk(sim, `${base}/pullrequests/${pr.id}/comments?pagelen=100`)).values;
    expect(comments.find((c) => c.id === comment.id)?.deleted).toBe(true);
    expect((await getJson(sim, `${base}/pullrequests/${pr.id}`)).comment_count).toBe(countBefore - 1);
    expect(
      (await admin(sim, "PUT", `${simRepo}/pullrequests/${pr.id}/comments/1`, { text: "x" })).status,
    ).toBe(404);
  });

  it("pull requests created through /_sim list their commits, also after later pushes", async () => {
    const first = await control(sim, "POST", `${simRepo}/push`, { branch: "feature/sim-made", count: 3 });
    const pr = await control(sim, "POST", `${simRepo}/pullrequests`, {
      source: "feature/sim-made",
      title: "Sim made",
    });
    expect(pr.state).toBe("OPEN");
    const commits = async () =>
      (await walk(sim, `${base}/pullrequests/${pr.id}/commits?pagelen=2`)).values.map((c) => c.hash);
    expect(await commits()).toEqual([...(first.commits as string[])].reverse());

    const from = await advance(300);
    const more = await control(sim, "POST", `${simRepo}/push`, { branch: "feature/sim-made", count: 2 });
    const all = [...(first.commits as string[]), ...(more.commits as string[])].reverse();
    expect(await commits()).toEqual(all);
    const after = await getJson(sim, `${base}/pullrequests/${pr.id}`);
    expect(((after.source as Json).commit as Json).hash).toBe((all[0] as string).slice(0, 12));
    expectWithin(after.updated_on, from, await clock());

    for (const body of [
      { source: "no-such-branch" },
      { source: "main" },
      { source: "feature/sim-made", destination: "nope" },
    ]) {
      const reply = await admin(sim, "POST", `${simRepo}/pullrequests`, body);
      expect(reply.status, JSON.stringify(body)).toBe(400);
      errorMessage(reply);
    }
  });

  it("deleting the source branch empties the pull request's commits", async () => {
    const pr = await openPullRequest();
    const source = ((pr.source as Json).branch as Json).name as string;
    const before = await getJson(sim, `${base}/pullrequests/${pr.id}/commits`);
    expect((before.values as Json[]).length).toBeGreaterThan(0);
    const deleted = await admin(sim, "DELETE", `${simRepo}/branches/${enc(source)}`);
    expect(deleted.status).toBe(204);
    const after = await getJson(sim, `${base}/pullrequests/${pr.id}/commits`);
    expect(after.values).toEqual([]);
    expect(after).not.toHaveProperty("next");
    expect((await call(sim, `${base}/refs/branches/${enc(source)}`)).status).toBe(404);
    expect((await admin(sim, "DELETE", `${simRepo}/branches/${enc(source)}`)).status).toBe(404);
  });

  it("merging pushes a merge commit to the destination, sets merge_commit and moves the repository", async () => {
    const pr = await openPullRequest();
    const source = ((pr.source as Json).branch as Json).name as string;
    const sourceHead = ((await getJson(sim, `${base}/refs/branches/${enc(source)}`)).target as Json).hash;
    const repoBefore = await getJson(sim, base);
    const from = await advance(3600);
    const merged = await control(sim, "PUT", `${simRepo}/pullrequests/${pr.id}`, { state: "MERGED" });
    const mergeHash = (merged.merge_commit as Json).hash as string;
    expect(mergeHash).toMatch(/^[0-9a-f]{12}$/);
    const main = await getJson(sim, `${base}/refs/branches/main`);
    const head = main.target as Json;
    expect((head.hash as string).startsWith(mergeHash)).toBe(true);
    expect((head.parents as Json[]).map((p) => p.hash)).toContain(sourceHead);
    const repoAfter = await getJson(sim, base);
    expect(time(repoAfter.updated_on)).toBeGreaterThan(time(repoBefore.updated_on));
    expectWithin(repoAfter.updated_on, from, await clock());
  });

  it("deleting a branch moves the repository's updated_on, as ref changes do", async () => {
    await control(sim, "POST", `${simRepo}/push`, { branch: "topic/short-lived" });
    const before = await getJson(sim, base);
    const from = await advance(600);
    await control(sim, "DELETE", `${simRepo}/branches/${enc("topic/short-lived")}`);
    const after = await getJson(sim, base);
    expect(time(after.updated_on)).toBeGreaterThan(time(before.updated_on));
    expectWithin(after.updated_on, from, await clock());
  });

  it("a deleted pull request is gone", async () => {
    const pr = await openPullRequest();
    expect((await admin(sim, "DELETE", `${simRepo}/pullrequests/${pr.id}`)).status).toBe(204);
    const gone = await call(sim, `${base}/pullrequests/${pr.id}`);
    expect(gone.status).toBe(404);
    errorMessage(gone);
    expect((await call(sim, `${base}/pullrequests/${pr.id}/comments`)).status).toBe(404);
    const ids = (await walk(sim, `${base}/pullrequests?${ALL_STATES}&pagelen=50`)).values.map((p) => p.id);
    expect(ids).not.toContain(pr.id);
  });
});

describe("repositories", () => {
  it("a deleted repository answers 404 everywhere and leaves the list", async () => {
    expect((await admin(sim, "DELETE", simRepo)).status).toBe(204);
    for (const path of [base, `${base}/commits`, `${base}/pullrequests`, `${base}/refs/branches`]) {
      const reply = await call(sim, path);
      expect(reply.status, path).toBe(404);
      errorMessage(reply);
    }
    const slugs = (await walk(sim, `/2.0/repositories/${ws}?pagelen=100`)).values.map((r) => r.slug);
    expect(slugs).not.toContain(repo);
    expect((await admin(sim, "DELETE", simRepo)).status).toBe(404);
  });

  it("a created repository is listed, has a first commit, and is reachable by tokens bound to its project", async () => {
    const from = await clock();
    const created = await control(sim, "POST", `/repositories/${ws}`, { slug: "brand-new" });
    expect(created.slug).toBe("brand-new");
    const fetched = await getJson(sim, repoPath(ws, "brand-new"));
    expect(fetched.uuid).toBe(created.uuid);
    expectWithin(fetched.created_on, from - 1000, await clock());
    const commits = (await getJson(sim, `${repoPath(ws, "brand-new")}/commits`)).values as Json[];
    expect(commits.map((c) => c.message)).toEqual(["Initial commit\n"]);

    const project = sim.creds.accessTokens.find((t) => t.type === "project");
    if (!project) throw new Error("no project token");
    const projectKey = (created.project as Json | null)?.key;
    expect(projectKey).toBe(project.project);
    const listed = (await walk(sim, `/2.0/repositories/${ws}?pagelen=100`, project.authorization)).values;
    expect(listed.map((r) => r.slug)).toContain("brand-new");
    expect((await call(sim, repoPath(ws, "brand-new"), { auth: project.authorization })).status).toBe(200);

    for (const slug of ["brand-new", "Upper", "", "../x"]) {
      const reply = await admin(sim, "POST", `/repositories/${ws}`, { slug });
      expect(reply.status, slug).toBe(400);
    }
  });
});

describe("reset", () => {
  it("restores the seeded state byte for byte", async () => {
    const paths = [
      base,
      `${base}/pullrequests?${ALL_STATES}&pagelen=50`,
      `${base}/refs/branches?pagelen=100`,
      `${base}/commits?pagelen=50`,
      `${base}/pullrequests/activity?pagelen=50`,
      `/2.0/repositories/${ws}?pagelen=100`,
    ];
    const snapshot = async () => Promise.all(paths.map(async (p) => (await call(sim, p)).text));
    const before = await snapshot();
    const pr = await openPullRequest();
    await advance(3600);
    await control(sim, "POST", `${simRepo}/push`, { count: 5 });
    await control(sim, "PUT", `${simRepo}/pullrequests/${pr.id}`, { title: "Changed" });
    await control(sim, "POST", `${simRepo}/pullrequests/${pr.id}/comments`, { text: "Changed" });
    await control(sim, "POST", `/repositories/${ws}`, { slug: "extra" });
    await control(
      sim,
      "DELETE",
      `${simRepo}/branches/${enc(((pr.source as Json).branch as Json).name as string)}`,
    );
    const changed = await snapshot();
    for (let i = 0; i < paths.length; i++) expect(changed[i], paths[i]).not.toBe(before[i]);

    await control(sim, "POST", "/reset");
    expect(await snapshot()).toEqual(before);
    expect((await call(sim, repoPath(ws, "extra"))).status).toBe(404);
  });
});
