/**
 * The session settings of the pool that serves OData: read-only, a statement timeout, UTC, and custom plans
 * for its named statements (parsing is saved, while a selective filter and a broad one keep their own plans).
 */
export function publishedSessionOptions(statementTimeoutMs: number): string {
  return `-c statement_timeout=${statementTimeoutMs} -c default_transaction_read_only=on -c TimeZone=UTC -c plan_cache_mode=force_custom_plan`;
}
