#!/usr/bin/env node
import { main } from "../dist/src/cli/main.js";

main(process.argv).catch((error) => {
  process.stderr.write(`bitbridge: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
