import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * A file of the project's shared reference material (OASIS schemas and test cases), which lives next to
 * the repository (`../shared`) and is never copied into it. A clone elsewhere finds it through
 * BITBRIDGE_SHARED or the workplace's fixed location; undefined when none has it.
 */
export function sharedFile(relative: string): string | undefined {
  const candidates = [
    fileURLToPath(new URL(`../../../shared/${relative}`, import.meta.url)),
    ...(process.env.BITBRIDGE_SHARED ? [join(process.env.BITBRIDGE_SHARED, relative)] : []),
    join("/work/shared", relative),
  ];
  return candidates.find((path) => existsSync(path));
}
