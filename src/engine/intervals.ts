import type { IntervalUnit } from "../sql/replicate-options.js";

/** `at` plus `n` units in UTC; months and years keep the day of the month where it exists (Jan 31 + 1 month = Feb 28/29). */
export function addInterval(at: Date, n: number, unit: IntervalUnit): Date {
  const d = new Date(at.getTime());
  switch (unit) {
    case "minutes":
      return new Date(d.getTime() + n * 60_000);
    case "hours":
      return new Date(d.getTime() + n * 3_600_000);
    case "days":
      return new Date(d.getTime() + n * 86_400_000);
    case "weeks":
      return new Date(d.getTime() + n * 7 * 86_400_000);
    case "months":
    case "years": {
      const months = unit === "months" ? n : n * 12;
      const day = d.getUTCDate();
      d.setUTCDate(1);
      d.setUTCMonth(d.getUTCMonth() + months);
      const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
      d.setUTCDate(Math.min(day, last));
      return d;
    }
  }
}
