import type pg from "pg";
import { digest, newSecret } from "./digest.js";

/** Long enough to log in to Bitbucket and decide; short enough that a leaked state is soon useless. */
export const OAUTH_STATE_TTL_MS = 10 * 60_000;

/**
 * The `state` of OAuth authorizations started from the web UI, bound to the connection they authorize.
 * Kept in the database (hashed), so the callback may reach any process of the deployment; used once.
 */
export class OAuthStates {
  constructor(private readonly db: pg.Pool) {}

  async issue(connectionId: number): Promise<string> {
    const state = newSecret();
    await this.db.query("DELETE FROM bitbridge.oauth_states WHERE expires_at < now()");
    await this.db.query(
      `INSERT INTO bitbridge.oauth_states (state_hash, connection_id, expires_at)
       VALUES ($1, $2, now() + make_interval(secs => $3))`,
      [digest(state), connectionId, OAUTH_STATE_TTL_MS / 1000],
    );
    return state;
  }

  /** The connection a live state was issued for, consuming the state; undefined when unknown or expired. */
  async consume(state: string): Promise<string | undefined> {
    const result = await this.db.query<{ name: string; live: boolean }>(
      `DELETE FROM bitbridge.oauth_states s USING bitbridge.connections c
       WHERE s.state_hash = $1 AND c.id = s.connection_id
       RETURNING c.name, s.expires_at > now() AS live`,
      [digest(state)],
    );
    const row = result.rows[0];
    return row?.live ? row.name : undefined;
  }
}
