/**
 * vitest global setup: find or start the PostgreSQL server the tests use and hand its URL to
 * the test workers (see test/support/postgres.ts).
 *
 * - TEST_DATABASE_URL, else DATABASE_URL: an existing server (its role needs CREATEDB).
 * - Otherwise: an embedded PostgreSQL in a fresh temporary folder, stopped and removed after the run.
 *
 * If no server can be had, the run still goes on (tests that need no database pass); every
 * `useTestDatabase()` then fails with the reason.
 */
import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { startEmbeddedPostgres } from "../../src/app/embedded-postgres.js";
import type { TestServerSource } from "./postgres.js";

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const fromEnv = pickEnvironmentUrl();
  if (fromEnv) {
    project.provide("testPostgresSource", fromEnv.source);
    try {
      const version = await serverVersion(fromEnv.url);
      log(`using PostgreSQL ${version} from ${fromEnv.source} (${redact(fromEnv.url)})`);
      provideServer(project, fromEnv.url);
    } catch (error) {
      provideFailure(
        project,
        `${fromEnv.source} (${redact(fromEnv.url)}) does not answer: ${message(error)}`,
      );
    }
    return undefined;
  }

  project.provide("testPostgresSource", "embedded");
  const started = Date.now();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "bitbridge-test-pg-"));
  // If vitest is interrupted (SIGINT/SIGTERM) the teardown below never runs; embedded-postgres's own
  // exit hook still stops the server, and this removes the folder.
  process.once("exit", () => rmSync(dataDir, { recursive: true, force: true }));
  try {
    const server = await startEmbeddedPostgres({
      dataDir,
      ephemeral: true,
      settings: { max_connections: 200 },
    });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    log(
      `started embedded PostgreSQL ${server.version} on ${server.host}:${server.port} in ${seconds}s (${dataDir})`,
    );
    provideServer(project, server.url);
    return async () => {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
      log("embedded PostgreSQL stopped, temporary folder removed");
    };
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    provideFailure(project, `embedded PostgreSQL did not start: ${message(error)}`);
    return undefined;
  }
}

function pickEnvironmentUrl(): { url: string; source: TestServerSource } | undefined {
  for (const source of ["TEST_DATABASE_URL", "DATABASE_URL"] as const) {
    const url = process.env[source]?.trim();
    if (url) return { url, source };
  }
  return undefined;
}

function provideServer(project: TestProject, url: string): void {
  project.provide("testPostgresUrl", url);
  project.provide("testPostgresError", "");
}

function provideFailure(project: TestProject, reason: string): void {
  console.error(`[test-db] ${reason}\n[test-db] tests that need a database will fail`);
  project.provide("testPostgresUrl", "");
  project.provide("testPostgresError", reason);
}

async function serverVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on("error", () => {});
  try {
    await client.connect();
    const result = await client.query<{ server_version: string }>("SHOW server_version");
    return result.rows[0]?.server_version ?? "?";
  } finally {
    await client.end().catch(() => {});
  }
}

function log(text: string): void {
  console.log(`[test-db] ${text}`);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "<unparsable URL>";
  }
}
