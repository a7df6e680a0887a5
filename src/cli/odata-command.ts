import { Command } from "commander";
import type pg from "pg";
import { BitbridgeError } from "../app/errors.js";
import { CredentialStore } from "../odata/credentials.js";
import { READER_ROLE } from "../odata/reader-role.js";
import { createContainsIndexes, createSearchIndex } from "../odata/search-index.js";
import { ShareStore } from "../odata/shares.js";
import { withAppDatabase } from "./app-database.js";
import { formatRows } from "./output.js";
import { openPublishedDatabase } from "./published-database.js";

const iso = (d: Date | null) => (d ? d.toISOString() : "");

/** `bitbridge odata credentials ...` and `bitbridge odata share|unshare|list`. */
export function odataCommand(): Command {
  const command = new Command("odata").description(
    "The OData service for Salesforce Connect: credentials and the tables it publishes",
  );
  const credentials = command.command("credentials").description("HTTP Basic users of the OData service");
  credentials
    .command("create")
    .description("Create a user; its generated password is shown once and stored only as a hash")
    .argument("<user>", "user name, e.g. salesforce")
    .option("--requests-per-hour <n>", "request limit (default 20,000)", (v) => Number(v))
    .action(async (user: string, opts: { requestsPerHour?: number }) => {
      await withAppDatabase(async (db) => {
        const issued = await new CredentialStore(db.pool).create(user, opts.requestsPerHour);
        process.stdout.write(
          `User:     ${issued.username}\nPassword: ${issued.password}\n(shown once: it is stored only as a hash)\n`,
        );
      });
    });
  credentials
    .command("reset")
    .description("A new password; the old one keeps working for 10 minutes")
    .argument("<user>")
    .action(async (user: string) => {
      await withAppDatabase(async (db) => {
        const issued = await new CredentialStore(db.pool).reset(user);
        process.stdout.write(
          `User:     ${issued.username}\nPassword: ${issued.password}\n(the previous password works until ${issued.previousValidUntil.toISOString()})\n`,
        );
      });
    });
  credentials
    .command("revoke")
    .description("Stop a user at once (both passwords)")
    .argument("<user>")
    .action(async (user: string) => {
      await withAppDatabase(async (db) => {
        await new CredentialStore(db.pool).revoke(user);
        process.stdout.write(`Revoked ${user}.\n`);
      });
    });
  credentials
    .command("list")
    .description("List users (never passwords)")
    .action(async () => {
      await withAppDatabase(async (db) => {
        const rows = (await new CredentialStore(db.pool).list()).map((c) => [
          c.username,
          c.revokedAt ? "revoked" : "active",
          c.requestsPerHour,
          iso(c.createdAt),
          iso(c.resetAt),
          iso(c.previousValidUntil),
        ]);
        const columns = ["User", "Status", "RequestsPerHour", "Created", "Reset", "PreviousValidUntil"].map(
          (name) => ({ name }),
        );
        process.stdout.write(formatRows({ columns, rows }, "table"));
      });
    });

  const database = "--database <connection|url>";
  const databaseHelp =
    "the published database (default: connection warehouse, else the application database)";
  command
    .command("share")
    .description("Publish tables or views (schema.table) as entity sets")
    .argument("<relations...>", "schema.table, e.g. bitbucket.pull_requests")
    .option("--name <EntitySet>", "entity set name (one relation only; default from the table name)")
    .option("--search-index", "also create a GIN index for $search (needs CREATE rights on the table)")
    .option(
      "--contains-index <properties>",
      "also create trigram indexes for contains/startswith/endswith on these string properties (comma-separated; needs pg_trgm)",
    )
    .option(database, databaseHelp)
    .action(
      async (
        relations: string[],
        opts: { name?: string; searchIndex?: boolean; containsIndex?: string; database?: string },
      ) => {
        if (opts.name && relations.length > 1)
          throw new BitbridgeError("ODATA_NAME_ONE", "--name applies to one relation at a time.");
        await withShares(opts.database, async (shares, writable) => {
          for (const relation of relations) {
            const [schema, table] = splitRelation(relation);
            const client = await writable();
            try {
              const set = await shares.share(schema, table, opts.name, client);
              process.stdout.write(
                `Shared ${schema}.${table} as ${set.name} (${set.properties.length} properties, key ${set.key.join(", ")}).\n`,
              );
              if (set.readerRole && !set.readerRole.granted)
                process.stdout.write(
                  `  The read-only role ${READER_ROLE} could not be given access (${set.readerRole.reason}); the service reads it with read-only sessions.\n`,
                );
              if (set.changeTracking)
                process.stdout.write(
                  set.changeTracking.installed
                    ? "  Counts are cached until the table changes (change-version trigger installed).\n"
                    : `  Counts are not cached: ${set.changeTracking.reason}.\n`,
                );
              if (opts.searchIndex) {
                const index = await createSearchIndex(client, set);
                process.stdout.write(
                  index ? `  $search index ${index} ready.\n` : "  No text properties: no $search index.\n",
                );
              }
              if (opts.containsIndex) {
                const properties = opts.containsIndex
                  .split(",")
                  .map((p) => p.trim())
                  .filter(Boolean);
                const indexes = await createContainsIndexes(client, set, properties);
                process.stdout.write(`  contains indexes ready: ${indexes.join(", ")}.\n`);
              }
            } finally {
              client.release();
            }
          }
        });
      },
    );
  command
    .command("unshare")
    .description("Stop publishing a table (schema.table) or an entity set (by name)")
    .argument("<relation-or-set>")
    .option(database, databaseHelp)
    .action(async (what: string, opts: { database?: string }) => {
      await withShares(opts.database, async (shares, writable) => {
        const client = await writable();
        try {
          if (what.includes(".")) await shares.unshare(...splitRelation(what), client);
          else await shares.unshare(what, undefined, client);
        } finally {
          client.release();
        }
        process.stdout.write(`Unshared ${what}.\n`);
      });
    });
  command
    .command("list")
    .description("List the published tables and views")
    .option(database, databaseHelp)
    .action(async (opts: { database?: string }) => {
      await withShares(opts.database, async (shares) => {
        const rows = (await shares.list()).map((s) => [
          s.entitySet,
          `${s.schema}.${s.table}`,
          iso(s.sharedAt),
        ]);
        const columns = ["EntitySet", "Relation", "SharedAt"].map((name) => ({ name }));
        process.stdout.write(formatRows({ columns, rows }, "table"));
      });
    });
  return command;
}

async function withShares(
  database: string | undefined,
  work: (shares: ShareStore, writable: () => Promise<pg.PoolClient>) => Promise<void>,
) {
  await withAppDatabase(async (db, connections) => {
    const published = await openPublishedDatabase(db, connections, database, 2);
    let admin: pg.Pool | undefined;
    const writable = async () => {
      admin ??= (await openPublishedDatabase(db, connections, database, 1, false)).pool;
      return admin.connect();
    };
    try {
      await work(new ShareStore(db.pool, published.pool), writable);
    } finally {
      await published.pool.end();
      await admin?.end();
    }
  });
}

function splitRelation(text: string): [string, string] {
  const dot = text.indexOf(".");
  if (dot < 1 || dot === text.length - 1)
    throw new BitbridgeError(
      "ODATA_RELATION",
      `Write the table as schema.table (e.g. bitbucket.pull_requests), not ${text}.`,
    );
  return [text.slice(0, dot), text.slice(dot + 1)];
}
