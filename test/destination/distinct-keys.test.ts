import { describe, expect, it } from "vitest";
import { distinctKeys, EncodedRows } from "../../src/destination/postgres/copy.js";

const text = (source: string) => ({ source, type: "string" as const });
const integer = (source: string) => ({ source, type: "integer" as const });

describe("distinctKeys", () => {
  it("tells composite keys apart even when a value holds the separator a text key would use", () => {
    const key = [text("A"), text("B")];
    expect(
      distinctKeys(
        [
          { A: "x\ty", B: "z" },
          { A: "x", B: "y\tz" },
          { A: "x", B: "z" },
        ],
        key,
      ),
    ).toBe(true);
    expect(
      distinctKeys(
        [
          { A: "x", B: "z" },
          { A: "y", B: "z" },
          { A: "x", B: "z" },
        ],
        key,
      ),
    ).toBe(false);
  });

  it("compares as PostgreSQL will: 5 and '5' in a text column are one key, 1 and 1n in an integer one", () => {
    expect(distinctKeys([{ A: 5 }, { A: "5" }], [text("A")])).toBe(false);
    expect(distinctKeys([{ A: 1 }, { A: 1n }], [integer("A")])).toBe(false);
    expect(distinctKeys([{ A: 1 }, { A: 2 }], [integer("A")])).toBe(true);
  });

  it("answers 'not known' for NULL keys, text in an integer column, NULs and untracked types", () => {
    expect(distinctKeys([{ A: null }], [text("A")])).toBe(false);
    expect(distinctKeys([{ A: "1" }], [integer("A")])).toBe(false);
    // Stored as U+FFFD, so "a\0" and "a\uFFFD" would be one key.
    expect(distinctKeys([{ A: "a\0" }, { A: "a\uFFFD" }], [text("A")])).toBe(false);
    expect(distinctKeys([{ A: true }], [{ source: "A", type: "boolean" }])).toBe(false);
    expect(distinctKeys([{ A: 1 }], [])).toBe(false);
  });

  it("is judged the same way while a batch is encoded, and the answer outlives the copy", () => {
    const batch = new EncodedRows([text("A"), text("B")], [text("A"), text("B")]);
    batch.add({ A: "r", B: "1" });
    batch.add({ A: "r", B: "2" });
    batch.add({ A: "s", B: "1" });
    expect(batch.distinct).toBe(true);
    expect(Buffer.concat(batch.buffers()).toString()).toBe("r\t1\nr\t2\ns\t1\n");
    expect(batch.distinct).toBe(true);
    const repeated = new EncodedRows([text("A")], [text("A")]);
    repeated.add({ A: "r" });
    repeated.add({ A: "r" });
    expect(repeated.distinct).toBe(false);
  });
});
