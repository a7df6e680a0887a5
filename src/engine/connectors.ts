import { BitbridgeError } from "../app/errors.js";
import { openClient, testConnection } from "../bitbucket/client.js";
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

/** A connection property as a form shows it. */
export interface PropertyInfo {
  readonly name: string;
  readonly secret?: boolean;
  readonly description: string;
  /** Needed in every case (others may be needed depending on the choice of another, e.g. AuthScheme). */
  readonly required?: boolean;
  /** What leaving it out means. */
  readonly default?: string;
  /** The only values it takes. */
  readonly choices?: readonly string[];
}

/**
 * What PostgreSQL forms need beyond the name and description: the defaults and choices that
 * `postgresConfig` applies (kept next to the connector list so the destination module stays as it is).
 */
const POSTGRES_FORM: Readonly<Record<string, Pick<PropertyInfo, "default" | "choices">>> = {
  Server: { default: "localhost" },
  Port: { default: "5432" },
  AuthScheme: { default: "Password", choices: ["Password", "None"] },
  SSLMode: { default: "disable", choices: ["disable", "require", "verify-ca", "verify-full"] },
  Schema: { default: "public" },
};

function postgresForm(properties: readonly PropertyInfo[]): PropertyInfo[] {
  return properties.map((p) => ({ ...p, ...POSTGRES_FORM[p.name] }));
}

/** What a connector needs to be saved, shown and tested; the properties themselves stay connector-specific. */
export interface ConnectorSpec {
  readonly name: "bitbucket" | "postgresql";
  readonly kind: "source" | "destination";
  readonly title: string;
  readonly properties: readonly PropertyInfo[];
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
    properties: CONNECTION_PROPERTIES.map(({ key: _key, ...info }) => info),
    validate: (values) => {
      connectionPropertiesFrom(values);
    },
    test: async (values) => {
      const props = connectionPropertiesFrom(values);
      // With the saved OAuth tokens, so a connection authorized in a browser tests as authorized.
      const result = await testConnection(openClient(props), props);
      return [result.summary, ...result.warnings].join("; ");
    },
  },
  {
    name: "postgresql",
    kind: "destination",
    title: "PostgreSQL",
    properties: postgresForm(POSTGRES_PROPERTIES),
    validate: (values) => {
      postgresConfig(values);
    },
    test: (values) => testPostgresDestination(values),
  },
  {
    name: "postgresql",
    kind: "source",
    title: "PostgreSQL (source)",
    properties: postgresForm(POSTGRES_SOURCE_PROPERTIES),
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
