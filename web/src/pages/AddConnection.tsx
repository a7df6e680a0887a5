import { Anchor, Breadcrumbs, Card, SimpleGrid, Tabs, Text, Title, UnstyledButton } from "@mantine/core";
import { Link, useNavigate, useSearchParams } from "react-router";
import { seg } from "../api";
import { ErrorAlert, Loading } from "../components";
import { useApi } from "../hooks";
import type { Connector, Kind } from "../types";
import { ConnectionForm } from "./ConnectionForm";

export function AddConnectionPage() {
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const connectors = useApi<Connector[]>("/api/connectors");
  const kind: Kind = params.get("kind") === "destination" ? "destination" : "source";
  // A connector name may stand for a source and a destination (postgresql): the kind tells them apart.
  const chosen = connectors.data?.find((c) => c.name === params.get("connector") && c.kind === kind);

  return (
    <>
      <Breadcrumbs mb="sm">
        <Anchor component={Link} to="/connections">
          Connections
        </Anchor>
        <Text>Add connection</Text>
      </Breadcrumbs>
      <Title order={1} mb="md">
        Add connection
      </Title>
      <ErrorAlert error={connectors.error} />
      {connectors.loading && <Loading />}
      {connectors.data && (
        <Tabs
          value={kind}
          onChange={(value) => setParams({ kind: value ?? "source" })}
          keepMounted={false}
          mb="lg"
        >
          <Tabs.List>
            <Tabs.Tab value="source">Sources</Tabs.Tab>
            <Tabs.Tab value="destination">Destinations</Tabs.Tab>
          </Tabs.List>
          {(["source", "destination"] as const).map((k) => (
            <Tabs.Panel key={k} value={k} pt="md">
              <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }}>
                {connectors.data
                  ?.filter((c) => c.kind === k)
                  .map((c) => (
                    <UnstyledButton
                      key={c.name}
                      onClick={() => setParams({ kind: k, connector: c.name })}
                      aria-pressed={chosen?.name === c.name}
                    >
                      <Card withBorder padding="md" bg={chosen?.name === c.name ? "indigo.0" : undefined}>
                        <Text fw={600}>{c.title}</Text>
                        <Text size="sm" c="dimmed">
                          {c.name} · {c.properties.length} properties
                        </Text>
                      </Card>
                    </UnstyledButton>
                  ))}
              </SimpleGrid>
            </Tabs.Panel>
          ))}
        </Tabs>
      )}
      {chosen && (
        <ConnectionForm
          key={chosen.name}
          connector={chosen}
          onSaved={(connection) => navigate(`/connections/${seg(connection.name)}`)}
        />
      )}
    </>
  );
}
