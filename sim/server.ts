import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { handleAdmin } from "./admin.js";
import { errors } from "./http/errors.js";
import { jsonResponse, type SimResponse, type WireResponse } from "./http/types.js";
import { errorResponse, type Outcome, Simulator, type SimulatorOptions } from "./simulator.js";

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
  server.on("clientError", answerClientError);
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
    if (res.headersSent) return;
    size += chunk.length;
    if (size > MAX_BODY) {
      // Answer, then stop reading: the rest of the body is dropped with the connection.
      res.setHeader("Connection", "close");
      write(res, jsonResponse(413, errors.badRequest("Request body too large").envelope()));
      req.pause();
      res.on("finish", () => req.destroy());
      return;
    }
    chunks.push(chunk);
  });
  req.on("error", () => res.destroy());
  req.on("end", () => {
    if (res.writableEnded) return;
    let url: URL;
    try {
      // A path is appended to a fixed origin, not resolved against it: `//host/path` must stay a path.
      // Absolute-form targets (`GET http://host/path`, what proxies send) keep only their path.
      const target = req.url ?? "/";
      url = target.startsWith("/") ? new URL(`http://simulator.invalid${target}`) : new URL(target);
      if (url.protocol !== "http:" && url.protocol !== "https:") throw new TypeError("not an HTTP target");
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
    let outcome: Outcome;
    try {
      outcome = sim.handle(request);
    } catch (error) {
      // `handle` catches route errors itself; this keeps a bug elsewhere (OAuth, stats) from
      // escaping the event handler and taking the whole process down.
      outcome = { response: errorResponse(error), latencyMs: 0, cut: false };
    }
    const send = () => {
      if (outcome.cut) {
        const body = outcome.response.body;
        const bytes = typeof body === "string" ? Buffer.from(body) : body;
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

function write(res: ServerResponse, response: WireResponse): void {
  const bytes = typeof response.body === "string" ? Buffer.from(response.body) : response.body;
  res.writeHead(response.status, { ...response.headers, "Content-Length": bytes.length });
  res.end(bytes);
}

/**
 * Requests Node's HTTP parser rejects (unknown methods, oversized headers, bad bytes) never reach
 * `serve`; answer them with the API's error envelope too instead of an empty 400.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === "ECONNRESET" || !socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = error.code === "HPE_HEADER_OVERFLOW";
  const status = tooLarge ? 431 : 400;
  const body = JSON.stringify(
    errors.badRequest(tooLarge ? "Request header fields too large" : "Malformed HTTP request").envelope(),
  );
  socket.end(
    `HTTP/1.1 ${status} ${tooLarge ? "Request Header Fields Too Large" : "Bad Request"}\r\n` +
      "Content-Type: application/json; charset=utf-8\r\n" +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      "Connection: close\r\n\r\n" +
      body,
  );
}
