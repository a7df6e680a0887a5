import { Command, Option } from "commander";
import { runQuery } from "../sql/execute.js";
import { formatSqlError } from "../sql/index.js";
import { formatRows, type OutputFormat } from "./output.js";
import { openSource, withAuthorization } from "./source-connection.js";

/** `bitbridge query "<SQL>"`: SQL against Bitbucket, answered live through the API. */
export function queryCommand(): Command {
  return new Command("query")
    .description("Run a SELECT (or EXPLAIN SELECT) against Bitbucket through the API")
    .argument("<sql>", "the statement, e.g. \"SELECT Id, Title FROM PullRequests WHERE State = 'OPEN'\"")
    .option(
      "--source <connection>",
      "connection string: AuthScheme=...;Workspace=...;... (or BITBRIDGE_SOURCE)",
    )
    .addOption(
      new Option("--format <format>", "output format").choices(["table", "json", "csv"]).default("table"),
    )
    .option("--quiet", "no summary line on stderr", false)
    .action(async (sql: string, opts: { source?: string; format: OutputFormat; quiet: boolean }) => {
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const connection = await openSource(opts.source ?? process.env.BITBRIDGE_SOURCE, log);
      const started = performance.now();
      try {
        const result = await withAuthorization(
          connection,
          () =>
            runQuery(sql, {
              client: connection.client,
              workspace: connection.props.workspace,
              schema: connection.props.schema,
              concurrency: connection.props.maxConcurrency,
            }),
          log,
        );
        if (result.kind === "explain") {
          process.stdout.write(`${result.lines.join("\n")}\n`);
          return;
        }
        process.stdout.write(formatRows(result, opts.format));
        if (!opts.quiet) {
          const ms = Math.round(performance.now() - started);
          log(`${result.rows.length} row(s), ${result.requests} API request(s), ${ms} ms`);
        }
      } catch (error) {
        // Point at the statement for syntax and binding errors.
        if (error instanceof Error && "offset" in error && typeof error.offset === "number") {
          throw Object.assign(
            new Error(formatSqlError(sql, error as Error & { offset: number; length?: number })),
            {
              exitCode: 2,
            },
          );
        }
        throw error;
      }
    });
}
