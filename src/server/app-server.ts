import type pg from "pg";
import { buildApi, defaultWebRoot } from "../api/app.js";
import type { ApiContext } from "../api/context.js";
import { API_ROUTES } from "../api/routes/index.js";
import type { AppDatabase } from "../app/database.js";
import type { ConnectionStore } from "../engine/connection-store.js";
import { ODataService } from "../odata/service.js";
import { ShareStore } from "../odata/shares.js";
import type { Queue } from "../scheduler/queue.js";
import { type RunningHttpServer, startHttpServer } from "./http.js";

export interface AppServerOptions {
  readonly db: AppDatabase;
  readonly connections: ConnectionStore;
  /** The published database (a read-only pool) and how to describe it. */
  readonly published: { readonly pool: pg.Pool; readonly description: string };
  /** HMAC key of OData `$skiptoken`s. */
  readonly tokenKey: Buffer;
  readonly port: number;
  readonly host?: string;
  /** Public URL of the OData root for links (default: from each request's Host). */
  readonly baseUrl?: string;
  readonly log: (line: string) => void;
}

export interface RunningAppServer {
  readonly http: RunningHttpServer;
  readonly odata: ODataService;
  close(): Promise<void>;
}

/** One port for the web UI (`/`), the REST API (`/api`) and OData (`/odata/v4`). */
export async function startAppServer(options: AppServerOptions): Promise<RunningAppServer> {
  const { db, connections, published, log } = options;
  const shares = new ShareStore(db.pool, published.pool);
  const odata = new ODataService({
    app: db.pool,
    data: published.pool,
    shares,
    tokenKey: options.tokenKey,
    baseUrl: options.baseUrl,
    log,
  });
  let queue: Promise<Queue> | undefined;
  const ctx: ApiContext = {
    db,
    connections,
    published,
    shares,
    odata,
    queue: () => {
      queue ??= import("../scheduler/queue.js").then(({ openQueue }) =>
        openQueue(db.url, db.pool, { supervise: false }),
      );
      return queue;
    },
    log,
  };
  const api = await buildApi(ctx, { routes: API_ROUTES, webRoot: defaultWebRoot() });
  const http = await startHttpServer({ odata, api, port: options.port, host: options.host });
  return {
    http,
    odata,
    close: async () => {
      await http.close();
      await api.close();
      if (queue) await (await queue.catch(() => undefined))?.stop();
    },
  };
}
