/** The queue every job run goes through, whoever asked for it. */
export const RUN_QUEUE = "bitbridge-run";
/** pg-boss keeps its tables in this schema of the application database. */
export const QUEUE_SCHEMA = "pgboss";
