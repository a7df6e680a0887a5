const COUNT = new Intl.NumberFormat("en-US");

export function count(n: number | null | undefined): string {
  return n === null || n === undefined ? "–" : COUNT.format(n);
}

/** `8.2 s`, `3 min 5 s`: how long a run took. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "–";
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** A moment in the browser's time zone, or in `timeZone` (a schedule's), named then. */
export function dateTime(iso: string | null | undefined, timeZone?: string): string {
  if (!iso) return "–";
  // dateStyle and timeStyle cannot be combined with timeZoneName: spelled out instead.
  return new Date(iso).toLocaleString("en-GB", {
    day: "numeric",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    ...(timeZone && { timeZone, timeZoneName: "short" }),
  });
}

/** The end-of-run message, the CLI's wording. */
export function runSummary(run: { rowsRead: number; durationMs: number | null }): string {
  return `Replicated ${count(run.rowsRead)} rows in ${duration(run.durationMs)}`;
}
