import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { useTestDatabase } from "../support/postgres.js";
import { runCli } from "./run-cli.js";

const db = await useTestDatabase("start");
const home = mkdtempSync(join(tmpdir(), "bitbridge-start-"));
chmodSync(home, 0o711);

afterAll(() => {
  rmSync(home, { recursive: true, force: true });
});

describe("bitbridge start (the README's main job)", () => {
  it("replicates every table from the simulator, then only what changed on the next run", async () => {
    const env = { DATABASE_URL: db.url, BITBRIDGE_HOME: home };
    const first = await runCli(["start", "--exit", "--port", "0"], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(
      /^Replicated [\d,]+ rows in [\d.]+ s \(15 tasks, [\d,]+ API requests\); run 1\./m,
    );
    expect(first.stdout).toContain("bitbucket.pull_requests");
    const counts = await db.pool.query(
      `SELECT (SELECT count(*) FROM bitbucket.pull_requests)::int AS prs, (SELECT count(*) FROM bitbucket.commits)::int AS commits`,
    );
    expect(counts.rows[0].prs).toBeGreaterThan(0);
    expect(counts.rows[0].commits).toBeGreaterThan(0);
    const second = await runCli(["start", "--exit", "--port", "0"], { env });
    expect(second.code, second.stderr).toBe(0);
    const requests = (text: string) =>
      Number(/([\d,]+) API requests\); run/.exec(text)?.[1]?.replace(/,/g, ""));
    expect(requests(second.stdout)).toBeLessThan(requests(first.stdout));
    expect(second.stderr).not.toContain("Created job");
    // Nothing changed at the source: nothing inserted, updated or deleted.
    expect(second.stderr).not.toMatch(/\([1-9][\d,]* inserted|, [1-9][\d,]* updated|, [1-9][\d,]* deleted/);
  }, 180_000);
});
