import { existsSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import cookie from "@fastify/cookie";
import fastifyStatic from "@fastify/static";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type RawServerDefault } from "fastify";
import type { ApiContext } from "./context.js";
import { apiErrorHandler, notFound } from "./errors.js";

/** The Fastify instance every route module registers on, typed by its TypeBox schemas. */
export type Api = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** A route module: registers its routes (with schemas, so they appear in the OpenAPI document). */
export type RouteModule = (api: Api, ctx: ApiContext) => void | Promise<void>;

export const API_ROOT = "/api";

export interface ApiOptions {
  /** The built web UI (`dist/web`); served at `/` when it exists. */
  readonly webRoot?: string;
  /** Route modules in registration order; the authentication module comes first. */
  readonly routes: readonly RouteModule[];
}

/**
 * The REST API and the web UI. The HTTP front (`src/server/http.ts`) hands it every request that is not
 * OData, through `routing`, so both share one port.
 */
export async function buildApi(ctx: ApiContext, options: ApiOptions): Promise<Api> {
  const api: Api = Fastify({
    logger: false,
    bodyLimit: 1024 * 1024,
    // Field-level 400s list every problem at once, not only the first.
    ajv: { customOptions: { allErrors: true, coerceTypes: "array", removeAdditional: false } },
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>();
  api.setErrorHandler(apiErrorHandler(ctx.log));
  await api.register(cookie);
  await api.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "bitbridge API",
        version: "1",
        description:
          "Connections, jobs, tasks, schedules, runs and the OData service's credentials and shared tables. " +
          "Authenticate with the admin session cookie (plus X-CSRF-Token on changes) or an API token (Bearer).",
      },
      components: {
        securitySchemes: {
          session: { type: "apiKey", in: "cookie", name: "bitbridge_session" },
          token: { type: "http", scheme: "bearer" },
        },
      },
      security: [{ session: [] }, { token: [] }],
    },
  });
  await api.register(swaggerUi, { routePrefix: `${API_ROOT}/docs` });
  api.get(`${API_ROOT}/openapi.json`, { config: { public: true }, schema: { hide: true } }, async () =>
    api.swagger(),
  );
  api.get(
    `${API_ROOT}/health`,
    {
      config: { public: true },
      schema: { summary: "Liveness and application database reachability", tags: ["system"], security: [] },
    },
    async () => {
      await ctx.db.pool.query("SELECT 1");
      return { ok: true };
    },
  );
  for (const register of options.routes) await register(api, ctx);

  const webRoot =
    options.webRoot && existsSync(path.join(options.webRoot, "index.html")) ? options.webRoot : undefined;
  // Files are looked up per request (wildcard), so a rebuilt UI's new asset names need no restart.
  if (webRoot) await api.register(fastifyStatic, { root: webRoot, wildcard: true, index: "index.html" });
  api.setNotFoundHandler((request, reply) => {
    const pathname = request.url.split("?")[0] ?? "/";
    // Client-side routes of the single-page UI load its index; unknown API paths and missing files
    // (a path ending in an extension) stay JSON 404s.
    if (
      webRoot &&
      request.method === "GET" &&
      !pathname.startsWith(`${API_ROOT}/`) &&
      pathname !== API_ROOT &&
      !/\.[A-Za-z0-9]+$/.test(pathname)
    ) {
      return reply.type("text/html; charset=utf-8").sendFile("index.html");
    }
    return notFound(reply, `No resource at ${request.method} ${pathname}`);
  });
  await api.ready();
  return api;
}

/** Where `npm run build` puts the web UI: `dist/web` of the package this module belongs to. */
export function defaultWebRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, "package.json")) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return path.join(dir, "dist", "web");
}
