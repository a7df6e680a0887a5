import type pg from "pg";
import { APP_SCHEMA } from "../app/migrations.js";
import { loadSecretKey, redactSecrets } from "../app/secrets.js";
import type { LogLevel, RunSummary } from "../engine/runs.js";
import { type AlertMessage, alertMessage, fires, runEvent } from "./message.js";
import { AlertStore, type AlertTarget, targetSecrets } from "./store.js";

export interface AlertDelivery {
  /** Opens sealed targets; default the key of `loadSecretKey()`, read only when a job has alerts. */
  readonly key?: () => Buffer;
  /** Per attempt (a webhook's request, an SMTP conversation step); default 10 s. */
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Sends the alerts of a finished job run that ask for its outcome, one after the other. Never rejects and
 * never changes the run: a failed alert becomes a warning in the run's log, its secrets masked.
 */
export async function deliverAlerts(
  pool: pg.Pool,
  job: { readonly id: number; readonly name: string },
  summary: RunSummary,
  delivery: AlertDelivery = {},
  log?: (level: LogLevel, message: string) => void,
): Promise<void> {
  const write = async (level: LogLevel, message: string) => {
    log?.(level, message);
    await pool
      .query(`INSERT INTO ${APP_SCHEMA}.run_logs (run_id, level, message) VALUES ($1, $2, $3)`, [
        summary.runId,
        level,
        message,
      ])
      .catch(() => {});
  };
  const event = runEvent(summary);
  if (!event) return;
  const store = new AlertStore(pool, delivery.key ?? (() => loadSecretKey()));
  let alerts: Awaited<ReturnType<AlertStore["forJob"]>>;
  try {
    alerts = (await store.forJob(job.id)).filter((a) => fires(a.events, event));
  } catch (error) {
    await write("warn", `Alerts not sent: ${messageOf(error)}`);
    return;
  }
  if (alerts.length === 0) return;
  const message = alertMessage(job.name, summary, event);
  const timeoutMs = delivery.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  for (const alert of alerts) {
    let secrets: string[] = [];
    try {
      const target = store.open(alert);
      secrets = targetSecrets(target);
      await send(target, message, timeoutMs);
      await write("info", `Alert ${alert.id} sent by ${alert.kind} to ${alert.display}.`);
    } catch (error) {
      await write("warn", `alert to ${alert.kind} failed: ${redactSecrets(messageOf(error), secrets)}`);
    }
  }
}

async function send(target: AlertTarget, message: AlertMessage, timeoutMs: number): Promise<void> {
  if (target.kind === "webhook") await postWebhook(target.url, message, timeoutMs);
  else await sendEmail(target, message, timeoutMs);
}

/** One retry, for 5xx answers and for requests that got no answer: a 4xx would fail again. */
async function postWebhook(url: string, message: AlertMessage, timeoutMs: number): Promise<void> {
  const body = JSON.stringify(message.payload);
  let failure = await postOnce(url, body, timeoutMs);
  if (failure?.retry) failure = await postOnce(url, body, timeoutMs);
  if (failure) throw new Error(failure.reason);
}

async function postOnce(
  url: string,
  body: string,
  timeoutMs: number,
): Promise<{ retry: boolean; reason: string } | undefined> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      // A redirect would send the body to a host nobody configured.
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.arrayBuffer().catch(() => {});
    if (response.ok) return undefined;
    return { retry: response.status >= 500, reason: `HTTP ${response.status} ${response.statusText}`.trim() };
  } catch (error) {
    const timedOut = error instanceof Error && error.name === "TimeoutError";
    return { retry: true, reason: timedOut ? `no answer within ${timeoutMs / 1000} s` : messageOf(error) };
  }
}

async function sendEmail(
  target: Extract<AlertTarget, { kind: "email" }>,
  message: AlertMessage,
  timeoutMs: number,
): Promise<void> {
  const url = new URL(target.smtp);
  const secure = url.protocol === "smtps:";
  // Loaded here: every command that can run a job would otherwise pay for it at start.
  const { default: nodemailer } = await import("nodemailer");
  const transport = nodemailer.createTransport({
    host: url.hostname,
    port: url.port ? Number(url.port) : secure ? 465 : 587,
    secure,
    ...(url.username && {
      auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) },
    }),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  try {
    await transport.sendMail({
      from: target.from,
      to: [...target.to],
      subject: message.subject,
      text: message.text,
    });
  } finally {
    transport.close();
  }
}

/** The message and its cause's (fetch says only "fetch failed"; the cause says why). */
function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause && !error.message.includes(cause) ? `${error.message}: ${cause}` : error.message;
}
