/**
 * Where OAuth tokens live between runs. Bitbucket rotates refresh tokens on every refresh (the old one soon
 * stops working), so each new one must be saved before it is needed again. A later issue backs this with the
 * application database; the file store keeps tokens encrypted under the bitbridge home folder.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { bitbridgeHome, decryptSecret, encryptSecret, loadSecretKey } from "../app/secrets.js";
import type { ConnectionProperties } from "./connection-properties.js";

export interface StoredTokens {
  readonly refreshToken: string;
  /** Kept so a new process can reuse a still-valid access token instead of refreshing. */
  readonly accessToken?: string;
  /** Epoch milliseconds. */
  readonly expiresAt?: number;
}

/** The tokens of one connection. */
export interface TokenStore {
  load(): Promise<StoredTokens | undefined>;
  save(tokens: StoredTokens): Promise<void>;
  clear(): Promise<void>;
}

export class MemoryTokenStore implements TokenStore {
  constructor(private tokens?: StoredTokens) {}
  async load(): Promise<StoredTokens | undefined> {
    return this.tokens;
  }
  async save(tokens: StoredTokens): Promise<void> {
    this.tokens = tokens;
  }
  async clear(): Promise<void> {
    this.tokens = undefined;
  }
}

/**
 * A stable name for a connection's tokens: the consumer and the server, not the secret. Two connections with
 * the same consumer on the same Bitbucket share their authorization, which is what Bitbucket does too.
 */
export function connectionKey(props: ConnectionProperties): string {
  return `${props.authScheme}:${props.oauthClientId ?? ""}@${props.authUrl}`;
}

export interface FileTokenStoreOptions {
  /** Connection name; `connectionKey(props)` by default. */
  readonly connection: string;
  /** Default `BITBRIDGE_HOME` or `~/.bitbridge`. */
  readonly home?: string;
  /** Default from `BITBRIDGE_SECRET_KEY` or the key file. */
  readonly key?: Buffer;
  readonly env?: NodeJS.ProcessEnv;
}

/** `<home>/tokens/<hash of the connection>.token`, AES-256-GCM, mode 0600, written atomically. */
export class FileTokenStore implements TokenStore {
  readonly file: string;
  private readonly connection: string;
  private readonly keyOption: Buffer | undefined;
  private readonly env: NodeJS.ProcessEnv;

  constructor(options: FileTokenStoreOptions) {
    this.env = options.env ?? process.env;
    this.connection = options.connection;
    this.keyOption = options.key;
    const home = options.home ?? bitbridgeHome(this.env);
    const name = createHash("sha256").update(options.connection).digest("hex").slice(0, 32);
    this.file = path.join(home, "tokens", `${name}.token`);
  }

  private key(): Buffer {
    return this.keyOption ?? loadSecretKey(this.env);
  }

  async load(): Promise<StoredTokens | undefined> {
    let sealed: string;
    try {
      sealed = await readFile(this.file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
    const parsed = JSON.parse(decryptSecret(sealed, this.key(), this.connection)) as StoredTokens;
    return typeof parsed.refreshToken === "string" ? parsed : undefined;
  }

  async save(tokens: StoredTokens): Promise<void> {
    const sealed = encryptSecret(JSON.stringify(tokens), this.key(), this.connection);
    await mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, `${sealed}\n`, { mode: 0o600 });
    await rename(tmp, this.file);
  }

  async clear(): Promise<void> {
    await unlink(this.file).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOENT") throw error;
    });
  }
}
