import pg from "pg";
import { BitbridgeError } from "../app/errors.js";
import type { Repository } from "../bitbucket/api-types.js";
import type { BitbucketClient } from "../bitbucket/types.js";
import { destinationConnectError } from "../destination/postgres/errors.js";
import {
  batchFor,
  type DeleteMode,
  type EncodedRows,
  keysFor,
  loadBatch,
  markDeleted,
  type TableTarget,
} from "../destination/postgres/index.js";
import { DELETED_AT_COLUMN, qualifiedName, quoteIdent } from "../destination/postgres/naming.js";
import {
  replaceFromStaging,
  stageRows,
  stagingBatchFor,
  startStaging,
} from "../destination/postgres/replace.js";
import { type CatalogTable, findTable } from "../source/catalog.js";
import {
  fillPath,
  REPOSITORIES_QUERY,
  type ReadRequest,
  readPages,
  readTable,
  type SourceRow,
} from "../source/reader.js";
import { walk } from "../sql/bind.js";
import { planRead } from "../sql/pushdown.js";
import { type BoundReplicate, bindReplicate, parseReplicateScript } from "../sql/replicate.js";
import { addInterval } from "./intervals.js";
import { type DestinationRow, rowBuilder, withKeyColumns } from "./replicate-rows.js";
import { planReplicate, type ReplicatePlan } from "./replicate-target.js";
import { prepareRunTarget, type RunTarget } from "./run-target.js";
import { deleteState, loadStates, type PartitionState, saveState } from "./sync-state.js";
import type { RunCounts, TaskRunInput, TaskRunResult } from "./task-runner-types.js";

/** Re-read this much before the cursor: clock skew between Bitbucket's nodes, and rows changed mid-read. */
const LOOKBACK_MS = 5 * 60_000;

/**
 * Destination connections, shared by the repositories read at once; each batch is still its own
 * transaction. Two let one batch commit while another is copied; more would add backends competing
 * for the cores the reads need, and batches waiting in memory for them.
 */
const LOADERS = 2;

/** Runs `work` on a destination connection, taken from the task's pool for that long. */
type Destination = <T>(work: (client: pg.ClientBase) => Promise<T>) => Promise<T>;

interface Counts extends RunCounts {
  skippedPartitions: number;
}

/** Shared by a task's partitions: how the table stood when the task began, and how batches load now. */
interface LoadMode {
  /** The table held no row when the task began. */
  startedEmpty: boolean;
  /** Batches still go straight into the table (see `LoadOptions`). */
  insertFirst: boolean;
}

/**
 * Runs one REPLICATE statement: reads what changed since the last committed checkpoint, loads it in
 * transactional batches (each batch and its checkpoint commit together), and reconciles deletions where a
 * table is read in full. Incremental strategy per table: `updated` cursors (with lookback), commits from
 * moved branch heads, pull-request children from changed pull requests, full reads otherwise; push-driven
 * tables skip repositories whose `updated_on` did not move.
 */
export async function runReplicateTask(input: TaskRunInput): Promise<TaskRunResult> {
  const started = performance.now();
  const requestsBefore = input.client.counts().requests;
  const statements = parseReplicateScript(input.statement);
  const statement = statements[0];
  if (!statement || statements.length !== 1) {
    throw new BitbridgeError(
      "REPLICATE_ONE_STATEMENT",
      `A task runs exactly one REPLICATE statement, not ${statements.length}.`,
    );
  }
  const bound = withKeyColumns(
    bindReplicate(input.statement, statement, { naming: input.naming }),
    input.naming,
  );
  const options = statement.options;
  const schema = options.destinationSchema ?? input.destination.schema;
  const source = bound.query.source;
  const qualifier = source.kind === "api" ? source.repository : undefined;
  const request = planRead(bound.query, bound.table, qualifier, {
    workspace: input.workspace,
    schema: input.schema,
  }).request;
  const concurrency = Math.max(1, input.concurrency ?? 4);
  const pool = new pg.Pool({ ...input.destination.config, max: Math.min(concurrency, LOADERS) });
  pool.on("error", () => {});
  const db: Destination = (work) => withClient(pool, work);
  // One partition failing stops the others at their next batch, before the task ends.
  const stop = new AbortController();
  const counts: Counts = {
    rowsRead: 0,
    inserted: 0,
    updated: 0,
    unchanged: 0,
    deleted: 0,
    skippedPartitions: 0,
  };
  let prepared: RunTarget | undefined;
  // Into an empty table, batches are copied straight in until one meets a key already there.
  const loadMode: LoadMode = { startedEmpty: false, insertFirst: false };
  try {
    const states = await withClient(pool, async (setup) => {
      const plan = await planReplicate(setup, bound, schema);
      prepared = await prepareRunTarget(setup, plan, options, input.full === true, input.log);
      loadMode.startedEmpty = prepared.empty;
      loadMode.insertFirst = prepared.empty;
      const target = prepared.plan.target;
      if (plan.aggregation) await startStaging(setup, target);
      return loadStates(setup, schema, target.table);
    });
    const planned = (prepared as RunTarget).plan;
    const runWith = () =>
      new TaskRun(input, bound, request, planned, db, states, counts, loadMode, stop.signal);
    const level = bound.table.def.level;
    if (level.kind === "account" || level.kind === "workspace") {
      await runWith().executeTopLevel();
    } else {
      const queue = await listRepositories(input.client, input.workspace, request.repositories, bound.table);
      if (!request.repositories && !planned.aggregation) {
        const present = new Set(queue.map((r) => r.uuid));
        const gone = [...states.keys()].filter(
          (partition) => partition.startsWith("{") && !present.has(partition),
        );
        for (const partition of gone) await runWith().removedRepository(partition);
      }
      const errors: unknown[] = [];
      await Promise.all(
        Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
          const run = runWith();
          try {
            for (let repo = queue.shift(); repo && !stop.signal.aborted; repo = queue.shift())
              await run.partition(repo);
          } catch (error) {
            errors.push(error);
            stop.abort();
          }
        }),
      );
      if (errors.length > 0) throw errors[0];
    }
    if (planned.aggregation) await runWith().replaceResult();
    await withClient(pool, (client) => (prepared as RunTarget).finish(client));
  } catch (error) {
    if (prepared) await withClient(pool, (client) => (prepared as RunTarget).abandon(client)).catch(() => {});
    throw error;
  } finally {
    await pool.end().catch(() => {});
  }
  return {
    sourceTable: bound.table.name,
    destinationTable: `${schema}.${bound.destination.name}`,
    ...counts,
    requests: input.client.counts().requests - requestsBefore,
    durationMs: Math.round(performance.now() - started),
  };
}

class TaskRun {
  private readonly table: CatalogTable;
  private readonly toRow: (row: SourceRow) => DestinationRow | undefined;
  private readonly target: TableTarget;

  constructor(
    private readonly input: TaskRunInput,
    private readonly bound: BoundReplicate,
    /** What the statement pushes to the API (filters, fields, keys, repositories). */
    private readonly request: ReadRequest,
    private readonly plan: ReplicatePlan,
    private readonly db: Destination,
    private readonly states: Map<string, PartitionState>,
    private readonly counts: Counts,
    private readonly loadMode: LoadMode,
    /** Another partition of the task failed. */
    private readonly stopped: AbortSignal,
  ) {
    this.table = bound.table;
    this.toRow = rowBuilder(bound, plan.staged);
    this.target = plan.target;
  }

  private get client(): BitbucketClient {
    return this.input.client;
  }

  /** Account- and workspace-level tables: one partition. */
  async executeTopLevel(): Promise<void> {
    const level = this.table.def.level;
    const partition = level.kind === "account" ? "" : (this.input.workspace ?? "");
    if (this.plan.aggregation) return this.stage(this.request);
    // Workspace-level tables are small (a page per 100 rows): a full read costs what a cursor read costs
    // and also finds deleted projects and repositories.
    await this.readFull(partition, this.request, this.scopeFor({}));
  }

  /** A repository that left the workspace (deleted, transferred): its rows are marked deleted, its state dropped. */
  async removedRepository(partition: string): Promise<void> {
    const scope = this.scopeFor({ RepositoryUuid: partition });
    if (Object.keys(scope).length === 0) return;
    const deleted = await this.db((client) =>
      markDeleted(client, this.target, {
        scope,
        keys: [],
        mode: this.deleteMode(),
        checkpoint: (tx) => deleteState(tx, this.target.schema, this.target.table, partition),
      }),
    );
    this.counts.deleted += deleted;
  }

  /** One repository of a repository-level or child table. */
  async partition(repo: Repository): Promise<void> {
    this.checkAborted();
    const level = this.table.def.level;
    const partition = repo.uuid ?? repo.slug ?? "";
    const state = this.states.get(partition) ?? {};
    const request: ReadRequest = { ...this.request, knownRepositories: [repo] };
    if (this.plan.aggregation) return this.stage(request);
    const unchanged =
      state.repositoryUpdatedOn !== undefined && state.repositoryUpdatedOn === repo.updated_on;
    if (this.table.def.pushDriven && !this.input.full && unchanged) {
      this.counts.skippedPartitions++;
      return;
    }
    const scope = this.scopeFor({ RepositoryUuid: repo.uuid });
    if (this.table.def.incremental.kind === "commits")
      await this.readCommits(partition, repo, request, state);
    else if (level.kind === "child" && this.parentCursorField())
      await this.readChangedParents(partition, repo, request, state);
    else if (this.cursorField() && !this.request.keys)
      await this.readByCursor(partition, request, scope, { repositoryUpdatedOn: repo.updated_on });
    else await this.readFull(partition, request, scope, { repositoryUpdatedOn: repo.updated_on });
  }

  /**
   * How reads reconcile deletions. In a table that was empty when the task began, every row came from
   * this task's reads, so none can be missing from their keys: the reconciliation's statement is skipped
   * and only its checkpoint is written.
   */
  private deleteMode(): DeleteMode {
    return this.loadMode.startedEmpty ? "ignore" : this.bound.statement.options.deletePolicy;
  }

  /** The API field of the incremental column, when BBQL can filter and sort on it. */
  private cursorField(): string | undefined {
    const column = this.bound.incrementalColumn?.sourceColumn;
    if (this.table.def.incremental.kind !== "updated" || !column) return undefined;
    const c = this.table.columns.find((x) => x.name === column);
    return c?.filterable && c.sortable ? c.field : undefined;
  }

  private parentCursorField(): string | undefined {
    const level = this.table.def.level;
    if (level.kind !== "child") return undefined;
    const parent = findTable(level.parent);
    const inc = parent?.def.incremental;
    if (!parent?.def.bbql || inc?.kind !== "updated") return undefined;
    return parent.columns.find((c) => c.name === inc.column)?.field;
  }

  /**
   * `updated_on >= cursor - lookback`, ascending; each batch's checkpoint is the newest change it covers.
   * A first load with ReplicateInterval goes window by window (resumable per window). Rows deleted at
   * the source are found by reading every key: at once when the read covered everything, else when the
   * ReconcileInterval has passed since the last check.
   */
  private async readByCursor(
    partition: string,
    base: ReadRequest,
    scope: Record<string, unknown>,
    extra: PartitionState,
  ): Promise<void> {
    const options = this.bound.statement.options;
    const startedAt = new Date().toISOString();
    let state: PartitionState = { ...(this.states.get(partition) ?? {}), ...extra };
    const firstLoad = state.cursor === undefined || state.loadedUntil !== undefined;
    const start = options.replicateStartDate ? new Date(Date.parse(options.replicateStartDate)) : undefined;
    if (firstLoad && options.replicateInterval !== undefined) {
      state = await this.loadInWindows(partition, base, state, start);
    } else {
      const since = state.cursor ? new Date(Date.parse(state.cursor) - LOOKBACK_MS) : start;
      const everything = since === undefined;
      const keys = everything ? keysFor(this.target) : undefined;
      state = await this.readWindow(partition, base, state, { from: since }, keys);
      if (keys) {
        state = { ...state, reconciledAt: startedAt };
        await this.reconcile(scope, keys, partition, state);
        return;
      }
    }
    if (this.reconcileDue(state)) {
      state = { ...state, reconciledAt: startedAt };
      await this.reconcile(scope, await this.currentKeys(base, start), partition, state);
    }
  }

  /** Windows of ReplicateInterval from the start (or where a killed load stopped) up to now. */
  private async loadInWindows(
    partition: string,
    base: ReadRequest,
    initial: PartitionState,
    start: Date | undefined,
  ): Promise<PartitionState> {
    const options = this.bound.statement.options;
    const now = Date.now();
    let state = initial;
    let from = state.loadedUntil ? new Date(Date.parse(state.loadedUntil)) : start;
    // Without a start the first window is open below: it ends one interval after the oldest change.
    const oldest = from ?? (await this.oldestChange(base));
    if (oldest === undefined) return { ...state, loadedUntil: undefined };
    let to = addInterval(oldest, options.replicateInterval ?? 1, options.replicateIntervalUnit);
    for (;;) {
      this.checkAborted();
      const last = to.getTime() >= now;
      const window = { from, to: last ? undefined : to };
      state = await this.readWindow(
        partition,
        base,
        { ...state, loadedUntil: (from ?? oldest).toISOString() },
        window,
        undefined,
        {
          loadedUntil: last ? undefined : to.toISOString(),
        },
      );
      if (last) return state;
      from = to;
      to = addInterval(to, options.replicateInterval ?? 1, options.replicateIntervalUnit);
    }
  }

  /** The oldest change time in the partition: one row, sorted ascending. */
  private async oldestChange(base: ReadRequest): Promise<Date | undefined> {
    const field = this.cursorField() as string;
    const column = this.table.columns.find((c) => c.field === field);
    for await (const row of readTable(this.client, { ...base, sort: field })) {
      const value = column?.get(row.item, row.ctx);
      return typeof value === "string" ? new Date(Date.parse(value)) : undefined;
    }
    return undefined;
  }

  /**
   * Rows changed in `[from, to)` (either end open), loaded batch by batch; every batch's checkpoint
   * holds the newest change seen, and the last one also `done` (what finishing the window records).
   * Keys of the rows read are collected into `keys` when given. Returns the state after the window.
   */
  private async readWindow(
    partition: string,
    base: ReadRequest,
    state: PartitionState,
    window: { from?: Date; to?: Date },
    keys?: EncodedRows,
    done: PartitionState = {},
  ): Promise<PartitionState> {
    const field = this.cursorField() as string;
    const bounds = [
      base.q,
      window.from ? `${field} >= ${window.from.toISOString()}` : undefined,
      window.to ? `${field} < ${window.to.toISOString()}` : undefined,
    ];
    const q = bounds.filter(Boolean).join(" AND ") || undefined;
    let cursor = state.cursor;
    let cursorMs = cursor ? Date.parse(cursor) : Number.NEGATIVE_INFINITY;
    let saved = state;
    const column = this.table.columns.find((c) => c.field === field);
    await this.stream(
      { ...base, q, sort: field },
      async (batch, last) => {
        // Taken before the load: the rows read meanwhile belong to the next batch.
        const next: PartitionState = { ...state, cursor, ...(last ? done : {}) };
        await this.load(batch, async (client) => {
          if (cursor || last) await saveState(client, this.target.schema, this.target.table, partition, next);
        });
        saved = next;
      },
      {
        onRow: (row, out) => {
          if (keys && out) keys.add(out);
          const value = column?.get(row.item, row.ctx);
          if (typeof value !== "string") return;
          const at = Date.parse(value);
          if (at >= cursorMs) {
            cursor = value;
            cursorMs = at;
          }
        },
      },
    );
    return saved;
  }

  private reconcileDue(state: PartitionState): boolean {
    const options = this.bound.statement.options;
    if (options.deletePolicy === "ignore") return false;
    if (options.reconcileInterval === 0 || state.reconciledAt === undefined) return true;
    const due = addInterval(
      new Date(Date.parse(state.reconciledAt)),
      options.reconcileInterval,
      options.reconcileIntervalUnit,
    );
    return due.getTime() <= Date.now();
  }

  /**
   * Every key the statement selects at the source now: the same filters, no cursor, and only the
   * fields the key and the WHERE clause need (list pages cost the same requests, far fewer bytes).
   */
  private async currentKeys(base: ReadRequest, start: Date | undefined): Promise<EncodedRows> {
    const field = this.cursorField() as string;
    const needed = new Set(this.table.primaryKey);
    const where = this.bound.query.statement.where;
    if (where)
      walk(where, (node) => {
        if (node.kind === "column") needed.add(this.bound.query.columnOf(node));
        return true;
      });
    const fields = this.table.columns.filter((c) => needed.has(c.name)).flatMap((c) => c.reads);
    const q = [base.q, start ? `${field} >= ${start.toISOString()}` : undefined]
      .filter(Boolean)
      .join(" AND ");
    const keys = keysFor(this.target);
    const size = this.bound.statement.options.batchSize;
    let read = 0;
    for await (const page of readPages(this.client, {
      ...base,
      q: q || undefined,
      fields,
      sort: undefined,
    })) {
      for (const row of page) {
        const out = this.toRow(row);
        if (out) keys.add(out);
      }
      this.counts.rowsRead += page.length;
      read += page.length;
      if (read >= size) {
        read = 0;
        this.progress();
        this.checkAborted();
      }
    }
    return keys;
  }

  /** Rows of `scope` whose key is not in `keys` are marked deleted; `state` is saved with them. */
  private async reconcile(
    scope: Record<string, unknown>,
    keys: EncodedRows,
    partition: string,
    state: PartitionState,
  ): Promise<void> {
    const deleted = await this.db((client) =>
      markDeleted(client, this.target, {
        scope,
        keys,
        mode: this.deleteMode(),
        checkpoint: (tx) => saveState(tx, this.target.schema, this.target.table, partition, state),
      }),
    );
    this.counts.deleted += deleted;
  }

  /** Grouped statements: rows that pass WHERE go to the staging table, for `replaceResult`. */
  private async stage(request: ReadRequest): Promise<void> {
    await this.stream(
      request,
      async (batch) => {
        if (batch.count > 0) await this.db((client) => stageRows(client, this.target, batch));
      },
      { batch: () => stagingBatchFor(this.target) },
    );
  }

  async replaceResult(): Promise<void> {
    const aggregation = this.plan.aggregation;
    if (!aggregation) return;
    const result = await this.db((client) => replaceFromStaging(client, this.target, aggregation));
    this.counts.inserted += result.inserted;
    this.counts.deleted += result.deleted;
    this.counts.unchanged += result.unchanged;
  }

  /** Everything, then the rows of this scope not seen are marked deleted, with the checkpoint. */
  private async readFull(
    partition: string,
    request: ReadRequest,
    scope: Record<string, unknown>,
    extra: PartitionState = {},
  ) {
    const keys = keysFor(this.target);
    await this.stream(request, (batch) => this.load(batch), {
      onRow: (_, out) => {
        if (out) keys.add(out);
      },
    });
    const deleted = await this.db((client) =>
      markDeleted(client, this.target, {
        scope,
        keys,
        mode: this.deleteMode(),
        checkpoint: (tx) => saveState(tx, this.target.schema, this.target.table, partition, { ...extra }),
      }),
    );
    this.counts.deleted += deleted;
  }

  /** Commits are immutable: read only what the branch heads gained since the last complete walk. */
  private async readCommits(
    partition: string,
    repo: Repository,
    request: ReadRequest,
    state: PartitionState,
  ) {
    const heads: Record<string, string> = {};
    const path = fillPath("/repositories/{workspace}/{repo_slug}/refs/branches", {
      workspace: this.input.workspace ?? "",
      repo_slug: repo.slug ?? "",
    });
    for await (const page of this.client.pages<{ name?: string; target?: { hash?: string } }>(path, {
      pagelen: 100,
      fields: "next,values.name,values.target.hash",
    })) {
      for (const b of page.values) if (b.name && b.target?.hash) heads[b.name] = b.target.hash;
    }
    const old = state.heads ?? {};
    const oldHashes = new Set(Object.values(old));
    const include = [...new Set(Object.values(heads).filter((h) => !oldHashes.has(h)))];
    const next: PartitionState = { ...state, heads, repositoryUpdatedOn: repo.updated_on };
    // Commits only reachable from deleted branches left the repository's history: find them in one walk.
    const deletedHeads = Object.entries(old)
      .filter(([name]) => heads[name] === undefined)
      .map(([, hash]) => hash);
    const gone: string[] = [];
    if (deletedHeads.length > 0) {
      const walk = this.client.pages<{ hash?: string }>(path.replace(/refs\/branches$/, "commits"), {
        include: deletedHeads,
        exclude: [...new Set(Object.values(heads))],
        pagelen: 100,
        fields: "next,values.hash",
      });
      for await (const page of walk) for (const c of page.values) if (c.hash) gone.push(c.hash);
    }
    const markGone = async (client: pg.ClientBase) => {
      const deleted = await deleteKeys(client, this.target, this.bound, repo.uuid, gone);
      this.counts.deleted += deleted;
    };
    if (include.length === 0) {
      await this.load([], async (client) => {
        await markGone(client);
        await saveState(client, this.target.schema, this.target.table, partition, next);
      });
      return;
    }
    const extraParams = state.heads ? { include, exclude: [...oldHashes] } : {};
    await this.stream({ ...request, extraParams }, async (batch, last) => {
      await this.load(batch, async (client) => {
        if (!last) return;
        await markGone(client);
        await saveState(client, this.target.schema, this.target.table, partition, next);
      });
    });
  }

  /** Children (comments, commits of a pull request) are re-read only for parents that changed. */
  private async readChangedParents(
    partition: string,
    repo: Repository,
    request: ReadRequest,
    state: PartitionState,
  ) {
    const level = this.table.def.level;
    if (level.kind !== "child") return;
    const parent = findTable(level.parent) as CatalogTable;
    const keyField = parent.columns.find((c) => c.name === level.parentColumn)?.field as string;
    const field = this.parentCursorField() as string;
    const since = state.cursor ? new Date(Date.parse(state.cursor) - LOOKBACK_MS).toISOString() : undefined;
    const parents: { key: string; changed: string }[] = [];
    const path = fillPath(parent.def.path, {
      workspace: this.input.workspace ?? "",
      repo_slug: repo.slug ?? "",
    });
    for await (const page of this.client.pages<Record<string, unknown>>(path, {
      ...level.parentParams,
      pagelen: parent.def.maxPageLength,
      ...(since ? { q: `${field} >= ${since}` } : {}),
      sort: field,
      fields: `next,values.${keyField},values.${field}`,
    })) {
      for (const p of page.values) parents.push({ key: String(p[keyField]), changed: String(p[field]) });
    }
    const parentColumn = this.bound.columns.find((c) => c.sourceColumn === level.column);
    for (const p of parents) {
      this.checkAborted();
      const keys = keysFor(this.target);
      // One batch per parent: its children and its checkpoint commit together.
      await this.stream({ ...request, parentKeys: [p.key] }, (batch) => this.load(batch), {
        size: Number.POSITIVE_INFINITY,
        onRow: (_, out) => {
          if (out) keys.add(out);
        },
      });
      const scope = this.scopeFor({
        RepositoryUuid: repo.uuid,
        ...(parentColumn ? { [level.column]: parentColumn.type === "integer" ? Number(p.key) : p.key } : {}),
      });
      const deleted = await this.db((client) =>
        markDeleted(client, this.target, {
          scope,
          keys,
          mode: this.deleteMode(),
          checkpoint: (tx) =>
            saveState(tx, this.target.schema, this.target.table, partition, {
              ...state,
              cursor: p.changed,
            }),
        }),
      );
      this.counts.deleted += deleted;
    }
    // Children of parents that are gone (a deleted pull request's comments), on the reconciliation
    // cadence; a first read listed every parent already.
    if (!parentColumn || !this.reconcileDue(state)) return;
    const startedAt = new Date().toISOString();
    let live = parents.map((p) => p.key);
    if (since) {
      live = [];
      for await (const page of this.client.pages<Record<string, unknown>>(path, {
        ...level.parentParams,
        pagelen: parent.def.maxPageLength,
        fields: `next,values.${keyField}`,
      })) {
        for (const p of page.values) live.push(String(p[keyField]));
      }
    }
    const typed = (key: string) => (parentColumn.type === "integer" ? Number(key) : key);
    const deleted = await this.db((client) =>
      markDeleted(client, this.target, {
        scope: this.scopeFor({ RepositoryUuid: repo.uuid }),
        keys: live.map((key) => ({ [parentColumn.destinationName]: typed(key) })),
        matchColumns: [parentColumn.destinationName],
        mode: this.deleteMode(),
        checkpoint: (tx) =>
          saveState(tx, this.target.schema, this.target.table, partition, {
            ...state,
            cursor: parents.at(-1)?.changed ?? state.cursor,
            reconciledAt: startedAt,
          }),
      }),
    );
    this.counts.deleted += deleted;
  }

  /**
   * Reads in batches of `size` rows read (BatchSize by default), encoded for COPY as they arrive;
   * `onRow` sees every row read and what it became (undefined where WHERE rejects it); `last` marks the
   * final (possibly empty) batch. The next batch is read while the previous one loads, and handed over
   * only once that load has finished, so a partition's batches and checkpoints commit in order.
   */
  private async stream(
    request: ReadRequest,
    onBatch: (batch: EncodedRows, last: boolean) => Promise<void>,
    options: {
      onRow?: (row: SourceRow, out: DestinationRow | undefined) => void;
      size?: number;
      batch?: () => EncodedRows;
    } = {},
  ): Promise<void> {
    const size = options.size ?? this.bound.statement.options.batchSize;
    const newBatch = options.batch ?? (() => batchFor(this.target));
    let loading: Promise<void> = Promise.resolve();
    let failed = false;
    const handOver = async (batch: EncodedRows, last: boolean) => {
      await loading;
      loading = onBatch(batch, last);
      loading.catch(() => {
        failed = true;
      });
    };
    let batch = newBatch();
    let read = 0;
    try {
      for await (const page of readPages(this.client, request)) {
        if (failed) break;
        for (const row of page) {
          this.counts.rowsRead++;
          const out = this.toRow(row);
          options.onRow?.(row, out);
          if (out) batch.add(out);
          if (++read >= size) {
            await handOver(batch, false);
            batch = newBatch();
            read = 0;
            this.progress();
            this.checkAborted();
          }
        }
      }
    } catch (error) {
      await loading.catch(() => {});
      throw error;
    }
    await handOver(batch, true);
    await loading;
    this.progress();
  }

  private async load(
    rows: EncodedRows | DestinationRow[],
    checkpoint?: (client: pg.ClientBase) => Promise<void>,
  ): Promise<void> {
    const result = await this.db((client) =>
      loadBatch(client, this.target, rows, checkpoint, { insertFirst: this.loadMode.insertFirst }),
    );
    if (!result.direct) this.loadMode.insertFirst = false;
    this.counts.inserted += result.inserted;
    this.counts.updated += result.updated;
    this.counts.unchanged += result.unchanged;
  }

  /** Deletion scope by destination column name, for the scope columns the statement selected. */
  private scopeFor(byCatalogName: Record<string, unknown>): Record<string, unknown> {
    const scope: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(byCatalogName)) {
      const column = this.bound.columns.find((c) => c.sourceColumn === name);
      if (column && value !== undefined) scope[column.destinationName] = value;
    }
    return scope;
  }

  private progress(): void {
    this.input.onProgress?.({
      table: this.table.name,
      rows: this.counts.rowsRead,
      requests: this.client.counts().requests,
    });
  }

  private checkAborted(): void {
    if (this.input.signal?.aborted || this.stopped.aborted)
      throw new BitbridgeError("RUN_CANCELLED", "The run was cancelled.", {}, 409);
  }
}

/**
 * Runs `work` with a pooled destination connection. A checked-out client that loses its server between
 * two queries emits `error`; without a listener that would crash the process, so it is caught here, the
 * work's next query fails with a clear error, and the client is discarded instead of reused.
 */
async function withClient<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw destinationConnectError(error);
  }
  let broken = false;
  const onError = () => {
    broken = true;
  };
  client.on("error", onError);
  try {
    return await work(client);
  } catch (error) {
    broken = true;
    throw error;
  } finally {
    client.off("error", onError);
    client.release(broken);
  }
}

/** The repositories to read: the workspace's list (one request per 100), narrowed as the statement says. */
async function listRepositories(
  client: BitbucketClient,
  workspace: string | undefined,
  wanted: readonly string[] | undefined,
  table: CatalogTable,
): Promise<Repository[]> {
  if (!workspace) {
    throw new BitbridgeError(
      "WORKSPACE_REQUIRED",
      `${table.name} is read per workspace: set the source's Workspace property.`,
    );
  }
  const repos: Repository[] = [];
  for await (const page of client.pages<Repository>(
    `/repositories/${encodeURIComponent(workspace)}`,
    REPOSITORIES_QUERY,
  )) {
    for (const repo of page.values) if (!wanted || wanted.includes(repo.slug ?? "")) repos.push(repo);
  }
  return repos;
}

/** Marks these commits of one repository deleted (soft), removes them (hard), or leaves them (ignore). */
async function deleteKeys(
  client: pg.ClientBase,
  target: TableTarget,
  bound: BoundReplicate,
  repositoryUuid: string | undefined,
  hashes: readonly string[],
): Promise<number> {
  const policy = bound.statement.options.deletePolicy;
  const repo = bound.columns.find((c) => c.sourceColumn === "RepositoryUuid")?.destinationName;
  const hash = bound.columns.find((c) => c.sourceColumn === "Hash")?.destinationName;
  if (policy === "ignore" || hashes.length === 0 || !repo || !hash || !repositoryUuid) return 0;
  const table = qualifiedName(target.schema, target.table);
  const where = `${quoteIdent(repo)} = $1 AND ${quoteIdent(hash)} = ANY($2::text[])`;
  const sql =
    policy === "hard"
      ? `DELETE FROM ${table} WHERE ${where}`
      : `UPDATE ${table} SET ${quoteIdent(DELETED_AT_COLUMN)} = now() WHERE ${where} AND ${quoteIdent(DELETED_AT_COLUMN)} IS NULL`;
  return (await client.query(sql, [repositoryUuid, hashes])).rowCount ?? 0;
}
