import pg from "pg";
import { BitbridgeError } from "../app/errors.js";
import { destinationConnectError } from "../destination/postgres/errors.js";
import { loadBatch, markDeleted, type TableTarget } from "../destination/postgres/index.js";
import {
  type Aggregation,
  replaceFromStaging,
  stageRows,
  startStaging,
} from "../destination/postgres/replace.js";
import { type BoundPostgresReplicate, bindPostgresReplicate } from "../source/postgres/bind.js";
import { introspectSchema, type PostgresColumn } from "../source/postgres/catalog.js";
import { connectSource, type PostgresSource } from "../source/postgres/connection.js";
import { pushdownWhere } from "../source/postgres/pushdown.js";
import {
  columnSql,
  cursorKey,
  type ReadPlan,
  readBatches,
  unreadableError,
} from "../source/postgres/reader.js";
import { type BoundReplicate, parseReplicateScript } from "../sql/replicate.js";
import { addInterval } from "./intervals.js";
import { reloadKeyless } from "./postgres-source-reload.js";
import { type DestinationRow, rowBuilder, withKeyColumns } from "./replicate-rows.js";
import { planReplicate, type ReplicatePlan } from "./replicate-target.js";
import { prepareRunTarget } from "./run-target.js";
import { loadStates, type PartitionState, saveState } from "./sync-state.js";
import type { RunCounts as Counts, TaskRunInput, TaskRunResult } from "./task-runner-types.js";

export interface PostgresSourceTaskInput
  extends Omit<TaskRunInput, "client" | "workspace" | "schema" | "concurrency"> {
  readonly source: PostgresSource;
}

/** One destination table has one read position: the source relation is read as a whole. */
const PARTITION = "";

/**
 * Runs one REPLICATE statement from a PostgreSQL schema. The source is read in one read-only
 * REPEATABLE READ transaction (catalog and rows from the same snapshot) through a server-side cursor.
 * With IncrementalCheckColumn only rows at or after the last checkpoint are read, in that column's
 * order, and each batch commits with its checkpoint; otherwise everything is read and rows gone from
 * the source are reconciled by key (DeletePolicy), or, without a key (and for GROUP BY), the
 * destination's content is replaced in one transaction.
 */
export async function runPostgresSourceTask(input: PostgresSourceTaskInput): Promise<TaskRunResult> {
  const started = performance.now();
  const statements = parseReplicateScript(input.statement);
  const statement = statements[0];
  if (!statement || statements.length !== 1) {
    throw new BitbridgeError(
      "REPLICATE_ONE_STATEMENT",
      `A task runs exactly one REPLICATE statement, not ${statements.length}.`,
    );
  }
  const source = await connectSource(input.source);
  try {
    await source.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const catalog = await introspectSchema(source, input.source.schema);
    const binding = bindPostgresReplicate(input.statement, statement, catalog, input.naming);
    if (!binding.table.readable) throw unreadableError(input.source.schema, binding.table.name);
    const destination = await connectDestination(input.destination.config);
    try {
      const bound = withKeyColumns(binding.bound, input.naming);
      const schema = statement.options.destinationSchema ?? input.destination.schema;
      const plan = await planReplicate(destination, bound, schema);
      const target = await prepareRunTarget(
        destination,
        plan,
        statement.options,
        input.full === true,
        input.log,
      );
      const task = new PostgresSourceTask(input, { ...binding, bound }, target.plan, source, destination);
      try {
        await task.run();
        await target.finish(destination);
      } catch (error) {
        await target.abandon(destination);
        throw error;
      }
      return {
        sourceTable: binding.table.name,
        destinationTable: `${schema}.${bound.destination.name}`,
        ...task.counts,
        requests: 0,
        durationMs: Math.round(performance.now() - started),
        skippedPartitions: 0,
      };
    } finally {
      await destination.end().catch(() => {});
    }
  } finally {
    await source.end().catch(() => {});
  }
}

class PostgresSourceTask {
  readonly counts: Counts = { rowsRead: 0, inserted: 0, updated: 0, unchanged: 0, deleted: 0 };
  private readonly bound: BoundReplicate;
  private readonly target: TableTarget;
  private readonly read: ReadPlan;
  private readonly toRow: (row: Record<string, unknown>) => DestinationRow | undefined;

  constructor(
    private readonly input: PostgresSourceTaskInput,
    private readonly binding: BoundPostgresReplicate,
    private readonly plan: ReplicatePlan,
    private readonly source: pg.ClientBase,
    private readonly destination: pg.ClientBase,
  ) {
    this.bound = binding.bound;
    this.target = plan.target;
    const pushed = pushdownWhere(this.bound, binding.table);
    this.read = {
      schema: input.source.schema,
      table: binding.table,
      columns: this.readColumns(),
      where: pushed.where,
    };
    const build = rowBuilder(pushed.bound, plan.staged);
    this.toRow = (row) => build({ item: row, ctx: {} });
  }

  async run(): Promise<void> {
    if (this.plan.aggregation) await this.replaceAggregate(this.plan.aggregation);
    else if (this.binding.incremental) await this.readIncremental(this.binding.incremental.source);
    else if (this.target.primaryKey.length > 0) await this.readFull();
    else this.add(await reloadKeyless(this.destination, this.target, this.batches(this.read)));
  }

  /**
   * What is staged (key columns included, see `withKeyColumns`), in the relation's order; the WHERE
   * clause and the checkpoint are evaluated in the source.
   */
  private readColumns() {
    const needed = new Set(this.plan.staged.map((c) => c.source));
    return this.binding.table.columns.filter((c) => needed.has(c.name));
  }

  /**
   * `column >= checkpoint` in the column's order: rows sharing the checkpoint's value are read again, so
   * a batch ending among equal values loses none of them. Rows deleted at the source are found by
   * reading every key: with the rows when everything was read, else when ReconcileInterval has passed.
   */
  private async readIncremental(source: PostgresColumn): Promise<void> {
    const startedAt = new Date().toISOString();
    const states = await loadStates(this.destination, this.target.schema, this.target.table);
    const previous = states.get(PARTITION) ?? {};
    const startDate = this.bound.statement.options.replicateStartDate;
    const since = previous.cursor ?? (source.type === "datetime" ? startDate : undefined);
    const plan: ReadPlan = {
      ...this.read,
      where: [this.read.where, since === undefined ? undefined : `${columnSql(source)} >= $1`]
        .filter(Boolean)
        .join(" AND "),
      params: since === undefined ? [] : [since],
      orderBy: [source, ...this.keyColumns()],
      cursor: source,
    };
    const cursorOf = cursorKey(plan);
    const everything = since === undefined;
    const keys: DestinationRow[] = [];
    let state = previous;
    for await (const batch of this.batches(plan)) {
      for (const row of batch.source) {
        const cursor = row[cursorOf];
        if (typeof cursor === "string") state = { ...state, cursor };
      }
      if (everything) keys.push(...batch.loaded.map((row) => this.keyOf(row)));
      const saved = state;
      await this.load(batch.loaded, async (client) => {
        if (saved.cursor !== undefined)
          await saveState(client, this.target.schema, this.target.table, PARTITION, saved);
      });
    }
    if (everything || this.reconcileDue(previous))
      await this.reconcile(everything ? keys : await this.currentKeys(), {
        ...state,
        reconciledAt: startedAt,
      });
  }

  /** Everything; then destination rows whose key was not read are deleted as DeletePolicy says. */
  private async readFull(): Promise<void> {
    const keys: DestinationRow[] = [];
    for await (const { loaded } of this.batches(this.read)) {
      for (const row of loaded) keys.push(this.keyOf(row));
      await this.load(loaded);
    }
    await this.reconcile(keys, {});
  }

  private reconcileDue(state: PartitionState): boolean {
    const options = this.bound.statement.options;
    if (options.deletePolicy === "ignore") return false;
    if (options.reconcileInterval === 0 || state.reconciledAt === undefined) return true;
    const due = addInterval(
      new Date(state.reconciledAt),
      options.reconcileInterval,
      options.reconcileIntervalUnit,
    );
    return due.getTime() <= Date.now();
  }

  /** The keys of every row the statement selects, read without the other columns. */
  private async currentKeys(): Promise<DestinationRow[]> {
    const keys: DestinationRow[] = [];
    for await (const { loaded } of this.batches({ ...this.read, columns: this.keyColumns() }))
      for (const row of loaded) keys.push(this.keyOf(row));
    return keys;
  }

  /** Destination rows whose key is not in `keys` are marked as DeletePolicy says; `state` is saved with them. */
  private async reconcile(keys: DestinationRow[], state: PartitionState): Promise<void> {
    this.counts.deleted += await markDeleted(this.destination, this.target, {
      scope: {},
      keys,
      mode: this.bound.statement.options.deletePolicy,
      checkpoint: (client) => saveState(client, this.target.schema, this.target.table, PARTITION, state),
    });
  }

  private keyColumns(): PostgresColumn[] {
    const table = this.binding.table;
    return table.columns.filter((c) => table.primaryKey.includes(c.name));
  }

  private keyOf(row: DestinationRow): DestinationRow {
    return Object.fromEntries(this.target.primaryKey.map((k) => [k, row[k]]));
  }

  /** GROUP BY and aggregates: every row staged, the result recomputed and swapped in at the end. */
  private async replaceAggregate(aggregation: Aggregation): Promise<void> {
    await startStaging(this.destination, this.target);
    for await (const { loaded } of this.batches(this.read))
      await stageRows(this.destination, this.target, loaded);
    this.add(await replaceFromStaging(this.destination, this.target, aggregation));
  }

  private async *batches(
    plan: ReadPlan,
  ): AsyncGenerator<{ source: Record<string, unknown>[]; loaded: DestinationRow[] }> {
    for await (const source of readBatches(this.source, plan, this.bound.statement.options.batchSize)) {
      this.checkAborted();
      this.counts.rowsRead += source.length;
      const loaded: DestinationRow[] = [];
      for (const row of source) {
        const out = this.toRow(row);
        if (out) loaded.push(out);
      }
      yield { source, loaded };
      this.input.onProgress?.({ table: this.binding.table.name, rows: this.counts.rowsRead, requests: 0 });
    }
  }

  private async load(rows: DestinationRow[], checkpoint?: (client: pg.ClientBase) => Promise<void>) {
    const result = await loadBatch(this.destination, this.target, rows, checkpoint);
    this.counts.inserted += result.inserted;
    this.counts.updated += result.updated;
    this.counts.unchanged += result.unchanged;
  }

  private add(replaced: { inserted: number; deleted: number }): void {
    this.counts.inserted += replaced.inserted;
    this.counts.deleted += replaced.deleted;
  }

  private checkAborted(): void {
    if (this.input.signal?.aborted)
      throw new BitbridgeError("RUN_CANCELLED", "The run was cancelled.", {}, 409);
  }
}

async function connectDestination(config: pg.ClientConfig): Promise<pg.Client> {
  const client = new pg.Client(config);
  // A server lost between two loads must not crash the process: the next load fails with a clear error.
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (error) {
    throw destinationConnectError(error);
  }
  return client;
}
