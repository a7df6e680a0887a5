/**
 * A token bucket per OData user: the hourly allowance refills continuously and a burst of up to a
 * minute's worth (at least 60) may be spent at once. Per process: with several servers each enforces
 * the limit on what it sees.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  /** Takes one request; returns 0 when allowed, else the seconds until one is. */
  take(user: string, perHour: number, now = Date.now()): number {
    const capacity = Math.max(60, perHour / 60);
    const perMs = perHour / 3_600_000;
    const bucket = this.buckets.get(user) ?? { tokens: capacity, at: now };
    bucket.tokens = Math.min(capacity, bucket.tokens + (now - bucket.at) * perMs);
    bucket.at = now;
    this.buckets.set(user, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
  }
}
