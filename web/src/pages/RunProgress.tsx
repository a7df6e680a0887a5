import { Anchor, Group, Loader, Paper, Progress, Text, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useEffect, useState } from "react";
import { Link } from "react-router";
import { api, errorMessage } from "../api";
import { StatusBadge } from "../components";
import { count, duration, runSummary } from "../format";
import { inProgress, type QueueState, type RunDetail } from "../types";
import { RunTasks } from "./RunTasks";

const POLL_MS = 1000;

/**
 * Follows a run the user just started: the queue entry until a worker picks it up, then the run
 * itself every second until it ends; announces the outcome once.
 */
export function RunProgress({
  queueId,
  onFinished,
}: {
  queueId: string;
  onFinished: (run: RunDetail) => void;
}) {
  const [queue, setQueue] = useState<QueueState>({ state: "queued", runId: null });
  const [run, setRun] = useState<RunDetail>();
  const [error, setError] = useState<unknown>();

  // biome-ignore lint/correctness/useExhaustiveDependencies: one polling loop per queued run
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        let runId: number | null = null;
        const q = await api.get<QueueState>(`/api/queue/${encodeURIComponent(queueId)}`);
        if (stopped) return;
        setQueue(q);
        runId = q.runId;
        if (runId !== null) {
          const current = await api.get<RunDetail>(`/api/runs/${runId}`);
          if (stopped) return;
          setRun(current);
          if (!inProgress(current.status)) {
            announce(current);
            onFinished(current);
            return;
          }
        } else if (q.state === "finished") {
          notifications.show({ color: "gray", message: "The run ended without starting (nothing to do)." });
          return;
        }
      } catch (e) {
        if (stopped) return;
        setError(e);
      }
      timer = setTimeout(poll, POLL_MS);
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [queueId]);

  const tasks = run?.tasks ?? [];
  const done = tasks.filter((t) => !inProgress(t.status)).length;
  return (
    <Paper withBorder p="md" my="md" aria-labelledby="run-progress-title">
      <Group justify="space-between" mb="sm">
        <Title order={2} size="h4" id="run-progress-title">
          {run ? `Run ${run.id}` : "Run"}
        </Title>
        <Group gap="xs">
          {run ? (
            <StatusBadge status={run.status} />
          ) : (
            <Text size="sm">Waiting for a worker ({queue.state})</Text>
          )}
          {(!run || inProgress(run.status)) && <Loader size="xs" aria-label="Running" />}
        </Group>
      </Group>
      {error !== undefined && (
        <Text c="red" size="sm" role="alert">
          {errorMessage(error)}
        </Text>
      )}
      {run && (
        <>
          <Progress
            value={tasks.length ? (done / tasks.length) * 100 : 0}
            aria-label={`${done} of ${tasks.length} tasks done`}
            mb="sm"
          />
          {/* Read out as it changes; the table below would be too much to announce every second. */}
          <Text size="sm" mb="sm" role="status">
            {count(run.rowsRead)} rows read, {count(run.requests)} requests, {duration(run.durationMs)}.{" "}
            <Anchor component={Link} to={`/history/${run.id}`}>
              Logs and details
            </Anchor>
          </Text>
          <RunTasks tasks={tasks} />
        </>
      )}
    </Paper>
  );
}

function announce(run: RunDetail) {
  if (run.status === "SUCCEEDED") {
    notifications.show({
      color: "green",
      title: `Run ${run.id} succeeded`,
      message: runSummary(run),
      autoClose: 8000,
    });
  } else {
    notifications.show({
      color: run.status === "FAILED" ? "red" : "orange",
      title: `Run ${run.id} ${run.status.toLowerCase()}`,
      message: run.error ?? runSummary(run),
      autoClose: 15_000,
    });
  }
}
