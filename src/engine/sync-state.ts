import type pg from "pg";
import { qualifiedName } from "../destination/postgres/naming.js";

/**
 * Incremental state lives in the destination, next to the data, so a batch and the cursor that covers
 * it commit in one transaction: a killed run resumes from the last committed batch and a cursor can
 * never run ahead of the rows it promises.
 */
export const STATE_TABLE = "bb_replication_state";

export interface PartitionState {
  /** Highest change time loaded (ISO text as the API gave it), for `updated` tables. */
  readonly cursor?: string;
  /** Branch heads at the last complete commit walk (name → hash). */
  readonly heads?: Readonly<Record<string, string>>;
  /** The repository's `updated_on` when the partition was last read completely. */
  readonly repositoryUpdatedOn?: string;
  /** When the last check of every key (deletions of cursor-read rows) started. */
  readonly reconciledAt?: string;
  /** A first load in ReplicateInterval windows: every window before this instant is loaded. */
  readonly loadedUntil?: string;
}

/** Called after `ensureTable`, which creates the schema when needed. */
export async function ensureStateTable(client: pg.ClientBase, schema: string): Promise<void> {
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${qualifiedName(schema, STATE_TABLE)} (
       table_name text NOT NULL,
       partition_key text NOT NULL,
       state jsonb NOT NULL,
       updated_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (table_name, partition_key))`,
  );
}

export async function loadStates(
  client: pg.ClientBase,
  schema: string,
  table: string,
): Promise<Map<string, PartitionState>> {
  const rows = await client.query<{ partition_key: string; state: PartitionState }>(
    `SELECT partition_key, state FROM ${qualifiedName(schema, STATE_TABLE)} WHERE table_name = $1`,
    [table],
  );
  return new Map(rows.rows.map((r) => [r.partition_key, r.state]));
}

export async function saveState(
  client: pg.ClientBase,
  schema: string,
  table: string,
  partition: string,
  state: PartitionState,
): Promise<void> {
  await client.query(
    `INSERT INTO ${qualifiedName(schema, STATE_TABLE)} (table_name, partition_key, state) VALUES ($1, $2, $3)
     ON CONFLICT (table_name, partition_key) DO UPDATE SET state = EXCLUDED.state, updated_at = now()`,
    [table, partition, state],
  );
}

export async function clearStates(client: pg.ClientBase, schema: string, table: string): Promise<void> {
  await client.query(`DELETE FROM ${qualifiedName(schema, STATE_TABLE)} WHERE table_name = $1`, [table]);
}

export async function deleteState(
  client: pg.ClientBase,
  schema: string,
  table: string,
  partition: string,
): Promise<void> {
  await client.query(
    `DELETE FROM ${qualifiedName(schema, STATE_TABLE)} WHERE table_name = $1 AND partition_key = $2`,
    [table, partition],
  );
}
