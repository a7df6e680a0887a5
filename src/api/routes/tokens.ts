import { Type } from "@sinclair/typebox";
import type { RouteModule } from "../app.js";
import { principalOf } from "../auth/guard.js";
import { TokenStore } from "../auth/tokens.js";
import { NoContent, Nullable, Timestamp } from "../schemas.js";

/** API tokens for automation (Authorization: Bearer). */
export const tokenRoutes: RouteModule = (api, ctx) => {
  const tokens = new TokenStore(ctx.db.pool);
  const tags = ["session"];

  api.get(
    "/api/tokens",
    {
      schema: {
        summary: "List API tokens (never the tokens themselves)",
        tags,
        response: {
          200: Type.Array(
            Type.Object({
              id: Type.Integer(),
              name: Type.String(),
              createdAt: Timestamp,
              lastUsedAt: Nullable(Timestamp),
            }),
          ),
        },
      },
    },
    async (request) => tokens.list(principalOf(request).user),
  );

  api.post(
    "/api/tokens",
    {
      schema: {
        summary: "Create an API token; the response is the only time it is shown",
        tags,
        body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) }),
        response: { 201: Type.Object({ id: Type.Integer(), name: Type.String(), token: Type.String() }) },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await tokens.create(principalOf(request).user, request.body.name)),
  );

  api.delete(
    "/api/tokens/:id",
    {
      schema: {
        summary: "Delete an API token",
        tags,
        params: Type.Object({ id: Type.Integer() }),
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      await tokens.delete(principalOf(request).user, request.params.id);
      return reply.code(204).send(null);
    },
  );
};
