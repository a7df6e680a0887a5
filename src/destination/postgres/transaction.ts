import type pg from "pg";

/** ROLLBACK, ignoring failure: after a lost connection there is nothing to roll back. */
export async function rollbackQuietly(client: pg.ClientBase): Promise<void> {
  try {
    await client.query("ROLLBACK");
  } catch {
    // The server rolls back an uncommitted transaction when its connection ends.
  }
}
