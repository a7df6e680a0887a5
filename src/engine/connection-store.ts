import type pg from "pg";
import { BitbridgeError } from "../app/errors.js";
import { APP_SCHEMA } from "../app/migrations.js";
import { decryptSecret, encryptSecret } from "../app/secrets.js";
import { type ConnectorSpec, findConnector } from "./connectors.js";

export interface SavedConnection {
  readonly id: number;
  readonly name: string;
  readonly kind: "source" | "destination";
  readonly connector: string;
  /** Every property, secrets included: never print this; use `displayProperties`. */
  readonly properties: Readonly<Record<string, string>>;
  readonly labels: readonly string[];
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

interface Row {
  id: string;
  name: string;
  kind: "source" | "destination";
  connector: string;
  properties: Record<string, string>;
  secrets: string | null;
  labels: string[];
  created_at: Date;
  updated_at: Date;
}

const NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/;

/**
 * Saved connections in the application database. Secret properties are sealed with AES-256-GCM (bound
 * to the connection's id, so a sealed value cannot be moved to another connection) and only opened in
 * memory, for the process that uses them.
 */
export class ConnectionStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly key: () => Buffer,
  ) {}

  async add(input: {
    name: string;
    connector: string;
    /** For a connector that can be both; default its first role (a PostgreSQL destination). */
    kind?: "source" | "destination";
    properties: Readonly<Record<string, string>>;
    labels?: readonly string[];
  }): Promise<SavedConnection> {
    if (!NAME.test(input.name)) {
      throw new BitbridgeError(
        "CONNECTION_NAME_INVALID",
        `Connection names start with a letter and hold letters, digits, _ . - (at most 63): ${JSON.stringify(input.name)}.`,
      );
    }
    const connector = findConnector(input.connector, input.kind);
    connector.validate(input.properties);
    const { plain, secret } = split(connector, input.properties);
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      const inserted = await client.query<Row>(
        `INSERT INTO ${APP_SCHEMA}.connections (name, kind, connector, properties, labels)
         VALUES ($1, $2, $3, $4, $5) RETURNING *`,
        [input.name, connector.kind, connector.name, plain, [...(input.labels ?? [])]],
      );
      const row = inserted.rows[0] as Row;
      const sealed =
        Object.keys(secret).length > 0
          ? encryptSecret(JSON.stringify(secret), this.key(), context(row.id))
          : null;
      await client.query(`UPDATE ${APP_SCHEMA}.connections SET secrets = $2 WHERE id = $1`, [row.id, sealed]);
      await client.query("COMMIT");
      return this.open({ ...row, secrets: sealed });
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      if ((error as { code?: string }).code === "23505") {
        throw new BitbridgeError(
          "CONNECTION_EXISTS",
          `A connection named ${input.name} already exists; pick another name or remove it first.`,
        );
      }
      throw error;
    } finally {
      client.release();
    }
  }

  /** Adds the connection, or replaces the properties of the one with that name (jobs keep using it). */
  async save(input: {
    name: string;
    connector: string;
    properties: Readonly<Record<string, string>>;
  }): Promise<SavedConnection> {
    const existing = (
      await this.pool.query<Row>(`SELECT * FROM ${APP_SCHEMA}.connections WHERE name = $1`, [input.name])
    ).rows[0];
    if (!existing) return this.add(input);
    const connector = findConnector(input.connector);
    if (connector.name !== existing.connector) {
      throw new BitbridgeError(
        "CONNECTION_EXISTS",
        `Connection ${input.name} is a ${existing.connector} connection, not ${connector.name}.`,
      );
    }
    connector.validate(input.properties);
    const { plain, secret } = split(connector, input.properties);
    const sealed =
      Object.keys(secret).length > 0
        ? encryptSecret(JSON.stringify(secret), this.key(), context(existing.id))
        : null;
    const updated = await this.pool.query<Row>(
      `UPDATE ${APP_SCHEMA}.connections SET properties = $2, secrets = $3, updated_at = now() WHERE id = $1 RETURNING *`,
      [existing.id, plain, sealed],
    );
    return this.open(updated.rows[0] as Row);
  }

  async list(label?: string): Promise<SavedConnection[]> {
    const rows = await this.pool.query<Row>(
      `SELECT * FROM ${APP_SCHEMA}.connections WHERE $1::text IS NULL OR $1 = ANY(labels) ORDER BY name`,
      [label ?? null],
    );
    return rows.rows.map((r) => this.open(r));
  }

  async get(name: string): Promise<SavedConnection> {
    const rows = await this.pool.query<Row>(`SELECT * FROM ${APP_SCHEMA}.connections WHERE name = $1`, [
      name,
    ]);
    const row = rows.rows[0];
    if (!row) {
      const names = (
        await this.pool.query<{ name: string }>(`SELECT name FROM ${APP_SCHEMA}.connections ORDER BY name`)
      ).rows;
      const known =
        names.length > 0
          ? ` Saved connections: ${names.map((n) => n.name).join(", ")}.`
          : " There are no saved connections yet (bitbridge connection add).";
      throw new BitbridgeError("CONNECTION_NOT_FOUND", `No saved connection named ${name}.${known}`, {}, 404);
    }
    return this.open(row);
  }

  async remove(name: string): Promise<void> {
    let result: pg.QueryResult;
    try {
      result = await this.pool.query(`DELETE FROM ${APP_SCHEMA}.connections WHERE name = $1`, [name]);
    } catch (error) {
      // Jobs refer to their connections; the database says which ones.
      if ((error as { code?: string }).code === "23503") {
        throw new BitbridgeError("CONNECTION_IN_USE", (error as Error).message, {}, 409);
      }
      throw error;
    }
    if (result.rowCount === 0)
      throw new BitbridgeError("CONNECTION_NOT_FOUND", `No saved connection named ${name}.`, {}, 404);
  }

  private open(row: Row): SavedConnection {
    let secret: Record<string, string> = {};
    if (row.secrets) {
      try {
        secret = JSON.parse(decryptSecret(row.secrets, this.key(), context(row.id))) as Record<
          string,
          string
        >;
      } catch (error) {
        throw new BitbridgeError(
          "CONNECTION_SECRETS_UNREADABLE",
          `The secrets of connection ${row.name} cannot be decrypted with this secret key (BITBRIDGE_SECRET_KEY or the key file under BITBRIDGE_HOME changed?). Remove and add the connection again, or restore the key.`,
          {},
          500,
          { cause: error },
        );
      }
    }
    return {
      id: Number(row.id),
      name: row.name,
      kind: row.kind,
      connector: row.connector,
      properties: { ...row.properties, ...secret },
      labels: row.labels,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }
}

function context(id: string | number): string {
  return `bitbridge.connections:${id}`;
}

function split(connector: ConnectorSpec, properties: Readonly<Record<string, string>>) {
  const secretNames = new Set(connector.properties.filter((p) => p.secret).map((p) => p.name.toLowerCase()));
  const plain: Record<string, string> = {};
  const secret: Record<string, string> = {};
  for (const [name, value] of Object.entries(properties)) {
    if (secretNames.has(name.toLowerCase())) secret[name] = value;
    else plain[name] = value;
  }
  return { plain, secret };
}

/** Properties as they may be shown: secrets replaced by a mask. */
export function displayProperties(connection: SavedConnection): Record<string, string> {
  const connector = findConnector(connection.connector, connection.kind);
  const secretNames = new Set(connector.properties.filter((p) => p.secret).map((p) => p.name.toLowerCase()));
  return Object.fromEntries(
    Object.entries(connection.properties).map(([k, v]) => [
      k,
      secretNames.has(k.toLowerCase()) ? "********" : v,
    ]),
  );
}
