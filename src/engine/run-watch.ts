/** What watches a running run: its abort signal (cancel requests, timeout) and its saved progress. */
import type pg from "pg";
import { APP_SCHEMA } from "../app/migrations.js";
import type { RunOptions, RunStatus } from "./runs.js";
import type { TaskProgress } from "./task-runner-types.js";

const S = APP_SCHEMA;

/** Why a run was aborted: the caller's signal (Ctrl-C, a draining worker), a cancel request, or its timeout. */
type AbortCause = "signal" | "request" | "timeout";

/**
 * The run's own abort signal: follows the caller's, polls for a cancellation asked by another process
 * (cancelRun) and fires at the run's timeout.
 */
export function watchRun(
  pool: pg.Pool,
  runId: number,
  options: RunOptions,
): { signal: AbortSignal; status(): RunStatus; message(): string; stop(): void } {
  const controller = new AbortController();
  let cause: AbortCause | undefined;
  const abort = (why: AbortCause) => {
    if (controller.signal.aborted) return;
    cause = why;
    controller.abort();
  };
  const onSignal = () => abort("signal");
  if (options.signal?.aborted) abort("signal");
  else options.signal?.addEventListener("abort", onSignal, { once: true });
  const timeoutMs = options.timeoutMs;
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => abort("timeout"), timeoutMs);
  let polling = false;
  const poll = setInterval(() => {
    if (polling || controller.signal.aborted) return;
    polling = true;
    pool
      .query<{ requested: boolean }>(
        `SELECT cancel_requested_at IS NOT NULL AS requested FROM ${S}.runs WHERE id = $1`,
        [runId],
      )
      .then((r) => {
        if (r.rows[0]?.requested) abort("request");
      })
      // A failed poll is retried at the next tick; the run's own queries report a lost database.
      .catch(() => {})
      .finally(() => {
        polling = false;
      });
  }, options.cancelPollMs ?? 1000);
  return {
    signal: controller.signal,
    status: () => (cause === "timeout" ? "FAILED" : "CANCELLED"),
    message: () =>
      cause === "timeout"
        ? `The run timed out after ${formatDuration(timeoutMs ?? 0)} (the job's timeout); the current batch was rolled back.`
        : cause === "request"
          ? "The run was cancelled on request (bitbridge job cancel or the API)."
          : "The run was cancelled.",
    stop: () => {
      if (timer) clearTimeout(timer);
      clearInterval(poll);
      options.signal?.removeEventListener("abort", onSignal);
    },
  };
}

/** 2 h, 1 h 30 min, 45 min, 20 s. */
export function formatDuration(ms: number): string {
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  const parts = [h > 0 ? `${h} h` : "", m > 0 ? `${m} min` : "", sec > 0 || total === 0 ? `${sec} s` : ""];
  return parts.filter(Boolean).join(" ");
}

/** How often a running task's counts are saved, so other processes (the web UI, `job history`) see them grow. */
const PROGRESS_SAVE_MS = 1000;

/**
 * Saves a running task's rows and requests at most once per PROGRESS_SAVE_MS, one write at a time, never
 * holding the run up; `settled` waits for the last write so the task's final counts always win.
 */
export function progressSaver(pool: pg.Pool, taskRunId: number) {
  let lastSaved = 0;
  let inFlight: Promise<unknown> | undefined;
  return {
    offer(progress: TaskProgress): void {
      const now = performance.now();
      if (inFlight || now - lastSaved < PROGRESS_SAVE_MS) return;
      lastSaved = now;
      inFlight = pool
        .query(
          `UPDATE ${S}.task_runs SET rows_read = $2, requests = $3 WHERE id = $1 AND status = 'RUNNING'`,
          [taskRunId, progress.rows, progress.requests],
        )
        // Progress is a courtesy: a failed write must not fail the run, whose final counts follow.
        .catch(() => undefined)
        .finally(() => {
          inFlight = undefined;
        });
    },
    settled: async (): Promise<void> => {
      await inFlight;
    },
  };
}
