import type { RunSummary } from "../engine/runs.js";
import type { AlertEvent } from "./store.js";

/** What happened to a run, in alert terms; undefined for runs nobody is alerted about (skipped, cancelled). */
export function runEvent(summary: RunSummary): AlertEvent | undefined {
  if (summary.status === "FAILED") return "failure";
  if (summary.status !== "SUCCEEDED") return undefined;
  return summary.inserted + summary.updated + summary.deleted === 0 ? "zero_rows" : "success";
}

/** A run without changes is still a success: an alert on success fires for it too. */
export function fires(events: readonly AlertEvent[], event: AlertEvent): boolean {
  return events.includes(event) || (event === "zero_rows" && events.includes("success"));
}

export interface AlertMessage {
  readonly subject: string;
  readonly text: string;
  /** A Slack-compatible webhook body: Slack reads `text`, other receivers the structured part. */
  readonly payload: {
    readonly text: string;
    readonly bitbridge: {
      readonly job: string;
      readonly run: number;
      readonly status: RunSummary["status"];
      readonly event: AlertEvent;
      readonly rows: {
        readonly read: number;
        readonly inserted: number;
        readonly updated: number;
        readonly deleted: number;
      };
      readonly requests: number;
      readonly durationMs: number;
      readonly error: string | null;
    };
  };
}

export function alertMessage(job: string, summary: RunSummary, event: AlertEvent): AlertMessage {
  const error = summary.error?.split("\n", 1)[0]?.trim() || null;
  const outcome =
    event === "failure" ? "failed" : event === "zero_rows" ? "succeeded, no rows changed" : "succeeded";
  const subject = `bitbridge job ${job}: run ${summary.runId} ${outcome}`;
  const lines = [
    subject,
    `Rows: ${n(summary.inserted)} inserted, ${n(summary.updated)} updated, ${n(summary.deleted)} deleted (${n(summary.rowsRead)} read)`,
    `Requests: ${n(summary.requests)}; duration ${(summary.durationMs / 1000).toFixed(1)} s`,
    ...(error ? [`Error: ${error}`] : []),
    `Details: bitbridge job logs ${summary.runId}`,
  ];
  const text = lines.join("\n");
  return {
    subject,
    text,
    payload: {
      text,
      bitbridge: {
        job,
        run: summary.runId,
        status: summary.status,
        event,
        rows: {
          read: summary.rowsRead,
          inserted: summary.inserted,
          updated: summary.updated,
          deleted: summary.deleted,
        },
        requests: summary.requests,
        durationMs: summary.durationMs,
        error,
      },
    },
  };
}

function n(value: number): string {
  return value.toLocaleString("en-US");
}
