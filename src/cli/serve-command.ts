import { createHmac } from "node:crypto";
import { Command, InvalidArgumentError } from "commander";
import { loadSecretKey } from "../app/secrets.js";
import { readAsReader } from "../odata/reader-role.js";
import { ODATA_ROOT } from "../odata/service.js";
import { startAppServer } from "../server/app-server.js";
import { withAppDatabase } from "./app-database.js";
import { openPublishedDatabase, parsePoolSize } from "./published-database.js";
import { DEFAULT_WORKER, launchWorker } from "./worker-command.js";

/** `bitbridge serve`: the web UI, the REST API and the OData service on one port, with a worker. */
export function serveCommand(): Command {
  return new Command("serve")
    .description(
      `Serve the web UI (/), the REST API (/api) and the shared tables as OData 4.0 (${ODATA_ROOT})`,
    )
    .option("--port <n>", "port", (v) => Number(v), 8080)
    .option("--host <address>", "address to listen on (0.0.0.0 for every interface)", "127.0.0.1")
    .option("--database <connection|url>", "the published database (default: connection warehouse)")
    .option(
      "--pool-size <n>",
      "connections to the published database (default: BITBRIDGE_ODATA_POOL_SIZE, else 20)",
      poolSize,
    )
    .option("--base-url <url>", `public URL of ${ODATA_ROOT} for links (default: from the request's Host)`)
    .option("--no-worker", "do not run queued and scheduled job runs in this process")
    .action(
      async (opts: {
        port: number;
        host: string;
        database?: string;
        poolSize?: number;
        baseUrl?: string;
        worker: boolean;
      }) => {
        await withAppDatabase(async (db, connections) => {
          const published = await openPublishedDatabase(db, connections, opts.database, opts.poolSize);
          readAsReader(published.pool);
          const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
          const worker = opts.worker ? await launchWorker(db, connections, DEFAULT_WORKER, log) : undefined;
          const server = await startAppServer({
            db,
            connections,
            published,
            publishedSpec: opts.database,
            tokenKey: odataTokenKey(),
            port: opts.port,
            host: opts.host,
            baseUrl: opts.baseUrl,
            log,
          });
          const origin = server.http.origin;
          process.stdout.write(
            `Web UI at ${origin}/, REST API at ${origin}/api (docs at /api/docs), OData service at ${origin}${ODATA_ROOT} (publishing ${published.description})${worker ? ", with a worker for queued and scheduled runs" : ""}; Ctrl-C stops it.\n`,
          );
          await new Promise<void>((resolve) => {
            process.once("SIGINT", resolve);
            process.once("SIGTERM", resolve);
          });
          await server.close();
          await worker?.drain(DEFAULT_WORKER.drainTimeout * 1000);
          await worker?.close();
          await published.pool.end();
        });
      },
    );
}

function poolSize(text: string): number {
  const size = parsePoolSize(text);
  if (size === undefined) throw new InvalidArgumentError("expected a whole number from 1 to 1000");
  return size;
}

/** `$skiptoken` signatures use a key of their own, derived from the secret key. */
export function odataTokenKey(): Buffer {
  return createHmac("sha256", loadSecretKey()).update("bitbridge odata skiptoken").digest();
}
