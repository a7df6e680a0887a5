import { Command } from "commander";
import { runStatement } from "../engine/runs.js";
import { withAppDatabase } from "./app-database.js";
import { finishRun, runReporter, withCancellation, withSqlErrors } from "./job-command.js";

/** `bitbridge replicate "<REPLICATE ...>"`: a one-off run, recorded in the run history without a job. */
export function replicateCommand(): Command {
  return new Command("replicate")
    .description(
      "Run REPLICATE statements once, from a Bitbucket or PostgreSQL source into a PostgreSQL destination",
    )
    .argument("<statement>", 'e.g. "REPLICATE [Issues]"; several statements separated by ; run in order')
    .option(
      "--source <connection>",
      "a saved source connection's name, a Bitbucket connection string AuthScheme=...;Workspace=...;..., or a PostgreSQL one: a postgres:// URL or Server=...;Database=...;Schema=... (or BITBRIDGE_SOURCE)",
    )
    .requiredOption(
      "--dest <connection>",
      "a saved PostgreSQL connection's name, a postgres:// URL or Server=...;Database=...;User=...;Password=...;Schema=...",
    )
    .option("--full", "ignore incremental state and read everything again", false)
    .action(async (statement: string, opts: { source?: string; dest: string; full: boolean }) => {
      const source = opts.source ?? process.env.BITBRIDGE_SOURCE;
      if (!source) {
        throw Object.assign(
          new Error(
            "Give the source with --source: a saved connection's name, 'AuthScheme=APIToken;User=...;APIToken=...;Workspace=...' or a postgres:// URL.",
          ),
          { exitCode: 2 },
        );
      }
      const summary = await withAppDatabase((db, connections) =>
        withSqlErrors(statement, () =>
          withCancellation((signal) =>
            runStatement(
              { pool: db.pool, connections },
              { statement, source, destination: opts.dest },
              { full: opts.full, trigger: "cli", signal, ...runReporter() },
            ),
          ),
        ),
      );
      finishRun(summary, `bitbridge job logs ${summary.runId}`);
    });
}
