import { BitbridgeError } from "../app/errors.js";
import { main } from "./main.js";

/** The process entry: runs the CLI and turns errors into a message and an exit code, never a stack trace. */
main(process.argv).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  const known = error instanceof BitbridgeError || (error instanceof Error && "exitCode" in error);
  process.stderr.write(`bitbridge: ${known ? message : `internal error: ${message}`}\n`);
  const code = error instanceof Error && "exitCode" in error ? Number(error.exitCode) : 1;
  process.exitCode = Number.isInteger(code) && code > 0 ? code : 1;
});
