import { describe, expect, it } from "vitest";
import {
  DELETED_AT_COLUMN,
  destinationName,
  METADATA_COLUMNS,
  quoteIdent,
  resolveTarget,
  SYNCED_AT_COLUMN,
} from "../../src/destination/postgres/index.js";
import { TABLE_DEFS } from "../../src/source/catalog.js";

describe("destination naming", () => {
  it("turns catalog names into snake case by default", () => {
    expect(destinationName("ContentRaw")).toBe("content_raw");
    expect(destinationName("HTMLUrl")).toBe("html_url");
    expect(destinationName("RepositoryUuid")).toBe("repository_uuid");
    expect(destinationName("Id")).toBe("id");
    expect(destinationName("PullRequestId")).toBe("pull_request_id");
    expect(destinationName("CommitShaURL")).toBe("commit_sha_url");
    expect(destinationName("Sha1Hash")).toBe("sha1_hash");
    expect(destinationName("Build__Number_")).toBe("build_number");
    expect(destinationName("2FA")).toBe("c_2_fa");
  });

  it("keeps source names with the source policy", () => {
    expect(destinationName("ContentRaw", "source")).toBe("ContentRaw");
    expect(destinationName("HTMLUrl", "source")).toBe("HTMLUrl");
  });

  it("rejects names PostgreSQL would truncate or cannot hold", () => {
    expect(() => destinationName("A".repeat(64), "source")).toThrow(/63-byte/);
    expect(() => destinationName("__", "snake")).toThrow(
      expect.objectContaining({ code: "DESTINATION_INVALID_NAME" }),
    );
  });

  it("has Salesforce-friendly metadata columns", () => {
    expect(METADATA_COLUMNS).toEqual([SYNCED_AT_COLUMN, DELETED_AT_COLUMN]);
    for (const name of METADATA_COLUMNS) expect(name).toMatch(/^[a-z](?!.*__)[a-z0-9_]*[a-z0-9]$/);
  });

  it("gives every catalog column a Salesforce-friendly, unique snake name", () => {
    for (const def of TABLE_DEFS) {
      for (const column of def.columns)
        expect(destinationName(column.name)).toMatch(/^[a-z](?!.*__)[a-z0-9_]*[a-z0-9]$/);
      const resolved = resolveTarget({
        schema: "bitbucket",
        table: def.name,
        columns: def.columns,
        primaryKey: def.primaryKey.filter((k) => def.columns.some((c) => c.name === k)).length
          ? def.primaryKey.filter((k) => def.columns.some((c) => c.name === k))
          : [def.columns[0]?.name ?? "Id"],
      });
      expect(new Set(resolved.columns.map((c) => c.name)).size).toBe(def.columns.length);
    }
  });

  it("quotes identifiers, doubling embedded quotes", () => {
    expect(quoteIdent("content_raw")).toBe('"content_raw"');
    expect(quoteIdent('we"ird')).toBe('"we""ird"');
    expect(quoteIdent("select")).toBe('"select"');
    expect(() => quoteIdent("")).toThrow();
  });

  it("rejects two columns mapping to the same destination name", () => {
    expect(() =>
      resolveTarget({
        schema: "s",
        table: "T",
        columns: [
          { name: "HtmlUrl", type: "string" },
          { name: "HTMLUrl", type: "string" },
        ],
        primaryKey: ["HtmlUrl"],
      }),
    ).toThrow(expect.objectContaining({ code: "DESTINATION_NAME_CONFLICT" }));
    expect(() =>
      resolveTarget({
        schema: "s",
        table: "T",
        columns: [
          { name: "Id", type: "integer" },
          { name: "BbSyncedAt", type: "datetime" },
        ],
        primaryKey: ["Id"],
      }),
    ).toThrow(/metadata/);
  });
});
