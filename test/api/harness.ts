import { randomBytes } from "node:crypto";
import pg from "pg";
import { type AppDatabase, migrate } from "../../src/app/database.js";
import { ConnectionStore } from "../../src/engine/connection-store.js";
import { type AppServerOptions, type RunningAppServer, startAppServer } from "../../src/server/app-server.js";
import type { TestDatabase } from "../support/postgres.js";

export const ADMIN_PASSWORD = "correct horse battery staple";

export interface TestApp {
  readonly server: RunningAppServer;
  readonly origin: string;
  readonly connections: ConnectionStore;
  /** Everything the server logged, to check no secret reached it. */
  readonly logged: string[];
  close(): Promise<void>;
}

/** The app server on a free port over a fresh test database, with a known admin password. */
export async function startTestApp(
  db: TestDatabase,
  options: Pick<AppServerOptions, "routes"> = {},
): Promise<TestApp> {
  await migrate(db.pool);
  const key = randomBytes(32);
  const connections = new ConnectionStore(db.pool, () => key);
  const appDb: AppDatabase = { pool: db.pool, url: db.url, embedded: false, close: async () => {} };
  const published = new pg.Pool({
    connectionString: db.url,
    max: 3,
    options: "-c default_transaction_read_only=on -c TimeZone=UTC",
  });
  const logged: string[] = [];
  const server = await startAppServer({
    db: appDb,
    connections,
    published: { pool: published, description: "the test database" },
    tokenKey: randomBytes(32),
    port: 0,
    log: (line) => logged.push(line),
    adminPassword: ADMIN_PASSWORD,
    announce: (line) => logged.push(line),
    ...options,
  });
  return {
    server,
    origin: server.http.origin,
    connections,
    logged,
    close: async () => {
      await server.close();
      await published.end();
    },
  };
}

/** A logged-in browser: sends the session cookie, and the CSRF token on changes. */
export class Browser {
  private cookie = "";
  csrfToken = "";

  constructor(private readonly origin: string) {}

  async login(username = "admin", password = ADMIN_PASSWORD): Promise<Response> {
    const response = await fetch(`${this.origin}/api/session`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password }),
    });
    if (response.ok) {
      this.cookie = (response.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
      this.csrfToken = ((await response.clone().json()) as { csrfToken: string }).csrfToken;
    }
    return response;
  }

  get sessionCookie(): string {
    return this.cookie;
  }

  /** Every answer's body, to check no secret was ever sent back. */
  readonly transcript: string[] = [];

  async fetch(
    path: string,
    init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
  ) {
    const method = init.method ?? "GET";
    const headers: Record<string, string> = { cookie: this.cookie, ...init.headers };
    if (method !== "GET" && !("x-csrf-token" in headers)) headers["x-csrf-token"] = this.csrfToken;
    if (init.body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(`${this.origin}${path}`, {
      method,
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      redirect: "manual",
    });
    this.transcript.push(await response.clone().text());
    return response;
  }

  async json<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
    const response = await this.fetch(path, init);
    const text = await response.text();
    if (!response.ok) throw new Error(`${init.method ?? "GET"} ${path}: ${response.status} ${text}`);
    return JSON.parse(text) as T;
  }
}
