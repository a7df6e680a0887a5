import type pg from "pg";

/** What the service's reads need of the published database. */
export interface Statements {
  query<R extends pg.QueryResultRow = Record<string, unknown>>(
    config: pg.QueryConfig,
  ): Promise<pg.QueryResult<R>>;
}

/** A statement shape whose cost (see `learn`) is more than this is slow. */
export const SLOW_STATEMENT_MS = 100;

/** How much a shape's cost may rise per run, when its runs take longer than its cost says. */
const COST_GROWTH = 1.1;

/** Shapes remembered at most (the map is emptied when it grows past what any set of clients repeats). */
const MAX_SHAPES = 2000;

/**
 * The published pool with a lane for slow statements (a search that scans, a count of a big table): they
 * may hold at most half of the connections at once, so the other half stays free for quick ones (detail
 * pages, list views), which would otherwise wait behind them for a connection. Each statement shape's cost
 * is learned from its run times (see `learn`); a shape is its SQL text, which Salesforce repeats with other
 * values. A shape not yet seen runs as quick.
 */
export class StatementLanes implements Statements {
  private readonly costs = new Map<string, number>();
  private readonly slow: Lane;

  constructor(private readonly pool: pg.Pool) {
    this.slow = new Lane(slowLimit(pool.options.max));
  }

  /** Whether `text`'s shape is slow (see `learn`). */
  isSlow(text: string): boolean {
    return (this.costs.get(text) ?? 0) > SLOW_STATEMENT_MS;
  }

  async query<R extends pg.QueryResultRow = Record<string, unknown>>(
    config: pg.QueryConfig,
  ): Promise<pg.QueryResult<R>> {
    if (!this.isSlow(config.text)) return this.run<R>(config);
    await this.slow.enter();
    try {
      return await this.run<R>(config);
    } finally {
      this.slow.leave();
    }
  }

  /** Runs on a pooled connection, timing the statement alone (not the wait for a connection). */
  private async run<R extends pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>> {
    const client = await this.pool.connect();
    const started = performance.now();
    try {
      const result = await client.query<R>(config);
      this.learn(config.text, performance.now() - started);
      client.release();
      return result;
    } catch (error) {
      this.learn(config.text, performance.now() - started);
      // As pg's own Pool.query does: a connection a statement failed on is not reused.
      client.release(error instanceof Error ? error : true);
      throw error;
    }
  }

  /**
   * A shape's cost follows its quickest recent runs: a quicker run lowers it at once, slower ones raise it by
   * at most a tenth each. Under load every statement takes longer while it waits for the cores (a 5 ms list
   * page can take 100 ms among 20 others on 2 cores); an average would then send quick shapes to the slow
   * lane, where they would queue. A shape that is slow on its own is slow on every run and gets there within
   * a few dozen runs.
   */
  private learn(text: string, ms: number): void {
    const before = this.costs.get(text);
    if (before === undefined && this.costs.size >= MAX_SHAPES) this.costs.clear();
    this.costs.set(text, before === undefined ? ms : Math.min(ms, before * COST_GROWTH));
  }
}

/** Slow statements running at once, at most, in a pool of `max` connections. */
export function slowLimit(max = 10): number {
  return Math.max(1, Math.floor(max / 2));
}

/** At most `limit` at once; the rest wait in arrival order. */
class Lane {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  enter(): Promise<void> {
    if (this.running < this.limit) {
      this.running++;
      return Promise.resolve();
    }
    // A place is handed over on leaving, so the count stays as it is for the waiter.
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  leave(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}
