import {
  Alert,
  Button,
  Group,
  PasswordInput,
  Select,
  Stack,
  TagsInput,
  TextInput,
  Title,
} from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { type FormEvent, useEffect, useRef, useState } from "react";
import { useSearchParams } from "react-router";
import { ApiError, api, errorMessage, fieldError, seg } from "../api";
import { notifySuccess } from "../components";
import type { Connection, Connector, ConnectorProperty, TestResult } from "../types";

const MASKED = "********";

function initialValue(property: ConnectorProperty, existing: Connection | undefined): string {
  if (existing) {
    const value = existing.properties[property.name] ?? "";
    return property.secret || value === MASKED ? "" : value;
  }
  return property.default ?? "";
}

/**
 * The authentication schemes a property is for, read from its help text's last parenthesis
 * (`OAuth consumer key (OAuth, client)`, `Password (AuthScheme=Password)`); null when it is for all.
 */
function schemesOf(property: ConnectorProperty, schemes: readonly string[]): string[] | null {
  const last = /\(([^)]*)\)\s*$/.exec(property.description)?.[1];
  if (!last) return null;
  const names = last.split(/,\s*|\s+or\s+/).map((n) =>
    n
      .replace(/^AuthScheme=/i, "")
      .trim()
      .toLowerCase(),
  );
  const known = new Set(schemes.map((s) => s.toLowerCase()));
  return names.every((n) => known.has(n)) ? names : null;
}

interface SaveResponse {
  connection: Connection;
  test?: TestResult;
}

/**
 * The property form of one connector, to create a connection (`existing` undefined) or edit one.
 * Secret inputs of an existing connection start empty: left empty, the stored value stays.
 */
export function ConnectionForm({
  connector,
  existing,
  onSaved,
}: {
  connector: Connector;
  existing?: Connection;
  onSaved: (connection: Connection) => void;
}) {
  const [name, setName] = useState(existing?.name ?? "");
  const [labels, setLabels] = useState<string[]>(existing?.labels ?? []);
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(connector.properties.map((p) => [p.name, initialValue(p, existing)])),
  );
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState<"test" | "save" | null>(null);

  const save = async (test: boolean) => {
    setBusy(test ? "test" : "save");
    setError(undefined);
    const properties = Object.fromEntries(
      relevant.map((p) => [p.name, (values[p.name] ?? "").trim()] as const).filter(([, v]) => v !== ""),
    );
    try {
      const response = existing
        ? await api.put<SaveResponse>(`/api/connections/${seg(existing.name)}`, { properties, labels, test })
        : await api.post<SaveResponse>("/api/connections", {
            name: name.trim(),
            connector: connector.name,
            kind: connector.kind,
            properties,
            labels,
            test,
          });
      const verb = existing ? "saved" : "created";
      const title = `Connection ${response.connection.name} ${verb}`;
      if (response.test && !response.test.ok) {
        // Saved although the test failed: an OAuth connection is only authorized after it exists.
        notifications.show({ color: "yellow", title, message: response.test.message, autoClose: 15_000 });
      } else {
        notifySuccess(response.test ? response.test.message : "Saved without testing.", title);
      }
      onSaved(response.connection);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    void save(true);
  };

  // Inputs of other authentication schemes only distract: show those of the chosen one.
  const schemeProperty = connector.properties.find((p) => p.name === "AuthScheme");
  const scheme = (values.AuthScheme || schemeProperty?.default || "").toLowerCase();
  const relevant = connector.properties.filter((p) => {
    const schemes = scheme ? schemesOf(p, schemeProperty?.choices ?? []) : null;
    return schemes === null || schemes.includes(scheme);
  });

  const testFailed = error instanceof ApiError && error.code === "CONNECTION_TEST_FAILED";
  const titleId = `connection-form-${connector.name}`;
  return (
    <form onSubmit={submit} aria-labelledby={titleId} noValidate>
      <Stack gap="sm" maw={640}>
        <Title order={2} size="h3" id={titleId}>
          {existing ? `Properties of ${existing.name}` : `New ${connector.title} connection`}
        </Title>
        {error !== undefined && (
          <Alert color="red" role="alert" title={testFailed ? "The connection test failed" : "Not saved"}>
            {errorMessage(error)}
            {testFailed && " Fix the properties, or save without testing."}
          </Alert>
        )}
        {!existing && (
          <TextInput
            label="Name"
            description="How jobs and the CLI refer to this connection, e.g. warehouse"
            required
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            error={fieldError(error, "name")}
          />
        )}
        <TagsInput
          label="Labels"
          description="Optional; press Enter after each label"
          value={labels}
          onChange={setLabels}
          error={fieldError(error, "labels")}
        />
        {relevant.map((property) => (
          <PropertyInput
            key={property.name}
            property={property}
            value={values[property.name] ?? ""}
            stored={
              existing !== undefined && property.secret && existing.properties[property.name] !== undefined
            }
            error={fieldError(error, `properties.${property.name}`)}
            onChange={(value) => setValues((v) => ({ ...v, [property.name]: value }))}
          />
        ))}
        <Group mt="sm">
          <Button type="submit" loading={busy === "test"} disabled={busy !== null}>
            {existing ? "Save & Test" : "Create & Test"}
          </Button>
          <Button
            variant="default"
            loading={busy === "save"}
            disabled={busy !== null}
            onClick={() => void save(false)}
          >
            Save without testing
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

function PropertyInput({
  property,
  value,
  stored,
  error,
  onChange,
}: {
  property: ConnectorProperty;
  value: string;
  stored: boolean;
  error: string | undefined;
  onChange: (value: string) => void;
}) {
  const description = [property.description, property.default ? `Default: ${property.default}` : ""]
    .filter(Boolean)
    .join(". ");
  const common = { label: property.name, description, required: property.required, error };
  if (property.choices && property.choices.length > 0) {
    return (
      <Select
        {...common}
        data={property.choices}
        value={value || null}
        onChange={(v) => onChange(v ?? "")}
        clearable={!property.required}
      />
    );
  }
  if (property.secret) {
    return (
      <PasswordInput
        {...common}
        autoComplete="new-password"
        placeholder={stored ? "Stored; leave empty to keep it" : undefined}
        value={value}
        onChange={(e) => onChange(e.currentTarget.value)}
      />
    );
  }
  return (
    <TextInput
      {...common}
      placeholder={property.default ?? undefined}
      value={value}
      onChange={(e) => onChange(e.currentTarget.value)}
    />
  );
}

/**
 * Bitbucket's consent page sends the browser back to the connection with `?oauth=ok` or
 * `?oauth=error&message=` (to the list when bitbridge cannot tell which connection it was for).
 */
export function useOAuthOutcome(reload: () => void) {
  const [params, setParams] = useSearchParams();
  const shown = useRef(false);
  useEffect(() => {
    const outcome = params.get("oauth");
    if (!outcome || shown.current) return;
    shown.current = true;
    if (outcome === "ok") {
      notifications.show({ color: "green", title: "Connected to Bitbucket", message: "Access granted." });
      reload();
    } else {
      notifications.show({
        color: "red",
        title: "Bitbucket did not grant access",
        message: params.get("message") ?? "The authorization was not completed.",
        autoClose: 15_000,
      });
    }
    setParams({}, { replace: true });
  }, [params, setParams, reload]);
}
