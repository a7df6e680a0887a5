/**
 * Field access shared by filtering and sorting. Only own properties count, so `constructor` or `__proto__` is
 * not a field; JSON values are never functions, so the own-property check runs only for inherited members.
 */
export function getField(value: unknown, key: string): unknown {
  if (value === null || typeof value !== "object") return undefined;
  const field = (value as Record<string, unknown>)[key];
  if (typeof field === "function" || field === Object.prototype) {
    return Object.hasOwn(value, key) ? field : undefined;
  }
  return field;
}

/** Which fields a query or sort may name: a set of dotted paths or a predicate. Omitted = any field. */
export type FieldFilter = ReadonlySet<string> | ((path: string) => boolean);

export function isFieldAllowed(fields: FieldFilter | undefined, path: string): boolean {
  if (fields === undefined) return true;
  return typeof fields === "function" ? fields(path) : fields.has(path);
}
