import {
  Alert,
  Anchor,
  Breadcrumbs,
  Button,
  Code,
  Group,
  Paper,
  SimpleGrid,
  Text,
  Title,
} from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { type ReactNode, useEffect, useState } from "react";
import { Link, useParams } from "react-router";
import { api, seg } from "../api";
import { ErrorAlert, Loading, notifyError, StatusBadge } from "../components";
import { count, dateTime, duration } from "../format";
import { useApi } from "../hooks";
import { inProgress, type RunDetail, type RunLog } from "../types";
import { RunTasks } from "./RunTasks";

export function RunPage() {
  const id = useParams().id ?? "";
  const run = useApi<RunDetail>(`/api/runs/${seg(id)}`);
  const running = run.data !== undefined && inProgress(run.data.status);
  const { reload } = run;
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(reload, 1000);
    return () => clearInterval(timer);
  }, [running, reload]);

  const [cancelling, setCancelling] = useState(false);
  const cancel = async () => {
    setCancelling(true);
    try {
      const answer = await api.post<{ status: string; message: string }>(`/api/runs/${seg(id)}/cancel`);
      notifications.show({ color: "orange", title: `Run ${id}`, message: answer.message });
      reload();
    } catch (e) {
      notifyError(e, "Not cancelled");
    } finally {
      setCancelling(false);
    }
  };

  return (
    <>
      <Breadcrumbs mb="sm">
        <Anchor component={Link} to="/history">
          History
        </Anchor>
        <Text>Run {id}</Text>
      </Breadcrumbs>
      <ErrorAlert error={run.error} />
      {run.loading && !run.data && <Loading />}
      {run.data && (
        <>
          <Group justify="space-between" mb="md">
            <Group gap="sm">
              <Title order={1}>Run {run.data.id}</Title>
              <StatusBadge status={run.data.status} />
            </Group>
            {running && (
              <Button color="orange" variant="light" onClick={cancel} loading={cancelling}>
                Cancel run
              </Button>
            )}
          </Group>
          <SimpleGrid cols={{ base: 2, sm: 3, md: 6 }} mb="md">
            <Stat label="Job">
              <Anchor component={Link} to={`/jobs/${seg(run.data.job)}`}>
                {run.data.job}
              </Anchor>
            </Stat>
            <Stat label="Trigger">{run.data.trigger}</Stat>
            <Stat label="Started">{dateTime(run.data.startedAt)}</Stat>
            <Stat label="Duration">{duration(run.data.durationMs)}</Stat>
            <Stat label="Rows read">{count(run.data.rowsRead)}</Stat>
            <Stat label="Requests">{count(run.data.requests)}</Stat>
          </SimpleGrid>
          {run.data.error && (
            <Alert color="red" title="Error" mb="md">
              {run.data.error}
            </Alert>
          )}
          <Title order={2} size="h3" mb="sm">
            Tasks
          </Title>
          <RunTasks tasks={run.data.tasks} detailed />
          <Logs id={id} live={running} />
        </>
      )}
    </>
  );
}

function Stat({ label, children }: { label: string; children: ReactNode }) {
  return (
    <Paper withBorder p="xs">
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text fw={600}>{children}</Text>
    </Paper>
  );
}

/** The run's log lines; new ones are fetched with `?after=` while the run goes on. */
function Logs({ id, live }: { id: string; live: boolean }) {
  const [lines, setLines] = useState<RunLog[]>([]);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let after: number | undefined;
    const fetchMore = async () => {
      try {
        const page = await api.get<RunLog[]>(
          `/api/runs/${seg(id)}/logs${after === undefined ? "" : `?after=${after}`}`,
        );
        if (stopped) return;
        if (page.length > 0) {
          after = page[page.length - 1]?.id;
          setLines((l) => [...l, ...page]);
        }
      } catch (e) {
        if (!stopped) setError(e);
      }
      if (live && !stopped) timer = setTimeout(fetchMore, 1000);
    };
    setLines([]);
    void fetchMore();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [id, live]);

  return (
    <>
      <Title order={2} size="h3" mt="lg" mb="sm">
        Logs
      </Title>
      <ErrorAlert error={error} />
      {lines.length === 0 ? (
        <Text c="dimmed">No log lines.</Text>
      ) : (
        <Code
          block
          style={{ maxHeight: 420, overflow: "auto", whiteSpace: "pre-wrap" }}
          tabIndex={0}
          aria-label="Run log"
        >
          {lines
            .map(
              (l) =>
                `${l.at.slice(11, 19)} ${l.level.toUpperCase().padEnd(5)} ${l.position === null ? "" : `[task ${l.position}] `}${l.message}`,
            )
            .join("\n")}
        </Code>
      )}
    </>
  );
}
