import type pg from "pg";
import type { Statements } from "./statement-lanes.js";

/** A count as SQL; tracked tables also come with the statements that tie it to a change version. */
export interface CountQuery {
  readonly plain: pg.QueryConfig;
  readonly tracked?: {
    /** The table, quoted and qualified: what the version statements name. */
    readonly relation: string;
    /** The count and, read in the same snapshot, the table's change version (`n`, `v`); built on a miss. */
    readonly withVersion: () => pg.QueryConfig;
    /** The table's change version alone (`v`). */
    readonly version: pg.QueryConfig;
  };
}

/** Statement errors meaning the change versions cannot be read here (removed, or not granted to this role). */
const UNREADABLE = new Set(["42883", "3F000", "42P01", "42501"]);

interface Counted {
  readonly count: number;
  /** The change version the count was read at (null: not tracked after all). */
  readonly version: string | null;
}

/**
 * Counts remembered by the change version they were read at (see change-versions.ts). A repeated count
 * costs one indexed read of the version while the table is unchanged, instead of a scan that grows with
 * the table; any committed change, anyone's, makes the next request count again. Requests that arrive
 * while the same count runs wait for it instead of starting their own, and take its answer when the
 * version they read on arrival is the one it was counted at (so no answer predates its request's data).
 * Entries are evicted least recently used first.
 */
export class CountCache {
  private readonly entries = new Map<string, { version: string; count: number }>();
  private readonly running = new Map<string, Promise<Counted>>();
  /** Relations whose versions could not be read, until when they are counted plainly (a minute on). */
  private readonly unreadable = new Map<string, number>();

  constructor(private readonly maxEntries = 1000) {}

  /**
   * The count remembered for `query` and the version it was read at, if any: for a caller that reads the
   * table's version in a statement of its own (a page's) and then needs no `count` when it matches.
   */
  remembered(query: CountQuery): { readonly version: string; readonly count: number } | undefined {
    if (!this.readable(query)) return undefined;
    const key = keyOf(query);
    const entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  /**
   * Whether `error`, from a statement that read `query`'s table version, means the versions cannot be read
   * here; if so the table is counted plainly for a minute, as `count` does on the same error.
   */
  versionsUnreadable(query: CountQuery, error: unknown): boolean {
    if (!query.tracked || !UNREADABLE.has((error as { code?: string }).code ?? "")) return false;
    this.unreadable.set(query.tracked.relation, Date.now() + 60_000);
    return true;
  }

  private readable(query: CountQuery): boolean {
    return query.tracked !== undefined && (this.unreadable.get(query.tracked.relation) ?? 0) <= Date.now();
  }

  async count(db: Statements, query: CountQuery): Promise<number> {
    const tracked = query.tracked;
    if (!tracked || !this.readable(query)) return plainCount(db, query);
    const key = keyOf(query);
    try {
      if (this.entries.has(key) || this.running.has(key)) {
        const current = (await db.query<{ v: string | null }>(tracked.version)).rows[0]?.v ?? null;
        const entry = this.entries.get(key);
        if (current !== null && entry?.version === current) {
          this.entries.delete(key);
          this.entries.set(key, entry);
          return entry.count;
        }
        const running = this.running.get(key);
        const shared = running ? await running.catch(() => undefined) : undefined;
        if (current !== null && shared?.version === current) return shared.count;
      }
      const started = this.countWithVersion(db, tracked.withVersion(), key);
      this.running.set(key, started);
      const forget = () => {
        if (this.running.get(key) === started) this.running.delete(key);
      };
      started.then(forget, forget);
      return (await started).count;
    } catch (error) {
      if (!this.versionsUnreadable(query, error)) throw error;
      return plainCount(db, query);
    }
  }

  private async countWithVersion(db: Statements, statement: pg.QueryConfig, key: string): Promise<Counted> {
    const row = (await db.query<{ n: string; v: string | null }>(statement)).rows[0];
    const counted = { count: Number(row?.n ?? 0), version: row?.v ?? null };
    if (counted.version !== null) this.remember(key, { version: counted.version, count: counted.count });
    return counted;
  }

  private remember(key: string, entry: { version: string; count: number }): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, entry);
  }
}

export async function plainCount(db: Statements, query: CountQuery): Promise<number> {
  const result = await db.query<{ n: string }>(query.plain);
  return Number(result.rows[0]?.n ?? 0);
}

function keyOf(query: CountQuery): string {
  return `${query.plain.text}\0${JSON.stringify(query.plain.values ?? [], bigintAsText)}`;
}

function bigintAsText(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? `${value}n` : value;
}
