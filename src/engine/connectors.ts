import { BitbridgeError } from "../app/errors.js";
import { createClient, testConnection } from "../bitbucket/client.js";
import {
  CONNECTION_PROPERTIES,
  connectionPropertiesFrom,
  splitConnectionString,
} from "../bitbucket/connection-properties.js";
import {
  POSTGRES_PROPERTIES,
  postgresConfig,
  testPostgresDestination,
} from "../destination/postgres/destination-properties.js";
import {
  POSTGRES_SOURCE_PROPERTIES,
  postgresSourceConfig,
  testPostgresSource,
} from "../source/postgres/connection.js";

/** What a connector needs to be saved, shown and tested; the properties themselves stay connector-specific. */
export interface ConnectorSpec {
  readonly name: "bitbucket" | "postgresql";
  readonly kind: "source" | "destination";
  readonly title: string;
  readonly properties: readonly {
    readonly name: string;
    readonly secret?: boolean;
    readonly description: string;
  }[];
  /** Throws a BitbridgeError naming the property to fix. */
  validate(values: Readonly<Record<string, string>>): void;
  /** Connects and reports what it found in one line (who, where, versions). */
  test(values: Readonly<Record<string, string>>): Promise<string>;
}

export const CONNECTORS: readonly ConnectorSpec[] = [
  {
    name: "bitbucket",
    kind: "source",
    title: "Bitbucket Cloud",
    properties: CONNECTION_PROPERTIES.map((p) => ({
      name: p.name,
      secret: p.secret,
      description: p.description,
    })),
    validate: (values) => {
      connectionPropertiesFrom(values);
    },
    test: async (values) => {
      const props = connectionPropertiesFrom(values);
      const result = await testConnection(createClient(props), props);
      return [result.summary, ...result.warnings].join("; ");
    },
  },
  {
    name: "postgresql",
    kind: "destination",
    title: "PostgreSQL",
    properties: POSTGRES_PROPERTIES,
    validate: (values) => {
      postgresConfig(values);
    },
    test: (values) => testPostgresDestination(values),
  },
  {
    name: "postgresql",
    kind: "source",
    title: "PostgreSQL (source)",
    properties: POSTGRES_SOURCE_PROPERTIES,
    validate: (values) => {
      postgresSourceConfig(values);
    },
    test: (values) => testPostgresSource(values),
  },
];

/** The connector of that name; `kind` picks the role of one that can be both (default: its first). */
export function findConnector(name: string, kind?: string): ConnectorSpec {
  const named = CONNECTORS.filter((c) => c.name === name.toLowerCase());
  if (named.length === 0) {
    throw new BitbridgeError(
      "CONNECTOR_UNKNOWN",
      `Unknown connector ${name}; use one of ${[...new Set(CONNECTORS.map((c) => c.name))].join(", ")}.`,
    );
  }
  const connector = kind === undefined ? named[0] : named.find((c) => c.kind === kind.toLowerCase());
  if (!connector) {
    throw new BitbridgeError(
      "CONNECTOR_KIND",
      `A ${name} connection is a ${named.map((c) => c.kind).join(" or a ")}, not ${kind}.`,
    );
  }
  return connector;
}

/**
 * `Prop=Value;Prop=Value` into a record with each property's canonical spelling (names are
 * case-insensitive; unknown names are left for `validate` to report with a suggestion).
 */
export function propertiesFromString(connector: ConnectorSpec, text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const { name, value } of splitConnectionString(text)) {
    const known = connector.properties.find((p) => p.name.toLowerCase() === name.toLowerCase());
    values[known?.name ?? name] = value;
  }
  return values;
}
