import { writeFileSync } from "node:fs";
import { tablesMarkdown } from "../src/source/docs.js";

writeFileSync(new URL("../docs/tables.md", import.meta.url), tablesMarkdown());
process.stdout.write("docs/tables.md written\n");
