import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { handleAdmin } from "./admin.js";
import { errors } from "./http/errors.js";
import { jsonResponse, type SimResponse } from "./http/types.js";
import { errorResponse, Simulator, type SimulatorOptions } from "./simulator.js";

export interface StartOptions extends SimulatorOptions {
  port?: number;
  host?: string;
}

export interface RunningSimulator {
  /** e.g. `http://127.0.0.1:7990` (OAuth lives at `${origin}/site/oauth2/...`). */
  readonly origin: string;
  /** `${origin}/2.0`, the `Url` connection property. */
  readonly apiUrl: string;
  readonly sim: Simulator;
  stop(): Promise<void>;
}

const MAX_BODY = 1 << 20;

/** Starts the simulator on a port (0 = any free one); data links use the address it really got. */
export async function startSimulator(options: StartOptions = {}): Promise<RunningSimulator> {
  const host = options.host ?? "127.0.0.1";
  let sim: Simulator | undefined;
  const server = createServer((req, res) => {
    if (!sim) {
      res.writeHead(503).end();
      return;
    }
    serve(sim, req, res);
  });
  server.keepAliveTimeout = 30_000;
  await listen(server, options.port ?? 0, host);
  const { port } = server.address() as AddressInfo;
  const origin = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  try {
    sim = new Simulator(origin, options);
  } catch (error) {
    server.close();
    throw error;
  }
  const running = sim;
  return {
    origin,
    apiUrl: `${origin}/2.0`,
    sim: running,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        error.code === "EADDRINUSE"
          ? new Error(`port ${port} on ${host} is already in use; pick another with --port`)
          : error,
      );
    };
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

function serve(sim: Simulator, req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on("data", (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_BODY) {
      write(res, jsonResponse(413, errors.badRequest("Request body too large").envelope()));
      req.destroy();
      return;
    }
    chunks.push(chunk);
  });
  req.on("error", () => res.destroy());
  req.on("end", () => {
    if (res.writableEnded) return;
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://simulator.invalid");
    } catch {
      write(res, jsonResponse(400, errors.badRequest("Malformed request URL").envelope()));
      return;
    }
    // Links must point back at the address the client used.
    const request = {
      method: req.method ?? "GET",
      url: new URL(`${sim.origin}${url.pathname}${url.search}`),
      headers: req.headers,
      body: Buffer.concat(chunks).toString("utf8"),
    };
    if (url.pathname.startsWith("/_sim/")) {
      let response: SimResponse;
      try {
        response = handleAdmin(sim, request);
      } catch (error) {
        response = errorResponse(error);
      }
      write(res, response);
      return;
    }
    const outcome = sim.handle(request);
    const send = () => {
      if (outcome.cut) {
        const bytes = Buffer.from(outcome.response.body);
        res.writeHead(outcome.response.status, {
          ...outcome.response.headers,
          "Content-Length": bytes.length,
        });
        res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => res.destroy());
        return;
      }
      write(res, outcome.response);
    };
    if (outcome.latencyMs > 0) setTimeout(send, outcome.latencyMs);
    else send();
  });
}

function write(res: ServerResponse, response: SimResponse): void {
  const bytes = Buffer.from(response.body);
  res.writeHead(response.status, { ...response.headers, "Content-Length": bytes.length });
  res.end(bytes);
}
