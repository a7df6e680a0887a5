/**
 * Secrets at rest: AES-256-GCM with a key from `BITBRIDGE_SECRET_KEY` (32 bytes, base64 or hex) or from a key
 * file created with mode 0600 under the bitbridge home folder. Plus `redactSecrets`, for every path that turns
 * an error or a log line into text.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { BitbridgeError } from "./errors.js";

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const FORMAT = "v1";

/** `BITBRIDGE_HOME`, else `~/.bitbridge`. */
export function bitbridgeHome(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.BITBRIDGE_HOME?.trim();
  return home ? path.resolve(home) : path.join(os.homedir(), ".bitbridge");
}

/**
 * The 32-byte key: `BITBRIDGE_SECRET_KEY` when set, else `<home>/secret.key`, created (mode 0600, folder 0700)
 * on first use.
 */
export function loadSecretKey(env: NodeJS.ProcessEnv = process.env): Buffer {
  const fromEnv = env.BITBRIDGE_SECRET_KEY?.trim();
  if (fromEnv) return decodeKey(fromEnv, "BITBRIDGE_SECRET_KEY");
  const home = bitbridgeHome(env);
  const file = path.join(home, "secret.key");
  mkdirSync(home, { recursive: true, mode: 0o700 });
  try {
    // `wx`: never overwrite a key another process created in the meantime.
    const fd = openSync(file, "wx", 0o600);
    try {
      writeSync(fd, `${randomBytes(KEY_BYTES).toString("base64")}\n`);
    } finally {
      closeSync(fd);
    }
    chmodSync(file, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  return decodeKey(readFileSync(file, "utf8").trim(), file);
}

function decodeKey(text: string, source: string): Buffer {
  let key: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(text)) key = Buffer.from(text, "hex");
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) key = Buffer.from(text, "base64");
  if (key?.length !== KEY_BYTES) {
    throw new BitbridgeError(
      "SECRET_KEY_INVALID",
      `The secret key in ${source} must be 32 bytes, written as 64 hex digits or base64 ` +
        "(create one with `openssl rand -base64 32`).",
      { source },
      500,
    );
  }
  return key;
}

/** `v1:<base64 iv|tag|ciphertext>`. `context` (e.g. a connection id) is bound as additional data. */
export function encryptSecret(plaintext: string, key: Buffer, context = ""): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(context, "utf8"));
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return `${FORMAT}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64")}`;
}

export function decryptSecret(sealed: string, key: Buffer, context = ""): string {
  const [format, payload] = sealed.trim().split(":", 2);
  const bytes = payload === undefined ? Buffer.alloc(0) : Buffer.from(payload, "base64");
  if (format !== FORMAT || bytes.length < IV_BYTES + TAG_BYTES) {
    throw new BitbridgeError(
      "SECRET_DECRYPT_FAILED",
      "A stored secret is not in bitbridge's format.",
      {},
      500,
    );
  }
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, bytes.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(context, "utf8"));
    decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
      "utf8",
    );
  } catch (error) {
    throw new BitbridgeError(
      "SECRET_DECRYPT_FAILED",
      "A stored secret cannot be decrypted: the secret key (BITBRIDGE_SECRET_KEY or the key file) changed " +
        "since it was saved. Restore the old key, or enter the credential again.",
      {},
      500,
      { cause: error },
    );
  }
}

const MASK = "********";

/**
 * Replaces every occurrence of each secret (and of its URL-encoded and base64 forms, which is how secrets
 * travel in headers and query strings) with `********`. Secrets shorter than 4 characters are ignored:
 * masking them would garble ordinary text without protecting anything.
 */
export function redactSecrets(text: string, secrets: Iterable<string | undefined | null>): string {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (!secret || secret.length < 4) continue;
    forms.add(secret);
    forms.add(encodeURIComponent(secret));
    forms.add(Buffer.from(secret, "utf8").toString("base64").replace(/=+$/, ""));
  }
  let out = text;
  // Longest first, so a secret containing another is masked whole.
  for (const form of [...forms].sort((a, b) => b.length - a.length)) {
    if (form.length >= 4) out = out.split(form).join(MASK);
  }
  return out;
}
