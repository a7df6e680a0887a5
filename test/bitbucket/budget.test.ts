import { describe, expect, it } from "vitest";
import { migrate } from "../../src/app/database.js";
import {
  BudgetRegistry,
  credentialHash,
  DatabaseBudget,
  type DatabaseBudgetOptions,
  HOUR_MS,
  limit,
  pool,
  RollingWindowBudget,
} from "../../src/bitbucket/budget.js";
import { backoffDelay, parseRetryAfter } from "../../src/bitbucket/retry.js";
import { encodeQuery, endpointKey, resolveUrl } from "../../src/bitbucket/urls.js";
import { useTestDatabase } from "../support/postgres.js";
import { fakeTime, rejection } from "./helpers.js";

const db = await useTestDatabase("budget");
await migrate(db.pool);

describe("RollingWindowBudget", () => {
  it("lets the limit through at once, then waits for the oldest request to leave the window", async () => {
    const time = fakeTime();
    const budget = new RollingWindowBudget({
      limitPerHour: 3,
      now: time.now,
      sleep: time.sleep,
      marginMs: 0,
    });
    const start = time.now();
    for (let i = 0; i < 3; i++) await budget.acquire();
    expect(time.sleeps).toEqual([]);
    expect(budget.used()).toBe(3);
    await budget.acquire();
    expect(time.sleeps).toEqual([HOUR_MS]);
    expect(time.now() - start).toBe(HOUR_MS);
    // The first three were sent at the same instant, so they all left together.
    expect(budget.used()).toBe(1);
  });

  it("keeps a rolling window, not a fixed hour", async () => {
    const time = fakeTime();
    const budget = new RollingWindowBudget({
      limitPerHour: 2,
      now: time.now,
      sleep: time.sleep,
      marginMs: 500,
    });
    await budget.acquire();
    await time.sleep(600_000);
    await budget.acquire();
    time.sleeps.length = 0;
    await budget.acquire(); // waits for the first: 50 minutes + margin
    expect(time.sleeps).toEqual([HOUR_MS - 600_000 + 500]);
    time.sleeps.length = 0;
    await budget.acquire(); // then for the second
    expect(time.sleeps).toEqual([600_000]);
  });

  it("serves concurrent waiters in order without overshooting", async () => {
    const time = fakeTime();
    const budget = new RollingWindowBudget({
      limitPerHour: 2,
      now: time.now,
      sleep: time.sleep,
      marginMs: 0,
    });
    const order: number[] = [];
    await Promise.all([1, 2, 3, 4, 5].map((i) => budget.acquire().then(() => order.push(i))));
    expect(order).toEqual([1, 2, 3, 4, 5]);
    expect(budget.used()).toBeLessThanOrEqual(2);
  });

  it("spreads the rest of the budget once Bitbucket says NearLimit, and adopts a lower announced limit", async () => {
    const time = fakeTime();
    const budget = new RollingWindowBudget({
      limitPerHour: 100,
      now: time.now,
      sleep: time.sleep,
      marginMs: 0,
    });
    await budget.acquire();
    await budget.acquire();
    expect(time.sleeps).toEqual([]);
    budget.record({ nearLimit: true, limit: 60 });
    expect(budget.limit).toBe(60);
    await budget.acquire();
    expect(time.sleeps).toEqual([HOUR_MS / 60]);
    budget.record({ nearLimit: false });
    await budget.acquire();
    expect(time.sleeps).toHaveLength(1);
  });
});

describe("limit and pool", () => {
  it("limit(n) never runs more than n tasks", async () => {
    const run = limit(2);
    let active = 0;
    let peak = 0;
    const task = async (i: number) => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 5));
      active--;
      return i;
    };
    expect(await Promise.all([1, 2, 3, 4, 5].map((i) => run(() => task(i))))).toEqual([1, 2, 3, 4, 5]);
    expect(peak).toBe(2);
    expect(() => limit(0)).toThrow(RangeError);
  });

  it("pool keeps order, caps concurrency and stops after a failure", async () => {
    let active = 0;
    let peak = 0;
    const out = await pool([5, 1, 3, 2], 3, async (x, i) => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, x));
      active--;
      return x * 10 + i;
    });
    expect(out).toEqual([50, 11, 32, 23]);
    expect(peak).toBe(3);

    const started: number[] = [];
    const error = await rejection(
      pool([1, 2, 3, 4, 5, 6], 2, async (x) => {
        started.push(x);
        if (x === 2) throw new Error("boom");
        await new Promise((r) => setTimeout(r, 2));
        return x;
      }),
    );
    expect(error.message).toBe("boom");
    expect(started.length).toBeLessThan(6);
  });
});

describe("backoff and Retry-After", () => {
  it("draws full jitter under an exponential ceiling", () => {
    expect([1, 2, 3, 4, 10].map((n) => backoffDelay(n, () => 0.999999))).toEqual([
      999, 1999, 3999, 7999, 59999,
    ]);
    expect(backoffDelay(3, () => 0)).toBe(0);
  });

  it("reads seconds and HTTP dates", () => {
    const now = Date.parse("2026-09-01T12:00:00Z");
    expect(parseRetryAfter("7", now)).toBe(7000);
    expect(parseRetryAfter("Tue, 01 Sep 2026 12:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Tue, 01 Sep 2026 11:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe("URLs", () => {
  it("encodes queries: arrays repeat, + becomes %2B, undefined is dropped", () => {
    expect(
      encodeQuery({
        state: ["OPEN", "MERGED"],
        fields: "+values.user.email,-links",
        q: 'updated_on>2026-01-01T00:00:00 AND title ~ "a&b"',
        pagelen: 50,
        active: true,
        skip: undefined,
      }),
    ).toBe(
      "state=OPEN&state=MERGED&fields=%2Bvalues.user.email%2C-links&" +
        "q=updated_on%3E2026-01-01T00%3A00%3A00%20AND%20title%20~%20%22a%26b%22&pagelen=50&active=true",
    );
  });

  it("resolves paths against the base and keeps next links verbatim on the same origin only", () => {
    const base = "https://api.bitbucket.org/2.0";
    expect(resolveUrl(base, "/repositories/acme", { pagelen: 10 })).toBe(
      "https://api.bitbucket.org/2.0/repositories/acme?pagelen=10",
    );
    expect(resolveUrl(base, "user")).toBe("https://api.bitbucket.org/2.0/user");
    const next = "https://api.bitbucket.org/2.0/repositories/acme/web/commits?ctx=AbC%2B1&page=x";
    expect(resolveUrl(base, next)).toBe(next);
    expect(() => resolveUrl(base, "https://evil.example/2.0/user")).toThrow(/Refusing to send credentials/);
  });

  it("keys endpoints with identifiers stripped", () => {
    const base = "https://api.bitbucket.org/2.0";
    const key = (p: string) => endpointKey(base, `${base}${p}?page=2`);
    expect(key("/repositories/acme/web/pullrequests")).toBe("/repositories/{w}/{r}/pullrequests");
    expect(key("/repositories/acme/commits/commits")).toBe("/repositories/{w}/{r}/commits");
    expect(key("/repositories/acme/web/pullrequests/12/comments/99")).toBe(
      "/repositories/{w}/{r}/pullrequests/{id}/comments/{id}",
    );
    expect(key("/repositories/acme/web/refs/branches/feature/x")).toBe(
      "/repositories/{w}/{r}/refs/branches/{id}",
    );
    expect(key("/repositories/%7Bws-uuid%7D/%7Brepo%7D/pipelines/%7Bp%7D/steps")).toBe(
      "/repositories/{w}/{r}/pipelines/{id}/steps",
    );
    expect(key("/workspaces/acme/projects/PRJ")).toBe("/workspaces/{w}/projects/{project}");
    expect(key("/user/workspaces")).toBe("/user/workspaces");
    expect(key("/user")).toBe("/user");
  });
});

describe("BudgetRegistry", () => {
  it("hands the same budget to the same credential", () => {
    const registry = new BudgetRegistry();
    const a = registry.for("api_token:jane@example.com", 10);
    expect(registry.for("api_token:jane@example.com", 99)).toBe(a);
    expect(registry.for("oauth:abc", 10)).not.toBe(a);
  });
});

describe("DatabaseBudget", () => {
  let n = 0;
  /** Options of a fresh credential with a limit of 10 and blocks of 3; each budget made from them is a holder (a process). */
  const credential = (options: Partial<DatabaseBudgetOptions> = {}): DatabaseBudgetOptions => ({
    pool: db.pool,
    credentialKey: `api_token:budget-${++n}@example.com`,
    limitPerHour: 10,
    blockSize: 3,
    pollMs: 20,
    ...options,
  });
  const spent = async (options: DatabaseBudgetOptions) =>
    Number(
      (
        await db.pool.query<{ n: string }>(
          "SELECT coalesce(sum(coalesce(used, size)), 0) AS n FROM bitbridge.request_budget_blocks WHERE credential = $1",
          [credentialHash(options.credentialKey)],
        )
      ).rows[0]?.n,
    );
  /** A new holder takes all it can within `ms`, then gives back its rest; returns how many it got. */
  const drain = async (options: DatabaseBudgetOptions, ms = 400) => {
    const holder = new DatabaseBudget({ ...options, signal: AbortSignal.timeout(ms) });
    let got = 0;
    try {
      for (;;) {
        await holder.acquire();
        got++;
      }
    } catch {
      // the signal ended the wait for budget
    }
    await holder.release();
    return got;
  };

  it("shares one limit between holders, in blocks, and stores only a hash of the credential", async () => {
    const options = credential();
    const a = new DatabaseBudget(options);
    const b = new DatabaseBudget(options);
    for (let i = 0; i < 4; i++) {
      await a.acquire();
      await b.acquire();
    }
    // 8 sent: blocks of 3 for a, b, a, then only 1 was left for b's second block; none is free now.
    const blocks = await db.pool.query<{ size: number }>(
      "SELECT size FROM bitbridge.request_budget_blocks WHERE credential = $1 ORDER BY id",
      [credentialHash(options.credentialKey)],
    );
    expect(blocks.rows.map((r) => r.size)).toEqual([3, 3, 3, 1]);
    expect(await drain(options)).toBe(0);
    await a.release();
    await b.release();
    expect(await spent(options)).toBe(8);
    expect(await drain(options)).toBe(2);
    expect(await spent(options)).toBe(10);
    const named = await db.pool.query(
      "SELECT 1 FROM bitbridge.request_budget_blocks WHERE credential LIKE '%@%' OR credential LIKE '%budget%'",
    );
    expect(named.rowCount).toBe(0);
  });

  it("gives back what an idle holder reserved and did not use", async () => {
    const options = credential({ idleReturnMs: 50 });
    const a = new DatabaseBudget(options);
    await a.acquire();
    expect(await spent(options)).toBe(3);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await spent(options)).toBe(1);
    expect(await drain(options)).toBe(9);
  });

  it("counts a dead holder's block in full until it leaves the window; an expired lease is not used", async () => {
    const options = credential({ leaseMs: 600, windowMs: 1500, marginMs: 0, idleReturnMs: 60_000 });
    const a = new DatabaseBudget(options);
    await a.acquire(); // then a dies: its block of 3 is never closed
    expect(await drain(options)).toBe(7);
    await new Promise((resolve) => setTimeout(resolve, 700));
    // a's lease ended: a needs a new block rather than sending its 2 left, and none is free.
    const late = new DatabaseBudget({ ...options, signal: AbortSignal.timeout(200) });
    expect((await rejection(late.acquire())).name).toBe("TimeoutError");
    expect(await spent(options)).toBe(10);
    // An hour (here 1.5 s) after their last possible request, the blocks leave the window.
    await new Promise((resolve) => setTimeout(resolve, 1600));
    expect(await drain(options)).toBe(10);
  });

  it("when Bitbucket says NearLimit and this database counts more left, spreads the rest evenly across every holder", async () => {
    // Another app spends from the credential. 20 an "hour" of 2 s: one request per 100 ms once near the limit.
    const options = credential({ limitPerHour: 20, windowMs: 2000, marginMs: 0, blockSize: 5 });
    const a = new DatabaseBudget(options);
    const b = new DatabaseBudget(options);
    await a.acquire();
    for (const holder of [a, b]) holder.record({ nearLimit: true });
    for (let i = 0; i < 4; i++) {
      await a.acquire();
      await b.acquire();
    }
    const blocks = await db.pool.query<{ size: number; used: number | null; gap_ms: number | null }>(
      `SELECT size, used, (extract(epoch FROM taken_at - lag(taken_at) OVER (ORDER BY id)) * 1000)::float8 AS gap_ms
         FROM bitbridge.request_budget_blocks WHERE credential = $1 ORDER BY id`,
      [credentialHash(options.credentialKey)],
    );
    // a's block of 5 went back with 1 used; then 8 blocks of 1, each at least 100 ms after the one before.
    expect(blocks.rows[0]).toMatchObject({ size: 5, used: 1 });
    const spread = blocks.rows.slice(1);
    expect(spread.map((r) => r.size)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    for (const r of spread.slice(1)) expect(r.gap_ms).toBeGreaterThanOrEqual(99);
    // When Bitbucket no longer says so, blocks are whole again.
    a.record({ nearLimit: false });
    await a.release();
    await a.acquire();
    await a.acquire();
    const last = await db.pool.query<{ size: number }>(
      "SELECT size FROM bitbridge.request_budget_blocks WHERE credential = $1 ORDER BY id DESC LIMIT 1",
      [credentialHash(options.credentialKey)],
    );
    expect(last.rows[0]?.size).toBe(5);
    await a.release();
    await b.release();
  });

  it("when its own count explains NearLimit, keeps spending in blocks: the count is exact", async () => {
    const options = credential({ limitPerHour: 10, blockSize: 4 });
    const a = new DatabaseBudget(options);
    for (let i = 0; i < 8; i++) await a.acquire();
    a.record({ nearLimit: true });
    const started = Date.now();
    await a.acquire();
    await a.acquire();
    expect(Date.now() - started).toBeLessThan(3000);
    await a.release();
    expect(await spent(options)).toBe(10);
    expect(await drain(options)).toBe(0);
  });

  it("ends a wait for budget when its signal aborts", async () => {
    const options = credential();
    expect(await drain(options)).toBe(10);
    const controller = new AbortController();
    const waiting = new DatabaseBudget({ ...options, signal: controller.signal });
    const pending = waiting.acquire();
    setTimeout(() => controller.abort(new Error("cancelled")), 100);
    expect((await rejection(pending)).message).toBe("cancelled");
  });
});
