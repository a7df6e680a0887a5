/** A run's source and destination from what the user gave: a saved connection's name or a connection string. */
import { BitbridgeError } from "../app/errors.js";
import {
  type ConnectionProperties,
  connectionPropertiesFrom,
  parseConnectionString,
  secretValues,
} from "../bitbucket/connection-properties.js";
import { type PostgresDestination, postgresConfig } from "../destination/postgres/destination-properties.js";
import {
  isPostgresConnectionText,
  type PostgresSource,
  postgresSourceConfig,
} from "../source/postgres/connection.js";
import type { ConnectionStore } from "./connection-store.js";
import { findConnector, propertiesFromString } from "./connectors.js";

/** Where a run reads from: Bitbucket, or the tables and views of a PostgreSQL schema. */
export type SourceEndpoint =
  | { readonly connector: "bitbucket"; readonly props: ConnectionProperties }
  | { readonly connector: "postgresql"; readonly postgres: PostgresSource };

export interface Endpoints {
  readonly source: SourceEndpoint;
  readonly destination: PostgresDestination;
  /** Secret values of both connections, masked in everything stored. */
  readonly secrets: readonly string[];
}

/**
 * A source: a saved connection's name, a Bitbucket connection string, or a PostgreSQL one (a
 * `postgres://` URL or `Server=...;Database=...` properties).
 */
export async function resolveSource(
  connections: ConnectionStore,
  text: string,
): Promise<{ source: SourceEndpoint; secrets: string[] }> {
  if (isPostgresConnectionText(text)) {
    const values = postgresValues(text);
    return {
      source: { connector: "postgresql", postgres: postgresSourceConfig(values) },
      secrets: secretsOf("postgresql", values),
    };
  }
  if (text.includes("=")) {
    const props = parseConnectionString(text);
    return { source: { connector: "bitbucket", props }, secrets: secretValues(props) };
  }
  const saved = await connections.get(text);
  if (saved.kind !== "source") {
    throw new BitbridgeError(
      "CONNECTION_KIND",
      `Connection ${text} is a ${saved.connector} ${saved.kind}, not a source.`,
    );
  }
  return {
    source: savedSource(saved.connector, saved.properties),
    secrets: secretsOf(saved.connector, saved.properties),
  };
}

function savedSource(connector: string, properties: Readonly<Record<string, string>>): SourceEndpoint {
  return connector === "postgresql"
    ? { connector: "postgresql", postgres: postgresSourceConfig(properties) }
    : { connector: "bitbucket", props: connectionPropertiesFrom(properties) };
}

/** PostgreSQL properties from a `postgres://` URL or `Server=...;Database=...` text. */
function postgresValues(text: string): Record<string, string> {
  return /^postgres(ql)?:\/\//i.test(text.trim())
    ? { URL: text.trim() }
    : propertiesFromString(findConnector("postgresql"), text);
}

/** A PostgreSQL destination: a saved connection's name, a `postgres://` URL or `Server=...;Database=...` properties. */
export async function resolveDestination(
  connections: ConnectionStore,
  text: string,
): Promise<{ destination: PostgresDestination; secrets: string[] }> {
  let values: Record<string, string>;
  if (text.includes("=") || isPostgresConnectionText(text)) {
    values = postgresValues(text);
  } else {
    const saved = await connections.get(text);
    if (saved.connector !== "postgresql") {
      throw new BitbridgeError(
        "CONNECTION_KIND",
        `Connection ${text} is a ${saved.connector} ${saved.kind}, not a PostgreSQL destination.`,
      );
    }
    values = { ...saved.properties };
  }
  return { destination: postgresConfig(values), secrets: secretsOf("postgresql", values) };
}

/** Secret property values of a connection, plus the password inside a URL. */
function secretsOf(connector: string, values: Readonly<Record<string, string>>): string[] {
  const names = new Set(
    findConnector(connector)
      .properties.filter((p) => p.secret)
      .map((p) => p.name.toLowerCase()),
  );
  const out: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    if (!names.has(name.toLowerCase())) continue;
    out.push(value);
    try {
      const password = new URL(value).password;
      if (password) out.push(password, decodeURIComponent(password));
    } catch {
      // not a URL
    }
  }
  return out;
}
