/**
 * "Did you mean ...?" for keywords, tables and columns. Names are compared case-insensitively and
 * ignoring `_`, `-` and spaces (so `content_raw` finds `ContentRaw` and `PullRequests` finds
 * `[Pull Requests]`), by edit distance counting a swap of two neighbours as one edit (`FORM` → `FROM`).
 */

/**
 * The candidate closest to `name`, or undefined when none is close enough. By default a name of three
 * or more characters may be off by one edit per three characters (at least one); shorter names must
 * match exactly after normalising. Ties go to the earlier candidate. A candidate equal to `name`
 * apart from case or separators is returned too (distance 0): callers decide what that means.
 */
export function closest(
  name: string,
  candidates: Iterable<string>,
  maxDistance?: number,
): string | undefined {
  const wanted = normalise(name);
  if (wanted === "") return undefined;
  const limit = maxDistance ?? (wanted.length <= 2 ? 0 : Math.max(1, Math.floor(wanted.length / 3)));
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const normalised = normalise(candidate);
    if (normalised === "") continue;
    if (Math.abs(normalised.length - wanted.length) > limit) continue;
    const distance = editDistance(wanted, normalised);
    if (distance <= limit && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Edits (insert, delete, substitute, swap two neighbours) turning `a` into `b`; case-sensitive. */
export function editDistance(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  // Three rows of the dynamic-programming table: two back (for swaps), previous and current.
  let before: number[] = [];
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const current = [i];
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let value = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) {
        value = Math.min(value, (before[j - 2] ?? 0) + 1);
      }
      current.push(value);
    }
    before = previous;
    previous = current;
  }
  return previous[y.length] ?? 0;
}

function normalise(name: string): string {
  return name.toLowerCase().replace(/[_\s-]/g, "");
}
