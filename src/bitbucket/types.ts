/** What the rest of bitbridge sees of Bitbucket Cloud: a counted, paced, retrying JSON client. */

export type QueryParams = Readonly<Record<string, string | number | boolean | readonly string[] | undefined>>;

/** The paginated envelope (`size`, `page` and `previous` only on page-based lists). */
export interface Page<T = unknown> {
  readonly values: T[];
  readonly next?: string;
  readonly size?: number;
  readonly page?: number;
  readonly pagelen?: number;
}

export interface RequestCounts {
  /** HTTP requests sent, retries included. */
  readonly requests: number;
  readonly retries: number;
  /** Time spent waiting for the request budget, in milliseconds. */
  readonly throttledMs: number;
  /** Requests per endpoint template or path, for EXPLAIN and run results. */
  readonly byEndpoint: Readonly<Record<string, number>>;
}

export interface BitbucketClient {
  /** API base, e.g. `https://api.bitbucket.org/2.0`. */
  readonly baseUrl: string;
  /** One object. `path` is relative to the base (`/repositories/acme`) or an absolute URL. */
  get<T = unknown>(path: string, params?: QueryParams): Promise<T>;
  /**
   * Every page of a list, following `next` verbatim (never rebuilding it). Stops when the consumer
   * stops iterating, so `LIMIT` saves requests.
   */
  pages<T = unknown>(path: string, params?: QueryParams): AsyncIterable<Page<T>>;
  /** Counts so far; callers diff two snapshots to attribute requests to a query or a task. */
  counts(): RequestCounts;
}
