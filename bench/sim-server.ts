/**
 * Child process for the benchmarks: `simulator` serves seeded data; `static` is the baseline, a bare
 * node:http server answering every request with one pre-built page of the same shape and size.
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { startSimulator } from "../sim/server.js";

const mode = process.argv[2] ?? "simulator";
const counts = JSON.parse(process.argv[3] ?? "{}");
const scale = (process.argv[5] ?? "tiny") as "tiny" | "small" | "medium" | "large";
// A normal exit on the parent's kill, so `--cpu-prof` (SIM_CPU_PROF of bench/replication.ts) writes its profile.
process.once("SIGTERM", () => process.exit(0));

if (mode === "simulator") {
  const running = await startSimulator({ seed: 7, scale, counts, rateLimitPerHour: 1_000_000_000 });
  if (process.env.WARM === "1") running.sim.warm();
  const credentials = running.sim.auth.credentials();
  const token = credentials.accessTokens[0]?.authorization;
  const api = credentials.apiTokens[0];
  process.stdout.write(
    `${JSON.stringify({ origin: running.origin, authorization: token, email: api?.email, apiToken: api?.token })}\n`,
  );
} else {
  const page = readFileSync(process.argv[4] ?? "");
  const server = createServer((_req, res) => {
    res.writeHead(200, {
      "Content-Type": "application/json; charset=utf-8",
      "Content-Length": page.length,
    });
    res.end(page);
  });
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as AddressInfo;
    process.stdout.write(`${JSON.stringify({ origin: `http://127.0.0.1:${port}`, authorization: "" })}\n`);
  });
}
