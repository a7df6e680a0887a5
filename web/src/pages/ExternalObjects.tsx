import {
  Alert,
  Anchor,
  Button,
  Code,
  CopyButton,
  Group,
  Modal,
  NumberInput,
  Paper,
  ScrollArea,
  Select,
  Stack,
  Switch,
  Table,
  Tabs,
  Text,
  TextInput,
  Title,
  VisuallyHidden,
} from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { notifications } from "@mantine/notifications";
import { type FormEvent, useState } from "react";
import { api, errorMessage, fieldError, seg } from "../api";
import { ErrorAlert, FormError, Loading, notifyError } from "../components";
import { dateTime } from "../format";
import { useApi } from "../hooks";
import type { ODataCredential, ODataInfo, ODataTable } from "../types";

export function ExternalObjectsPage() {
  const info = useApi<ODataInfo>("/api/odata");
  const tables = useApi<ODataTable[]>("/api/odata/tables");
  return (
    <Stack gap="lg">
      <Title order={1}>External Objects</Title>
      <Text maw={760}>
        Salesforce Connect reads the shared tables through OData 4.0. In Salesforce Setup, create an External
        Data Source of type “Salesforce Connect: OData 4.0” with this URL and one of the credentials below
        (Identity Type: Named Principal, Authentication Protocol: Password Authentication), then Validate and
        Sync.
      </Text>
      <ErrorAlert error={info.error} />
      {info.data && <ServiceUrl info={info.data} />}
      <Credentials />
      <SharedTables tables={tables} />
      <Preview tables={tables.data ?? []} />
    </Stack>
  );
}

function ServiceUrl({ info }: { info: ODataInfo }) {
  return (
    <Paper withBorder p="md">
      <Title order={2} size="h3" mb="xs">
        OData service
      </Title>
      <Group gap="sm" wrap="nowrap" align="center">
        <Code fz="md" style={{ overflowWrap: "anywhere" }} aria-label="OData URL">
          {info.url}
        </Code>
        <CopyButton value={info.url}>
          {({ copied, copy }) => (
            <Button
              size="xs"
              variant={copied ? "filled" : "default"}
              color={copied ? "teal" : undefined}
              onClick={copy}
            >
              {copied ? "Copied" : "Copy URL"}
            </Button>
          )}
        </CopyButton>
      </Group>
      <Text size="sm" c="dimmed" mt="xs">
        Publishing {info.published}
      </Text>
    </Paper>
  );
}

interface Secret {
  username: string;
  password: string;
  note?: string;
}

function Credentials() {
  const credentials = useApi<ODataCredential[]>("/api/odata/credentials");
  const [creating, createDialog] = useDisclosure(false);
  const [secret, setSecret] = useState<Secret | null>(null);
  const [revoking, setRevoking] = useState<string | null>(null);

  const reset = async (username: string) => {
    try {
      const answer = await api.post<{
        username: string;
        password: string;
        previousValidUntil: string | null;
      }>(`/api/odata/credentials/${seg(username)}/reset`);
      setSecret({
        username: answer.username,
        password: answer.password,
        note: answer.previousValidUntil
          ? `The previous password keeps working until ${dateTime(answer.previousValidUntil)}.`
          : undefined,
      });
      credentials.reload();
    } catch (e) {
      notifyError(e, "Password not reset");
    }
  };
  const revoke = async (username: string) => {
    try {
      await api.delete(`/api/odata/credentials/${seg(username)}`);
      notifications.show({ color: "green", message: `Revoked ${username}.` });
      credentials.reload();
    } catch (e) {
      notifyError(e, "Not revoked");
    } finally {
      setRevoking(null);
    }
  };

  const active = credentials.data?.filter((c) => !c.revokedAt) ?? [];
  return (
    <Paper withBorder p="md">
      <Group justify="space-between" mb="sm">
        <Title order={2} size="h3">
          Credentials
        </Title>
        <Button onClick={createDialog.open}>Create credential</Button>
      </Group>
      <ErrorAlert error={credentials.error} />
      {credentials.loading && !credentials.data && <Loading />}
      {credentials.data?.length === 0 && <Text c="dimmed">No credentials yet: OData answers nobody.</Text>}
      {credentials.data && credentials.data.length > 0 && (
        <Table.ScrollContainer minWidth={720}>
          <Table striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Username</Table.Th>
                <Table.Th>Created</Table.Th>
                <Table.Th>Password reset</Table.Th>
                <Table.Th>Last used</Table.Th>
                <Table.Th>Requests per hour</Table.Th>
                <Table.Th>
                  <VisuallyHidden>Actions</VisuallyHidden>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {credentials.data.map((c) => (
                <Table.Tr key={c.username}>
                  <Table.Td>{c.username}</Table.Td>
                  <Table.Td>{dateTime(c.createdAt)}</Table.Td>
                  <Table.Td>{dateTime(c.resetAt)}</Table.Td>
                  <Table.Td>{dateTime(c.lastUsedAt)}</Table.Td>
                  <Table.Td>{c.requestsPerHour ?? "no limit"}</Table.Td>
                  <Table.Td>
                    {c.revokedAt ? (
                      <Text size="sm" c="dimmed">
                        Revoked {dateTime(c.revokedAt)}
                      </Text>
                    ) : (
                      <Group gap={4} wrap="nowrap">
                        <Button
                          size="xs"
                          variant="default"
                          onClick={() => reset(c.username)}
                          aria-label={`Reset password of ${c.username}`}
                        >
                          Reset password
                        </Button>
                        <Button
                          size="xs"
                          variant="subtle"
                          color="red"
                          onClick={() => setRevoking(c.username)}
                          aria-label={`Revoke ${c.username}`}
                        >
                          Revoke
                        </Button>
                      </Group>
                    )}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {active.length === 0 && credentials.data && credentials.data.length > 0 && (
        <Text size="sm" c="dimmed">
          Every credential is revoked.
        </Text>
      )}
      <Modal opened={creating} onClose={createDialog.close} title="Create credential">
        {creating && (
          <CreateCredential
            onCreated={(s) => {
              createDialog.close();
              setSecret(s);
              credentials.reload();
            }}
          />
        )}
      </Modal>
      <Modal opened={revoking !== null} onClose={() => setRevoking(null)} title={`Revoke ${revoking}?`}>
        <Text mb="md">Salesforce (or anyone) using this credential loses access immediately.</Text>
        <Group justify="flex-end">
          <Button variant="default" onClick={() => setRevoking(null)}>
            Cancel
          </Button>
          <Button color="red" onClick={() => revoking && revoke(revoking)}>
            Revoke credential
          </Button>
        </Group>
      </Modal>
      <ShownOnce secret={secret} onClose={() => setSecret(null)} />
    </Paper>
  );
}

function CreateCredential({ onCreated }: { onCreated: (secret: Secret) => void }) {
  const [username, setUsername] = useState("salesforce");
  const [limit, setLimit] = useState<number | string>("");
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const created = await api.post<{ username: string; password: string }>("/api/odata/credentials", {
        username: username.trim(),
        ...(limit !== "" && { requestsPerHour: Number(limit) }),
      });
      onCreated(created);
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
          label="Username"
          required
          data-autofocus
          value={username}
          onChange={(e) => setUsername(e.currentTarget.value)}
          error={fieldError(error, "username")}
        />
        <NumberInput
          label="Requests per hour"
          description="Optional limit; empty for none"
          min={1}
          value={limit}
          onChange={setLimit}
          error={fieldError(error, "requestsPerHour")}
        />
        <Group justify="flex-end">
          <Button type="submit" loading={busy}>
            Create
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

/** A password or token is shown once: only its hash is kept on the server. */
export function ShownOnce({
  secret,
  onClose,
  what = "password",
}: {
  secret: Secret | null;
  onClose: () => void;
  what?: string;
}) {
  return (
    <Modal opened={secret !== null} onClose={onClose} title={`The ${what} of ${secret?.username ?? ""}`}>
      {secret && (
        <Stack>
          <Alert color="yellow">Copy it now: it is shown only once and cannot be displayed again.</Alert>
          <Group gap="sm" wrap="nowrap">
            <Code fz="md" style={{ overflowWrap: "anywhere" }} aria-label={`New ${what}`} data-secret>
              {secret.password}
            </Code>
            <CopyButton value={secret.password}>
              {({ copied, copy }) => (
                <Button size="xs" variant="default" onClick={copy}>
                  {copied ? "Copied" : "Copy"}
                </Button>
              )}
            </CopyButton>
          </Group>
          {secret.note && <Text size="sm">{secret.note}</Text>}
          <Group justify="flex-end">
            <Button onClick={onClose}>Done</Button>
          </Group>
        </Stack>
      )}
    </Modal>
  );
}

function SharedTables({ tables }: { tables: ReturnType<typeof useApi<ODataTable[]>> }) {
  const [busy, setBusy] = useState<string | null>(null);
  const toggle = async (t: ODataTable, share: boolean) => {
    const key = `${t.schema}.${t.table}`;
    setBusy(key);
    try {
      if (share) {
        await api.post("/api/odata/shares", { schema: t.schema, table: t.table });
        notifications.show({ color: "green", message: `Shared ${key}.` });
      } else if (t.entitySet) {
        await api.delete(`/api/odata/shares/${seg(t.entitySet)}`);
        notifications.show({ color: "green", message: `Stopped sharing ${key}.` });
      }
      tables.reload();
    } catch (e) {
      notifyError(e, share ? `${key} not shared` : `${key} still shared`);
    } finally {
      setBusy(null);
    }
  };
  return (
    <Paper withBorder p="md">
      <Title order={2} size="h3" mb="sm">
        Tables
      </Title>
      <ErrorAlert error={tables.error} />
      {tables.loading && !tables.data && <Loading />}
      {tables.data?.length === 0 && (
        <Text c="dimmed">The published database has no tables yet: run a job first.</Text>
      )}
      {tables.data && tables.data.length > 0 && (
        <ScrollArea.Autosize mah={480} type="auto">
          <Table.ScrollContainer minWidth={560}>
            <Table striped>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Shared</Table.Th>
                  <Table.Th>Table</Table.Th>
                  <Table.Th>Kind</Table.Th>
                  <Table.Th>Entity set</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {tables.data.map((t) => {
                  const key = `${t.schema}.${t.table}`;
                  return (
                    <Table.Tr key={key}>
                      <Table.Td>
                        <Switch
                          aria-label={`Share ${key}`}
                          checked={t.shared}
                          disabled={busy !== null || (!t.shared && t.problem !== null)}
                          onChange={(e) => toggle(t, e.currentTarget.checked)}
                        />
                      </Table.Td>
                      <Table.Td>
                        {key}
                        {t.problem && (
                          <Text size="xs" c="orange">
                            {t.problem}
                          </Text>
                        )}
                      </Table.Td>
                      <Table.Td>{t.kind}</Table.Td>
                      <Table.Td>{t.entitySet ?? "–"}</Table.Td>
                    </Table.Tr>
                  );
                })}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        </ScrollArea.Autosize>
      )}
    </Paper>
  );
}

function Preview({ tables }: { tables: ODataTable[] }) {
  const entitySets = tables.flatMap((t) => (t.shared && t.entitySet ? [t.entitySet] : []));
  const [metadata, setMetadata] = useState<{ text?: string; error?: unknown; loading: boolean }>({
    loading: false,
  });
  const [entitySet, setEntitySet] = useState<string | null>(null);
  const [sample, setSample] = useState<{ text?: string; error?: unknown; loading: boolean }>({
    loading: false,
  });
  const chosen = entitySet && entitySets.includes(entitySet) ? entitySet : (entitySets[0] ?? null);

  const loadMetadata = async () => {
    setMetadata({ loading: true });
    try {
      setMetadata({ loading: false, text: await api.get<string>("/api/odata/preview/metadata") });
    } catch (error) {
      setMetadata({ loading: false, error });
    }
  };
  const loadSample = async () => {
    if (!chosen) return;
    setSample({ loading: true });
    try {
      const json = await api.get<unknown>(`/api/odata/preview/${seg(chosen)}?top=5`);
      setSample({ loading: false, text: JSON.stringify(json, null, 2) });
    } catch (error) {
      setSample({ loading: false, error });
    }
  };

  return (
    <Paper withBorder p="md">
      <Title order={2} size="h3" mb="sm">
        Preview
      </Title>
      <Tabs defaultValue="sample">
        <Tabs.List>
          <Tabs.Tab value="sample">Sample query</Tabs.Tab>
          <Tabs.Tab value="metadata">$metadata</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="sample" pt="md">
          {entitySets.length === 0 ? (
            <Text c="dimmed">Share a table to preview what Salesforce will read.</Text>
          ) : (
            <Stack>
              <Group align="flex-end">
                <Select
                  label="Entity set"
                  data={entitySets}
                  value={chosen}
                  onChange={setEntitySet}
                  allowDeselect={false}
                  searchable
                />
                <Button variant="default" onClick={loadSample} loading={sample.loading}>
                  Show the first 5 rows
                </Button>
              </Group>
              {chosen && (
                <Text size="sm" c="dimmed">
                  GET …/{chosen}?$top=5
                </Text>
              )}
              <ErrorAlert error={sample.error} />
              {sample.text && (
                <Code
                  block
                  style={{ maxHeight: 420, overflow: "auto" }}
                  tabIndex={0}
                  aria-label="Sample query result"
                >
                  {sample.text}
                </Code>
              )}
            </Stack>
          )}
        </Tabs.Panel>
        <Tabs.Panel value="metadata" pt="md">
          <Stack>
            <Group>
              <Button variant="default" onClick={loadMetadata} loading={metadata.loading}>
                Load $metadata
              </Button>
              <Anchor href="/api/odata/preview/metadata" target="_blank" size="sm">
                Open in a new tab
              </Anchor>
            </Group>
            {metadata.error !== undefined && (
              <Alert color="red" role="alert">
                {errorMessage(metadata.error)}
              </Alert>
            )}
            {metadata.text && (
              <Code
                block
                style={{ maxHeight: 420, overflow: "auto" }}
                tabIndex={0}
                aria-label="$metadata document"
              >
                {metadata.text}
              </Code>
            )}
          </Stack>
        </Tabs.Panel>
      </Tabs>
    </Paper>
  );
}
