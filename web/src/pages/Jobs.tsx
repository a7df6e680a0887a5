import { Anchor, Button, Group, Modal, Select, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { type FormEvent, useState } from "react";
import { Link, useNavigate } from "react-router";
import { api, fieldError, seg } from "../api";
import { ErrorAlert, FormError, Loading, StatusBadge } from "../components";
import { dateTime } from "../format";
import { useApi } from "../hooks";
import type { Connection, Job, JobSummary } from "../types";

export function JobsPage() {
  const jobs = useApi<JobSummary[]>("/api/jobs");
  const [adding, { open, close }] = useDisclosure(false);
  return (
    <>
      <Group justify="space-between" mb="md">
        <Title order={1}>Jobs</Title>
        <Button onClick={open}>Add job</Button>
      </Group>
      <ErrorAlert error={jobs.error} />
      {jobs.loading && !jobs.data && <Loading />}
      {jobs.data?.length === 0 && (
        <Text c="dimmed">No jobs yet. A job copies tables from a source connection to a destination.</Text>
      )}
      {jobs.data && jobs.data.length > 0 && (
        <Table.ScrollContainer minWidth={720}>
          <Table striped highlightOnHover>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Source</Table.Th>
                <Table.Th>Destination</Table.Th>
                <Table.Th>Tasks</Table.Th>
                <Table.Th>Schedule</Table.Th>
                <Table.Th>Last run</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {jobs.data.map((job) => (
                <Table.Tr key={job.name}>
                  <Table.Td>
                    <Anchor component={Link} to={`/jobs/${seg(job.name)}`}>
                      {job.name}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>{job.source}</Table.Td>
                  <Table.Td>{job.destination}</Table.Td>
                  <Table.Td>{job.taskCount}</Table.Td>
                  <Table.Td>{job.schedule?.description ?? "Not scheduled"}</Table.Td>
                  <Table.Td>
                    {job.lastRun ? (
                      <Group gap="xs">
                        <StatusBadge status={job.lastRun.status} />
                        <Text size="sm">{dateTime(job.lastRun.startedAt)}</Text>
                      </Group>
                    ) : (
                      "Never"
                    )}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <Modal opened={adding} onClose={close} title="Add job">
        {adding && <AddJobForm />}
      </Modal>
    </>
  );
}

function AddJobForm() {
  const navigate = useNavigate();
  const connections = useApi<Connection[]>("/api/connections");
  const [name, setName] = useState("");
  const [source, setSource] = useState<string | null>(null);
  const [destination, setDestination] = useState<string | null>(null);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const names = (kind: string) => connections.data?.filter((c) => c.kind === kind).map((c) => c.name) ?? [];

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const job = await api.post<Job>("/api/jobs", { name: name.trim(), source, destination });
      navigate(`/jobs/${seg(job.name)}?tab=tasks`);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} noValidate>
      <Stack>
        <FormError error={error} />
        <TextInput
          label="Name"
          description="e.g. nightly"
          required
          data-autofocus
          value={name}
          onChange={(e) => setName(e.currentTarget.value)}
          error={fieldError(error, "name")}
        />
        <Select
          label="Source"
          placeholder="Pick a source connection"
          required
          data={names("source")}
          value={source}
          onChange={setSource}
          error={fieldError(error, "source")}
        />
        <Select
          label="Destination"
          placeholder="Pick a destination connection"
          required
          data={names("destination")}
          value={destination}
          onChange={setDestination}
          error={fieldError(error, "destination")}
        />
        <ErrorAlert error={connections.error} />
        <Group justify="flex-end">
          <Button type="submit" loading={busy}>
            Create job
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
