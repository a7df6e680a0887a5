import { join } from "node:path";
import { Command } from "commander";
import { CLASSIC_READ_SCOPES } from "../../sim/auth/scopes.js";
import { type RunningSimulator, startSimulator } from "../../sim/server.js";
import { embeddedDataDir } from "../app/database.js";
import { connectionPropertiesFrom, splitConnectionString } from "../bitbucket/connection-properties.js";
import { JobStore } from "../engine/jobs.js";
import { runJob } from "../engine/runs.js";
import { CATALOG } from "../source/catalog.js";
import { withAppDatabase } from "./app-database.js";
import { finishRun, runReporter } from "./job-command.js";
import { publishReplicatedTables } from "./start-odata.js";
import { DEFAULT_WORKER, launchWorker } from "./worker-command.js";

const JOB = "bitbucket-all";
const SOURCE = "bitbucket";
const DESTINATION = "warehouse";
const SCHEMA = "bitbucket";
/** Tables read with one request per commit: too costly for an every-table default job. */
const PER_COMMIT = new Set(["CommitStatuses"]);

/**
 * The main job: a PostgreSQL (embedded unless DATABASE_URL is set), a Bitbucket source (BITBRIDGE_SOURCE,
 * or the simulator when no credentials are configured), a job replicating every table, one run, and how to
 * look at the result.
 */
export function startCommand(): Command {
  return new Command("start")
    .description(
      "Replicate every Bitbucket table into PostgreSQL (simulator and embedded PostgreSQL by default)",
    )
    .option(
      "--port <n>",
      "simulator port when no Bitbucket credentials are configured",
      (v) => Number(v),
      7990,
    )
    .option("--full", "read everything again instead of only what changed", false)
    .option(
      "--exit",
      "stop after the run instead of keeping PostgreSQL, the simulator and the OData service up",
      false,
    )
    .option("--odata-port <n>", "port of the OData service", (v) => Number(v), 8080)
    .action(async (opts: { port: number; full: boolean; exit: boolean; odataPort: number }) => {
      const log = (line: string) => process.stderr.write(`${line}\n`);
      let sim: RunningSimulator | undefined;
      try {
        await withAppDatabase(async (db, connections) => {
          log(
            db.embedded
              ? "Application database: embedded PostgreSQL (BITBRIDGE_HOME)"
              : "Application database: DATABASE_URL",
          );
          const configured = process.env.BITBRIDGE_SOURCE?.trim();
          let source: Record<string, string>;
          if (configured) {
            source = Object.fromEntries(
              splitConnectionString(configured).map(({ name, value }) => [name, value]),
            );
            connectionPropertiesFrom(source);
            log("Bitbucket: the connection in BITBRIDGE_SOURCE");
          } else {
            // The demo's budget is generous; a real workspace keeps Bitbucket's 1,000 requests per hour.
            sim = await startSimulator({
              port: await freeOr(opts.port),
              seed: 1,
              scale: "small",
              rateLimitPerHour: 1_000_000,
            });
            const token = sim.sim.auth.credentials().apiTokens[0];
            source = {
              AuthScheme: "APIToken",
              User: token?.email ?? "",
              APIToken: token?.token ?? "",
              Workspace: sim.sim.data.workspaces[0]?.slug ?? "",
              Url: sim.apiUrl,
              RequestsPerHour: "100000",
            };
            log(
              `Bitbucket: no BITBRIDGE_SOURCE set, so the built-in simulator at ${sim.apiUrl} (seeded demo data)`,
            );
          }
          await connections.save({ name: SOURCE, connector: "bitbucket", properties: source });
          const destinationUrl = process.env.BITBRIDGE_DESTINATION?.trim() || db.url;
          await connections.save({
            name: DESTINATION,
            connector: "postgresql",
            properties: { URL: destinationUrl, Schema: SCHEMA },
          });
          const jobs = new JobStore(db.pool);
          const existing = (await jobs.list()).find((j) => j.name === JOB);
          if (!existing) {
            await jobs.create({ name: JOB, source: SOURCE, destination: DESTINATION });
            const tables = CATALOG.filter((t) => !t.def.retired && !PER_COMMIT.has(t.name)).map(
              (t) => `REPLICATE [${t.name}]`,
            );
            await jobs.addTask(JOB, tables.join(";\n"));
            log(
              `Created job ${JOB} with ${tables.length} tasks, one per table (not the retired issue tracker, nor CommitStatuses, ` +
                "which costs one request per commit: add it with a filter, e.g. bitbridge job add-task)",
            );
          }
          const job = await jobs.get(JOB);
          const reporter = runReporter();
          const summary = await runJob({ pool: db.pool, connections }, job, {
            trigger: "cli",
            full: opts.full,
            onProgress: reporter.onProgress,
            onTaskEnd: reporter.onTaskEnd,
          });
          finishRun(summary, `bitbridge job logs ${summary.runId}`);
          const where = new URL(destinationUrl);
          const password = !where.password
            ? ""
            : db.embedded
              ? `(password in ${join(embeddedDataDir(), "embedded-postgres.json")})`
              : "(password as in your DATABASE_URL)";
          where.password = "";
          process.stdout.write(
            [
              "",
              `The tables are in schema ${SCHEMA} of ${where.toString()} ${password}`.trimEnd(),
              `  psql "${where.toString()}" -c "SELECT id, title, state FROM ${SCHEMA}.pull_requests ORDER BY updated_on DESC LIMIT 5"`,
              `Run again to pick up only what changed: npm start (or bitbridge job run ${JOB}); history: bitbridge job history ${JOB}`,
              "",
            ].join("\n"),
          );
          const odata = await publishReplicatedTables(db, connections, SCHEMA, {
            port: opts.exit ? undefined : await freeOr(opts.odataPort),
            log,
          });
          if (!opts.exit) {
            // Runs started from the web UI or on a schedule go through the queue: someone must take them.
            const worker = await launchWorker(db, connections, DEFAULT_WORKER, log);
            if (sim && odata.origin) {
              const consumer = sim.sim.auth.createConsumer({
                name: "bitbridge web UI",
                scopes: CLASSIC_READ_SCOPES,
                callbackUrl: `${odata.origin}/api/oauth/callback`,
              });
              process.stdout.write(
                [
                  "To try the web UI's Connect to Bitbucket against the simulator, add a Bitbucket source with",
                  `  AuthScheme=OAuth, OAuthClientId=${consumer.clientId}, OAuthClientSecret=${consumer.clientSecret}, Url=${sim.apiUrl}, AuthUrl=${sim.origin}, Workspace=${sim.sim.data.workspaces[0]?.slug ?? ""}`,
                  "",
                ].join("\n"),
              );
            }
            process.stdout.write(
              "PostgreSQL, the simulator, the web UI, the OData service and a worker stay up for you to look around; press Ctrl-C to stop.\n",
            );
            await new Promise<void>((resolve) => {
              process.once("SIGINT", resolve);
              process.once("SIGTERM", resolve);
            });
            await worker.drain(DEFAULT_WORKER.drainTimeout * 1000);
            await worker.close();
          }
          await odata.close();
        });
      } finally {
        await sim?.stop();
      }
    });
}

/** The preferred port when it is free, else any free port (a second start while one runs). */
async function freeOr(port: number): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(0));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(port)));
  });
}
