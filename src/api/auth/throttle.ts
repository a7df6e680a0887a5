/** Failures an address may make before it has to wait. */
const FREE_FAILURES = 5;
/** The longest wait, however many failures. */
const MAX_WAIT_MS = 5 * 60_000;
/** Failures older than this are forgotten. */
const FORGET_AFTER_MS = 60 * 60_000;

interface Record {
  failures: number;
  last: number;
  blockedUntil: number;
}

/**
 * Slows down password guessing per client address: after a few wrong logins each further attempt has
 * to wait, twice as long after every failure. In memory: it protects this process, which is the one the
 * attacker talks to; a success clears the address.
 */
export class LoginThrottle {
  private readonly records = new Map<string, Record>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Milliseconds `address` must still wait before it may try again (0: it may). */
  wait(address: string): number {
    const record = this.fresh(address);
    return record ? Math.max(0, record.blockedUntil - this.now()) : 0;
  }

  failed(address: string): void {
    const now = this.now();
    const record = this.fresh(address) ?? { failures: 0, last: now, blockedUntil: 0 };
    record.failures += 1;
    record.last = now;
    if (record.failures >= FREE_FAILURES)
      record.blockedUntil = now + Math.min(MAX_WAIT_MS, 1000 * 2 ** (record.failures - FREE_FAILURES));
    if (this.records.size > 10_000) this.sweep(now);
    this.records.set(address, record);
  }

  succeeded(address: string): void {
    this.records.delete(address);
  }

  private fresh(address: string): Record | undefined {
    const record = this.records.get(address);
    if (record && this.now() - record.last > FORGET_AFTER_MS) {
      this.records.delete(address);
      return undefined;
    }
    return record;
  }

  private sweep(now: number): void {
    for (const [address, record] of this.records)
      if (now - record.last > FORGET_AFTER_MS) this.records.delete(address);
  }
}
