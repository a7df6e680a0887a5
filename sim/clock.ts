/**
 * The simulator's notion of "now". Tests advance it instead of sleeping, so token expiry,
 * rate-limit windows and `updated_on` values move under their control.
 */
export class SimClock {
  private offsetMs = 0;

  constructor(private readonly base: () => number = Date.now) {}

  now(): number {
    return this.base() + this.offsetMs;
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError("the clock only moves forward");
    this.offsetMs += ms;
  }

  reset(): void {
    this.offsetMs = 0;
  }
}

/** Bitbucket's timestamp style for most objects: microseconds and an explicit +00:00 offset. */
export function bitbucketTimestamp(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 23)}000+00:00`;
}

/** Git dates (commits, tags) carry whole seconds only. */
export function gitTimestamp(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}+00:00`;
}
