import { type Static, Type } from "@sinclair/typebox";
import { BitbridgeError } from "../../app/errors.js";
import { displayProperties, type SavedConnection } from "../../engine/connection-store.js";
import { CONNECTORS, type ConnectorSpec, findConnector } from "../../engine/connectors.js";
import { CATALOG } from "../../source/catalog.js";
import { postgresSourceConfig, readSourceCatalog } from "../../source/postgres/connection.js";
import type { RouteModule } from "../app.js";
import type { ApiContext } from "../context.js";
import { propertyError } from "../errors.js";
import { originOf } from "../origin.js";
import { ErrorBody, Name, NoContent, Nullable, Timestamp } from "../schemas.js";

/** What a secret property looks like in answers, and what a form sends back to keep it. */
export const MASK = "********";

/** The path Bitbucket sends the browser back to; a connection's CallbackURL points here. */
export const OAUTH_CALLBACK_PATH = "/api/oauth/callback";

const Kind = Type.Union([Type.Literal("source"), Type.Literal("destination")]);
const Properties = Type.Record(Type.String(), Type.String(), {
  description: "Property values by name (case-insensitive); secrets answer as ********",
});

const Connection = Type.Object({
  name: Type.String(),
  kind: Kind,
  connector: Type.String(),
  title: Type.String(),
  labels: Type.Array(Type.String()),
  properties: Properties,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

const TestResult = Type.Object({ ok: Type.Boolean(), message: Type.String() });

const Saved = Type.Object({ connection: Connection, test: Nullable(TestResult) });

const Labels = Type.Array(Type.String({ minLength: 1, maxLength: 63 }), { maxItems: 50 });

const Test = Type.Boolean({ default: true, description: "Test before saving; not saved when it fails" });

const NameParams = Type.Object({ name: Type.String() });

const Table = Type.Object({
  name: Type.String(),
  description: Type.String(),
  columns: Type.Array(Type.Object({ name: Type.String(), type: Type.String(), description: Type.String() })),
});

/** Connectors, saved connections (secrets masked), their tests and their tables. */
export const connectionRoutes: RouteModule = (api, ctx) => {
  const tags = ["connections"];

  api.get(
    "/api/connectors",
    {
      schema: {
        summary: "The connectors and the properties a connection form needs",
        tags,
        response: {
          200: Type.Array(
            Type.Object({
              name: Type.String(),
              kind: Kind,
              title: Type.String(),
              properties: Type.Array(
                Type.Object({
                  name: Type.String(),
                  description: Type.String(),
                  secret: Type.Boolean(),
                  required: Type.Boolean(),
                  default: Nullable(Type.String()),
                  choices: Nullable(Type.Array(Type.String())),
                }),
              ),
            }),
          ),
        },
      },
    },
    async (request) => {
      const callback = `${originOf(request)}${OAUTH_CALLBACK_PATH}`;
      return CONNECTORS.map((c) => ({
        name: c.name,
        kind: c.kind,
        title: c.title,
        properties: c.properties.map((p) => ({
          name: p.name,
          description: p.description,
          secret: p.secret === true,
          required: p.required === true,
          // Connections made in the browser come back to this server, not to the CLI's local listener.
          default: c.name === "bitbucket" && p.name === "CallbackURL" ? callback : (p.default ?? null),
          choices: p.choices ? [...p.choices] : null,
        })),
      }));
    },
  );

  api.get(
    "/api/connections",
    {
      schema: {
        summary: "Saved connections, secrets masked",
        tags,
        querystring: Type.Object({ label: Type.Optional(Type.String()) }),
        response: { 200: Type.Array(Connection) },
      },
    },
    async (request) => (await ctx.connections.list(request.query.label)).map(present),
  );

  const CreateBody = Type.Object({
    name: Name,
    connector: Type.String({ minLength: 1 }),
    kind: Type.Optional(Kind),
    properties: Properties,
    labels: Type.Optional(Labels),
    test: Type.Optional(Test),
  });
  api.post(
    "/api/connections",
    {
      schema: {
        summary: "Save a connection, tested first",
        tags,
        body: CreateBody,
        response: { 201: Saved, 400: ErrorBody, 409: ErrorBody, 422: ErrorBody },
      },
    },
    async (request, reply) => {
      const body = request.body as Static<typeof CreateBody>;
      const connector = connectorOf(body.connector, body.kind);
      const properties = canonical(connector, body.properties);
      validate(connector, properties);
      if ((await ctx.connections.list()).some((c) => c.name === body.name))
        throw new BitbridgeError(
          "CONFLICT",
          `A connection named ${body.name} already exists; choose another name or edit that one.`,
          { fields: [{ field: "body.name", message: "is already taken" }] },
          409,
        );
      const test = body.test === false ? null : await runTest(connector, properties);
      const saved = await ctx.connections.add({
        name: body.name,
        connector: connector.name,
        kind: connector.kind,
        properties,
        labels: body.labels ?? [],
      });
      return reply.code(201).send({ connection: present(saved), test });
    },
  );

  api.get(
    "/api/connections/:name",
    {
      schema: {
        summary: "One connection, secrets masked",
        tags,
        params: NameParams,
        response: { 200: Connection, 404: ErrorBody },
      },
    },
    async (request) => present(await ctx.connections.get(request.params.name)),
  );

  const UpdateBody = Type.Object({
    properties: Type.Optional(Properties),
    labels: Type.Optional(Labels),
    test: Type.Optional(Test),
  });
  api.put(
    "/api/connections/:name",
    {
      schema: {
        summary: "Change a connection's properties or labels (Save & Test)",
        description: `A secret property sent as ${MASK} or left out keeps its stored value; an empty value removes a property.`,
        tags,
        params: NameParams,
        body: UpdateBody,
        response: { 200: Saved, 400: ErrorBody, 404: ErrorBody, 422: ErrorBody },
      },
    },
    async (request) => {
      const body = request.body as Static<typeof UpdateBody>;
      const existing = await ctx.connections.get(request.params.name);
      const connector = findConnector(existing.connector, existing.kind);
      const properties = body.properties
        ? merge(connector, existing.properties, canonical(connector, body.properties, true))
        : { ...existing.properties };
      validate(connector, properties);
      const test = body.test === false ? null : await runTest(connector, properties);
      let saved = await ctx.connections.save({ name: existing.name, connector: connector.name, properties });
      if (body.labels) saved = await setLabels(ctx, saved, body.labels);
      return { connection: present(saved), test };
    },
  );

  api.delete(
    "/api/connections/:name",
    {
      schema: {
        summary: "Remove a connection (refused while a job uses it)",
        tags,
        params: NameParams,
        response: { 204: NoContent, 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (request, reply) => {
      try {
        await ctx.connections.remove(request.params.name);
      } catch (error) {
        if (error instanceof BitbridgeError && error.code === "CONNECTION_IN_USE")
          throw new BitbridgeError("CONFLICT", error.message, {}, 409);
        throw error;
      }
      return reply.code(204).send(null);
    },
  );

  api.post(
    "/api/connections/:name/test",
    {
      schema: {
        summary: "Connect with the saved properties and report what was found",
        tags,
        params: NameParams,
        response: { 200: TestResult, 404: ErrorBody, 422: ErrorBody },
      },
    },
    async (request) => {
      const saved = await ctx.connections.get(request.params.name);
      const connector = findConnector(saved.connector, saved.kind);
      const result = await runTest(connector, saved.properties, false);
      return result;
    },
  );

  api.get(
    "/api/connections/:name/tables",
    {
      schema: {
        summary: "The source's tables and their columns (for Add Tasks)",
        tags,
        params: NameParams,
        response: { 200: Type.Array(Table), 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (request) => {
      const saved = await ctx.connections.get(request.params.name);
      if (saved.kind !== "source")
        throw new BitbridgeError(
          "CONNECTION_KIND",
          `Connection ${saved.name} is a destination; only sources have tables to replicate.`,
        );
      const tables =
        saved.connector === "bitbucket"
          ? CATALOG
          : (await readSourceCatalog(postgresSourceConfig(saved.properties))).tables;
      return tables.map((t) => ({
        name: t.name,
        description: t.description,
        columns: t.columns.map((c) => ({ name: c.name, type: c.type, description: c.description })),
      }));
    },
  );
};

/** A connection as answers show it: secrets masked. */
export function present(connection: SavedConnection) {
  const connector = findConnector(connection.connector, connection.kind);
  return {
    name: connection.name,
    kind: connection.kind,
    connector: connection.connector,
    title: connector.title,
    labels: [...connection.labels],
    properties: displayProperties(connection),
    createdAt: connection.createdAt,
    updatedAt: connection.updatedAt,
  };
}

function connectorOf(name: string, kind: string | undefined): ConnectorSpec {
  try {
    return findConnector(name, kind);
  } catch (error) {
    if (!(error instanceof BitbridgeError)) throw error;
    const field = error.code === "CONNECTOR_KIND" ? "body.kind" : "body.connector";
    throw new BitbridgeError(error.code, error.message, { fields: [{ field, message: error.message }] });
  }
}

/**
 * Property names in the connector's spelling; empty values dropped (a blank form field means "not set"),
 * unless `keepEmpty` (an update, where empty means "remove the stored value").
 */
function canonical(
  connector: ConnectorSpec,
  values: Readonly<Record<string, string>>,
  keepEmpty = false,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) {
    if (value === "" && !keepEmpty) continue;
    const known = connector.properties.find((p) => p.name.toLowerCase() === name.toLowerCase());
    out[known?.name ?? name] = value;
  }
  return out;
}

/** The update's properties over the stored ones: secrets sent masked or left out stay as stored. */
function merge(
  connector: ConnectorSpec,
  stored: Readonly<Record<string, string>>,
  sent: Readonly<Record<string, string>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const property of connector.properties) {
    const value = Object.hasOwn(sent, property.name) ? sent[property.name] : undefined;
    const keep = property.secret && (value === undefined || value === MASK);
    const chosen = keep ? stored[property.name] : value;
    if (chosen !== undefined && chosen !== "") out[property.name] = chosen;
  }
  // Unknown names are kept so validation can name them.
  for (const [name, value] of Object.entries(sent))
    if (!connector.properties.some((p) => p.name === name) && value !== "") out[name] = value;
  return out;
}

function validate(connector: ConnectorSpec, properties: Readonly<Record<string, string>>): void {
  try {
    connector.validate(properties);
  } catch (error) {
    throw propertyError(error);
  }
}

/**
 * Tests the connection. A failure is a 422 CONNECTION_TEST_FAILED, except (when `saving`) an OAuth
 * connection not authorized yet: authorizing needs the saved connection, so it is saved and reported.
 */
async function runTest(
  connector: ConnectorSpec,
  properties: Readonly<Record<string, string>>,
  saving = true,
): Promise<Static<typeof TestResult>> {
  try {
    return { ok: true, message: await connector.test(properties) };
  } catch (error) {
    const code = error instanceof BitbridgeError ? error.code : undefined;
    const message = error instanceof Error ? error.message : String(error);
    if (saving && code === "BITBUCKET_OAUTH_NOT_AUTHORIZED")
      return { ok: false, message: "Saved; authorize it with Connect to Bitbucket before it can be used." };
    throw new BitbridgeError(
      "CONNECTION_TEST_FAILED",
      message,
      code === undefined ? {} : { reason: code },
      422,
    );
  }
}

async function setLabels(ctx: ApiContext, connection: SavedConnection, labels: readonly string[]) {
  await ctx.db.pool.query("UPDATE bitbridge.connections SET labels = $2, updated_at = now() WHERE id = $1", [
    connection.id,
    [...new Set(labels)],
  ]);
  return ctx.connections.get(connection.name);
}
