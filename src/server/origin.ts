type Headers = Readonly<Record<string, string | string[] | undefined>>;

function first(value: string | string[] | undefined): string | undefined {
  return (Array.isArray(value) ? value[0] : value)?.split(",")[0]?.trim() || undefined;
}

/**
 * `proto://host[:port]` as the client sees this server, behind a proxy too (the first
 * X-Forwarded-Proto/Host); `encrypted` says whether the connection itself is TLS.
 */
export function requestOrigin(headers: Headers, encrypted = false): string {
  const proto = first(headers["x-forwarded-proto"]) ?? (encrypted ? "https" : "http");
  const host = first(headers["x-forwarded-host"]) ?? first(headers.host) ?? "localhost";
  return `${proto}://${host}`;
}
