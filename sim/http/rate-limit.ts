const WINDOW_MS = 3_600_000;

/**
 * Bitbucket's rolling one-hour request window, one per credential. Only requests that were served
 * count; a 429 does not use up budget.
 */
export class RateLimiter {
  private readonly windows = new Map<string, number[]>();

  constructor(public limitPerHour: number) {}

  /** Records the request when it fits; returns the requests left afterwards, or -1 when over the limit. */
  take(credentialId: string, now: number): number {
    const times = this.prune(credentialId, now);
    if (times.length >= this.limitPerHour) return -1;
    times.push(now);
    return this.limitPerHour - times.length;
  }

  used(credentialId: string, now: number): number {
    return this.prune(credentialId, now).length;
  }

  reset(): void {
    this.windows.clear();
  }

  private prune(credentialId: string, now: number): number[] {
    let times = this.windows.get(credentialId);
    if (!times) {
      times = [];
      this.windows.set(credentialId, times);
    }
    let drop = 0;
    while (drop < times.length && (times[drop] as number) <= now - WINDOW_MS) drop++;
    if (drop > 0) times.splice(0, drop);
    return times;
  }
}
