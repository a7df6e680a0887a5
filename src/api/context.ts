import type pg from "pg";
import type { AppDatabase } from "../app/database.js";
import type { ConnectionStore } from "../engine/connection-store.js";
import type { ODataService } from "../odata/service.js";
import type { ShareStore } from "../odata/shares.js";
import type { Queue } from "../scheduler/queue.js";

/** What the API's routes work with: the same stores the CLI uses, opened once by `bitbridge serve`. */
export interface ApiContext {
  readonly db: AppDatabase;
  readonly connections: ConnectionStore;
  /** The database whose tables OData publishes (read-only pool) and how to name it to the user. */
  readonly published: { readonly pool: pg.Pool; readonly description: string };
  /**
   * A one-connection pool to the published database that may write and grant (sharing gives the reader
   * role SELECT); the caller ends it.
   */
  openPublishedAdmin(): Promise<pg.Pool>;
  /** Public URL of the OData root, when configured (else it follows the request's host). */
  readonly odataUrl?: string;
  readonly shares: ShareStore;
  readonly odata: ODataService;
  /** Where runs are enqueued; opened lazily because pg-boss is slow to start. */
  queue(): Promise<Queue>;
  /** Console lines for the operator; never receives a secret. */
  readonly log: (line: string) => void;
}
