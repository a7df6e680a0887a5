import type pg from "pg";

/** What the service's reads need of the published database. */
export interface Statements {
  query<R extends pg.QueryResultRow = Record<string, unknown>>(
    config: pg.QueryConfig,
  ): Promise<pg.QueryResult<R>>;
}

/** A statement shape whose recent runs averaged more than this is slow. */
export const SLOW_STATEMENT_MS = 100;

/** Weight of the newest run in a shape's running average. */
const SMOOTHING = 0.3;

/** Shapes remembered at most (the map is emptied when it grows past what any set of clients repeats). */
const MAX_SHAPES = 2000;

/**
 * The published pool with a lane for slow statements (a search that scans, a count of a big table): they
 * may hold at most half of the connections at once, so the other half stays free for quick ones (detail
 * pages, list views), which would otherwise wait behind them for a connection. Each statement shape's run
 * time is learned as it runs; a shape is its SQL text, which Salesforce repeats with other values. A shape
 * not yet seen runs as quick.
 */
export class StatementLanes implements Statements {
  private readonly averages = new Map<string, number>();
  private readonly slow: Lane;

  constructor(private readonly pool: pg.Pool) {
    this.slow = new Lane(slowLimit(pool.options.max));
  }

  /** Whether `text`'s recent runs were slow. */
  isSlow(text: string): boolean {
    return (this.averages.get(text) ?? 0) > SLOW_STATEMENT_MS;
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

  private learn(text: string, ms: number): void {
    const before = this.averages.get(text);
    if (before === undefined && this.averages.size >= MAX_SHAPES) this.averages.clear();
    this.averages.set(text, before === undefined ? ms : before + SMOOTHING * (ms - before));
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
