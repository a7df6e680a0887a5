import { Command, InvalidArgumentError, Option } from "commander";
import { COUNT_NAMES, type Counts, isScaleName, SCALES } from "../../sim/data/scale.js";
import { startSimulator } from "../../sim/server.js";

function wholeNumber(label: string, min = 0) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new InvalidArgumentError(`${label} must be a whole number >= ${min}`);
    return n;
  };
}

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** `bitbridge sim`: the Bitbucket Cloud API simulator that tests, demos and benchmarks talk to. */
export function simCommand(): Command {
  const command = new Command("sim")
    .description("Run the Bitbucket Cloud API simulator (seeded data, OAuth, BBQL, rate limits, faults)")
    .option("--port <n>", "port to listen on (0 = any free port)", wholeNumber("--port"), 7990)
    .option("--host <address>", "address to bind", "127.0.0.1")
    .option("--seed <n>", "seed for data and credentials", wholeNumber("--seed"), 1)
    .addOption(
      new Option("--scale <scale>", "preset data size").choices(Object.keys(SCALES)).default("small"),
    )
    .option("--legacy-issues", "serve the retired issue tracker instead of 410 Gone", false)
    .option(
      "--rate-limit <n>",
      "requests per credential per hour on /2.0/repositories/*",
      wholeNumber("--rate-limit", 1),
      1000,
    )
    .option("--token-ttl <seconds>", "OAuth access-token lifetime", wholeNumber("--token-ttl", 1), 3600)
    .option("--warm", "serialise every commit at start, so first reads are as fast as later ones", false)
    .option("--json", "print the credentials as JSON instead of a summary", false);
  for (const name of COUNT_NAMES) {
    command.option(
      `--${kebab(name)} <n>`,
      `override the scale's ${name} count`,
      wholeNumber(`--${kebab(name)}`),
    );
  }
  command.action(async (opts: Record<string, unknown>) => {
    const scale = String(opts.scale);
    if (!isScaleName(scale)) throw new InvalidArgumentError(`unknown scale ${scale}`);
    const counts: Partial<Counts> = {};
    for (const name of COUNT_NAMES) if (typeof opts[name] === "number") counts[name] = opts[name] as number;
    const running = await startSimulator({
      port: opts.port as number,
      host: opts.host as string,
      seed: opts.seed as number,
      scale,
      counts,
      legacyIssues: opts.legacyIssues === true,
      rateLimitPerHour: opts.rateLimit as number,
      accessTokenTtlSeconds: opts.tokenTtl as number,
    });
    if (opts.warm) running.sim.warm();
    const credentials = running.sim.auth.credentials();
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(credentials, null, 2)}\n`);
    } else {
      const data = running.sim.data;
      const repos = data.workspaces.reduce((n, ws) => n + ws.repositories.length, 0);
      const lines = [
        `Bitbucket Cloud simulator listening on ${running.apiUrl}`,
        `  seed ${opts.seed}, scale ${scale}: ${data.workspaces.length} workspace(s) [${data.workspaces.map((w) => w.slug).join(", ")}], ${repos} repositories`,
        `  issue tracker: ${opts.legacyIssues ? "legacy data served" : "410 Gone (retired 2026-08-20)"}`,
        "",
        "Simulator credentials (test data only; the same seed gives the same values):",
        ...credentials.accessTokens.map((t) => `  ${t.name}: Authorization: ${t.authorization}`),
        ...credentials.apiTokens.map((t) => `  ${t.name} (${t.email}): Authorization: ${t.authorization}`),
        ...credentials.oauth.consumers.map(
          (c) => `  OAuth consumer ${c.name}: client id ${c.clientId}, secret ${c.clientSecret}`,
        ),
        "",
        `Try: curl -H 'Authorization: ${credentials.accessTokens[0]?.authorization ?? ""}' ${running.apiUrl}/repositories/${data.workspaces[0]?.slug}`,
        `All credentials as JSON: ${running.origin}/_sim/credentials   Request counts: ${running.origin}/_sim/stats`,
      ];
      process.stdout.write(`${lines.join("\n")}\n`);
    }
    const stop = () => {
      running.stop().finally(() => process.exit(0));
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  return command;
}
