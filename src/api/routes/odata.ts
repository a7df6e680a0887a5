import { type Static, Type } from "@sinclair/typebox";
import type { FastifyReply, FastifyRequest } from "fastify";
import type pg from "pg";
import { BitbridgeError } from "../../app/errors.js";
import { APP_SCHEMA } from "../../app/migrations.js";
import { CHANGE_SCHEMA } from "../../odata/change-versions.js";
import { CredentialStore } from "../../odata/credentials.js";
import { describeEntitySet } from "../../odata/introspect.js";
import { ODATA_ROOT, type ODataResponse } from "../../odata/service.js";
import { QUEUE_SCHEMA } from "../../scheduler/names.js";
import type { RouteModule } from "../app.js";
import type { ApiContext } from "../context.js";
import { originOf } from "../origin.js";
import { ErrorBody, Name, NoContent, Nullable, Timestamp } from "../schemas.js";

const Issued = Type.Object({ username: Type.String(), password: Type.String({ description: "Shown once" }) });

const TableInfo = Type.Object({
  schema: Type.String(),
  table: Type.String(),
  kind: Type.Union([Type.Literal("table"), Type.Literal("view")]),
  shared: Type.Boolean(),
  entitySet: Nullable(Type.String()),
  problem: Nullable(
    Type.String({
      description: "Why it cannot be shared, or why a shared one is not published now",
    }),
  ),
});

const UsernameParams = Type.Object({ username: Type.String() });

/** The OData service's users, which tables it publishes, and previews of what clients receive. */
export const odataRoutes: RouteModule = (api, ctx) => {
  const credentials = new CredentialStore(ctx.db.pool);
  const tags = ["odata"];

  api.get(
    "/api/odata",
    {
      schema: {
        summary: "Where the OData service is and which database it publishes",
        tags,
        response: { 200: Type.Object({ url: Type.String(), published: Type.String() }) },
      },
    },
    async (request) => ({
      url: ctx.odataUrl ?? `${originOf(request)}${ODATA_ROOT}`,
      published: ctx.published.description,
    }),
  );

  api.get(
    "/api/odata/credentials",
    {
      schema: {
        summary: "OData users (never their passwords)",
        tags,
        response: {
          200: Type.Array(
            Type.Object({
              username: Type.String(),
              createdAt: Timestamp,
              resetAt: Nullable(Timestamp),
              revokedAt: Nullable(Timestamp),
              lastUsedAt: Nullable(Timestamp),
              requestsPerHour: Type.Integer(),
            }),
          ),
        },
      },
    },
    async () => {
      const lastUse = await ctx.db.pool.query<{ username: string; last_used_at: Date | null }>(
        "SELECT username, last_used_at FROM bitbridge.odata_credentials",
      );
      const used = new Map(lastUse.rows.map((r) => [r.username, r.last_used_at]));
      return (await credentials.list()).map((c) => ({
        username: c.username,
        createdAt: c.createdAt,
        resetAt: c.resetAt,
        revokedAt: c.revokedAt,
        lastUsedAt: used.get(c.username) ?? null,
        requestsPerHour: c.requestsPerHour,
      }));
    },
  );

  api.post(
    "/api/odata/credentials",
    {
      schema: {
        summary: "Create an OData user; the password is shown once",
        tags,
        body: Type.Object({
          username: Name,
          requestsPerHour: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000 })),
        }),
        response: { 201: Issued, 400: ErrorBody, 409: ErrorBody },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await credentials.create(request.body.username, request.body.requestsPerHour)),
  );

  api.post(
    "/api/odata/credentials/:username/reset",
    {
      schema: {
        summary: "A new password; the previous one keeps working for a few minutes",
        tags,
        params: UsernameParams,
        response: {
          200: Type.Object({
            username: Type.String(),
            password: Type.String({ description: "Shown once" }),
            previousValidUntil: Timestamp,
          }),
          404: ErrorBody,
        },
      },
    },
    async (request) => credentials.reset(request.params.username),
  );

  api.delete(
    "/api/odata/credentials/:username",
    {
      schema: {
        summary: "Revoke an OData user (both passwords stop at once)",
        tags,
        params: UsernameParams,
        response: { 204: NoContent, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      await credentials.revoke(request.params.username);
      return reply.code(204).send(null);
    },
  );

  api.get(
    "/api/odata/tables",
    {
      schema: {
        summary: "Every table and view of the published database, and whether it is shared",
        tags,
        response: {
          200: Type.Array(TableInfo),
        },
      },
    },
    async () => listTables(ctx),
  );

  const Share = Type.Object({
    schema: Type.String(),
    table: Type.String(),
    entitySet: Type.String(),
    key: Type.Array(Type.String()),
    properties: Type.Integer({ description: "How many columns are published" }),
    countsCached: Type.Boolean({
      description:
        "Counts are answered from memory until the table changes (a change-version trigger is installed)",
    }),
  });
  api.post(
    "/api/odata/shares",
    {
      schema: {
        summary: "Publish a table or view (it needs a primary key or a unique id column)",
        tags,
        body: Type.Object({
          schema: Type.String({ minLength: 1 }),
          table: Type.String({ minLength: 1 }),
          entitySet: Type.Optional(Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]{0,127}$" })),
        }),
        response: { 201: Share, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (request, reply) => {
      const { schema, table, entitySet } = request.body;
      const set = await asAdmin(ctx, (client) => ctx.shares.share(schema, table, entitySet, client));
      ctx.odata.invalidate();
      return reply.code(201).send({
        schema,
        table,
        entitySet: set.name,
        key: [...set.key],
        properties: set.properties.length,
        countsCached: set.tracksChanges,
      });
    },
  );

  api.delete(
    "/api/odata/shares/:entitySet",
    {
      schema: {
        summary: "Stop publishing a table",
        tags,
        params: Type.Object({ entitySet: Type.String() }),
        response: { 204: NoContent, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      await asAdmin(ctx, (client) => ctx.shares.unshare(request.params.entitySet, undefined, client));
      ctx.odata.invalidate();
      return reply.code(204).send(null);
    },
  );

  api.get(
    "/api/odata/preview/metadata",
    {
      schema: {
        summary: "The service's $metadata (CSDL XML), as OData clients receive it",
        tags,
        produces: ["application/xml"],
      },
    },
    async (request, reply) => relay(reply, await preview(ctx, request, "$metadata")),
  );

  api.get(
    "/api/odata/preview/:entitySet",
    {
      schema: {
        summary: "The first rows of an entity set, as OData clients receive them",
        tags,
        params: Type.Object({ entitySet: Type.String() }),
        querystring: Type.Object({ top: Type.Integer({ minimum: 1, maximum: 100, default: 5 }) }),
      },
    },
    async (request, reply) =>
      relay(
        reply,
        await preview(
          ctx,
          request,
          `${encodeURIComponent(request.params.entitySet)}?$top=${request.query.top}`,
        ),
      ),
  );
};

async function listTables(ctx: ApiContext) {
  const relations = await ctx.published.pool.query<{ schema: string; table: string; kind: "table" | "view" }>(
    `SELECT n.nspname AS schema, c.relname AS table,
            CASE WHEN c.relkind IN ('r', 'p') THEN 'table' ELSE 'view' END AS kind
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'v', 'm') AND NOT c.relispartition
       AND n.nspname <> ALL($1) AND n.nspname NOT LIKE 'pg\\_%' AND c.relname NOT LIKE 'bb\\_%'
     ORDER BY 1, 2`,
    // bitbridge's own schemas hold credentials, queue state and change versions, and its bb_* tables
    // replication bookkeeping: never offered for sharing.
    [["information_schema", APP_SCHEMA, QUEUE_SCHEMA, CHANGE_SCHEMA]],
  );
  const shares = await ctx.shares.list();
  const problems = new Map<string, string>();
  await ctx.shares.model((share, error) =>
    problems.set(share.entitySet, error instanceof Error ? error.message : String(error)),
  );
  const rows: Static<typeof TableInfo>[] = [];
  const client = await ctx.published.pool.connect();
  try {
    for (const r of relations.rows) {
      const share = shares.find((s) => s.schema === r.schema && s.table === r.table);
      rows.push({
        ...r,
        shared: share !== undefined,
        entitySet: share?.entitySet ?? null,
        problem: share
          ? (problems.get(share.entitySet) ?? null)
          : await unshareable(client, r.schema, r.table),
      });
    }
  } finally {
    client.release();
  }
  // A shared table that was dropped still shows, so it can be unshared.
  for (const share of shares)
    if (!rows.some((r) => r.entitySet === share.entitySet))
      rows.push({
        schema: share.schema,
        table: share.table,
        kind: "table",
        shared: true,
        entitySet: share.entitySet,
        problem: problems.get(share.entitySet) ?? "it no longer exists",
      });
  return rows;
}

/** Why sharing this table would fail (no usable key...), checked the way sharing checks it; null if it would not. */
async function unshareable(client: pg.PoolClient, schema: string, table: string): Promise<string | null> {
  try {
    await describeEntitySet(client, { schema, table });
    return null;
  } catch (error) {
    if (error instanceof BitbridgeError) return error.message;
    throw error;
  }
}

/** Runs `work` on a connection that may grant, closed afterwards (sharing is rare). */
async function asAdmin<T>(ctx: ApiContext, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const pool = await ctx.openPublishedAdmin();
  try {
    const client = await pool.connect();
    try {
      return await work(client);
    } finally {
      client.release();
    }
  } finally {
    await pool.end();
  }
}

/** Asks the OData service itself, as the admin (already authenticated here) rather than an OData user. */
function preview(ctx: ApiContext, request: FastifyRequest, resource: string): Promise<ODataResponse> {
  const { host, "x-forwarded-host": forwardedHost, "x-forwarded-proto": forwardedProto } = request.headers;
  return ctx.odata.handleTrusted({
    method: "GET",
    url: `${ODATA_ROOT}/${resource}`,
    headers: { host, "x-forwarded-host": forwardedHost, "x-forwarded-proto": forwardedProto },
  });
}

function relay(reply: FastifyReply, response: ODataResponse): FastifyReply {
  return reply.code(response.status).headers(response.headers).send(response.body);
}
