import type { FastifyRequest } from "fastify";

function first(value: string | string[] | undefined): string | undefined {
  return (Array.isArray(value) ? value[0] : value)?.split(",")[0]?.trim() || undefined;
}

/** `https://host[:port]` as the browser sees this server, behind a proxy too (X-Forwarded-Proto/Host). */
export function originOf(request: FastifyRequest): string {
  const proto = first(request.headers["x-forwarded-proto"]) ?? request.protocol;
  const host = first(request.headers["x-forwarded-host"]) ?? request.host;
  return `${proto}://${host}`;
}

/** Whether the browser reached this server over HTTPS (directly or through a proxy). */
export function isHttps(request: FastifyRequest): boolean {
  return originOf(request).startsWith("https:");
}
