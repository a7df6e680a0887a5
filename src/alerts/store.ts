import type pg from "pg";
import { BitbridgeError } from "../app/errors.js";
import { APP_SCHEMA } from "../app/migrations.js";
import { decryptSecret, encryptSecret } from "../app/secrets.js";
import { JobStore } from "../engine/jobs.js";

export type AlertEvent = "failure" | "success" | "zero_rows";
export const ALERT_EVENTS: readonly AlertEvent[] = ["failure", "success", "zero_rows"];

/** Where an alert goes. Every field may hold a secret (a token in the URL, an SMTP password). */
export type AlertTarget =
  | { readonly kind: "webhook"; readonly url: string }
  | {
      readonly kind: "email";
      /** `smtp://user:pass@host:port` or `smtps://...`. */
      readonly smtp: string;
      readonly from: string;
      readonly to: readonly string[];
    };

export interface Alert {
  readonly id: number;
  readonly jobId: number;
  readonly kind: AlertTarget["kind"];
  /** The target with its secrets masked. */
  readonly display: string;
  readonly events: readonly AlertEvent[];
  readonly createdAt: Date;
}

interface Row {
  id: string;
  job_id: string;
  kind: AlertTarget["kind"];
  target: string;
  display: string;
  events: AlertEvent[];
  created_at: Date;
}

const S = APP_SCHEMA;
const MASK = "********";

/**
 * A job's alerts. Targets are sealed with AES-256-GCM, bound to the alert's id, and opened only to send;
 * listing shows the masked form kept beside them, so it needs no key.
 */
export class AlertStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly key: () => Buffer,
  ) {}

  async add(job: string, target: AlertTarget, events: readonly AlertEvent[]): Promise<Alert> {
    const jobId = (await new JobStore(this.pool).get(job)).id;
    const display = checkTarget(target);
    const wanted = [...new Set(events)];
    if (wanted.length === 0 || wanted.some((e) => !ALERT_EVENTS.includes(e))) {
      throw new BitbridgeError(
        "ALERT_EVENTS_INVALID",
        "Say when to alert: one or more of failure, success, zero-rows.",
      );
    }
    // The id is taken first so the sealed target can be bound to it in the same INSERT.
    const next = await this.pool.query<{ id: string }>(
      `SELECT nextval(pg_get_serial_sequence('${S}.job_alerts', 'id')) AS id`,
    );
    const id = next.rows[0]?.id as string;
    const sealed = encryptSecret(JSON.stringify(target), this.key(), context(id));
    const inserted = await this.pool.query<Row>(
      `INSERT INTO ${S}.job_alerts (id, job_id, kind, target, display, events) OVERRIDING SYSTEM VALUE
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
      [id, jobId, target.kind, sealed, display, wanted],
    );
    return toAlert(inserted.rows[0] as Row);
  }

  async list(job: string): Promise<Alert[]> {
    const jobId = (await new JobStore(this.pool).get(job)).id;
    return (await this.rows(jobId)).map(toAlert);
  }

  async remove(job: string, id: number): Promise<void> {
    const jobId = (await new JobStore(this.pool).get(job)).id;
    const removed = await this.pool.query(`DELETE FROM ${S}.job_alerts WHERE job_id = $1 AND id = $2`, [
      jobId,
      id,
    ]);
    if (removed.rowCount === 0) {
      throw new BitbridgeError(
        "ALERT_NOT_FOUND",
        `Job ${job} has no alert ${id}; see bitbridge job alert list ${job}.`,
        {},
        404,
      );
    }
  }

  /** The job's alerts with their targets still sealed: `open` each one when it has to be sent. */
  async forJob(jobId: number): Promise<(Alert & { readonly sealed: string })[]> {
    return (await this.rows(jobId)).map((r) => ({ ...toAlert(r), sealed: r.target }));
  }

  open(alert: Alert & { readonly sealed: string }): AlertTarget {
    return JSON.parse(decryptSecret(alert.sealed, this.key(), context(alert.id))) as AlertTarget;
  }

  private async rows(jobId: number): Promise<Row[]> {
    const rows = await this.pool.query<Row>(`SELECT * FROM ${S}.job_alerts WHERE job_id = $1 ORDER BY id`, [
      jobId,
    ]);
    return rows.rows;
  }
}

function context(id: string | number): string {
  return `bitbridge.job_alerts:${id}`;
}

function toAlert(r: Row): Alert {
  return {
    id: Number(r.id),
    jobId: Number(r.job_id),
    kind: r.kind,
    display: r.display,
    events: r.events,
    createdAt: r.created_at,
  };
}

/** Every form a target's secrets may take in an error message, for `redactSecrets`. */
export function targetSecrets(target: AlertTarget): string[] {
  const url = target.kind === "webhook" ? target.url : target.smtp;
  const out = [url];
  const parsed = parseUrl(url);
  if (parsed?.password) out.push(parsed.password, decodeURIComponent(parsed.password));
  // A webhook's path and query are its token (Slack: /services/T.../B.../secret).
  if (target.kind === "webhook" && parsed) out.push(`${parsed.pathname}${parsed.search}`);
  return out;
}

/** Throws when the target cannot work; returns it with its secrets masked. Never echoes a secret. */
function checkTarget(target: AlertTarget): string {
  if (target.kind === "webhook") {
    const url = parseUrl(target.url);
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
      throw new BitbridgeError("ALERT_TARGET_INVALID", "--webhook takes an http:// or https:// URL.");
    }
    const hidden = url.username !== "" || url.pathname !== "/" || url.search !== "";
    return `${url.protocol}//${url.host}${hidden ? `/${MASK}` : "/"}`;
  }
  const smtp = parseUrl(target.smtp);
  if (!smtp || (smtp.protocol !== "smtp:" && smtp.protocol !== "smtps:") || smtp.hostname === "") {
    throw new BitbridgeError(
      "ALERT_TARGET_INVALID",
      "--email takes SMTP settings as smtp://user:password@host:port (or smtps:// for TLS from the start).",
    );
  }
  const address = /^[^\s@<>]+@[^\s@<>]+$/;
  if (!address.test(target.from)) {
    throw new BitbridgeError(
      "ALERT_TARGET_INVALID",
      "--from takes one email address, e.g. bitbridge@example.com.",
    );
  }
  if (target.to.length === 0 || target.to.some((t) => !address.test(t))) {
    throw new BitbridgeError(
      "ALERT_TARGET_INVALID",
      "--to takes an email address (repeat it for more recipients), e.g. --to ops@example.com.",
    );
  }
  const user = smtp.username ? `${decodeURIComponent(smtp.username)}${smtp.password ? `:${MASK}` : ""}@` : "";
  return `${smtp.protocol}//${user}${smtp.host} from ${target.from} to ${target.to.join(", ")}`;
}

function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}
