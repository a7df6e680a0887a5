import { Command } from "commander";
import { adminCommand } from "./admin-command.js";
import { connectionCommand } from "./connection-command.js";
import { jobCommand } from "./job-command.js";
import { odataCommand } from "./odata-command.js";
import { queryCommand } from "./query-command.js";
import { replicateCommand } from "./replicate-command.js";
import { serveCommand } from "./serve-command.js";
import { simCommand } from "./sim-command.js";
import { startCommand } from "./start-command.js";
import { workerCommand } from "./worker-command.js";

/** Entry point of the `bitbridge` command; each subcommand lives in its own module. */
export async function main(argv: readonly string[]): Promise<void> {
  const program = new Command("bitbridge")
    .description("Replicate Bitbucket Cloud into PostgreSQL and serve it as OData 4.0 for Salesforce Connect")
    .version("0.1.0")
    .showHelpAfterError();
  program.addCommand(startCommand());
  program.addCommand(simCommand());
  program.addCommand(queryCommand());
  program.addCommand(connectionCommand());
  program.addCommand(jobCommand());
  program.addCommand(replicateCommand());
  program.addCommand(serveCommand());
  program.addCommand(odataCommand());
  program.addCommand(workerCommand());
  program.addCommand(adminCommand());
  await program.parseAsync([...argv]);
}
