import type pg from "pg";
import { buildApi, defaultWebRoot, type RouteModule } from "../api/app.js";
import { ensureAdmin } from "../api/auth/admin.js";
import type { ApiContext } from "../api/context.js";
import { API_ROUTES } from "../api/routes/index.js";
import type { AppDatabase } from "../app/database.js";
import { openPublishedDatabase } from "../cli/published-database.js";
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
  /** How the published database was chosen (`--database`), to open a writable pool to it for sharing. */
  readonly publishedSpec?: string;
  /** HMAC key of OData `$skiptoken`s. */
  readonly tokenKey: Buffer;
  readonly port: number;
  readonly host?: string;
  /** Public URL of the OData root for links (default: from each request's Host). */
  readonly baseUrl?: string;
  readonly log: (line: string) => void;
  /** The first admin's password (default BITBRIDGE_ADMIN_PASSWORD); else one is generated. */
  readonly adminPassword?: string;
  /** The API's route modules (default API_ROUTES). */
  readonly routes?: readonly RouteModule[];
  /** Where a generated admin password is shown, once (default: standard output). */
  readonly announce?: (line: string) => void;
}

export interface RunningAppServer {
  readonly http: RunningHttpServer;
  readonly odata: ODataService;
  close(): Promise<void>;
}

/** One port for the web UI (`/`), the REST API (`/api`) and OData (`/odata/v4`). */
export async function startAppServer(options: AppServerOptions): Promise<RunningAppServer> {
  const { db, connections, published, log } = options;
  await ensureAdmin(
    db.pool,
    options.adminPassword ?? process.env.BITBRIDGE_ADMIN_PASSWORD,
    options.announce ?? ((line) => process.stdout.write(`${line}\n`)),
  );
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
    openPublishedAdmin: async () =>
      (await openPublishedDatabase(db, connections, options.publishedSpec, 1, false)).pool,
    ...(options.baseUrl !== undefined && { odataUrl: options.baseUrl }),
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
  const api = await buildApi(ctx, { routes: options.routes ?? API_ROUTES, webRoot: defaultWebRoot() });
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
