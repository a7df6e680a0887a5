import {
  Alert,
  Button,
  Group,
  Modal,
  Paper,
  PasswordInput,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
  VisuallyHidden,
} from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { type FormEvent, useState } from "react";
import { api, errorMessage, fieldError, seg } from "../api";
import { useAuth } from "../auth";
import { ErrorAlert, FormError, Loading, notifyError } from "../components";
import { dateTime } from "../format";
import { useApi } from "../hooks";
import type { ApiToken } from "../types";
import { ShownOnce } from "./ExternalObjects";

export function SettingsPage() {
  return (
    <Stack gap="lg">
      <Title order={1}>Settings</Title>
      <Tokens />
      <ChangePassword />
    </Stack>
  );
}

function Tokens() {
  const tokens = useApi<ApiToken[]>("/api/tokens");
  const [name, setName] = useState("");
  const [error, setError] = useState<unknown>();
  const [created, setCreated] = useState<{ username: string; password: string } | null>(null);
  const [deleting, setDeleting] = useState<ApiToken | null>(null);

  const create = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    try {
      const token = await api.post<{ id: string; name: string; token: string }>("/api/tokens", {
        name: name.trim(),
      });
      setCreated({ username: token.name, password: token.token });
      setName("");
      tokens.reload();
    } catch (e) {
      setError(e);
    }
  };
  const remove = async (token: ApiToken) => {
    try {
      await api.delete(`/api/tokens/${seg(token.id)}`);
      notifications.show({ color: "green", message: `Deleted token ${token.name}.` });
      tokens.reload();
    } catch (e) {
      notifyError(e, "Token not deleted");
    } finally {
      setDeleting(null);
    }
  };

  return (
    <Paper withBorder p="md">
      <Title order={2} size="h3" mb="xs">
        API tokens
      </Title>
      <Text size="sm" mb="sm">
        For scripts and automation: send <code>Authorization: Bearer &lt;token&gt;</code> to the REST API
        (documented at{" "}
        <a href="/api/docs" target="_blank" rel="noreferrer">
          /api/docs
        </a>
        ).
      </Text>
      <form onSubmit={create} noValidate>
        <Group align="flex-end" mb="md">
          <TextInput
            label="Token name"
            placeholder="e.g. deploy script"
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            error={fieldError(error, "name")}
          />
          <Button type="submit">Create token</Button>
        </Group>
      </form>
      {error !== undefined && !fieldError(error, "name") && (
        <Alert color="red" role="alert" mb="sm">
          {errorMessage(error)}
        </Alert>
      )}
      <ErrorAlert error={tokens.error} />
      {tokens.loading && !tokens.data && <Loading />}
      {tokens.data?.length === 0 && <Text c="dimmed">No API tokens.</Text>}
      {tokens.data && tokens.data.length > 0 && (
        <Table.ScrollContainer minWidth={480}>
          <Table striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Created</Table.Th>
                <Table.Th>Last used</Table.Th>
                <Table.Th>
                  <VisuallyHidden>Actions</VisuallyHidden>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {tokens.data.map((t) => (
                <Table.Tr key={t.id}>
                  <Table.Td>{t.name}</Table.Td>
                  <Table.Td>{dateTime(t.createdAt)}</Table.Td>
                  <Table.Td>{dateTime(t.lastUsedAt)}</Table.Td>
                  <Table.Td>
                    <Button
                      size="xs"
                      variant="subtle"
                      color="red"
                      onClick={() => setDeleting(t)}
                      aria-label={`Delete token ${t.name}`}
                    >
                      Delete
                    </Button>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <ShownOnce secret={created} onClose={() => setCreated(null)} what="token" />
      <Modal
        opened={deleting !== null}
        onClose={() => setDeleting(null)}
        title={`Delete token ${deleting?.name ?? ""}?`}
      >
        <Text mb="md">Scripts using it stop working.</Text>
        <Group justify="flex-end">
          <Button variant="default" onClick={() => setDeleting(null)}>
            Cancel
          </Button>
          <Button color="red" onClick={() => deleting && remove(deleting)}>
            Delete token
          </Button>
        </Group>
      </Modal>
    </Paper>
  );
}

function ChangePassword() {
  const username = useAuth().session?.username ?? "admin";
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [repeat, setRepeat] = useState("");
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const mismatch = repeat !== "" && repeat !== next ? "The two new passwords differ" : undefined;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (next !== repeat) return;
    setBusy(true);
    setError(undefined);
    try {
      await api.put("/api/session/password", { currentPassword: current, newPassword: next });
      notifications.show({ color: "green", message: "Password changed." });
      setCurrent("");
      setNext("");
      setRepeat("");
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Paper withBorder p="md">
      <form onSubmit={submit} noValidate>
        <Stack maw={380}>
          <Title order={2} size="h3">
            Admin password
          </Title>
          <FormError error={error} />
          {/* Lets password managers tell which account the new password belongs to. */}
          <input type="text" name="username" autoComplete="username" value={username} readOnly hidden />
          <PasswordInput
            label="Current password"
            autoComplete="current-password"
            required
            value={current}
            onChange={(e) => setCurrent(e.currentTarget.value)}
            error={fieldError(error, "currentPassword")}
          />
          <PasswordInput
            label="New password"
            autoComplete="new-password"
            required
            value={next}
            onChange={(e) => setNext(e.currentTarget.value)}
            error={fieldError(error, "newPassword")}
          />
          <PasswordInput
            label="Repeat the new password"
            autoComplete="new-password"
            required
            value={repeat}
            onChange={(e) => setRepeat(e.currentTarget.value)}
            error={mismatch}
          />
          <Group>
            <Button type="submit" loading={busy} disabled={!current || !next || next !== repeat}>
              Change password
            </Button>
          </Group>
        </Stack>
      </form>
    </Paper>
  );
}
