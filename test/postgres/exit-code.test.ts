import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

describe("embedded PostgreSQL and the process exit code", () => {
  it("a process that started and stopped it still exits with the code it set (the library's exit hook would make it 0)", () => {
    const dir = mkdtempSync(join(tmpdir(), "bitbridge-exit-"));
    chmodSync(dir, 0o711);
    try {
      const script = `
        import { startEmbeddedPostgres } from "./src/app/embedded-postgres.ts";
        const server = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(join(dir, "pg"))}, ephemeral: true });
        await server.stop();
        process.exitCode = 3;
      `;
      const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
        encoding: "utf8",
        timeout: 90_000,
      });
      expect(child.status, child.stderr).toBe(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
