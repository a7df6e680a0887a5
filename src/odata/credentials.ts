import { createHash, randomBytes, scrypt as scryptCallback, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import type pg from "pg";
import { BitbridgeError } from "../app/errors.js";

const scrypt = promisify(scryptCallback) as (
  password: string,
  salt: Buffer,
  length: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

/** How long the password replaced by a reset keeps working, so clients can be updated without downtime. */
export const RESET_OVERLAP_MS = 10 * 60_000;

const SCRYPT = { N: 16_384, r: 8, p: 1 } as const;
const USERNAME = /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/;

export interface CredentialInfo {
  readonly username: string;
  readonly createdAt: Date;
  readonly resetAt: Date | null;
  readonly revokedAt: Date | null;
  /** Until when the password before the last reset still works; null when none does. */
  readonly previousValidUntil: Date | null;
  readonly requestsPerHour: number;
}

/** A freshly generated password, to show once. */
export interface IssuedCredential {
  readonly username: string;
  readonly password: string;
}

/** 32 characters from 24 random bytes: 192 bits, URL- and form-safe. */
function generatePassword(): string {
  return randomBytes(24).toString("base64url");
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, 32, { ...SCRYPT, maxmem: 64 * 1024 * 1024 });
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString("base64")}$${hash.toString("base64")}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split("$");
  if (scheme !== "scrypt" || !salt || !hash) return false;
  const expected = Buffer.from(hash, "base64");
  const actual = await scrypt(password, Buffer.from(salt, "base64"), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: 64 * 1024 * 1024,
  });
  return timingSafeEqual(actual, expected);
}

/** OData credentials in the application database: passwords stored as scrypt hashes only. */
export class CredentialStore {
  constructor(private readonly db: pg.Pool) {}

  async create(username: string, requestsPerHour?: number): Promise<IssuedCredential> {
    if (!USERNAME.test(username)) {
      throw new BitbridgeError(
        "ODATA_CREDENTIAL_NAME",
        `Invalid user name ${JSON.stringify(username)}: use a letter first, then letters, digits, '.', '_' or '-' (at most 63).`,
      );
    }
    const password = generatePassword();
    const hash = await hashPassword(password);
    try {
      await this.db.query(
        `INSERT INTO bitbridge.odata_credentials (username, password_hash, requests_per_hour)
         VALUES ($1, $2, coalesce($3, 20000))`,
        [username, hash, requestsPerHour ?? null],
      );
    } catch (error) {
      if ((error as { code?: string }).code === "23505") {
        throw new BitbridgeError(
          "ODATA_CREDENTIAL_EXISTS",
          `OData user ${username} already exists: reset its password with \`bitbridge odata credentials reset ${username}\`.`,
          {},
          409,
        );
      }
      throw error;
    }
    return { username, password };
  }

  /** A new password; the old one keeps working for RESET_OVERLAP_MS. */
  async reset(username: string): Promise<IssuedCredential & { previousValidUntil: Date }> {
    const password = generatePassword();
    const hash = await hashPassword(password);
    const result = await this.db.query<{ previous_valid_until: Date }>(
      `UPDATE bitbridge.odata_credentials
         SET previous_hash = password_hash, password_hash = $2, reset_at = now(),
             previous_valid_until = now() + make_interval(secs => $3)
       WHERE username = $1 AND revoked_at IS NULL
       RETURNING previous_valid_until`,
      [username, hash, RESET_OVERLAP_MS / 1000],
    );
    const row = result.rows[0];
    if (!row) throw this.unknown(username);
    return { username, password, previousValidUntil: row.previous_valid_until };
  }

  /** Stops both the current and any overlapping previous password at once. */
  async revoke(username: string): Promise<void> {
    const result = await this.db.query(
      `UPDATE bitbridge.odata_credentials
         SET revoked_at = now(), previous_hash = NULL, previous_valid_until = NULL
       WHERE username = $1 AND revoked_at IS NULL`,
      [username],
    );
    if (result.rowCount === 0) throw this.unknown(username);
  }

  async list(): Promise<CredentialInfo[]> {
    const result = await this.db.query(
      `SELECT username, created_at, reset_at, revoked_at, requests_per_hour,
              CASE WHEN previous_valid_until > now() THEN previous_valid_until END AS previous_valid_until
       FROM bitbridge.odata_credentials ORDER BY username`,
    );
    return result.rows.map((r) => ({
      username: r.username,
      createdAt: r.created_at,
      resetAt: r.reset_at,
      revokedAt: r.revoked_at,
      previousValidUntil: r.previous_valid_until,
      requestsPerHour: r.requests_per_hour,
    }));
  }

  private unknown(username: string): BitbridgeError {
    return new BitbridgeError(
      "ODATA_CREDENTIAL_UNKNOWN",
      `No active OData user ${username}; \`bitbridge odata credentials list\` shows them.`,
      {},
      404,
    );
  }
}

interface CredentialRow {
  readonly password_hash: string;
  readonly previous_hash: string | null;
  readonly previous_valid_until: Date | null;
  readonly requests_per_hour: number;
}

export interface Authenticated {
  readonly username: string;
  readonly requestsPerHour: number;
}

/**
 * Checks HTTP Basic credentials on every request. scrypt costs tens of milliseconds by design, so a
 * password already verified against a given stored hash is remembered (as a SHA-256 of hash and password,
 * in memory only). The credential row is read again after `rowTtlMs` (one indexed lookup), so a revoke
 * or reset takes effect within that time in every process, without a database round trip per request.
 */
export class Authenticator {
  private readonly verified = new Set<string>();
  private readonly rows = new Map<string, { row: CredentialRow | undefined; at: number }>();
  private readonly lastUse = new Map<string, number>();
  private readonly reading = new Map<string, Promise<CredentialRow | undefined>>();

  constructor(
    private readonly db: pg.Pool,
    /** How long a credential row read from the database is trusted (a revoke waits at most this long). */
    private readonly rowTtlMs = 1000,
  ) {}

  /** Notes when a credential was last used, at most once a minute each, without delaying the answer. */
  noteUse(username: string): void {
    const now = Date.now();
    if (now - (this.lastUse.get(username) ?? 0) < 60_000) return;
    if (this.lastUse.size > 10_000) this.lastUse.clear();
    this.lastUse.set(username, now);
    this.db
      .query("UPDATE bitbridge.odata_credentials SET last_used_at = now() WHERE username = $1", [username])
      .catch(() => undefined);
  }

  async check(authorization: string | undefined): Promise<Authenticated | undefined> {
    const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? "");
    if (!basic?.[1]) return undefined;
    const decoded = Buffer.from(basic[1], "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 1) return undefined;
    const username = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    if (!USERNAME.test(username) || password.length === 0 || password.length > 256) return undefined;
    const row = await this.row(username);
    if (!row) return undefined;
    for (const hash of [row.password_hash, row.previous_hash]) {
      if (hash && (await this.matches(password, hash)))
        return { username, requestsPerHour: row.requests_per_hour };
    }
    return undefined;
  }

  private row(username: string): Promise<CredentialRow | undefined> {
    const cached = this.rows.get(username);
    if (cached && Date.now() - cached.at < this.rowTtlMs) return Promise.resolve(cached.row);
    // One read at a time per user: requests arriving while it runs share it, instead of each sending its own.
    let reading = this.reading.get(username);
    if (!reading) {
      reading = this.readRow(username).finally(() => this.reading.delete(username));
      this.reading.set(username, reading);
    }
    return reading;
  }

  private async readRow(username: string): Promise<CredentialRow | undefined> {
    const now = Date.now();
    const result = await this.db.query<CredentialRow>({
      name: "bitbridge-odata-credential",
      text: `SELECT password_hash, requests_per_hour,
                    CASE WHEN previous_valid_until > now() THEN previous_hash END AS previous_hash,
                    previous_valid_until
             FROM bitbridge.odata_credentials WHERE username = $1 AND revoked_at IS NULL`,
      values: [username],
    });
    const row = result.rows[0];
    if (this.rows.size > 10_000) this.rows.clear();
    this.rows.set(username, { row, at: now });
    return row;
  }

  private async matches(password: string, hash: string): Promise<boolean> {
    const memo = createHash("sha256").update(hash).update("\0").update(password).digest("base64");
    if (this.verified.has(memo)) return true;
    if (!(await verifyPassword(password, hash))) return false;
    if (this.verified.size > 10_000) this.verified.clear();
    this.verified.add(memo);
    return true;
  }
}
