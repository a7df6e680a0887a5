/**
 * How fast the simulator serves pages, so benchmarks of the connector never measure the simulator.
 * Runs the simulator in its own process (one core) and walks lists from this process over HTTP with
 * keep-alive: commits in cursor pages of 100, pull requests (all states) in pages of 50, default fields.
 * The baseline, measured in the same run, is a bare node:http server answering a pre-built page of the
 * same size: the ratio says how close the simulator comes to the transport's ceiling.
 *
 *   npm run bench:sim            # defaults: 4 repositories x 20,000 commits, 2,000 pull requests each
 *   ROUNDS=7 npm run bench:sim
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const REPOS = Number(process.env.REPOS ?? 4);
const COMMITS = Number(process.env.COMMITS ?? 20_000);
const PULL_REQUESTS = Number(process.env.PULL_REQUESTS ?? 2_000);
const REPO_SLUGS = ["web", "api", "mobile-app", "billing", "infra", "docs", "auth-service", "search"];

interface Server {
  child: ChildProcess;
  origin: string;
  authorization: string;
}

async function spawnServer(args: string[]): Promise<Server> {
  const child = spawn(process.execPath, ["--import", "tsx", "bench/sim-server.ts", ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const line = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once("line", resolve);
  });
  // Never leave a simulator behind, whatever happens to this process.
  process.once("exit", () => child.kill());
  return { child, ...JSON.parse(line) };
}

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

function get(url: string, authorization: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { agent, headers: authorization ? { Authorization: authorization } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const body = Buffer.concat(chunks).toString("utf8");
          if (res.statusCode !== 200)
            reject(new Error(`${res.statusCode} from ${url}: ${body.slice(0, 200)}`));
          else resolve(body);
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** `next` sits at the end of the envelope; find it without parsing the whole page. */
function nextOf(body: string): string | undefined {
  const at = body.lastIndexOf('"next":"');
  if (at < 0) return undefined;
  return body.slice(at + 8, body.indexOf('"', at + 8));
}

interface Walk {
  objects: number;
  pages: number;
  bytes: number;
}

async function walk(
  server: Server,
  firstUrl: string,
  pagelen: number,
  maxPages = Number.POSITIVE_INFINITY,
): Promise<Walk> {
  let url: string | undefined = firstUrl;
  const result: Walk = { objects: 0, pages: 0, bytes: 0 };
  while (url && result.pages < maxPages) {
    const body = await get(url, server.authorization);
    url = nextOf(body);
    result.pages++;
    result.bytes += body.length;
    // Only the last page is parsed to count; every full page holds exactly `pagelen` objects.
    result.objects += url ? pagelen : (JSON.parse(body) as { values: unknown[] }).values.length;
  }
  return result;
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
function cpuSeconds(child: ChildProcess): number {
  const fields = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface Measurement {
  objectsPerSecond: number;
  pagesPerSecond: number;
  /** Objects per CPU second of the server process: throughput on one core, whatever the client costs. */
  objectsPerCpuSecond: number;
  walks: Walk[];
}

async function measure(server: ChildProcess, run: () => Promise<Walk[]>): Promise<Measurement> {
  const cpuBefore = cpuSeconds(server);
  const start = performance.now();
  const walks = await run();
  const seconds = (performance.now() - start) / 1000;
  const cpu = Math.max(0.01, cpuSeconds(server) - cpuBefore);
  const objects = walks.reduce((n, w) => n + w.objects, 0);
  const pages = walks.reduce((n, w) => n + w.pages, 0);
  return {
    objectsPerSecond: objects / seconds,
    pagesPerSecond: pages / seconds,
    objectsPerCpuSecond: objects / cpu,
    walks,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

function peakRssMb(child: ChildProcess): number {
  const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

async function main() {
  const counts = {
    workspaces: 1,
    repositories: REPOS,
    commits: COMMITS,
    pullRequests: PULL_REQUESTS,
    comments: 1,
  };
  const t0 = performance.now();
  const sim = await spawnServer(["simulator", JSON.stringify(counts)]);
  const startSeconds = (performance.now() - t0) / 1000;
  const repos = REPO_SLUGS.slice(0, REPOS);
  const commitsUrl = (slug: string) => `${sim.origin}/2.0/repositories/acme/${slug}/commits?pagelen=100`;
  const prUrl = (slug: string) =>
    `${sim.origin}/2.0/repositories/acme/${slug}/pullrequests?pagelen=50&state=OPEN&state=MERGED&state=DECLINED&state=SUPERSEDED`;

  // Baselines: one page of each kind, served by a bare server, walked the same number of times.
  const commitPage = await get(commitsUrl(repos[0] as string), sim.authorization);
  const prPage = await get(prUrl(repos[0] as string), sim.authorization);

  const cases = [
    { name: "commits (cursor, pagelen 100)", url: commitsUrl, pagelen: 100, page: commitPage },
    { name: "pull requests (page, pagelen 50)", url: prUrl, pagelen: 50, page: prPage },
  ];
  console.log(
    `simulator: ${REPOS} repositories x ${fmt(COMMITS)} commits, ${fmt(PULL_REQUESTS)} pull requests; started in ${startSeconds.toFixed(1)} s`,
  );
  console.log(`rounds: ${ROUNDS} (median reported); ${REPOS} concurrent walks per round\n`);
  for (const c of cases) {
    const cold = await measure(sim.child, () =>
      Promise.all(repos.map((slug) => walk(sim, c.url(slug), c.pagelen))),
    );
    const warm: number[] = [];
    const warmPages: number[] = [];
    const warmCpu: number[] = [];
    const pagesPerWalk = cold.walks[0]?.pages ?? 1;
    for (let i = 0; i < ROUNDS; i++) {
      const m = await measure(sim.child, () =>
        Promise.all(repos.map((slug) => walk(sim, c.url(slug), c.pagelen))),
      );
      warm.push(m.objectsPerSecond);
      warmPages.push(m.pagesPerSecond);
      warmCpu.push(m.objectsPerCpuSecond);
    }
    const pageFile = join(tmpdir(), `bitbridge-bench-page-${process.pid}.json`);
    writeFileSync(pageFile, c.page.replace(/,"next":"[^"]*"/, ""));
    const baseline = await spawnServer(["static", "{}", pageFile]);
    const base: number[] = [];
    const baseCpu: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const m = await measure(baseline.child, () =>
        Promise.all(
          repos.map(async () => {
            const total: Walk = { objects: 0, pages: 0, bytes: 0 };
            for (let p = 0; p < pagesPerWalk; p++) {
              const body = await get(`${baseline.origin}/`, "");
              total.pages++;
              total.objects += c.pagelen;
              total.bytes += body.length;
            }
            return total;
          }),
        ),
      );
      base.push(m.objectsPerSecond);
      baseCpu.push(m.objectsPerCpuSecond);
    }
    baseline.child.kill();
    rmSync(pageFile);
    const objects = cold.walks.reduce((n, w) => n + w.objects, 0);
    console.log(c.name);
    console.log(
      `  objects per round         ${fmt(objects)} in ${fmt(cold.walks.reduce((n, w) => n + w.pages, 0))} pages`,
    );
    console.log(
      `  first walk (cold caches)  ${fmt(cold.objectsPerSecond)} objects/s, ${fmt(cold.objectsPerCpuSecond)} per server CPU-second`,
    );
    console.log(
      `  warm, median              ${fmt(median(warm))} objects/s, ${fmt(median(warmPages))} pages/s (wall clock, client included)`,
    );
    console.log(`  warm, one server core     ${fmt(median(warmCpu))} objects per server CPU-second`);
    console.log(
      `  bare-server baseline      ${fmt(median(base))} objects/s, ${fmt(median(baseCpu))} per server CPU-second`,
    );
    console.log(
      `  simulator / baseline      ${(median(warm) / median(base)).toFixed(2)} wall clock, ${(median(warmCpu) / median(baseCpu)).toFixed(2)} per CPU-second\n`,
    );
  }
  const stats = JSON.parse(await get(`${sim.origin}/_sim/stats`, "")) as { total: number };
  console.log(
    `simulator requests served: ${fmt(stats.total)}; peak RSS ${peakRssMb(sim.child).toFixed(0)} MB`,
  );
  sim.child.kill();
  agent.destroy();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
