import {
  Anchor,
  Badge,
  Button,
  type ButtonProps,
  Group,
  Select,
  Table,
  Text,
  Title,
  VisuallyHidden,
} from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { type ReactNode, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { api, seg } from "../api";
import { ErrorAlert, Loading, notifyError } from "../components";
import { dateTime } from "../format";
import { useApi } from "../hooks";
import type { Connection, TestResult } from "../types";
import { useOAuthOutcome } from "./ConnectionForm";

export function ConnectionsPage() {
  const [params, setParams] = useSearchParams();
  const label = params.get("label");
  const all = useApi<Connection[]>("/api/connections");
  const shown = useApi<Connection[]>(label ? `/api/connections?label=${seg(label)}` : "/api/connections");
  useOAuthOutcome(all.reload);
  const labels = [...new Set(all.data?.flatMap((c) => c.labels) ?? [])].sort();

  return (
    <>
      <Group justify="space-between" mb="md">
        <Title order={1}>Connections</Title>
        <Button component={Link} to="/connections/new">
          Add connection
        </Button>
      </Group>
      {labels.length > 0 && (
        <Select
          label="Label"
          placeholder="All labels"
          data={labels}
          value={label}
          onChange={(value) => setParams(value ? { label: value } : {})}
          clearable
          maw={260}
          mb="md"
        />
      )}
      <ErrorAlert error={shown.error} />
      {shown.loading && !shown.data && <Loading />}
      {shown.data?.length === 0 && (
        <Text c="dimmed">
          No connections yet. Add a source (Bitbucket) and a destination (PostgreSQL) to start.
        </Text>
      )}
      {shown.data && shown.data.length > 0 && (
        <Table.ScrollContainer minWidth={640}>
          <Table striped highlightOnHover>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Kind</Table.Th>
                <Table.Th>Connector</Table.Th>
                <Table.Th>Labels</Table.Th>
                <Table.Th>Updated</Table.Th>
                <Table.Th>
                  <VisuallyHidden>Actions</VisuallyHidden>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {shown.data.map((c) => (
                <Table.Tr key={c.name}>
                  <Table.Td>
                    <Anchor component={Link} to={`/connections/${seg(c.name)}`}>
                      {c.name}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>{c.kind}</Table.Td>
                  <Table.Td>{c.title}</Table.Td>
                  <Table.Td>
                    <Group gap={4}>
                      {c.labels.map((l) => (
                        <Badge key={l} variant="outline">
                          {l}
                        </Badge>
                      ))}
                    </Group>
                  </Table.Td>
                  <Table.Td>{dateTime(c.updatedAt)}</Table.Td>
                  <Table.Td>
                    <TestButton name={c.name} size="xs" aria-label={`Test ${c.name}`}>
                      Test
                    </TestButton>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </>
  );
}

/** Tests a saved connection and says how it went. */
export function TestButton({
  name,
  children,
  ...props
}: { name: string } & ButtonProps & { children: ReactNode }) {
  const [busy, setBusy] = useState(false);
  const test = async () => {
    setBusy(true);
    try {
      const result = await api.post<TestResult>(`/api/connections/${seg(name)}/test`);
      notifications.show({ color: "green", title: `${name} works`, message: result.message });
    } catch (e) {
      notifyError(e, `${name} does not work`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Button variant="default" {...props} onClick={test} loading={busy}>
      {children}
    </Button>
  );
}
