import { timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { API_ROOT, type Api } from "../app.js";
import type { ApiErrorBody } from "../errors.js";
import type { User } from "./admin.js";
import type { Session, SessionStore } from "./sessions.js";
import type { TokenStore } from "./tokens.js";

export const SESSION_COOKIE = "bitbridge_session";
export const CSRF_HEADER = "x-csrf-token";

/** Who made a request, and how: only cookie sessions need the CSRF token. */
export type Principal =
  | { readonly via: "session"; readonly user: User; readonly session: Session }
  | { readonly via: "token"; readonly user: User };

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** Answers without authentication (login, health, the OAuth callback). */
    public?: boolean;
  }
}

const CHANGES = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * Every `/api` route needs a session cookie or an API token, except those marked `config.public` and the
 * API docs. Unknown paths pass through to the JSON 404.
 */
export function guardApi(api: Api, sessions: SessionStore, tokens: TokenStore): void {
  api.decorateRequest("principal", null);
  api.addHook("onRequest", async (request, reply) => {
    const route = request.routeOptions.url;
    if (route === undefined || !route.startsWith(`${API_ROOT}/`)) return;
    if (request.routeOptions.config.public || route.startsWith(`${API_ROOT}/docs`)) return;
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
      const user = bearer ? await tokens.find(bearer) : undefined;
      if (!user) return deny(reply, 401, "UNAUTHENTICATED", "The API token is not valid (or was deleted).");
      request.principal = { via: "token", user };
      return;
    }
    const id = request.cookies[SESSION_COOKIE];
    const session = id ? await sessions.find(id) : undefined;
    if (!session)
      return deny(
        reply,
        401,
        "UNAUTHENTICATED",
        "Log in first (POST /api/session), or send an API token as Authorization: Bearer <token>.",
      );
    if (CHANGES.has(request.method) && !sameSecret(request.headers[CSRF_HEADER], session.csrfToken))
      return deny(
        reply,
        403,
        "CSRF",
        "Changes made with the session cookie need the X-CSRF-Token header with the session's csrfToken.",
      );
    request.principal = { via: "session", user: session.user, session };
  });
}

/** The authenticated caller of a guarded route (the guard has already refused anyone else). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error(`${request.url} is public but needs a caller`);
  return request.principal;
}

function deny(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).send({ error: { code, message } } satisfies ApiErrorBody);
}

function sameSecret(given: string | string[] | undefined, expected: string): boolean {
  if (typeof given !== "string") return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
