import { Alert, Anchor, Badge, Breadcrumbs, Button, Group, Modal, Stack, Text, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { api, seg } from "../api";
import { ErrorAlert, Loading, notifyError } from "../components";
import { useApi } from "../hooks";
import type { Connection, Connector } from "../types";
import { ConnectionForm, useOAuthOutcome } from "./ConnectionForm";
import { TestButton } from "./Connections";

export function ConnectionPage() {
  const name = useParams().name ?? "";
  const navigate = useNavigate();
  const connection = useApi<Connection>(`/api/connections/${seg(name)}`);
  const connectors = useApi<Connector[]>("/api/connectors");
  const connector = connectors.data?.find(
    (c) => c.name === connection.data?.connector && c.kind === connection.data?.kind,
  );
  useOAuthOutcome(connection.reload);

  return (
    <>
      <Breadcrumbs mb="sm">
        <Anchor component={Link} to="/connections">
          Connections
        </Anchor>
        <Text>{name}</Text>
      </Breadcrumbs>
      <ErrorAlert error={connection.error ?? connectors.error} />
      {(connection.loading || connectors.loading) && !connection.data && <Loading />}
      {connection.data && (
        <Stack gap="md">
          <Group justify="space-between" align="flex-start">
            <div>
              <Title order={1}>{connection.data.name}</Title>
              <Group gap="xs" mt={4}>
                <Text c="dimmed">
                  {connection.data.title} {connection.data.kind}
                </Text>
                {connection.data.labels.map((label) => (
                  <Badge key={label} variant="outline">
                    {label}
                  </Badge>
                ))}
              </Group>
            </div>
            <ConnectionActions connection={connection.data} onDeleted={() => navigate("/connections")} />
          </Group>
          {isOAuth(connection.data) && <OAuthPanel connection={connection.data} />}
          {connector && (
            <ConnectionForm
              key={connection.data.updatedAt}
              connector={connector}
              existing={connection.data}
              onSaved={connection.reload}
            />
          )}
        </Stack>
      )}
    </>
  );
}

function isOAuth(connection: Connection): boolean {
  return (connection.properties.AuthScheme ?? "").toLowerCase() === "oauth";
}

function OAuthPanel({ connection }: { connection: Connection }) {
  const [busy, setBusy] = useState(false);
  const connect = async () => {
    setBusy(true);
    try {
      const { authorizeUrl } = await api.post<{ authorizeUrl: string }>(
        `/api/connections/${seg(connection.name)}/oauth`,
      );
      window.location.assign(authorizeUrl);
    } catch (e) {
      notifyError(e, "Cannot start the Bitbucket authorization");
      setBusy(false);
    }
  };
  return (
    <Alert color="indigo" title="OAuth">
      <Text size="sm" mb="sm">
        This connection signs in with an OAuth consumer. Connect to Bitbucket to grant it access (again
        whenever access was revoked); Bitbucket then sends you back here.
      </Text>
      <Button onClick={connect} loading={busy}>
        Connect to Bitbucket
      </Button>
    </Alert>
  );
}

function ConnectionActions({ connection, onDeleted }: { connection: Connection; onDeleted: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const remove = async () => {
    try {
      await api.delete(`/api/connections/${seg(connection.name)}`);
      notifications.show({ color: "green", message: `Deleted connection ${connection.name}.` });
      onDeleted();
    } catch (e) {
      notifyError(e, "Not deleted");
      setConfirming(false);
    }
  };
  return (
    <Group gap="xs">
      <TestButton name={connection.name}>Test connection</TestButton>
      <Button color="red" variant="light" onClick={() => setConfirming(true)}>
        Delete
      </Button>
      <Modal opened={confirming} onClose={() => setConfirming(false)} title={`Delete ${connection.name}?`}>
        <Text mb="md">Jobs that use this connection must be deleted first.</Text>
        <Group justify="flex-end">
          <Button variant="default" onClick={() => setConfirming(false)}>
            Cancel
          </Button>
          <Button color="red" onClick={remove}>
            Delete connection
          </Button>
        </Group>
      </Modal>
    </Group>
  );
}
