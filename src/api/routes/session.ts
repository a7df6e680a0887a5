import { Type } from "@sinclair/typebox";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { RouteModule } from "../app.js";
import { changePassword, checkLogin, MIN_PASSWORD_LENGTH } from "../auth/admin.js";
import { guardApi, principalOf, SESSION_COOKIE } from "../auth/guard.js";
import { SessionStore } from "../auth/sessions.js";
import { LoginThrottle } from "../auth/throttle.js";
import { TokenStore } from "../auth/tokens.js";
import type { ApiErrorBody } from "../errors.js";
import { isHttps } from "../origin.js";
import { ErrorBody, NoContent, Nullable } from "../schemas.js";

const SessionInfo = Type.Object({
  username: Type.String(),
  csrfToken: Nullable(Type.String({ description: "Send as X-CSRF-Token on changes; null for API tokens" })),
});

/** Authentication first: the guard on every other route, then login, logout and the password. */
export const sessionRoutes: RouteModule = (api, ctx) => {
  const sessions = new SessionStore(ctx.db.pool);
  const throttle = new LoginThrottle();
  guardApi(api, sessions, new TokenStore(ctx.db.pool));
  const tags = ["session"];

  api.post(
    "/api/session",
    {
      config: { public: true },
      schema: {
        summary: "Log in: sets the session cookie and returns the CSRF token",
        tags,
        security: [],
        body: Type.Object({
          username: Type.String({ minLength: 1, maxLength: 63 }),
          password: Type.String({ minLength: 1, maxLength: 1024 }),
        }),
        response: { 200: SessionInfo, 401: ErrorBody, 429: ErrorBody },
      },
    },
    async (request, reply) => {
      const wait = throttle.wait(request.ip);
      if (wait > 0)
        return reply
          .code(429)
          .header("retry-after", String(Math.ceil(wait / 1000)))
          .send({
            error: {
              code: "TOO_MANY_ATTEMPTS",
              message: `Too many wrong logins from this address; try again in ${Math.ceil(wait / 1000)} s.`,
            },
          } satisfies ApiErrorBody);
      const user = await checkLogin(ctx.db.pool, request.body.username, request.body.password);
      if (!user) {
        throttle.failed(request.ip);
        return reply
          .code(401)
          .send({ error: { code: "UNAUTHENTICATED", message: "Wrong user name or password." } });
      }
      throttle.succeeded(request.ip);
      const session = await sessions.create(user);
      reply.setCookie(SESSION_COOKIE, session.id, {
        httpOnly: true,
        sameSite: "strict",
        path: "/",
        secure: isHttps(request),
      });
      return { username: user.username, csrfToken: session.csrfToken };
    },
  );

  api.get(
    "/api/session",
    {
      schema: {
        summary: "Who is logged in, with the session's CSRF token",
        tags,
        response: { 200: SessionInfo },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      return {
        username: principal.user.username,
        csrfToken: principal.via === "session" ? principal.session.csrfToken : null,
      };
    },
  );

  api.delete(
    "/api/session",
    { schema: { summary: "Log out", tags, response: { 204: NoContent } } },
    async (request, reply) => {
      const principal = principalOf(request);
      if (principal.via === "session") await sessions.end(principal.session.idHash);
      clearCookie(request, reply);
      return reply.code(204).send(null);
    },
  );

  api.put(
    "/api/session/password",
    {
      schema: {
        summary: "Change the password (other sessions end)",
        tags,
        body: Type.Object({
          currentPassword: Type.String({ minLength: 1, maxLength: 1024 }),
          newPassword: Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: 1024 }),
        }),
        response: { 204: NoContent, 400: ErrorBody },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      await changePassword(
        ctx.db.pool,
        principal.user,
        request.body.currentPassword,
        request.body.newPassword,
      );
      await sessions.endOthers(
        principal.user.id,
        principal.via === "session" ? principal.session.idHash : undefined,
      );
      return reply.code(204).send(null);
    },
  );
};

function clearCookie(request: FastifyRequest, reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, {
    httpOnly: true,
    sameSite: "strict",
    path: "/",
    secure: isHttps(request),
  });
}
