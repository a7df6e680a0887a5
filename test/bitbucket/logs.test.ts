import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningSimulator, startSimulator } from "../../sim/server.js";
import { createClient } from "../../src/bitbucket/client.js";
import { parseConnectionString } from "../../src/bitbucket/connection-properties.js";

let sim: RunningSimulator;

beforeAll(async () => {
  sim = await startSimulator({ seed: 21, scale: "tiny" });
});

afterAll(async () => {
  await sim.stop();
});

describe("logs", () => {
  it("never contain a credential, through retries, renewals and failures", async () => {
    const c = sim.sim.auth.credentials();
    const consumer = c.oauth.consumers[0];
    const api = c.apiTokens[0];
    const ws = sim.sim.data.workspaces[0]?.slug;
    const connections = [
      `AuthScheme=client;OAuthClientId=${consumer?.clientId};OAuthClientSecret=${consumer?.clientSecret}`,
      `AuthScheme=APIToken;User=${api?.email};APIToken=${api?.token}`,
    ];
    await fetch(`${sim.origin}/_sim/faults`, {
      method: "PUT",
      body: JSON.stringify({ global: { errorRate: 0.4, cutRate: 0.2 } }),
    });
    const logs: string[] = [];
    const secrets = [consumer?.clientSecret, api?.token].filter((s): s is string => Boolean(s));
    for (const connection of connections) {
      const props = parseConnectionString(
        `${connection};Workspace=${ws};Url=${sim.apiUrl};AuthUrl=${sim.origin}`,
      );
      const client = createClient(props, { log: (line) => logs.push(line), sleep: async () => {} });
      for await (const page of client.pages(`/repositories/${ws}`, { pagelen: 1 }))
        expect(page.values.length).toBe(1);
      const wrong = createClient(
        parseConnectionString(
          `${connection.replace(/(OAuthClientSecret|APIToken)=[^;]+/, "$1=not-the-secret")};Workspace=${ws};Url=${sim.apiUrl};AuthUrl=${sim.origin}`,
        ),
        { log: (line) => logs.push(line), sleep: async () => {} },
      );
      await expect(wrong.get(`/repositories/${ws}`)).rejects.toThrow();
    }
    await fetch(`${sim.origin}/_sim/faults`, { method: "DELETE" });
    expect(logs.length).toBeGreaterThan(0);
    const text = logs.join("\n");
    for (const secret of [...secrets, "not-the-secret"]) expect(text).not.toContain(secret);
    // OAuth access tokens issued during the run are secrets too.
    expect(text).not.toMatch(/Bearer [A-Za-z0-9_-]{20,}/);
  });
});
