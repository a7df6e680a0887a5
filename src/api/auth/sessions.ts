import type pg from "pg";
import type { User } from "./admin.js";
import { digest, newSecret } from "./digest.js";

/** Idle time after which a session ends; every request that uses it pushes the end back. */
export const SESSION_IDLE_MS = 12 * 60 * 60_000;

/** Sliding the expiry on every request would write on every request; once a minute is close enough. */
const TOUCH_AFTER_MS = 60_000;

export interface Session {
  readonly user: User;
  readonly csrfToken: string;
  /** SHA-256 of the session id, to end this very session. */
  readonly idHash: string;
}

/** Web sessions: the browser holds a random id, the database only its hash. */
export class SessionStore {
  constructor(private readonly db: pg.Pool) {}

  /** A new session for `user`; returns the id to put in the cookie. */
  async create(user: User): Promise<{ id: string; csrfToken: string }> {
    const id = newSecret();
    const csrfToken = newSecret();
    await this.db.query(
      `INSERT INTO bitbridge.api_sessions (id_hash, user_id, csrf_token, expires_at)
       VALUES ($1, $2, $3, now() + make_interval(secs => $4))`,
      [digest(id), user.id, csrfToken, SESSION_IDLE_MS / 1000],
    );
    // Expired sessions are swept here rather than by a timer: logins are rare and cheap to piggyback on.
    await this.db.query("DELETE FROM bitbridge.api_sessions WHERE expires_at < now()");
    return { id, csrfToken };
  }

  /** The live session with this id, its expiry pushed back; undefined when unknown or expired. */
  async find(id: string): Promise<Session | undefined> {
    const idHash = digest(id);
    const result = await this.db.query<{
      user_id: string;
      username: string;
      csrf_token: string;
      idle_ms: number;
    }>(
      `SELECT s.user_id, u.username, s.csrf_token,
              extract(epoch FROM now() - s.last_seen_at) * 1000 AS idle_ms
       FROM bitbridge.api_sessions s JOIN bitbridge.api_users u ON u.id = s.user_id
       WHERE s.id_hash = $1 AND s.expires_at > now()`,
      [idHash],
    );
    const row = result.rows[0];
    if (!row) return undefined;
    if (Number(row.idle_ms) > TOUCH_AFTER_MS)
      await this.db.query(
        `UPDATE bitbridge.api_sessions SET last_seen_at = now(), expires_at = now() + make_interval(secs => $2)
         WHERE id_hash = $1`,
        [idHash, SESSION_IDLE_MS / 1000],
      );
    return { user: { id: Number(row.user_id), username: row.username }, csrfToken: row.csrf_token, idHash };
  }

  async end(idHash: string): Promise<void> {
    await this.db.query("DELETE FROM bitbridge.api_sessions WHERE id_hash = $1", [idHash]);
  }

  /** After a password change: every other session of the user ends. */
  async endOthers(userId: number, keepIdHash: string | undefined): Promise<void> {
    await this.db.query(
      "DELETE FROM bitbridge.api_sessions WHERE user_id = $1 AND id_hash IS DISTINCT FROM $2",
      [userId, keepIdHash ?? null],
    );
  }
}
