import type pg from "pg";

/**
 * Notes the text of every statement `pool.query` sends (a real pool, real statements): for tests that check
 * which statements the service chose to run, not only what it answered.
 */
export function recordStatements(pool: pg.Pool): string[] {
  const sent: string[] = [];
  const query = pool.query.bind(pool);
  pool.query = ((config: string | pg.QueryConfig, ...rest: unknown[]) => {
    sent.push(typeof config === "string" ? config : config.text);
    return (query as (...args: unknown[]) => unknown)(config, ...rest);
  }) as typeof pool.query;
  return sent;
}
