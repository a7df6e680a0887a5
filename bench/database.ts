import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEmbeddedPostgres } from "../src/app/embedded-postgres.js";

/** BENCH_DATABASE_URL (or DATABASE_URL), else an embedded PostgreSQL in a temporary folder, removed by `stop`. */
export async function benchDatabase(): Promise<{ url: string; stop: () => Promise<void> }> {
  const url = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL;
  if (url) return { url, stop: async () => {} };
  const dir = mkdtempSync(join(tmpdir(), "bitbridge-bench-"));
  // Embedded PostgreSQL runs as the postgres user when we are root: it must traverse the folder.
  chmodSync(dir, 0o711);
  const server = await startEmbeddedPostgres({ dataDir: dir, ephemeral: true });
  return {
    url: server.url,
    stop: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
