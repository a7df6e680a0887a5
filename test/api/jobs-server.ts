import type { ConnectionStore } from "../../src/engine/connection-store.js";
import type { TestDatabase } from "../support/postgres.js";
import { Browser, startTestApp } from "./harness.js";

/** What a request answered: status and parsed JSON body (undefined when empty). */
export interface Answer {
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: test assertions read whatever the API returned
  readonly body: any;
}

export interface TestApi {
  readonly origin: string;
  readonly connections: ConnectionStore;
  /** Logged in as admin: the session cookie and CSRF token go with every call. */
  call(method: string, path: string, body?: unknown): Promise<Answer>;
  /** Without any credentials. */
  anonymous(method: string, path: string): Promise<Answer>;
  close(): Promise<void>;
}

/** The app server (every API route, authentication included), logged in as admin the way the web UI is. */
export async function startTestApi(db: TestDatabase): Promise<TestApi> {
  const app = await startTestApp(db);
  const browser = new Browser(app.origin);
  const login = await browser.login();
  if (!login.ok) throw new Error(`login failed: ${login.status} ${await login.text()}`);
  const answer = async (response: Response): Promise<Answer> => {
    const text = await response.text();
    return { status: response.status, body: text === "" ? undefined : JSON.parse(text) };
  };
  return {
    origin: app.origin,
    connections: app.connections,
    call: async (method, path, body) => answer(await browser.fetch(path, { method, body })),
    anonymous: async (method, path) => answer(await fetch(`${app.origin}${path}`, { method })),
    close: () => app.close(),
  };
}
