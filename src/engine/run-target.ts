import type pg from "pg";
import { ensureTable, qualifiedName, resolveTarget } from "../destination/postgres/index.js";
import { refillFromCopy, reloadTableName, replaceWithCopy } from "../destination/postgres/reload-table.js";
import { rollbackQuietly } from "../destination/postgres/transaction.js";
import type { ReplicateOptions } from "../sql/replicate-options.js";
import type { ReplicatePlan } from "./replicate-target.js";
import { clearStates, ensureStateTable, STATE_TABLE } from "./sync-state.js";
import type { TaskRunInput } from "./task-runner-types.js";

/** Where a task's run loads, and what happens to it when the run ends. */
export interface RunTarget {
  /** The plan, with the table this run loads into: the destination table, or its reload copy. */
  readonly plan: ReplicatePlan;
  /** Whether that table was empty when the run began (its first batches can be copied straight in). */
  readonly empty: boolean;
  /** After the last batch: a reload copy takes the table's place, with its checkpoints, in one transaction. */
  finish(client: pg.ClientBase): Promise<void>;
  /** After a failure: the reload copy and its checkpoints are dropped (best effort; the next reload does it too). */
  abandon(client: pg.ClientBase): Promise<void>;
}

type TargetOptions = Pick<ReplicateOptions, "dropTable" | "truncateTableData" | "alterSchema">;

/**
 * Makes the table ready for the run (creating it, or adding columns as the statement's options allow) and
 * the checkpoint table. A `DropTable` or `TruncateTableData` run loads into a reload copy instead (see
 * reload-table.ts), so the table stays as it was until the run has loaded everything; `full` starts the
 * table's checkpoints over.
 */
export async function prepareRunTarget(
  client: pg.ClientBase,
  plan: ReplicatePlan,
  options: TargetOptions,
  full: boolean,
  log: TaskRunInput["log"],
): Promise<RunTarget> {
  const target = plan.target;
  const { schema } = target;
  // The table itself, unless DropTable replaces it: TruncateTableData refills it, so it must exist with the
  // statement's columns.
  const ensured = options.dropTable
    ? undefined
    : await ensureTable(client, { ...target, options: { alterSchema: options.alterSchema } });
  if (ensured && !options.truncateTableData) {
    await ensureStateTable(client, schema);
    if (full) await clearStates(client, schema, target.table);
    return { plan, empty: ensured.empty, finish: async () => {}, abandon: async () => {} };
  }
  const table = resolveTarget(target);
  const copyTarget = { ...target, table: reloadTableName(table.table) };
  // A copy left by a run that was killed is dropped and made again.
  const copy = (await ensureTable(client, { ...copyTarget, options: { dropTable: true } })).table;
  // After ensureTable, which creates the schema when needed.
  await ensureStateTable(client, schema);
  await clearStates(client, schema, copyTarget.table);
  return {
    plan: { ...plan, target: copyTarget },
    empty: true,
    finish: async (tx) => {
      await tx.query("BEGIN");
      try {
        await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`bitbridge:${table.qualified}`]);
        if (options.dropTable) {
          const carried = await replaceWithCopy(tx, copy, table);
          if (carried.restored.length > 0)
            log?.(
              "info",
              `${table.qualified} was replaced by the reloaded rows with its ${carried.restored.join(", ")}.`,
            );
          for (const lost of carried.lost)
            log?.("warn", `${table.qualified} was replaced without its ${lost}`);
        } else {
          await refillFromCopy(tx, copy, table);
        }
        await clearStates(tx, schema, target.table);
        await tx.query(
          `UPDATE ${qualifiedName(schema, STATE_TABLE)} SET table_name = $1 WHERE table_name = $2`,
          [target.table, copyTarget.table],
        );
        await tx.query("COMMIT");
      } catch (error) {
        await rollbackQuietly(tx);
        throw error;
      }
    },
    abandon: async (tx) => {
      await tx.query(`DROP TABLE IF EXISTS ${copy.qualified}`).catch(() => {});
      await clearStates(tx, schema, copyTarget.table).catch(() => {});
    },
  };
}
