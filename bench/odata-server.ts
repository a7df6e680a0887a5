/**
 * The OData service alone in its own process, for bench/odata.ts: the load generator must not share its
 * event loop. Arguments: the database URL (application schema and published table in the same database),
 * the skiptoken key in hex and the published pool's size.
 * Prints one JSON line: the origin. COUNT_CACHE=off serves every count by counting.
 */
import pg from "pg";
import { ODataService } from "../src/odata/service.js";
import { publishedSessionOptions } from "../src/odata/session-options.js";
import { ShareStore } from "../src/odata/shares.js";
import { startHttpServer } from "../src/server/http.js";

const url = process.argv[2] as string;
const key = Buffer.from(process.argv[3] as string, "hex");
const app = new pg.Pool({ connectionString: url, max: 10 });
const data = new pg.Pool({
  connectionString: url,
  max: Number(process.argv[4]),
  options: publishedSessionOptions(30_000),
});
const odata = new ODataService({
  app,
  data,
  shares: new ShareStore(app, data),
  tokenKey: key,
  countCache: process.env.COUNT_CACHE !== "off",
});
const http = await startHttpServer({ odata, port: 0 });
process.stdout.write(`${JSON.stringify({ origin: http.origin })}\n`);
process.on("SIGTERM", async () => {
  await http.close();
  process.exit(0);
});
