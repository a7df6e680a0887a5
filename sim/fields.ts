/**
 * Bitbucket's partial responses: the `fields=` query parameter, applied to a whole response body (a paginated
 * envelope or a single object), so paths start at the body: `values.id`, `links.self.href`.
 *
 * Rules, comma-separated, each a dotted path whose segments are keys or `*` (any one key at that level):
 * - `-path` removes the field.
 * - `+path` adds the field (also one that is hidden by default) and keeps everything else.
 * - a bare `path` switches to include-only mode: nothing is kept except the listed paths. That includes the
 *   envelope: `fields=values.id` drops `next`, `page`, `pagelen`, `size` and `previous`, as in the narrative's
 *   example, so a paging client asks for `fields=next,values.id`.
 *
 * Resolution, per field: the rule matching the deepest path (the field itself or an ancestor) decides; between
 * rules of equal depth the later one wins (`-*,+foo` keeps foo). A removed or unlisted field whose descendants
 * are named by a `+` or bare rule survives as a container holding just what the rules keep (`-links,+links.self`
 * gives `links: {self}`). Such a container keeps null values (an absent embedded object) but not other scalars.
 *
 * Arrays are transparent: path segments only name object keys, so `values.reviewers.uuid` applies to each
 * element of `values` and of every `reviewers` array.
 *
 * Hidden fields (e.g. `values.participants` on the pull request list) are given as dotted paths relative to the
 * body. They are removed unless a `+` or bare rule names them or one of their descendants, or a rule ending in
 * `*` covers them from an ancestor: `fields=*` and `values.*` reveal them, `fields=values` does not.
 *
 * Parsing does not trim: an unencoded `+` arrives as a space and, as on Bitbucket, `fields= values.x` names a
 * field " values" that matches nothing.
 */

export type FieldsOp = "include" | "add" | "remove";

export interface FieldRule {
  readonly op: FieldsOp;
  /** Path segments; `*` matches any key. */
  readonly path: readonly string[];
}

export interface FieldsSpec {
  /** In the order given; later rules win ties. */
  readonly rules: readonly FieldRule[];
  /** True when any rule is a bare path: unlisted fields are dropped. */
  readonly includeOnly: boolean;
}

/** The spec of an absent or empty `fields=` parameter. */
export const NO_FIELDS: FieldsSpec = Object.freeze({ rules: Object.freeze([]), includeOnly: false });

/** A malformed `fields=` value; `position` is the 0-based offset in it. The simulator answers 400. */
export class FieldsError extends Error {
  override readonly name = "FieldsError";

  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
  }
}

export function parseFields(spec: string): FieldsSpec {
  if (spec === "") return NO_FIELDS;
  const rules: FieldRule[] = [];
  let offset = 0;
  for (const item of spec.split(",")) {
    rules.push(parseRule(item, offset));
    offset += item.length + 1;
  }
  return { rules, includeOnly: rules.some((rule) => rule.op === "include") };
}

function parseRule(item: string, offset: number): FieldRule {
  const first = item[0];
  const op: FieldsOp = first === "+" ? "add" : first === "-" ? "remove" : "include";
  let position = offset + (op === "include" ? 0 : 1);
  const body = op === "include" ? item : item.slice(1);
  const path = body.split(".");
  for (const segment of path) {
    if (segment === "") {
      const what =
        body === "" && op === "include" ? "a field name (empty entry in the list)" : "a field name";
      throw new FieldsError(`Invalid fields parameter: expecting ${what} at position ${position}`, position);
    }
    if (segment !== "*" && segment.includes("*")) {
      throw new FieldsError(
        `Invalid fields parameter: '*' must stand alone as a field name, found '${segment}' at position ${position}`,
        position,
      );
    }
    if (segment[0] === "+" || segment[0] === "-") {
      throw new FieldsError(
        `Invalid fields parameter: unexpected '${segment[0]}' at position ${position}; '+' and '-' only prefix a whole path`,
        position,
      );
    }
    position += segment.length + 1;
  }
  return { op, path };
}

interface HiddenNode {
  /** This path itself is hidden. */
  hidden: boolean;
  readonly children: Map<string, HiddenNode>;
}

const hiddenTries = new WeakMap<readonly string[], HiddenNode>();

function hiddenTrie(paths: readonly string[]): HiddenNode {
  let root = hiddenTries.get(paths);
  if (root !== undefined) return root;
  root = { hidden: false, children: new Map() };
  for (const path of paths) {
    let node = root;
    for (const segment of path.split(".")) {
      let child = node.children.get(segment);
      if (child === undefined) {
        child = { hidden: false, children: new Map() };
        node.children.set(segment, child);
      }
      node = child;
    }
    node.hidden = true;
  }
  hiddenTries.set(paths, root);
  return root;
}

/** Where the walk stands at one field (shared by every element of an array there). */
interface State {
  /** Kept in full, as opposed to a container holding only what rules for its descendants keep. */
  readonly full: boolean;
  /** Rules that matched this field's path so far but name a descendant. */
  readonly pending: readonly FieldRule[];
  /** The rule deciding this field (matched it or an ancestor), if any. */
  readonly governing: FieldRule | undefined;
  readonly hidden: HiddenNode | undefined;
  readonly depth: number;
}

const DROP = Symbol("drop");

/**
 * Applies a parsed `fields=` spec and the resource's hidden paths to a response body. Returns the body itself
 * when there is nothing to do; otherwise a new value that may share untouched subtrees with the input (treat
 * both as immutable).
 */
export function applyFields(body: unknown, spec: FieldsSpec, hiddenPaths: readonly string[] = []): unknown {
  if ((spec.rules.length === 0 && hiddenPaths.length === 0) || body === null || typeof body !== "object") {
    return body;
  }
  const root: State = {
    full: !spec.includeOnly,
    pending: spec.rules,
    governing: undefined,
    hidden: hiddenPaths.length === 0 ? undefined : hiddenTrie(hiddenPaths),
    depth: 0,
  };
  return visit(body, root, spec.includeOnly);
}

function visit(value: unknown, state: State, includeOnly: boolean): unknown {
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const element of value) {
      const kept = visit(element, state, includeOnly);
      if (kept !== DROP) out.push(kept);
    }
    return out;
  }
  if (value === null || typeof value !== "object") return state.full || value === null ? value : DROP;
  if (
    state.full &&
    state.pending.length === 0 &&
    (state.hidden === undefined || state.hidden.children.size === 0)
  ) {
    return value;
  }
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    const childState = stateOf(key, state, includeOnly);
    if (childState === undefined) continue;
    const kept = visit(child, childState, includeOnly);
    if (kept !== DROP) out[key] = kept;
  }
  return out;
}

/** The state of field `key` below a field in `parent`, or undefined when the field is dropped outright. */
function stateOf(key: string, parent: State, includeOnly: boolean): State | undefined {
  const depth = parent.depth;
  let exact: FieldRule | undefined;
  let pending: FieldRule[] | undefined;
  let namesDescendant = false;
  for (const rule of parent.pending) {
    const segment = rule.path[depth];
    if (segment !== key && segment !== "*") continue;
    if (rule.path.length === depth + 1) {
      exact = rule;
    } else {
      if (pending === undefined) pending = [rule];
      else pending.push(rule);
      if (rule.op !== "remove") namesDescendant = true;
    }
  }
  const governing = exact ?? parent.governing;
  const hidden = parent.hidden?.children.get(key);
  const isHidden = hidden?.hidden === true;
  let full: boolean;
  if (governing === undefined) full = !includeOnly && !isHidden;
  else if (governing.op === "remove") full = false;
  else full = !isHidden || exact !== undefined || governing.path[governing.path.length - 1] === "*";
  if (!full && !namesDescendant) return undefined;
  return { full, pending: pending ?? [], governing, hidden, depth: depth + 1 };
}
