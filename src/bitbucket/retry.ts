/** Time, backoff and transient-failure helpers shared by the API client and the OAuth token calls. */

export type Sleep = (ms: number) => Promise<void>;
/** Epoch milliseconds. */
export type Clock = () => number;
export type Log = (line: string) => void;

export const realSleep: Sleep = (ms) =>
  new Promise((resolve) => {
    setTimeout(resolve, Math.max(0, ms));
  });

export const DEFAULT_MAX_ATTEMPTS = 5;
export const BACKOFF_BASE_MS = 1_000;
export const BACKOFF_CAP_MS = 60_000;

/** Statuses worth another try: rate limits and the gateway-style server errors. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);

/**
 * Exponential backoff with full jitter: a uniform draw from [0, min(cap, base * 2^(retry-1))]. `retry` counts
 * from 1 (the first retry).
 */
export function backoffDelay(
  retry: number,
  random: () => number = Math.random,
  baseMs = BACKOFF_BASE_MS,
  capMs = BACKOFF_CAP_MS,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * ceiling);
}

/** `Retry-After` as milliseconds from `now`: delta seconds or an HTTP date. Undefined when absent or bad. */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (text === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** Thrown inside the transport for failures that are worth a retry (network, cut bodies, timeouts). */
export class TransientError extends Error {
  constructor(
    message: string,
    readonly kind: "network" | "timeout" | "truncated",
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "TransientError";
  }
}

/** A short, secret-free description of a fetch failure: `connection reset (ECONNRESET)`, ... */
export function describeNetworkError(error: unknown): string {
  const codes: string[] = [];
  let e: unknown = error;
  for (let depth = 0; depth < 5 && e instanceof Error; depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === "string") codes.push(code);
    e = (e as { cause?: unknown }).cause;
  }
  const code = codes.find((c) => !c.startsWith("UND_ERR")) ?? codes[0];
  switch (code) {
    case "ECONNRESET":
      return "connection reset (ECONNRESET)";
    case "ECONNREFUSED":
      return "connection refused (ECONNREFUSED): is Url right and the server up?";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `host not found (${code}): check Url`;
    case "ETIMEDOUT":
    case "UND_ERR_CONNECT_TIMEOUT":
      return `connection timed out (${code})`;
    case "UND_ERR_SOCKET":
      return "connection closed by the server (UND_ERR_SOCKET)";
    default: {
      const message = error instanceof Error ? error.message : String(error);
      return code ? `${message} (${code})` : message;
    }
  }
}
