export type Json = Record<string, unknown>;

const MAX_FORMS = 4;

/**
 * One API object plus its serialised forms. Pages are assembled from cached JSON strings, which is
 * what keeps the simulator far ahead of the connector in benchmarks; any change goes through
 * `replace`, which drops the cache.
 */
export class Entity {
  private cached: Json | undefined;
  // Allocated on first use: most entities are serialised in one form only, and there are millions.
  private bytesByHidden: Map<string, Buffer> | undefined;

  /**
   * @param build produces the API object; called again only after `replace` or when `retain` is false
   * @param retain keep the built object in memory (false for bulky immutable objects such as commits)
   */
  constructor(
    private build: () => Json,
    private readonly retain = true,
    /** A faster producer of `JSON.stringify(build())`, for bulky objects served in bulk. */
    private readonly serialize?: () => string,
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
    return this.bytes(hidden).toString("utf8");
  }

  /** The same as UTF-8 bytes, cached: pages are concatenated from these without re-encoding. */
  bytes(hidden: readonly string[] = []): Buffer {
    const key = hidden.length === 0 ? "" : hidden.join(",");
    this.bytesByHidden ??= new Map();
    let bytes = this.bytesByHidden.get(key);
    if (bytes === undefined) {
      const text =
        hidden.length > 0
          ? JSON.stringify(withoutPaths(this.value, hidden))
          : this.serialize
            ? this.serialize()
            : JSON.stringify(this.value);
      bytes = Buffer.from(text);
      this.bytesByHidden.set(key, bytes);
    }
    return bytes;
  }

  /**
   * Another serialised form (e.g. one `fields=` projection), cached beside the hidden-path forms: a
   * connector pages through the same projection of every item, and rebuilding it per request made the
   * simulator, not the connector, the bottleneck. Only a few forms are kept per entity, so arbitrary
   * `fields=` values cannot grow memory without bound.
   */
  form(key: string, render: () => string): Buffer {
    this.bytesByHidden ??= new Map();
    const cached = this.bytesByHidden.get(key);
    if (cached !== undefined) return cached;
    const bytes = Buffer.from(render());
    if (this.bytesByHidden.size < MAX_FORMS) this.bytesByHidden.set(key, bytes);
    return bytes;
  }

  replace(value: Json): void {
    if (this.serialize) throw new Error("entities with a custom serialiser are immutable");
    this.build = () => value;
    this.cached = value;
    this.bytesByHidden = undefined;
  }

  /** Drop caches so that the next read rebuilds from the builder (for objects derived from live state). */
  invalidate(): void {
    this.cached = undefined;
    this.bytesByHidden = undefined;
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
