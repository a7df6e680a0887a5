import { Command } from "commander";
import { displayProperties } from "../engine/connection-store.js";
import { CONNECTORS, findConnector, propertiesFromString } from "../engine/connectors.js";
import { withAppDatabase } from "./app-database.js";
import { formatRows } from "./output.js";

const collect = (value: string, previous: string[]) => [...previous, value];

/** `bitbridge connection add|list|show|test|remove`: saved sources and destinations. */
export function connectionCommand(): Command {
  const command = new Command("connection").description(
    "Saved connections: Bitbucket and PostgreSQL sources, PostgreSQL destinations",
  );
  command
    .command("add")
    .description("Save a connection (tested first unless --no-test)")
    .argument("<name>", "a name to refer to it by, e.g. bitbucket or warehouse")
    .requiredOption(
      "--connector <connector>",
      `one of ${[...new Set(CONNECTORS.map((c) => c.name))].join(", ")}`,
    )
    .option(
      "--kind <kind>",
      "source or destination, for a connector that can be both (postgresql: destination unless told)",
    )
    .requiredOption("--properties <Prop=Value;...>", "the connection properties")
    .option("--label <label>", "a label (repeatable)", collect, [])
    .option("--no-test", "save without connecting first")
    .action(
      async (
        name: string,
        opts: { connector: string; kind?: string; properties: string; label: string[]; test: boolean },
      ) => {
        const connector = findConnector(opts.connector, opts.kind);
        const properties = propertiesFromString(connector, opts.properties);
        connector.validate(properties);
        if (opts.test) process.stderr.write(`Connected: ${await connector.test(properties)}\n`);
        await withAppDatabase(async (_db, store) => {
          const saved = await store.add({
            name,
            connector: connector.name,
            kind: connector.kind,
            properties,
            labels: opts.label,
          });
          process.stdout.write(`Saved ${saved.kind} connection ${saved.name} (${connector.title}).\n`);
        });
      },
    );
  command
    .command("list")
    .description("List saved connections")
    .option("--label <label>", "only connections with this label")
    .action(async (opts: { label?: string }) => {
      await withAppDatabase(async (_db, store) => {
        const rows = (await store.list(opts.label)).map((c) => [
          c.name,
          c.kind,
          c.connector,
          c.labels.join(", "),
          c.updatedAt.toISOString(),
        ]);
        const columns = ["Name", "Kind", "Connector", "Labels", "UpdatedAt"].map((n) => ({ name: n }));
        process.stdout.write(formatRows({ columns, rows }, "table"));
      });
    });
  command
    .command("show")
    .description("Show a connection's properties (secrets masked)")
    .argument("<name>")
    .action(async (name: string) => {
      await withAppDatabase(async (_db, store) => {
        const c = await store.get(name);
        const lines = [
          `${c.name}: ${c.kind}, ${c.connector}${c.labels.length ? `, labels ${c.labels.join(", ")}` : ""}`,
        ];
        for (const [k, v] of Object.entries(displayProperties(c))) lines.push(`  ${k}=${v}`);
        process.stdout.write(`${lines.join("\n")}\n`);
      });
    });
  command
    .command("test")
    .description("Connect with a saved connection and report what it sees")
    .argument("<name>")
    .action(async (name: string) => {
      const saved = await withAppDatabase((_db, store) => store.get(name));
      process.stdout.write(`${await findConnector(saved.connector, saved.kind).test(saved.properties)}\n`);
    });
  command
    .command("remove")
    .description("Delete a saved connection")
    .argument("<name>")
    .action(async (name: string) => {
      await withAppDatabase((_db, store) => store.remove(name));
      process.stdout.write(`Removed connection ${name}.\n`);
    });
  return command;
}
