import http from "node:http";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

export interface Received {
  readonly path: string;
  readonly contentType: string | undefined;
  readonly body: unknown;
}

/**
 * A local webhook receiver. Each request takes the next answer from `answers` (then 200): a status code,
 * or "hang" for a request that is never answered.
 */
export async function startReceiver(): Promise<{
  url: string;
  received: Received[];
  answers: (number | "hang")[];
  stop(): Promise<void>;
}> {
  const received: Received[] = [];
  const answers: (number | "hang")[] = [];
  const server = http.createServer((req, res) => {
    let text = "";
    req.on("data", (chunk: Buffer) => {
      text += chunk.toString();
    });
    req.on("end", () => {
      received.push({
        path: req.url ?? "",
        contentType: req.headers["content-type"],
        body: JSON.parse(text),
      });
      const answer = answers.shift() ?? 200;
      if (answer === "hang") return;
      res.writeHead(answer).end(answer === 200 ? "ok" : "no");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    answers,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface Mail {
  readonly from: string | undefined;
  readonly to: string[];
  readonly user: string | undefined;
  readonly raw: string;
}

/** A local SMTP capture that accepts one user and password, over plain TCP (no STARTTLS). */
export async function startSmtpCapture(
  user: string,
  password: string,
): Promise<{
  port: number;
  mails: Mail[];
  stop(): Promise<void>;
}> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    disabledCommands: ["STARTTLS"],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === user && auth.password === password) callback(null, { user: auth.username });
      else callback(new Error("Invalid username or password"));
    },
    onData(stream, session, callback) {
      let raw = "";
      stream.on("data", (chunk: Buffer) => {
        raw += chunk.toString();
      });
      stream.on("end", () => {
        const from = session.envelope.mailFrom;
        mails.push({
          from: from === false ? undefined : from.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          user: session.user as string | undefined,
          raw,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.server.address() as AddressInfo;
  return { port, mails, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
