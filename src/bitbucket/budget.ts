/**
 * Bitbucket's budget is a rolling one-hour window per credential (1,000 requests by default). The client
 * paces itself so it never reaches the limit: `acquire` waits until a request fits, instead of sending it and
 * collecting a 429. The interface is small on purpose: a later implementation keeps the window in PostgreSQL
 * so every worker shares it.
 */
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
export class BudgetRegistry {
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
