import {
  Anchor,
  Breadcrumbs,
  Button,
  Checkbox,
  Code,
  Group,
  List,
  Modal,
  Paper,
  ScrollArea,
  SimpleGrid,
  Stack,
  Table,
  Tabs,
  Text,
  TextInput,
  Title,
  VisuallyHidden,
} from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { notifications } from "@mantine/notifications";
import { useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import { api, seg } from "../api";
import { ErrorAlert, FormError, Loading, notifyError, StatusBadge } from "../components";
import { count, dateTime, duration } from "../format";
import { useApi } from "../hooks";
import type { Job, SourceTable, Task } from "../types";
import { RunProgress } from "./RunProgress";
import { ScheduleDialog } from "./ScheduleDialog";

export function JobPage() {
  const name = useParams().name ?? "";
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const job = useApi<Job>(`/api/jobs/${seg(name)}`);
  const [selected, setSelected] = useState<number[]>([]);
  const [queueId, setQueueId] = useState<string>();
  const [starting, setStarting] = useState(false);
  const [deleting, deleteDialog] = useDisclosure(false);
  const tab = params.get("tab") === "tasks" ? "tasks" : "overview";

  const run = async (tasks?: number[]) => {
    setStarting(true);
    try {
      const queued = await api.post<{ queued: boolean; queueId: string }>(
        `/api/jobs/${seg(name)}/runs`,
        tasks ? { tasks } : {},
      );
      setQueueId(String(queued.queueId));
    } catch (e) {
      notifyError(e, "The run did not start");
    } finally {
      setStarting(false);
    }
  };

  const remove = async () => {
    try {
      await api.delete(`/api/jobs/${seg(name)}`);
      notifications.show({ color: "green", message: `Deleted job ${name}.` });
      navigate("/jobs");
    } catch (e) {
      notifyError(e, "Not deleted");
      deleteDialog.close();
    }
  };

  return (
    <>
      <Breadcrumbs mb="sm">
        <Anchor component={Link} to="/jobs">
          Jobs
        </Anchor>
        <Text>{name}</Text>
      </Breadcrumbs>
      <Group justify="space-between" mb="md">
        <Title order={1}>Job {name}</Title>
        <Group gap="xs">
          <Button onClick={() => run()} loading={starting} disabled={!job.data?.tasks.length}>
            Run job
          </Button>
          <Button color="red" variant="light" onClick={deleteDialog.open}>
            Delete job
          </Button>
        </Group>
      </Group>
      <ErrorAlert error={job.error} />
      {job.loading && !job.data && <Loading />}
      {queueId && <RunProgress key={queueId} queueId={queueId} onFinished={job.reload} />}
      {job.data && (
        <Tabs value={tab} onChange={(v) => setParams(v === "tasks" ? { tab: "tasks" } : {})}>
          <Tabs.List>
            <Tabs.Tab value="overview">Overview</Tabs.Tab>
            <Tabs.Tab value="tasks">Tasks ({job.data.tasks.length})</Tabs.Tab>
          </Tabs.List>
          <Tabs.Panel value="overview" pt="md">
            <Overview job={job.data} reload={job.reload} />
          </Tabs.Panel>
          <Tabs.Panel value="tasks" pt="md">
            <Tasks
              job={job.data}
              reload={job.reload}
              selected={selected}
              setSelected={setSelected}
              onRunSelected={() => run(selected)}
              starting={starting}
            />
          </Tabs.Panel>
        </Tabs>
      )}
      <Modal opened={deleting} onClose={deleteDialog.close} title={`Delete job ${name}?`}>
        <Text mb="md">Its tasks, schedule and run history go too; replicated tables stay.</Text>
        <Group justify="flex-end">
          <Button variant="default" onClick={deleteDialog.close}>
            Cancel
          </Button>
          <Button color="red" onClick={remove}>
            Delete job
          </Button>
        </Group>
      </Modal>
    </>
  );
}

function Overview({ job, reload }: { job: Job; reload: () => void }) {
  const [configuring, dialog] = useDisclosure(false);
  const unschedule = async () => {
    try {
      await api.delete(`/api/jobs/${seg(job.name)}/schedule`);
      notifications.show({ color: "green", message: "Schedule removed; the job runs only when started." });
      reload();
    } catch (e) {
      notifyError(e, "Schedule not removed");
    }
  };
  return (
    <SimpleGrid cols={{ base: 1, md: 2 }}>
      <Paper withBorder p="md">
        <Title order={2} size="h4" mb="sm">
          Connections
        </Title>
        <Text>
          Source:{" "}
          <Anchor component={Link} to={`/connections/${seg(job.source)}`}>
            {job.source}
          </Anchor>
        </Text>
        <Text>
          Destination:{" "}
          <Anchor component={Link} to={`/connections/${seg(job.destination)}`}>
            {job.destination}
          </Anchor>
        </Text>
        <Text mt="sm" size="sm" c="dimmed">
          Created {dateTime(job.createdAt)}
        </Text>
        {job.lastRun && (
          <Group gap="xs" mt="sm">
            <Text>Last run:</Text>
            <Anchor component={Link} to={`/history/${job.lastRun.id}`}>
              {dateTime(job.lastRun.startedAt)}
            </Anchor>
            <StatusBadge status={job.lastRun.status} />
            <Text size="sm">
              {count(job.lastRun.rowsRead)} rows, {duration(job.lastRun.durationMs)}
            </Text>
          </Group>
        )}
      </Paper>
      <Paper withBorder p="md">
        <Title order={2} size="h4" mb="sm">
          Schedule
        </Title>
        {job.schedule ? (
          <>
            <Text>{job.schedule.description}</Text>
            <Text size="sm" c="dimmed">
              <Code>{job.schedule.cron}</Code> in {job.schedule.timeZone}
            </Text>
            {job.nextRuns.length > 0 && (
              <>
                <Text fw={600} size="sm" mt="sm">
                  Next runs
                </Text>
                <List size="sm">
                  {job.nextRuns.map((at) => (
                    <List.Item key={at}>{dateTime(at, job.schedule?.timeZone)}</List.Item>
                  ))}
                </List>
              </>
            )}
          </>
        ) : (
          <Text c="dimmed">Not scheduled: the job runs when you start it.</Text>
        )}
        <Group mt="md" gap="xs">
          <Button variant="default" onClick={dialog.open}>
            Configure
          </Button>
          {job.schedule && (
            <Button variant="subtle" color="red" onClick={unschedule}>
              Remove schedule
            </Button>
          )}
        </Group>
      </Paper>
      <ScheduleDialog
        job={job.name}
        schedule={job.schedule}
        opened={configuring}
        onClose={dialog.close}
        onSaved={reload}
      />
    </SimpleGrid>
  );
}

function Tasks({
  job,
  reload,
  selected,
  setSelected,
  onRunSelected,
  starting,
}: {
  job: Job;
  reload: () => void;
  selected: number[];
  setSelected: (positions: number[]) => void;
  onRunSelected: () => void;
  starting: boolean;
}) {
  const [adding, dialog] = useDisclosure(false);
  const toggle = (position: number, on: boolean) =>
    setSelected(on ? [...selected, position] : selected.filter((p) => p !== position));
  const remove = async (task: Task) => {
    try {
      await api.delete(`/api/jobs/${seg(job.name)}/tasks/${task.position}`);
      setSelected([]);
      reload();
    } catch (e) {
      notifyError(e, "Task not deleted");
    }
  };
  const all = job.tasks.length > 0 && selected.length === job.tasks.length;
  return (
    <Stack>
      <Group>
        <Button onClick={dialog.open}>Add tasks</Button>
        <Button variant="default" disabled={selected.length === 0} loading={starting} onClick={onRunSelected}>
          Run selected ({selected.length})
        </Button>
      </Group>
      {job.tasks.length === 0 ? (
        <Text c="dimmed">No tasks yet. Add tasks to choose the tables this job replicates.</Text>
      ) : (
        <Table.ScrollContainer minWidth={640}>
          <Table striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th w={40}>
                  <Checkbox
                    aria-label="Select all tasks"
                    checked={all}
                    indeterminate={selected.length > 0 && !all}
                    onChange={(e) =>
                      setSelected(e.currentTarget.checked ? job.tasks.map((t) => t.position) : [])
                    }
                  />
                </Table.Th>
                <Table.Th w={40}>#</Table.Th>
                <Table.Th>Table</Table.Th>
                <Table.Th>Statement</Table.Th>
                <Table.Th>
                  <VisuallyHidden>Actions</VisuallyHidden>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {job.tasks.map((task) => (
                <Table.Tr key={task.position}>
                  <Table.Td>
                    <Checkbox
                      aria-label={`Select task ${task.position} (${task.table})`}
                      checked={selected.includes(task.position)}
                      onChange={(e) => toggle(task.position, e.currentTarget.checked)}
                    />
                  </Table.Td>
                  <Table.Td>{task.position}</Table.Td>
                  <Table.Td>{task.table}</Table.Td>
                  <Table.Td>
                    <Code block style={{ whiteSpace: "pre-wrap" }}>
                      {task.statement}
                    </Code>
                  </Table.Td>
                  <Table.Td>
                    <Group gap={4} wrap="nowrap">
                      <Button
                        size="xs"
                        variant="default"
                        component={Link}
                        to={`/jobs/${seg(job.name)}/tasks/${task.position}`}
                        aria-label={`Edit task ${task.position} (${task.table})`}
                      >
                        Edit
                      </Button>
                      <Button
                        size="xs"
                        variant="subtle"
                        color="red"
                        onClick={() => remove(task)}
                        aria-label={`Delete task ${task.position} (${task.table})`}
                      >
                        Delete
                      </Button>
                    </Group>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <Modal opened={adding} onClose={dialog.close} title="Add tasks" size="lg">
        {adding && (
          <AddTasks
            job={job}
            onAdded={() => {
              dialog.close();
              reload();
            }}
          />
        )}
      </Modal>
    </Stack>
  );
}

/** `[Name]`, the REPLICATE statement's quoting of a table name. */
function bracket(name: string): string {
  return `[${name.replaceAll("]", "]]")}]`;
}

function AddTasks({ job, onAdded }: { job: Job; onAdded: () => void }) {
  const tables = useApi<SourceTable[]>(`/api/connections/${seg(job.source)}/tables`);
  const [filter, setFilter] = useState("");
  const [chosen, setChosen] = useState<string[]>([]);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const existing = new Set(job.tasks.map((t) => t.table.toLowerCase()));
  const needle = filter.trim().toLowerCase();
  const shown =
    tables.data?.filter(
      (t) => t.name.toLowerCase().includes(needle) || t.description.toLowerCase().includes(needle),
    ) ?? [];

  const add = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const added = await api.post<Task[]>(`/api/jobs/${seg(job.name)}/tasks`, {
        statements: chosen.map((t) => `REPLICATE ${bracket(t)}`),
      });
      notifications.show({
        color: "green",
        message: `Added ${added.length} task${added.length === 1 ? "" : "s"}.`,
      });
      onAdded();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };

  return (
    <Stack>
      <Text size="sm">Tables of {job.source}. Each chosen table becomes one task.</Text>
      <ErrorAlert error={tables.error} title="Cannot list the source's tables" />
      <FormError error={error} />
      <TextInput
        label="Filter tables"
        placeholder="e.g. commit"
        value={filter}
        onChange={(e) => setFilter(e.currentTarget.value)}
        data-autofocus
      />
      {tables.loading && <Loading label="Loading tables" />}
      <ScrollArea.Autosize mah={380} type="auto">
        <Checkbox.Group label="Tables" value={chosen} onChange={setChosen}>
          <Stack gap="xs" mt="xs">
            {shown.map((t) => (
              <Checkbox
                key={t.name}
                value={t.name}
                label={existing.has(t.name.toLowerCase()) ? `${t.name} (already a task)` : t.name}
                description={t.description}
              />
            ))}
          </Stack>
        </Checkbox.Group>
      </ScrollArea.Autosize>
      <Group justify="flex-end">
        <Button onClick={add} disabled={chosen.length === 0} loading={busy}>
          Add {chosen.length} task{chosen.length === 1 ? "" : "s"}
        </Button>
      </Group>
    </Stack>
  );
}
