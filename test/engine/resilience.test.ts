import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningSimulator, startSimulator } from "../../sim/server.js";
import { createClient } from "../../src/bitbucket/client.js";
import { parseConnectionString } from "../../src/bitbucket/connection-properties.js";
import { runReplicateTask } from "../../src/engine/task-runner.js";
import { runQuery } from "../../src/sql/execute.js";
import { useTestDatabase } from "../support/postgres.js";

const db = await useTestDatabase("resilience");
let sim: RunningSimulator;
let connection: string;

beforeAll(async () => {
  sim = await startSimulator({
    seed: 17,
    scale: "tiny",
    counts: { repositories: 3, commits: 600, pullRequests: 40 },
    rateLimitPerHour: 10_000_000,
  });
  const api = sim.sim.auth.credentials().apiTokens[0];
  connection = `AuthScheme=APIToken;User=${api?.email};APIToken=${api?.token};Workspace=acme;Url=${sim.apiUrl};RequestsPerHour=1000000`;
});

afterAll(async () => {
  await sim.stop();
});

async function sourceKeys(sql: string): Promise<string[]> {
  const result = await runQuery(sql, {
    client: createClient(parseConnectionString(connection)),
    workspace: "acme",
  });
  if (result.kind !== "rows") throw new Error("expected rows");
  return result.rows.map((r) => r.join("|")).sort();
}

async function destKeys(sql: string): Promise<string[]> {
  return (await db.pool.query(sql)).rows.map((r) => Object.values(r).join("|")).sort();
}

/**
 * Starts a replication in a child process. With `killAt`, kills it (SIGKILL) `delayMs` after it reported
 * its `killAt`-th committed batch: a point between two batches, or inside the next one.
 */
function runChild(
  statement: string,
  schema: string,
  kill?: { killAt: number; delayMs: number },
): Promise<{ killed: boolean; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "test/engine/replicate-child.ts", statement, connection, db.url, schema],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    let batches = 0;
    child.stdout.on("data", (d: Buffer) => {
      output += d.toString();
      batches = (output.match(/^progress /gm) ?? []).length;
      if (kill && batches >= kill.killAt && !child.killed)
        setTimeout(() => child.kill("SIGKILL"), kill.delayMs);
    });
    child.stderr.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (signal !== "SIGKILL" && code !== 0) reject(new Error(`replication failed: ${output}`));
      else resolve({ killed: signal === "SIGKILL", output });
    });
  });
}

describe("a killed run resumes from its last committed batch", () => {
  it("SIGKILL at 10 different points, then a full run: no duplicate, no gap", async () => {
    // Slow responses and small batches spread a run over many commits of the destination.
    await fetch(`${sim.origin}/_sim/faults`, {
      method: "PUT",
      body: JSON.stringify({ global: { latencyMs: 15 } }),
    });
    const statement =
      "REPLICATE [Commits] SELECT RepositoryUuid, Hash, Date, AuthorRaw FROM Commits WITH BatchSize=50";
    let killedMidway = 0;
    for (let i = 0; i < 10; i++) {
      const { killed, output } = await runChild(statement, "killed", {
        killAt: 1 + (i % 4),
        delayMs: (i * 7) % 40,
      });
      if (killed && !/^done /m.test(output)) killedMidway++;
    }
    await fetch(`${sim.origin}/_sim/faults`, { method: "DELETE" });
    await runChild(statement, "killed");
    expect(killedMidway).toBe(10);
    const source = await sourceKeys("SELECT RepositoryUuid, Hash FROM Commits");
    const dest = await destKeys(
      "SELECT repository_uuid, hash FROM killed.commits WHERE bb_deleted_at IS NULL",
    );
    expect(dest).toEqual(source);
    expect(new Set(dest).size).toBe(dest.length);
  }, 180_000);
});

describe("API faults do not change the result", () => {
  it("with 10% server errors, cut bodies and 429 bursts the destination still equals the source", async () => {
    await fetch(`${sim.origin}/_sim/faults`, {
      method: "PUT",
      body: JSON.stringify({ global: { errorRate: 0.1, cutRate: 0.05, rateLimitBurst: 3 } }),
    });
    const props = parseConnectionString(connection);
    const client = createClient(props, { sleep: async () => {} });
    try {
      for (const statement of ["REPLICATE [PullRequests]", "REPLICATE [PullRequestComments]"]) {
        await runReplicateTask({
          statement,
          client,
          workspace: "acme",
          destination: { config: { connectionString: db.url }, schema: "faulty" },
        });
      }
    } finally {
      await fetch(`${sim.origin}/_sim/faults`, { method: "DELETE" });
    }
    expect(client.counts().retries).toBeGreaterThan(0);
    expect(
      await destKeys("SELECT repository_uuid, id FROM faulty.pull_requests WHERE bb_deleted_at IS NULL"),
    ).toEqual(await sourceKeys("SELECT RepositoryUuid, Id FROM PullRequests"));
    expect(
      (
        await destKeys(
          "SELECT repository_uuid, pull_request_id, id FROM faulty.pull_request_comments WHERE bb_deleted_at IS NULL",
        )
      ).length,
    ).toBe((await sourceKeys("SELECT RepositoryUuid, PullRequestId, Id FROM PullRequestComments")).length);
  }, 120_000);
});

describe("the destination connection dies mid-run", () => {
  it("fails the run with a clear error, shows no partial batch, and the next run completes the table", async () => {
    await fetch(`${sim.origin}/_sim/faults`, {
      method: "PUT",
      body: JSON.stringify({ global: { latencyMs: 20 } }),
    });
    const statement =
      "REPLICATE [Commits] SELECT RepositoryUuid, Hash, Date FROM Commits WITH BatchSize=100, DestinationSchema='dropped'";
    const props = parseConnectionString(connection);
    const run = runReplicateTask({
      statement,
      client: createClient(props),
      workspace: "acme",
      destination: {
        config: { connectionString: db.url, application_name: "bitbridge-victim" },
        schema: "dropped",
      },
      concurrency: 1,
      onProgress: () => {
        // After the first committed batch, cut every connection of the run from the server side.
        void db.pool.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'bitbridge-victim'",
        );
      },
    });
    await expect(run).rejects.toThrow(/connection|terminat/i);
    await fetch(`${sim.origin}/_sim/faults`, { method: "DELETE" });
    // Whatever committed is whole batches: per repository a multiple of the batch size, or all of it.
    const complete = new Map<string, number>();
    for (const key of await sourceKeys("SELECT RepositoryUuid, Hash FROM Commits")) {
      const repo = key.split("|")[0] as string;
      complete.set(repo, (complete.get(repo) ?? 0) + 1);
    }
    const partial = await db.pool.query(
      "SELECT repository_uuid, count(*)::int AS n FROM dropped.commits GROUP BY 1",
    );
    for (const row of partial.rows) {
      expect(row.n % 100 === 0 || row.n === complete.get(row.repository_uuid), `${row.n} rows`).toBe(true);
    }
    await runReplicateTask({
      statement,
      client: createClient(props),
      workspace: "acme",
      destination: { config: { connectionString: db.url }, schema: "dropped" },
    });
    expect(
      await destKeys("SELECT repository_uuid, hash FROM dropped.commits WHERE bb_deleted_at IS NULL"),
    ).toEqual(await sourceKeys("SELECT RepositoryUuid, Hash FROM Commits"));
  }, 120_000);
});
