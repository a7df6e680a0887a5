import { describe, expect, it } from "vitest";
import { applyFields, FieldsError, NO_FIELDS, parseFields } from "../../sim/fields.js";

const user = (uuid: string) => ({
  type: "user",
  uuid,
  display_name: `User ${uuid}`,
  links: { self: { href: `u/${uuid}` }, avatar: { href: `a/${uuid}` } },
});

const pr = (id: number) => ({
  id,
  title: `PR ${id}`,
  state: "OPEN",
  author: user(`{a${id}}`),
  destination: { branch: { name: "main" }, repository: { uuid: "{r}", owner: user("{o}") } },
  reviewers: [user(`{r${id}}`)],
  participants: [{ role: "REVIEWER", approved: true, user: user(`{r${id}}`) }],
  closed_by: null,
  links: { self: { href: `p/${id}` }, html: { href: `h/${id}` } },
});

const page = () => ({ pagelen: 2, size: 3, page: 1, next: "n", values: [pr(1), pr(2)] });

const HIDDEN = ["values.reviewers", "values.participants", "values.destination.repository.owner"];

const apply = (body: unknown, spec: string, hidden: readonly string[] = []) =>
  applyFields(body, parseFields(spec), hidden);

describe("parseFields", () => {
  it("classifies rules and detects include-only mode", () => {
    expect(parseFields("-links,+values.reviewers")).toEqual({
      rules: [
        { op: "remove", path: ["links"] },
        { op: "add", path: ["values", "reviewers"] },
      ],
      includeOnly: false,
    });
    expect(parseFields("values.id,-values.*").includeOnly).toBe(true);
    expect(parseFields("*")).toEqual({ rules: [{ op: "include", path: ["*"] }], includeOnly: true });
    expect(parseFields("")).toBe(NO_FIELDS);
  });

  it("keeps spaces, so an unencoded '+' names a field that does not exist", () => {
    expect(parseFields(" values.reviewers").rules).toEqual([
      { op: "include", path: [" values", "reviewers"] },
    ]);
  });

  it("rejects malformed input with a position", () => {
    const cases: [string, number, RegExp][] = [
      ["a,,b", 2, /expecting a field name \(empty entry in the list\) at position 2/],
      ["a,", 2, /empty entry/],
      ["-", 1, /expecting a field name at position 1/],
      ["+", 1, /expecting a field name at position 1/],
      ["values..id", 7, /expecting a field name at position 7/],
      ["values.id.", 10, /expecting a field name at position 10/],
      ["-links,.x", 7, /position 7/],
      ["val*", 0, /'\*' must stand alone as a field name, found 'val\*' at position 0/],
      ["+-links", 1, /unexpected '-' at position 1/],
    ];
    for (const [spec, position, message] of cases) {
      let error: unknown;
      try {
        parseFields(spec);
      } catch (e) {
        error = e;
      }
      expect(error, spec).toBeInstanceOf(FieldsError);
      expect((error as FieldsError).position, spec).toBe(position);
      expect((error as FieldsError).message, spec).toMatch(message);
    }
  });
});

describe("applyFields", () => {
  it("returns the body itself when there is nothing to do", () => {
    const body = page();
    expect(applyFields(body, NO_FIELDS)).toBe(body);
    expect(applyFields(body, parseFields(""), [])).toBe(body);
    expect(apply("text", "values.id")).toBe("text");
  });

  it("removes fields with -", () => {
    const body = user("{u}");
    expect(apply(body, "-links")).toEqual({ type: "user", uuid: "{u}", display_name: "User {u}" });
    expect(apply(body, "-links.*")).toEqual({
      type: "user",
      uuid: "{u}",
      display_name: "User {u}",
      links: {},
    });
    expect(apply(body, "-links.avatar,-type")).toEqual({
      uuid: "{u}",
      display_name: "User {u}",
      links: { self: { href: "u/{u}" } },
    });
    expect(body.links.avatar).toBeDefined();
  });

  it("applies paths to every array element, at any depth", () => {
    const out = apply(
      page(),
      "-values.links,-values.author.links,-values.participants.user.links",
    ) as ReturnType<typeof page>;
    expect(out.next).toBe("n");
    expect(out.values).toHaveLength(2);
    for (const value of out.values) {
      expect(Object.keys(value)).not.toContain("links");
      expect(Object.keys(value.author)).toEqual(["type", "uuid", "display_name"]);
      expect(value.participants[0]).toEqual({
        role: "REVIEWER",
        approved: true,
        user: {
          type: "user",
          uuid: value.participants[0]?.user.uuid,
          display_name: value.participants[0]?.user.display_name,
        },
      });
      expect(value.reviewers[0]?.links).toBeDefined();
    }
  });

  it("keeps only the listed paths in include-only mode, envelope keys included", () => {
    expect(apply(page(), "values.id,values.state")).toEqual({
      values: [
        { id: 1, state: "OPEN" },
        { id: 2, state: "OPEN" },
      ],
    });
    expect(apply(page(), "next,values.id")).toEqual({ next: "n", values: [{ id: 1 }, { id: 2 }] });
    expect(apply(page(), "values.reviewers.uuid,values.author.links.self.href")).toEqual({
      values: [
        { author: { links: { self: { href: "u/{a1}" } } }, reviewers: [{ uuid: "{r1}" }] },
        { author: { links: { self: { href: "u/{a2}" } } }, reviewers: [{ uuid: "{r2}" }] },
      ],
    });
  });

  it("keeps whole subtrees of listed paths, minus removals", () => {
    const out = apply(page(), "values.author,-values.author.links") as { values: unknown[] };
    expect(out.values[0]).toEqual({ author: { type: "user", uuid: "{a1}", display_name: "User {a1}" } });
  });

  it("keeps null for a container but drops scalars that cannot hold the named path", () => {
    expect(apply(page(), "values.closed_by.uuid,values.title.x")).toEqual({
      values: [{ closed_by: null }, { closed_by: null }],
    });
    expect(apply({ a: [1, { b: 2, c: 3 }, [{ b: 4 }]] }, "a.b")).toEqual({ a: [{ b: 2 }, [{ b: 4 }]] });
  });

  it("yields empty containers when nothing under them matches", () => {
    expect(apply(page(), "values.nope")).toEqual({ values: [{}, {}] });
    expect(apply(page(), " values.id")).toEqual({});
  });

  it("supports wildcards", () => {
    const body = { a: 1, b: { c: 2, d: { e: 3 } }, foo: 4 };
    expect(apply(body, "-*,+foo")).toEqual({ foo: 4 });
    expect(apply(body, "+foo,-*")).toEqual({});
    expect(apply(body, "b.*")).toEqual({ b: { c: 2, d: { e: 3 } } });
    expect(apply(body, "*.c")).toEqual({ b: { c: 2 } });
    expect(apply(body, "-b.*.e")).toEqual({ a: 1, b: { c: 2, d: {} }, foo: 4 });
    expect(apply(body, "*,-b")).toEqual({ a: 1, foo: 4 });
  });

  it("lets the deeper rule win over the shallower one", () => {
    const body = user("{u}");
    expect(apply(body, "-links,+links.self")).toEqual({
      type: "user",
      uuid: "{u}",
      display_name: "User {u}",
      links: { self: { href: "u/{u}" } },
    });
    expect(apply(body, "+links.self,-links")).toEqual(apply(body, "-links,+links.self"));
    expect(apply(body, "uuid,links,-links.avatar.href")).toEqual({
      uuid: "{u}",
      links: { self: { href: "u/{u}" }, avatar: {} },
    });
  });

  describe("hidden fields", () => {
    const keys = (body: unknown) => Object.keys((body as { values: object[] }).values[0] ?? {});

    it("are stripped by default", () => {
      const out = apply(page(), "", HIDDEN) as ReturnType<typeof page>;
      expect(keys(out)).toEqual(["id", "title", "state", "author", "destination", "closed_by", "links"]);
      expect(out.values[1]?.destination.repository).toEqual({ uuid: "{r}" });
      expect(apply(page(), "-links", HIDDEN)).not.toHaveProperty("values.0.reviewers");
    });

    it("are added back with + and stay hidden otherwise", () => {
      const out = apply(page(), "+values.reviewers", HIDDEN) as ReturnType<typeof page>;
      expect(keys(out)).toContain("reviewers");
      expect(keys(out)).not.toContain("participants");
      expect(out.values[0]?.reviewers).toEqual([user("{r1}")]);
      const owner = apply(page(), "+values.destination.repository.owner", HIDDEN) as ReturnType<typeof page>;
      expect(owner.values[0]?.destination.repository.owner.uuid).toBe("{o}");
      expect(keys(owner)).not.toContain("reviewers");
    });

    it("are revealed by naming them or a descendant", () => {
      expect(apply(page(), "values.id,values.reviewers.uuid", HIDDEN)).toEqual({
        values: [
          { id: 1, reviewers: [{ uuid: "{r1}" }] },
          { id: 2, reviewers: [{ uuid: "{r2}" }] },
        ],
      });
      const partial = apply(page(), "+values.participants.user.uuid", HIDDEN) as ReturnType<typeof page>;
      expect(partial.values[0]?.participants).toEqual([
        { role: "REVIEWER", approved: true, user: user("{r1}") },
      ]);
    });

    it("are revealed by * but not by naming an ancestor", () => {
      expect(apply(page(), "*", HIDDEN)).toEqual(page());
      expect(keys(apply(page(), "values.*", HIDDEN))).toContain("participants");
      const ancestor = apply(page(), "values", HIDDEN);
      expect(keys(ancestor)).not.toContain("reviewers");
      expect(keys(ancestor)).toContain("title");
      expect(ancestor).not.toHaveProperty("next");
    });

    it("can still be removed after being revealed", () => {
      const out = apply(page(), "*,-values.reviewers,-values.*.links", HIDDEN) as ReturnType<typeof page>;
      expect(keys(out)).toContain("participants");
      expect(keys(out)).not.toContain("reviewers");
      expect(out.values[0]?.author).toEqual({ type: "user", uuid: "{a1}", display_name: "User {a1}" });
      expect(out.values[0]?.participants[0]?.user.links).toBeDefined();
    });
  });

  it("does not mutate the input and shares untouched subtrees", () => {
    const body = page();
    const snapshot = JSON.parse(JSON.stringify(body));
    const out = apply(body, "-values.links", HIDDEN) as ReturnType<typeof page>;
    expect(body).toEqual(snapshot);
    expect(out).not.toBe(body);
    expect(out.values[0]?.author).toBe(body.values[0]?.author);
  });
});
