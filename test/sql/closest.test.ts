import { describe, expect, it } from "vitest";
import { closest, editDistance } from "../../src/sql/index.js";

describe("editDistance", () => {
  it("counts inserts, deletes, substitutions and neighbour swaps", () => {
    expect(editDistance("FROM", "FROM")).toBe(0);
    expect(editDistance("FORM", "FROM")).toBe(1);
    expect(editDistance("SELEC", "SELECT")).toBe(1);
    expect(editDistance("WHRE", "WHERE")).toBe(1);
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("", "abc")).toBe(3);
  });
});

describe("closest", () => {
  const columns = ["Id", "Title", "ContentRaw", "State", "UpdatedOn", "Pull Requests"];

  it("finds misspelt names regardless of case", () => {
    expect(closest("titel", columns)).toBe("Title");
    expect(closest("UPDATEDON", columns)).toBe("UpdatedOn");
    expect(closest("Updated_On", columns)).toBe("UpdatedOn");
    expect(closest("content_raw", columns)).toBe("ContentRaw");
    expect(closest("PullRequests", columns)).toBe("Pull Requests");
  });

  it("gives nothing when nothing is close", () => {
    expect(closest("Author", columns)).toBeUndefined();
    expect(closest("Ix", columns)).toBeUndefined();
    expect(closest("", columns)).toBeUndefined();
    expect(closest("Title", [])).toBeUndefined();
  });

  it("allows more edits for longer names and takes an explicit limit", () => {
    expect(closest("UpdtedOnn", columns)).toBe("UpdatedOn");
    expect(closest("Ix", columns, 1)).toBe("Id");
  });

  it("prefers the closest, then the earliest candidate", () => {
    expect(closest("Stat", ["Start", "State"])).toBe("Start");
    expect(closest("Stae", ["Start", "State"])).toBe("State");
  });
});
