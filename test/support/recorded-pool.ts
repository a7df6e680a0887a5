import type pg from "pg";

/**
 * Notes the text of every statement sent on `pool`'s connections (a real pool, real statements), however
 * they are sent (`pool.query`, or a client taken with `pool.connect`): for tests that check which statements
 * the service chose to run, not only what it answered. Call it before the pool opens its first connection.
 */
export function recordStatements(pool: pg.Pool): string[] {
  const sent: string[] = [];
  pool.on("connect", (client) => {
    const query = client.query.bind(client);
    client.query = ((config: string | pg.QueryConfig, ...rest: unknown[]) => {
      sent.push(typeof config === "string" ? config : config.text);
      return (query as (...args: unknown[]) => unknown)(config, ...rest);
    }) as typeof client.query;
  });
  return sent;
}
