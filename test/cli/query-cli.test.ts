import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningSimulator, startSimulator } from "../../sim/server.js";
import { exchangeCode, OAuthCredentials } from "../../src/bitbucket/auth.js";
import { createClient } from "../../src/bitbucket/client.js";
import { parseConnectionString } from "../../src/bitbucket/connection-properties.js";
import { CATALOG } from "../../src/source/catalog.js";
import { runQuery } from "../../src/sql/execute.js";
import { runCli } from "./run-cli.js";

let sim: RunningSimulator;
let home: string;
let schemes: Record<string, string>;
const secrets: string[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

beforeAll(async () => {
  sim = await startSimulator({ seed: 11, scale: "tiny", legacyIssues: true });
  home = mkdtempSync(join(tmpdir(), "bitbridge-cli-"));
  const c = sim.sim.auth.credentials();
  const ws = sim.sim.data.workspaces[0]?.slug as string;
  const api = c.apiTokens[0];
  const access = c.accessTokens[0];
  const consumer = c.oauth.consumers[0];
  const base = `Workspace=${ws};Url=${sim.apiUrl};AuthUrl=${sim.origin}`;
  const callbackPort = await freePort();
  const interactive = sim.sim.auth.createConsumer({
    scopes: consumer?.scopes ?? [],
    callbackUrl: `http://127.0.0.1:${callbackPort}/callback`,
  });
  schemes = {
    APIToken: `AuthScheme=APIToken;User=${api?.email};APIToken=${api?.token};${base}`,
    AccessToken: `AuthScheme=AccessToken;AccessToken=${access?.token};${base}`,
    client: `AuthScheme=client;OAuthClientId=${consumer?.clientId};OAuthClientSecret=${consumer?.clientSecret};${base}`,
    OAuth: `AuthScheme=OAuth;OAuthClientId=${interactive.clientId};OAuthClientSecret=${interactive.clientSecret};CallbackURL=http://127.0.0.1:${callbackPort}/callback;${base}`,
  };
  secrets.push(
    api?.token as string,
    access?.token as string,
    consumer?.clientSecret as string,
    interactive.clientSecret,
  );
});

afterAll(async () => {
  await sim.stop();
  rmSync(home, { recursive: true, force: true });
});

describe("every table with every auth scheme", () => {
  it("lists each catalog table (issues need a scope access tokens cannot have)", async () => {
    for (const [scheme, connection] of Object.entries(schemes)) {
      const props = parseConnectionString(connection);
      const client = createClient(props);
      if (client.credentials instanceof OAuthCredentials && scheme === "OAuth") {
        // The browser step is covered by the CLI test below; here the code comes straight from the simulator.
        const code = sim.sim.auth.createAuthorizationCode(
          props.oauthClientId as string,
          sim.sim.data.owner.uuid,
        );
        await client.credentials.accept(await exchangeCode(props, code));
      }
      for (const table of CATALOG) {
        const query = runQuery(`SELECT * FROM ${table.name} LIMIT 3`, { client, workspace: props.workspace });
        if (scheme === "AccessToken" && table.def.retired) {
          await expect(query, `${scheme} ${table.name}`).rejects.toThrow(/scope issue/);
          continue;
        }
        const result = await query;
        if (result.kind !== "rows") throw new Error("expected rows");
        expect(result.rows.length, `${scheme} ${table.name}`).toBeGreaterThan(0);
        expect(result.columns.length, `${scheme} ${table.name}`).toBe(table.columns.length);
      }
    }
  });
});

describe("bitbridge query", () => {
  it("prints a table, JSON and CSV, and a summary with the request count", async () => {
    const sql =
      "SELECT RepositorySlug, Id, State FROM PullRequests WHERE State = 'MERGED' ORDER BY RepositorySlug, Id LIMIT 4";
    const table = await runCli(["query", sql, "--source", schemes.APIToken as string]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout.split("\n")[0]).toMatch(/^RepositorySlug\s+Id\s+State$/);
    expect(table.stderr).toMatch(/4 row\(s\), \d+ API request\(s\)/);
    const json = await runCli([
      "query",
      sql,
      "--source",
      schemes.AccessToken as string,
      "--format",
      "json",
      "--quiet",
    ]);
    const rows = JSON.parse(json.stdout) as { State: string }[];
    expect(rows).toHaveLength(4);
    expect(rows.every((r) => r.State === "MERGED")).toBe(true);
    expect(json.stderr).toBe("");
    const csv = await runCli([
      "query",
      sql,
      "--source",
      schemes.client as string,
      "--format",
      "csv",
      "--quiet",
    ]);
    expect(csv.stdout.split("\r\n")[0]).toBe("RepositorySlug,Id,State");
    expect(csv.stdout.trim().split("\r\n")).toHaveLength(5);
  });

  it("runs the OAuth authorization once through the consent page, then reuses the stored (encrypted) tokens", async () => {
    const env = { BITBRIDGE_HOME: home };
    let granted = false;
    const first = await runCli(
      ["query", "SELECT Slug FROM Repositories", "--source", schemes.OAuth as string],
      {
        env,
        onStderr: (text) => {
          const url = /(http:\/\/127\.0\.0\.1:\d+\/site\/oauth2\/authorize\?\S+)/.exec(text)?.[1];
          if (!url || granted) return;
          granted = true;
          // Play the browser: read the consent page, then press Grant.
          void (async () => {
            const page = await fetch(url);
            expect(page.status).toBe(200);
            const params = new URL(url).searchParams;
            const form = new URLSearchParams({
              client_id: params.get("client_id") ?? "",
              state: params.get("state") ?? "",
              response_type: "code",
              decision: "grant",
            });
            const answer = await fetch(`${sim.origin}/site/oauth2/authorize`, {
              method: "POST",
              body: form,
              redirect: "manual",
            });
            await fetch(answer.headers.get("location") ?? "");
          })();
        },
      },
    );
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(sim.sim.data.workspaces[0]?.repositories[0]?.slug);
    const second = await runCli(
      ["query", "SELECT Slug FROM Repositories", "--source", schemes.OAuth as string],
      { env },
    );
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).not.toContain("oauth2/authorize");
    const files = readdirSync(join(home, "tokens"));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const content = readFileSync(join(home, "tokens", f), "utf8");
      expect(content).not.toMatch(/access_token|refresh/i);
    }
  });

  it("reports errors with position, property or scope, and never prints a secret", async () => {
    const typo = await runCli([
      "query",
      "SELECT Titel FROM PullRequests",
      "--source",
      schemes.APIToken as string,
    ]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain(
      "Unknown column Titel in PullRequests at line 1, column 8. Did you mean Title?",
    );
    expect(typo.stderr).toContain("^^^^^");
    const badToken = (schemes.APIToken as string).replace(/APIToken=[^;]+/, "APIToken=wrong-token");
    const auth = await runCli(["query", "SELECT Slug FROM Repositories", "--source", badToken]);
    expect(auth.code).toBe(1);
    expect(auth.stderr).toMatch(/User|APIToken/);
    const explain = await runCli([
      "query",
      "EXPLAIN SELECT Hash FROM Commits LIMIT 5",
      "--source",
      schemes.APIToken as string,
    ]);
    expect(explain.stdout).toContain("pagelen=100");
    for (const out of [typo, auth, explain]) {
      for (const secret of secrets) expect(`${out.stdout}${out.stderr}`).not.toContain(secret);
    }
  });
});
