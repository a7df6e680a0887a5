import { BitbridgeError } from "../app/errors.js";
import { OAuthCredentials } from "../bitbucket/auth.js";
import { createClient, type HttpBitbucketClient } from "../bitbucket/client.js";
import { type ConnectionProperties, parseConnectionString } from "../bitbucket/connection-properties.js";
import { connectionKey, FileTokenStore, type TokenStore } from "../bitbucket/token-store.js";

export interface SourceConnection {
  readonly props: ConnectionProperties;
  readonly client: HttpBitbucketClient;
}

/**
 * `--source`: a connection string (`AuthScheme=...;...`). Saved connections by name arrive with the
 * application database (`bitbridge connection add`); until then a bare name gets a clear error.
 */
export function openSource(source: string | undefined, log: (line: string) => void): SourceConnection {
  if (!source) {
    throw new BitbridgeError(
      "SOURCE_REQUIRED",
      "Give the Bitbucket connection with --source, e.g. --source 'AuthScheme=APIToken;User=you@example.com;APIToken=...;Workspace=acme'.",
    );
  }
  if (!source.includes("=")) {
    throw new BitbridgeError(
      "CONNECTION_NOT_FOUND",
      `No saved connection named ${source}: saved connections are not available yet; pass a connection string (Prop=Value;Prop=Value).`,
    );
  }
  const props = parseConnectionString(source);
  const tokenStore: TokenStore | undefined =
    props.authScheme === "OAuth" || props.authScheme === "client"
      ? new FileTokenStore({ connection: connectionKey(props) })
      : undefined;
  const client = createClient(props, { ...(tokenStore && { tokenStore }), log: (line: string) => log(line) });
  return { props, client };
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
