import { ODataError } from "./errors.js";

export type MetadataLevel = "minimal" | "full" | "none";

export interface JsonFormat {
  readonly metadata: MetadataLevel;
  readonly ieee754: boolean;
}

/**
 * The JSON variant a request asks for, from `$format` (which wins) or `Accept`: `odata.metadata`
 * (4.0 spelling, `metadata` in 4.01) and `IEEE754Compatible`. A request that accepts no JSON is a 406.
 */
export function negotiateJson(format: string | undefined, accept: string | undefined): JsonFormat {
  const wanted = format ?? accept ?? "application/json";
  const ranges = wanted.split(",").map((r) => r.trim());
  for (const range of ranges) {
    const [type = "", ...params] = range.split(";").map((p) => p.trim());
    const media = type.toLowerCase();
    if (!["application/json", "json", "application/*", "*/*", ""].includes(media)) continue;
    let metadata: MetadataLevel = "minimal";
    let ieee754 = false;
    for (const param of params) {
      const [rawName = "", rawValue = ""] = param.split("=");
      const name = rawName.trim().toLowerCase();
      const value = rawValue.trim().toLowerCase();
      if (name === "odata.metadata" || name === "metadata") {
        if (value !== "minimal" && value !== "full" && value !== "none")
          throw new ODataError(
            400,
            "InvalidFormat",
            `odata.metadata must be minimal, full or none, not ${value}`,
            "$format",
          );
        metadata = value;
      } else if (name === "ieee754compatible") {
        ieee754 = value === "true";
      }
    }
    return { metadata, ieee754 };
  }
  throw new ODataError(
    406,
    "NotAcceptable",
    `This resource is available as application/json only, not ${wanted}`,
    format === undefined ? undefined : "$format",
  );
}

export function jsonContentType(f: JsonFormat): string {
  return `application/json;odata.metadata=${f.metadata};odata.streaming=true;IEEE754Compatible=${f.ieee754};charset=utf-8`;
}

/** `Prefer: odata.maxpagesize=n` (or the 4.01 `maxpagesize`), when given as a positive whole number. */
export function preferredPageSize(prefer: string | undefined): number | undefined {
  const match = /(?:^|[,;\s])(?:odata\.)?maxpagesize\s*=\s*"?(\d{1,9})"?/i.exec(prefer ?? "");
  const n = match?.[1] ? Number(match[1]) : undefined;
  return n !== undefined && n > 0 ? n : undefined;
}
