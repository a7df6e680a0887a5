import type { FastifyRequest } from "fastify";
import { requestOrigin } from "../server/origin.js";

/** `https://host[:port]` as the browser sees this server, behind a proxy too (X-Forwarded-Proto/Host). */
export function originOf(request: FastifyRequest): string {
  return requestOrigin(request.headers, request.protocol === "https");
}

/** Whether the browser reached this server over HTTPS (directly or through a proxy). */
export function isHttps(request: FastifyRequest): boolean {
  return originOf(request).startsWith("https:");
}
