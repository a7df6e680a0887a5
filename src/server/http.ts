import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Api } from "../api/app.js";
import { ODataError } from "../odata/errors.js";
import { errorResponse, ODATA_ROOT, type ODataService } from "../odata/service.js";

export interface HttpServerOptions {
  readonly odata: ODataService;
  /** The REST API and web UI; without it, only OData answers. */
  readonly api?: Api;
  readonly port: number;
  readonly host?: string;
}

export interface RunningHttpServer {
  readonly server: Server;
  /** `http://host:port`. */
  readonly origin: string;
  close(): Promise<void>;
}

/**
 * The HTTP front: `/odata/v4/...` goes straight to the OData service (its hot path stays free of any
 * framework); everything else to the REST API and web UI, or a JSON 404 when there is none.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const server = createServer((req, res) => {
    if (options.api && !isOData(req.url ?? "/")) {
      options.api.routing(req, res);
      return;
    }
    handleOData(options, req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end('{"error":{"code":"InternalError","message":"The server failed to answer"}}');
    });
  });
  // Keep-alive connections from load balancers and Salesforce outlive Node's 5 s default.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    server,
    origin: `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function isOData(url: string): boolean {
  return url === ODATA_ROOT || url.startsWith(`${ODATA_ROOT}/`) || url.startsWith(`${ODATA_ROOT}?`);
}

async function handleOData(
  options: HttpServerOptions,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = req.url ?? "/";
  // Request bodies are never read (the service is read-only): drain them.
  req.resume();
  const response = isOData(url)
    ? await options.odata.handle({ method: req.method ?? "GET", url, headers: req.headers })
    : errorResponse(
        new ODataError(404, "NotFound", `No resource at ${url.split("?")[0]}; OData is under ${ODATA_ROOT}`),
      );
  res.writeHead(response.status, {
    ...response.headers,
    "content-length": Buffer.byteLength(response.body),
  });
  res.end(req.method === "HEAD" ? undefined : response.body);
}
