/** Field access shared by filtering and sorting. Only own properties count, so `constructor` is not a field. */
export function getField(value: unknown, key: string): unknown {
  if (value === null || typeof value !== "object") return undefined;
  return Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
}

/** Which fields a query or sort may name: a set of dotted paths or a predicate. Omitted = any field. */
export type FieldFilter = ReadonlySet<string> | ((path: string) => boolean);

export function isFieldAllowed(fields: FieldFilter | undefined, path: string): boolean {
  if (fields === undefined) return true;
  return typeof fields === "function" ? fields(path) : fields.has(path);
}
