import { describe, expect, it } from "vitest";
import { Simulator } from "../../sim/simulator.js";

describe("commit serialisation", () => {
  it("the fast commit serialiser writes exactly what JSON.stringify of the commit object gives", () => {
    const sim = new Simulator("http://127.0.0.1:9", { seed: 3, scale: "tiny" });
    let checked = 0;
    for (const ws of sim.data.workspaces) {
      for (const repo of ws.repositories) {
        for (const commit of repo.commits) {
          expect(sim.renderer.commitJson(repo, commit)).toBe(
            JSON.stringify(sim.renderer.commit(repo, commit)),
          );
          checked++;
        }
      }
    }
    // Merge commits (two parents) and the root commit (none) are among them.
    const all = sim.data.workspaces.flatMap((ws) => ws.repositories.flatMap((r) => r.commits));
    expect(all.some((c) => c.parents.length === 2)).toBe(true);
    expect(all.some((c) => c.parents.length === 0)).toBe(true);
    expect(checked).toBe(all.length);
  });

  it("escapes messages and names that need it", () => {
    const sim = new Simulator("http://127.0.0.1:9", { seed: 3, scale: "tiny" });
    const repo = sim.data.workspaces[0]?.repositories[0];
    const commit = repo?.commits[0];
    if (!repo || !commit) throw new Error("no data");
    const tricky = { ...commit, message: 'Quote " backslash \\ newline\n tab\t unicode \u2028 emoji 🚀' };
    expect(JSON.parse(sim.renderer.commitJson(repo, tricky))).toEqual(sim.renderer.commit(repo, tricky));
  });

  it("warm() serialises every commit up front, serving the same bytes afterwards", () => {
    const sim = new Simulator("http://127.0.0.1:9", { seed: 3, scale: "tiny" });
    const repo = sim.data.workspaces[0]?.repositories[0];
    const commit = repo?.commits[3];
    if (!repo || !commit) throw new Error("no data");
    const total = sim.data.workspaces
      .flatMap((w) => w.repositories)
      .reduce((n, r) => n + r.commits.length, 0);
    expect(sim.warm()).toBe(total);
    expect(commit.entity.json()).toBe(JSON.stringify(sim.renderer.commit(repo, commit)));
  });
});
