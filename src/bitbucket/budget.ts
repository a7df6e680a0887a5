/**
 * Bitbucket's budget is a rolling one-hour window per credential (1,000 requests by default). The client
 * paces itself so it never reaches the limit: `acquire` waits until a request fits, instead of sending it and
 * collecting a 429. Job runs keep the window in PostgreSQL (`DatabaseBudget`), so every worker shares it.
 */
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import type pg from "pg";
import { type Clock, realSleep, type Sleep } from "./retry.js";

export interface BudgetFeedback {
  /** `X-RateLimit-NearLimit: true`: under ~20% of the budget left. */
  readonly nearLimit?: boolean;
  /** `X-RateLimit-Limit`, when sent. */
  readonly limit?: number;
}

export interface RequestBudget {
  /** Waits until one more request fits in the window, and reserves it for a request sent right after. */
  acquire(): Promise<void>;
  /** What a response said about the budget. */
  record(feedback?: BudgetFeedback): void;
}

export const HOUR_MS = 3_600_000;

export interface RollingWindowOptions {
  readonly limitPerHour: number;
  readonly windowMs?: number;
  readonly now?: Clock;
  readonly sleep?: Sleep;
  /**
   * Extra wait after the oldest request leaves the window, for the time our requests take to reach the
   * server (its window starts when it receives them). Default 1 s.
   */
  readonly marginMs?: number;
}

/** An in-process rolling window. Waiters are served in order. */
export class RollingWindowBudget implements RequestBudget {
  private readonly sent: number[] = [];
  private queue: Promise<void> = Promise.resolve();
  private nearLimit = false;
  private serverLimit = Number.POSITIVE_INFINITY;
  private last = Number.NEGATIVE_INFINITY;
  private readonly windowMs: number;
  private readonly marginMs: number;
  private readonly now: Clock;
  private readonly sleep: Sleep;

  constructor(private readonly options: RollingWindowOptions) {
    if (!(options.limitPerHour >= 1)) throw new RangeError("limitPerHour must be at least 1");
    this.windowMs = options.windowMs ?? HOUR_MS;
    this.marginMs = options.marginMs ?? 1_000;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? realSleep;
  }

  /** The limit in force: the configured one, or Bitbucket's when it announced a lower one. */
  get limit(): number {
    return Math.min(this.options.limitPerHour, this.serverLimit);
  }

  /** Requests in the current window. */
  used(): number {
    this.prune(this.now());
    return this.sent.length;
  }

  acquire(): Promise<void> {
    const turn = this.queue.then(() => this.take());
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  record(feedback: BudgetFeedback = {}): void {
    if (feedback.nearLimit !== undefined) this.nearLimit = feedback.nearLimit;
    if (feedback.limit !== undefined && Number.isFinite(feedback.limit) && feedback.limit >= 1) {
      this.serverLimit = feedback.limit;
    }
  }

  private async take(): Promise<void> {
    for (;;) {
      const now = this.now();
      this.prune(now);
      let wait = 0;
      if (this.sent.length >= this.limit) {
        wait = (this.sent[this.sent.length - this.limit] as number) + this.windowMs + this.marginMs - now;
      }
      // Near the limit, spread what is left evenly instead of spending it in a burst.
      if (this.nearLimit) wait = Math.max(wait, this.last + this.windowMs / this.limit - now);
      if (wait <= 0) {
        this.sent.push(now);
        this.last = now;
        return;
      }
      await this.sleep(wait);
    }
  }

  private prune(now: number): void {
    let drop = 0;
    while (drop < this.sent.length && (this.sent[drop] as number) + this.windowMs + this.marginMs <= now)
      drop++;
    if (drop > 0) this.sent.splice(0, drop);
  }
}

/**
 * One budget per credential within a process, so clients of connections sharing a credential share its
 * window (Bitbucket counts per user, token or consumer, not per connection).
 */
export class BudgetRegistry implements BudgetProvider {
  private readonly budgets = new Map<string, RequestBudget>();

  constructor(
    private readonly make: (limitPerHour: number) => RequestBudget = (n) =>
      new RollingWindowBudget({ limitPerHour: n }),
  ) {}

  /** The budget of `credentialKey` (a `CredentialProvider.budgetKey`); the first caller's limit sticks. */
  for(credentialKey: string, limitPerHour: number): RequestBudget {
    let budget = this.budgets.get(credentialKey);
    if (budget === undefined) {
      budget = this.make(limitPerHour);
      this.budgets.set(credentialKey, budget);
    }
    return budget;
  }
}

/** Hands out the budget of a credential; `BudgetRegistry` within a process, `sharedBudgets` across processes. */
export interface BudgetProvider {
  for(credentialKey: string, limitPerHour: number): RequestBudget;
}

export interface DatabaseBudgetOptions {
  /** The application database (migration 7: bitbridge.request_budget_blocks). */
  readonly pool: pg.Pool;
  /** `CredentialProvider.budgetKey`; only its SHA-256 is stored. */
  readonly credentialKey: string;
  readonly limitPerHour: number;
  /** Requests reserved per database round trip; default 1/20 of the limit, from 1 to 50. */
  readonly blockSize?: number;
  /** How long a block may be used; a holder that dies holds it no longer than this. Default 30 s. */
  readonly leaseMs?: number;
  /** A block unused this long is closed, its rest returned to the others. Default 2 s. */
  readonly idleReturnMs?: number;
  readonly windowMs?: number;
  /** Extra time a block stays counted after its last possible request, for network delays. Default 1 s. */
  readonly marginMs?: number;
  /** Aborting ends a wait for budget (the run was cancelled or timed out). */
  readonly signal?: AbortSignal;
  /** Longest single wait before the database is asked again (blocks returned early free budget). Default 2 s. */
  readonly pollMs?: number;
}

/** Serialises reservations of one credential across every process sharing the database. */
const BUDGET_LOCK = 0x62627234;

/** The stored identity of a credential: a hash, so the table names no user and no token. */
export function credentialHash(credentialKey: string): string {
  return createHash("sha256").update(credentialKey).digest("hex");
}

/**
 * A credential's rolling window kept in PostgreSQL, so every process (and machine) spending it together
 * stays inside it. A process reserves a block of requests in one transaction and spends it locally; it
 * closes the block when the block is used up, when its lease ends or after it idled, recording how many it
 * used so the rest goes back. A block counts fully while open (a dead holder's block is taken as spent) and
 * leaves the window an hour after its last possible request.
 */
export class DatabaseBudget implements RequestBudget {
  /** `near`: reserved after Bitbucket said NearLimit. */
  private block: { id: string; size: number; used: number; until: number; near: boolean } | undefined;
  private queue: Promise<void> = Promise.resolve();
  private serverLimit = Number.POSITIVE_INFINITY;
  private nearLimit = false;
  private idle: NodeJS.Timeout | undefined;
  private readonly credential: string;
  private readonly windowMs: number;
  private readonly marginMs: number;

  constructor(private readonly options: DatabaseBudgetOptions) {
    if (!(options.limitPerHour >= 1)) throw new RangeError("limitPerHour must be at least 1");
    this.credential = credentialHash(options.credentialKey);
    this.windowMs = options.windowMs ?? HOUR_MS;
    this.marginMs = options.marginMs ?? 1_000;
  }

  get limit(): number {
    return Math.min(this.options.limitPerHour, this.serverLimit);
  }

  acquire(): Promise<void> {
    const turn = this.queue.then(() => this.take());
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  record(feedback: BudgetFeedback = {}): void {
    if (feedback.nearLimit !== undefined) this.nearLimit = feedback.nearLimit;
    if (feedback.limit !== undefined && Number.isFinite(feedback.limit) && feedback.limit >= 1) {
      this.serverLimit = feedback.limit;
    }
  }

  /** Returns the unused rest of the current block now. */
  release(): Promise<void> {
    const turn = this.queue.then(() => this.close());
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async take(): Promise<void> {
    if (this.idle) clearTimeout(this.idle);
    for (;;) {
      this.options.signal?.throwIfAborted();
      const block = this.block;
      // Bitbucket says under 20% is left: a block held here goes back, so that reserve decides how the
      // rest is spent (evenly over the window, one request per block, when others spend from it too).
      if (this.nearLimit && block && !block.near) await this.close();
      // Half a second of the lease is kept back: a request must reach Bitbucket before the lease ends.
      else if (block && block.used < block.size && Date.now() < block.until - 500) {
        block.used++;
        this.idle = setTimeout(() => void this.release().catch(() => {}), this.options.idleReturnMs ?? 2_000);
        this.idle.unref();
        return;
      }
      await this.close();
      const wait = await this.reserve();
      if (wait > 0) await abortableSleep(Math.min(wait, this.options.pollMs ?? 2_000), this.options.signal);
    }
  }

  private async close(): Promise<void> {
    const block = this.block;
    if (!block) return;
    this.block = undefined;
    await this.options.pool.query(
      `UPDATE bitbridge.request_budget_blocks SET used = $2, held_until = least(held_until, now()) WHERE id = $1`,
      [block.id, block.used],
    );
  }

  /** Reserves a block, or says how long to wait before one can fit. */
  private async reserve(): Promise<number> {
    const client = await this.options.pool.connect();
    // The transaction's now() is later than this in real time, so a lease counted from here ends no later
    // than the one recorded, whatever the clocks say.
    const asked = Date.now();
    try {
      await client.query("BEGIN");
      await client.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [BUDGET_LOCK, this.credential]);
      const counted = `held_until > now() - make_interval(secs => $2)`;
      const seconds = (this.windowMs + this.marginMs) / 1000;
      const spent = await client.query<{ spent: string; free_in_ms: number | null }>(
        `SELECT coalesce(sum(coalesce(used, size)), 0) AS spent,
                extract(epoch FROM min(held_until) + make_interval(secs => $2) - now()) * 1000 AS free_in_ms
           FROM bitbridge.request_budget_blocks WHERE credential = $1 AND ${counted}`,
        [this.credential, seconds],
      );
      const left = this.limit - Number(spent.rows[0]?.spent ?? 0);
      if (left < 1) {
        await client.query("COMMIT");
        return Math.max(50, Math.ceil(spent.rows[0]?.free_in_ms ?? 1_000));
      }
      // NearLimit while this database counts more than a fifth left: another app spends from the credential.
      const shared = this.nearLimit && left > this.limit / 5;
      if (shared) {
        const last = await client.query<{ since_ms: number | null }>(
          `SELECT (extract(epoch FROM now() - max(taken_at)) * 1000)::float8 AS since_ms
             FROM bitbridge.request_budget_blocks WHERE credential = $1`,
          [this.credential],
        );
        // No block yet: nothing to keep a distance from.
        const since = last.rows[0]?.since_ms ?? Number.POSITIVE_INFINITY;
        const gap = this.windowMs / this.limit;
        if (since < gap) {
          await client.query("COMMIT");
          return Math.max(1, Math.ceil(gap - since));
        }
      }
      const size = shared
        ? 1
        : Math.min(left, this.options.blockSize ?? Math.min(50, Math.max(1, Math.floor(this.limit / 20))));
      const leaseMs = this.options.leaseMs ?? 30_000;
      const row = await client.query<{ id: string }>(
        `INSERT INTO bitbridge.request_budget_blocks (credential, size, held_until, holder)
         VALUES ($1, $2, now() + make_interval(secs => $3), $4) RETURNING id`,
        [this.credential, size, leaseMs / 1000, `${hostname()} pid ${process.pid}`],
      );
      const id = (row.rows[0] as { id: string }).id;
      // Blocks out of every window are of no use; one reservation in 50 clears them.
      if (Number(id) % 50 === 0) {
        await client.query(
          "DELETE FROM bitbridge.request_budget_blocks WHERE held_until < now() - make_interval(secs => $1)",
          [seconds * 2],
        );
      }
      await client.query("COMMIT");
      this.block = { id, size, used: 0, until: asked + leaseMs, near: this.nearLimit };
      return 0;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }
}

/**
 * Budgets kept in the application database, one per credential asked for (a run's clients); waits end when
 * `signal` aborts, and `release` returns what they reserved and did not use.
 */
export function sharedBudgets(
  pool: pg.Pool,
  signal?: AbortSignal,
): BudgetProvider & { release(): Promise<void> } {
  const made: DatabaseBudget[] = [];
  return {
    for: (credentialKey, limitPerHour) => {
      const budget = new DatabaseBudget({ pool, credentialKey, limitPerHour, ...(signal && { signal }) });
      made.push(budget);
      return budget;
    },
    release: async () => {
      await Promise.all(made.map((b) => b.release()));
    },
  };
}

function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** A budget that never waits (for tests and for endpoints outside the budget). */
export const unlimitedBudget: RequestBudget = {
  acquire: async () => undefined,
  record: () => undefined,
};

// ---------------------------------------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------------------------------------

export type Limiter = <T>(task: () => Promise<T>) => Promise<T>;

/** Runs at most `n` tasks at once; the others wait their turn, in order. */
export function limit(n: number): Limiter {
  if (!(Number.isInteger(n) && n >= 1))
    throw new RangeError("the concurrency limit must be a whole number >= 1");
  let active = 0;
  const waiting: (() => void)[] = [];
  const release = () => {
    active--;
    const next = waiting.shift();
    if (next) {
      active++;
      next();
    }
  };
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active < n) active++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      release();
    }
  };
}

/**
 * Maps `items` with at most `concurrency` calls of `fn` running, results in input order. After the first
 * failure no new item starts; the running ones finish, then the first error is thrown.
 */
export async function pool<T, R>(
  items: Iterable<T>,
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) {
    throw new RangeError("the concurrency limit must be a whole number >= 1");
  }
  const list = [...items];
  const results = new Array<R>(list.length);
  let next = 0;
  let failed: { error: unknown } | undefined;
  const worker = async () => {
    while (failed === undefined && next < list.length) {
      const index = next++;
      try {
        results[index] = await fn(list[index] as T, index);
      } catch (error) {
        failed ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, list.length) }, worker));
  if (failed) throw failed.error;
  return results;
}
