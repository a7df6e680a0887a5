import type pg from "pg";
import { BitbridgeError } from "../../app/errors.js";
import type { User } from "./admin.js";
import { digest, newSecret } from "./digest.js";

/** Recognisable in logs and secret scanners; the rest is 256 random bits. */
const PREFIX = "bbt_";

/** A token used many times a minute is recorded as used once a minute. */
const TOUCH_AFTER_MS = 60_000;

export interface TokenInfo {
  readonly id: number;
  readonly name: string;
  readonly createdAt: Date;
  readonly lastUsedAt: Date | null;
}

/** API tokens for automation: shown once, stored as SHA-256 only. */
export class TokenStore {
  constructor(private readonly db: pg.Pool) {}

  async create(user: User, name: string): Promise<{ id: number; name: string; token: string }> {
    const token = `${PREFIX}${newSecret()}`;
    const result = await this.db.query<{ id: number }>(
      `INSERT INTO bitbridge.api_tokens (user_id, name, token_hash) VALUES ($1, $2, $3)
       RETURNING id::integer AS id`,
      [user.id, name, digest(token)],
    );
    return { id: result.rows[0]?.id ?? 0, name, token };
  }

  async list(user: User): Promise<TokenInfo[]> {
    const result = await this.db.query(
      `SELECT id::integer AS id, name, created_at, last_used_at FROM bitbridge.api_tokens
       WHERE user_id = $1 ORDER BY id`,
      [user.id],
    );
    return result.rows.map((r) => ({
      id: r.id,
      name: r.name,
      createdAt: r.created_at,
      lastUsedAt: r.last_used_at,
    }));
  }

  async delete(user: User, id: number): Promise<void> {
    const result = await this.db.query("DELETE FROM bitbridge.api_tokens WHERE user_id = $1 AND id = $2", [
      user.id,
      id,
    ]);
    if (!result.rowCount) throw new BitbridgeError("NOT_FOUND", `No API token ${id}.`, {}, 404);
  }

  /** The token's user, recording the use; undefined for an unknown token. */
  async find(token: string): Promise<User | undefined> {
    if (!token.startsWith(PREFIX)) return undefined;
    const result = await this.db.query<{ id: string; user_id: string; username: string; stale: boolean }>(
      `SELECT t.id, t.user_id, u.username,
              coalesce(t.last_used_at < now() - make_interval(secs => $2), true) AS stale
       FROM bitbridge.api_tokens t JOIN bitbridge.api_users u ON u.id = t.user_id
       WHERE t.token_hash = $1`,
      [digest(token), TOUCH_AFTER_MS / 1000],
    );
    const row = result.rows[0];
    if (!row) return undefined;
    if (row.stale)
      await this.db.query("UPDATE bitbridge.api_tokens SET last_used_at = now() WHERE id = $1", [row.id]);
    return { id: Number(row.user_id), username: row.username };
  }
}
