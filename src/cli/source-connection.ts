import { BitbridgeError } from "../app/errors.js";
import { OAuthCredentials } from "../bitbucket/auth.js";
import { type HttpBitbucketClient, openClient } from "../bitbucket/client.js";
import {
  type ConnectionProperties,
  connectionPropertiesFrom,
  parseConnectionString,
} from "../bitbucket/connection-properties.js";
import { isPostgresConnectionText } from "../source/postgres/connection.js";
import { withAppDatabase } from "./app-database.js";

export interface SourceConnection {
  readonly props: ConnectionProperties;
  readonly client: HttpBitbucketClient;
}

/**
 * `--source`: a connection string (`AuthScheme=...;...`) or the name of a saved connection
 * (`bitbridge connection add`), looked up in the application database.
 */
export async function openSource(
  source: string | undefined,
  log: (line: string) => void,
): Promise<SourceConnection> {
  if (!source) {
    throw new BitbridgeError(
      "SOURCE_REQUIRED",
      "Give the Bitbucket connection with --source, e.g. --source 'AuthScheme=APIToken;User=you@example.com;APIToken=...;Workspace=acme'.",
    );
  }
  if (isPostgresConnectionText(source)) {
    throw new BitbridgeError(
      "CONNECTION_KIND",
      "This command reads Bitbucket; a PostgreSQL source is replicated with bitbridge replicate or a job.",
    );
  }
  const props = source.includes("=") ? parseConnectionString(source) : await savedSource(source);
  return { props, client: openClient(props, log) };
}

async function savedSource(name: string): Promise<ConnectionProperties> {
  const saved = await withAppDatabase((_db, store) => store.get(name));
  if (saved.connector !== "bitbucket") {
    throw new BitbridgeError(
      "CONNECTION_KIND",
      `Connection ${name} is a ${saved.connector} connection, not a Bitbucket source.`,
    );
  }
  return connectionPropertiesFrom(saved.properties);
}

/**
 * Runs `work`, and when an OAuth connection has never been authorized, runs the browser authorization
 * once (printing the consent URL) and tries again.
 */
export async function withAuthorization<T>(
  connection: SourceConnection,
  work: () => Promise<T>,
  log: (line: string) => void,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const credentials = connection.client.credentials;
    if (!(error instanceof BitbridgeError) || error.code !== "BITBUCKET_OAUTH_NOT_AUTHORIZED") throw error;
    if (!(credentials instanceof OAuthCredentials)) throw error;
    await credentials.authorizeInteractive({ log, openBrowser: process.stdout.isTTY === true });
    return await work();
  }
}
