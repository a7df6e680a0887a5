/** Runs one replication task in its own process, so a test can kill it with SIGKILL at any moment. */
import { createClient } from "../../src/bitbucket/client.js";
import { parseConnectionString } from "../../src/bitbucket/connection-properties.js";
import { runReplicateTask } from "../../src/engine/task-runner.js";

const [statement, connection, databaseUrl, schema] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
];
const props = parseConnectionString(connection);
const result = await runReplicateTask({
  statement,
  client: createClient(props),
  workspace: props.workspace,
  destination: { config: { connectionString: databaseUrl }, schema },
  onProgress: (p) => process.stdout.write(`progress ${p.rows}\n`),
});
process.stdout.write(`done ${JSON.stringify(result)}\n`);
