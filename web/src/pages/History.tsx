import { ActionIcon, Anchor, Button, Group, Select, Table, Text, Title } from "@mantine/core";
import { Fragment, useEffect, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { api, seg } from "../api";
import { ErrorAlert, Loading, StatusBadge } from "../components";
import { count, dateTime, duration } from "../format";
import { useApi } from "../hooks";
import { inProgress, type JobSummary, type Run, type RunDetail } from "../types";
import { RunTasks } from "./RunTasks";

const PAGE = 50;

export function HistoryPage() {
  const [params, setParams] = useSearchParams();
  const job = params.get("job");
  const jobs = useApi<JobSummary[]>("/api/jobs");
  const query = `limit=${PAGE}${job ? `&job=${seg(job)}` : ""}`;
  const first = useApi<Run[]>(`/api/runs?${query}`);
  const [older, setOlder] = useState<Run[]>([]);
  const [more, setMore] = useState<{ loading: boolean; error?: unknown; done: boolean }>({
    loading: false,
    done: false,
  });
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new filter starts a new list
  useEffect(() => {
    setOlder([]);
    setMore({ loading: false, done: false });
  }, [query]);

  // Running runs change under the user's eyes: refresh the first page while any is running.
  const { reload } = first;
  const running = first.data?.some((r) => inProgress(r.status));
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(reload, 2000);
    return () => clearInterval(timer);
  }, [running, reload]);

  const runs = [...(first.data ?? []), ...older];
  const [open, setOpen] = useState<Set<number>>(new Set());
  const toggle = (id: number) =>
    setOpen((o) => {
      const next = new Set(o);
      if (!next.delete(id)) next.add(id);
      return next;
    });
  const loadMore = async () => {
    const last = runs[runs.length - 1];
    if (!last) return;
    setMore({ loading: true, done: false });
    try {
      const page = await api.get<Run[]>(`/api/runs?${query}&before=${last.id}`);
      setOlder((o) => [...o, ...page]);
      setMore({ loading: false, done: page.length < PAGE });
    } catch (error) {
      setMore({ loading: false, error, done: false });
    }
  };

  return (
    <>
      <Title order={1} mb="md">
        History
      </Title>
      <Select
        label="Job"
        placeholder="All jobs"
        data={jobs.data?.map((j) => j.name) ?? []}
        value={job}
        onChange={(v) => setParams(v ? { job: v } : {})}
        clearable
        maw={260}
        mb="md"
      />
      <ErrorAlert error={first.error ?? more.error} />
      {first.loading && !first.data && <Loading />}
      {first.data?.length === 0 && <Text c="dimmed">No runs yet.</Text>}
      {runs.length > 0 && (
        <Table.ScrollContainer minWidth={820}>
          <Table striped highlightOnHover>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Run</Table.Th>
                <Table.Th>Job</Table.Th>
                <Table.Th>Trigger</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Started</Table.Th>
                <Table.Th>Duration</Table.Th>
                <Table.Th>Rows</Table.Th>
                <Table.Th>Inserted / updated / deleted</Table.Th>
                <Table.Th>Requests</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {runs.map((r) => (
                <Fragment key={r.id}>
                  <Table.Tr>
                    <Table.Td>
                      <Group gap={4} wrap="nowrap">
                        <ActionIcon
                          variant="subtle"
                          size="sm"
                          onClick={() => toggle(r.id)}
                          aria-expanded={open.has(r.id)}
                          aria-label={`${open.has(r.id) ? "Hide" : "Show"} the tasks of run ${r.id}`}
                        >
                          {open.has(r.id) ? "▾" : "▸"}
                        </ActionIcon>
                        <Anchor component={Link} to={`/history/${r.id}`}>
                          {r.id}
                        </Anchor>
                      </Group>
                    </Table.Td>
                    <Table.Td>{r.job}</Table.Td>
                    <Table.Td>{r.trigger}</Table.Td>
                    <Table.Td>
                      <StatusBadge status={r.status} />
                    </Table.Td>
                    <Table.Td>{dateTime(r.startedAt)}</Table.Td>
                    <Table.Td>{duration(r.durationMs)}</Table.Td>
                    <Table.Td>{count(r.rowsRead)}</Table.Td>
                    <Table.Td>
                      {count(r.inserted)} / {count(r.updated)} / {count(r.deleted)}
                    </Table.Td>
                    <Table.Td>{count(r.requests)}</Table.Td>
                  </Table.Tr>
                  {open.has(r.id) && (
                    <Table.Tr>
                      <Table.Td colSpan={9} bg="gray.0">
                        <TasksOf id={r.id} />
                      </Table.Td>
                    </Table.Tr>
                  )}
                </Fragment>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {(first.data?.length ?? 0) >= PAGE && !more.done && (
        <Group mt="md">
          <Button variant="default" onClick={loadMore} loading={more.loading}>
            Older runs
          </Button>
        </Group>
      )}
    </>
  );
}

function TasksOf({ id }: { id: number }) {
  const run = useApi<RunDetail>(`/api/runs/${id}`);
  if (run.error) return <ErrorAlert error={run.error} />;
  if (!run.data) return <Loading label={`Loading the tasks of run ${id}`} />;
  return <RunTasks tasks={run.data.tasks} />;
}
