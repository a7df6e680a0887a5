export type Json = Record<string, unknown>;

/**
 * One API object plus its serialised forms. Pages are assembled from cached JSON strings, which is
 * what keeps the simulator far ahead of the connector in benchmarks; any change goes through
 * `replace`, which drops the cache.
 */
export class Entity {
  private cached: Json | undefined;
  // Allocated on first use: most entities are serialised in one form only, and there are millions.
  private jsonByHidden: Map<string, string> | undefined;

  /**
   * @param build produces the API object; called again only after `replace` or when `retain` is false
   * @param retain keep the built object in memory (false for bulky immutable objects such as commits)
   */
  constructor(
    private build: () => Json,
    private readonly retain = true,
  ) {}

  static of(value: Json): Entity {
    const entity = new Entity(() => value);
    entity.cached = value;
    return entity;
  }

  get value(): Json {
    if (this.cached) return this.cached;
    const value = this.build();
    if (this.retain) this.cached = value;
    return value;
  }

  /** The object serialised without the given item-relative hidden paths (e.g. `participants`, `user.email`). */
  json(hidden: readonly string[] = []): string {
    const key = hidden.length === 0 ? "" : hidden.join(",");
    this.jsonByHidden ??= new Map();
    let text = this.jsonByHidden.get(key);
    if (text === undefined) {
      text = JSON.stringify(hidden.length === 0 ? this.value : withoutPaths(this.value, hidden));
      this.jsonByHidden.set(key, text);
    }
    return text;
  }

  replace(value: Json): void {
    this.build = () => value;
    this.cached = value;
    this.jsonByHidden = undefined;
  }

  /** Drop caches so that the next read rebuilds from the builder (for objects derived from live state). */
  invalidate(): void {
    this.cached = undefined;
    this.jsonByHidden = undefined;
  }
}

/** A copy of `value` without the dotted paths; arrays on the way are walked element by element. */
export function withoutPaths(value: unknown, paths: readonly string[]): unknown {
  let result = value;
  for (const path of paths) result = without(result, path.split("."));
  return result;
}

function without(value: unknown, segments: readonly string[]): unknown {
  if (Array.isArray(value)) return value.map((item) => without(item, segments));
  if (value === null || typeof value !== "object" || segments.length === 0) return value;
  const [head, ...rest] = segments as [string, ...string[]];
  if (!Object.hasOwn(value, head)) return value;
  const copy: Json = { ...(value as Json) };
  if (rest.length === 0) delete copy[head];
  else copy[head] = without(copy[head], rest);
  return copy;
}
