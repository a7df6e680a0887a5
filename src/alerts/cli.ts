import { Command, InvalidArgumentError } from "commander";
import { loadSecretKey } from "../app/secrets.js";
import { withAppDatabase } from "../cli/app-database.js";
import { ALERT_EVENTS, type AlertEvent, AlertStore, type AlertTarget } from "./store.js";

/** `failure,success,zero-rows`: the CLI spells zero_rows with a dash, like its other options. */
function parseEvents(value: string): AlertEvent[] {
  const events = value.split(",").map((e) => e.trim().toLowerCase().replace(/-/g, "_"));
  for (const e of events) {
    if (!ALERT_EVENTS.includes(e as AlertEvent)) {
      throw new InvalidArgumentError(
        `expected failure, success or zero-rows, separated by commas (got ${e || "nothing"})`,
      );
    }
  }
  return events as AlertEvent[];
}

const showEvents = (events: readonly AlertEvent[]) => events.map((e) => e.replace("_", "-")).join(",");

/** `bitbridge job alert add|list|remove`: a webhook or an email when a job's run fails, succeeds or changes nothing. */
export function alertCommand(): Command {
  const command = new Command("alert").description(
    "Alerts when a job's run fails, succeeds or changes no rows: a webhook (Slack-compatible JSON) or an email",
  );
  command
    .command("add")
    .description("Add an alert to a job (its URL or SMTP password is stored encrypted)")
    .argument("<job>")
    .option("--webhook <url>", "POST a JSON message here (Slack incoming webhooks read it as is)")
    .option(
      "--email <smtp-url>",
      "send an email through this server: smtp://user:password@host:port or smtps://...",
    )
    .option("--from <address>", "the email's sender")
    .option("--to <address>", "a recipient (repeatable)", (v: string, all: string[]) => [...all, v], [])
    .option("--on <events>", "failure, success, zero-rows (comma-separated)", parseEvents, ["failure"])
    .action(
      async (
        job: string,
        opts: { webhook?: string; email?: string; from?: string; to: string[]; on: AlertEvent[] },
      ) => {
        if ((opts.webhook === undefined) === (opts.email === undefined)) {
          throw Object.assign(
            new Error("Give either --webhook <url> or --email <smtp-url> (with --from and --to)."),
            {
              exitCode: 2,
            },
          );
        }
        const target: AlertTarget =
          opts.webhook !== undefined
            ? { kind: "webhook", url: opts.webhook }
            : { kind: "email", smtp: opts.email as string, from: opts.from ?? "", to: opts.to };
        await withAppDatabase(async (db) => {
          const alert = await new AlertStore(db.pool, () => loadSecretKey()).add(job, target, opts.on);
          process.stdout.write(
            `Added alert ${alert.id} to job ${job}: ${alert.kind} ${alert.display} on ${showEvents(alert.events)}.\n`,
          );
        });
      },
    );
  command
    .command("list")
    .description("A job's alerts, secrets masked")
    .argument("<job>")
    .action(async (job: string) => {
      await withAppDatabase(async (db) => {
        const alerts = await new AlertStore(db.pool, () => loadSecretKey()).list(job);
        // One line each rather than a table: a table cuts long cells, and an email's recipients matter.
        const lines = alerts.map(
          (a) =>
            `${a.id}. ${a.kind} ${a.display} on ${showEvents(a.events)} (added ${a.createdAt.toISOString()})`,
        );
        process.stdout.write(
          `${lines.length > 0 ? lines.join("\n") : `Job ${job} has no alerts (bitbridge job alert add ${job} --webhook <url>).`}\n`,
        );
      });
    });
  command
    .command("remove")
    .description("Remove a job's alert")
    .argument("<job>")
    .argument("<id>", "from job alert list", (v: string) => {
      const id = Number(v);
      if (!Number.isInteger(id) || id < 1)
        throw new InvalidArgumentError("expected an alert id (job alert list)");
      return id;
    })
    .action(async (job: string, id: number) => {
      await withAppDatabase((db) => new AlertStore(db.pool, () => loadSecretKey()).remove(job, id));
      process.stdout.write(`Removed alert ${id} of job ${job}.\n`);
    });
  return command;
}
