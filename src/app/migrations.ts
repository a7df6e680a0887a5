/**
 * The application database's schema, as ordered migrations. Each runs once, in a transaction, under an
 * advisory lock, so any number of processes may start at the same time.
 */
export interface Migration {
  readonly id: number;
  readonly name: string;
  readonly sql: string;
}

export const APP_SCHEMA = "bitbridge";

export const MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    name: "connections",
    sql: `
      CREATE TABLE bitbridge.connections (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z][A-Za-z0-9_.-]{0,62}$'),
        kind text NOT NULL CHECK (kind IN ('source', 'destination')),
        connector text NOT NULL,
        -- Properties that are not secret, as given (names as the connector spells them).
        properties jsonb NOT NULL DEFAULT '{}'::jsonb,
        -- Secret properties as one AES-256-GCM sealed JSON object, bound to the connection's id.
        secrets text,
        labels text[] NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    id: 2,
    name: "jobs and runs",
    sql: `
      CREATE TABLE bitbridge.jobs (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z][A-Za-z0-9_.-]{0,62}$'),
        source_id bigint NOT NULL REFERENCES bitbridge.connections (id) ON DELETE RESTRICT,
        destination_id bigint NOT NULL REFERENCES bitbridge.connections (id) ON DELETE RESTRICT,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX jobs_source_id_idx ON bitbridge.jobs (source_id);
      CREATE INDEX jobs_destination_id_idx ON bitbridge.jobs (destination_id);

      -- Deleting a connection a job uses fails with a message naming the jobs (SQLSTATE 23503, as the
      -- foreign keys would, but saying what to do).
      CREATE FUNCTION bitbridge.connection_in_use() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        users text;
      BEGIN
        SELECT string_agg(name, ', ' ORDER BY name) INTO users
          FROM bitbridge.jobs WHERE source_id = OLD.id OR destination_id = OLD.id;
        IF users IS NOT NULL THEN
          RAISE EXCEPTION USING ERRCODE = '23503',
            MESSAGE = format('Connection %s is used by job(s) %s; remove those jobs first (bitbridge job remove).',
                             OLD.name, users);
        END IF;
        RETURN OLD;
      END $$;
      CREATE TRIGGER connections_in_use BEFORE DELETE ON bitbridge.connections
        FOR EACH ROW EXECUTE FUNCTION bitbridge.connection_in_use();

      CREATE TABLE bitbridge.tasks (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        job_id bigint NOT NULL REFERENCES bitbridge.jobs (id) ON DELETE CASCADE,
        position integer NOT NULL CHECK (position >= 1),
        -- One REPLICATE statement, in canonical form (formatReplicate).
        statement text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        -- Checked at the end of each statement, so positions can be shifted with one UPDATE.
        CONSTRAINT tasks_job_position_key UNIQUE (job_id, position) DEFERRABLE INITIALLY IMMEDIATE
      );

      CREATE TABLE bitbridge.runs (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        -- NULL for one-off runs (bitbridge replicate); a job's history goes with the job.
        job_id bigint REFERENCES bitbridge.jobs (id) ON DELETE CASCADE,
        trigger text NOT NULL CHECK (trigger IN ('manual', 'schedule', 'api', 'cli')),
        status text NOT NULL CHECK (status IN ('RUNNING', 'SUCCEEDED', 'FAILED', 'SKIPPED', 'CANCELLED')),
        full_reload boolean NOT NULL DEFAULT false,
        started_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        rows_read bigint NOT NULL DEFAULT 0,
        inserted bigint NOT NULL DEFAULT 0,
        updated bigint NOT NULL DEFAULT 0,
        deleted bigint NOT NULL DEFAULT 0,
        requests bigint NOT NULL DEFAULT 0,
        error text,
        -- Who runs it (host name), and its process id, to recognise runs left RUNNING by a dead process.
        worker text,
        pid text
      );
      CREATE INDEX runs_job_started_idx ON bitbridge.runs (job_id, started_at DESC, id DESC);
      CREATE INDEX runs_started_idx ON bitbridge.runs (started_at DESC, id DESC);
      CREATE INDEX runs_running_idx ON bitbridge.runs (status) WHERE status = 'RUNNING';

      CREATE TABLE bitbridge.task_runs (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        run_id bigint NOT NULL REFERENCES bitbridge.runs (id) ON DELETE CASCADE,
        task_id bigint REFERENCES bitbridge.tasks (id) ON DELETE SET NULL,
        position integer NOT NULL,
        statement text NOT NULL,
        status text NOT NULL CHECK (status IN ('RUNNING', 'SUCCEEDED', 'FAILED', 'SKIPPED', 'CANCELLED')),
        source_table text,
        destination_table text,
        started_at timestamptz,
        finished_at timestamptz,
        rows_read bigint NOT NULL DEFAULT 0,
        inserted bigint NOT NULL DEFAULT 0,
        updated bigint NOT NULL DEFAULT 0,
        unchanged bigint NOT NULL DEFAULT 0,
        deleted bigint NOT NULL DEFAULT 0,
        requests bigint NOT NULL DEFAULT 0,
        duration_ms bigint,
        error text,
        UNIQUE (run_id, position)
      );
      CREATE INDEX task_runs_task_idx ON bitbridge.task_runs (task_id, id DESC);

      CREATE TABLE bitbridge.run_logs (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        run_id bigint NOT NULL REFERENCES bitbridge.runs (id) ON DELETE CASCADE,
        task_run_id bigint REFERENCES bitbridge.task_runs (id) ON DELETE CASCADE,
        at timestamptz NOT NULL DEFAULT clock_timestamp(),
        level text NOT NULL CHECK (level IN ('info', 'warn', 'error')),
        message text NOT NULL
      );
      CREATE INDEX run_logs_run_idx ON bitbridge.run_logs (run_id, id);
      CREATE INDEX run_logs_task_run_idx ON bitbridge.run_logs (task_run_id) WHERE task_run_id IS NOT NULL;
    `,
  },
  {
    id: 3,
    name: "odata credentials and shares",
    sql: `
      CREATE TABLE bitbridge.odata_credentials (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        username text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z][A-Za-z0-9_.-]{0,62}$'),
        -- scrypt hashes only; the password itself is shown once and never stored.
        password_hash text NOT NULL,
        -- After a reset the previous password keeps working until previous_valid_until.
        previous_hash text,
        previous_valid_until timestamptz,
        requests_per_hour integer NOT NULL DEFAULT 20000 CHECK (requests_per_hour > 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        reset_at timestamptz,
        revoked_at timestamptz
      );

      CREATE TABLE bitbridge.odata_shares (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        schema_name text NOT NULL,
        table_name text NOT NULL,
        -- Chosen once, so the entity set (and the Salesforce object synced from it) keeps its name.
        entity_set text NOT NULL UNIQUE,
        -- MaxLength per text column, measured at share time, so $metadata stays stable.
        max_lengths jsonb NOT NULL DEFAULT '{}'::jsonb,
        shared_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (schema_name, table_name)
      );
    `,
  },
  {
    id: 4,
    name: "queued runs and schedules",
    sql: `
      -- Runs taken from the queue beat while they run; a RUNNING run whose beat stops belongs to a dead
      -- worker. attempt counts the retries of one queued run (1 for the first).
      ALTER TABLE bitbridge.runs ADD COLUMN heartbeat_at timestamptz,
                                 ADD COLUMN attempt integer NOT NULL DEFAULT 1;

      CREATE TABLE bitbridge.schedules (
        job_id bigint PRIMARY KEY REFERENCES bitbridge.jobs (id) ON DELETE CASCADE,
        -- Every kind of schedule is kept as a cron expression (5 fields, or 6 with seconds).
        cron text NOT NULL,
        description text NOT NULL,
        time_zone text NOT NULL,
        next_run_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX schedules_next_run_idx ON bitbridge.schedules (next_run_at);
    `,
  },
  {
    id: 5,
    name: "job alerts",
    sql: `
      CREATE TABLE bitbridge.job_alerts (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        job_id bigint NOT NULL REFERENCES bitbridge.jobs (id) ON DELETE CASCADE,
        kind text NOT NULL CHECK (kind IN ('webhook', 'email')),
        -- The URL (or SMTP settings and recipients) as one AES-256-GCM sealed JSON object, bound to the
        -- alert's id: webhook URLs carry tokens and SMTP settings a password.
        target text NOT NULL,
        -- What job alert list shows, secrets masked, so listing needs no key.
        display text NOT NULL,
        events text[] NOT NULL CHECK (
          cardinality(events) > 0 AND events <@ ARRAY['failure', 'success', 'zero_rows']::text[]
        ),
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX job_alerts_job_idx ON bitbridge.job_alerts (job_id);
    `,
  },
  {
    id: 6,
    name: "web users, sessions, API tokens and OAuth states",
    sql: `
      CREATE TABLE bitbridge.api_users (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        username text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z][A-Za-z0-9_.-]{0,62}$'),
        -- scrypt only; the password itself is never stored.
        password_hash text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        password_changed_at timestamptz NOT NULL DEFAULT now()
      );

      -- The cookie carries the session id; only its SHA-256 is kept, so a copy of this table logs no one in.
      CREATE TABLE bitbridge.api_sessions (
        id_hash text PRIMARY KEY,
        user_id bigint NOT NULL REFERENCES bitbridge.api_users (id) ON DELETE CASCADE,
        -- Sent back in X-CSRF-Token on changes; useless without the cookie.
        csrf_token text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL
      );
      CREATE INDEX api_sessions_user_idx ON bitbridge.api_sessions (user_id);
      CREATE INDEX api_sessions_expires_idx ON bitbridge.api_sessions (expires_at);

      CREATE TABLE bitbridge.api_tokens (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        user_id bigint NOT NULL REFERENCES bitbridge.api_users (id) ON DELETE CASCADE,
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
        -- SHA-256 of a 256-bit random token: enough on its own, no salt or slow hash needed.
        token_hash text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz
      );

      -- OAuth authorizations started from the web UI: the state sent to Bitbucket (hashed) and the
      -- connection it is for, until the browser comes back or it expires.
      -- When each OData user last made a request (noted at most once a minute), for the web UI's list.
      ALTER TABLE bitbridge.odata_credentials ADD COLUMN last_used_at timestamptz;

      CREATE TABLE bitbridge.oauth_states (
        state_hash text PRIMARY KEY,
        connection_id bigint NOT NULL REFERENCES bitbridge.connections (id) ON DELETE CASCADE,
        expires_at timestamptz NOT NULL
      );
    `,
  },
  {
    id: 7,
    name: "run control and shared request budgets",
    sql: `
      -- A run is recorded when it is queued (QUEUED), so it can be cancelled before it starts and a worker
      -- killed right after taking it from the queue cannot lose it: queue_id is its pg-boss job.
      ALTER TABLE bitbridge.runs DROP CONSTRAINT runs_status_check;
      ALTER TABLE bitbridge.runs ADD CONSTRAINT runs_status_check
        CHECK (status IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'SKIPPED', 'CANCELLED'));
      ALTER TABLE bitbridge.runs ADD COLUMN queued_at timestamptz,
                                 ADD COLUMN queue_id text,
                                 ADD COLUMN task_positions integer[],
                                 ADD COLUMN cancel_requested_at timestamptz;
      CREATE INDEX runs_queued_idx ON bitbridge.runs (status) WHERE status = 'QUEUED';
      ALTER TABLE bitbridge.jobs ADD COLUMN timeout_seconds integer CHECK (timeout_seconds > 0);

      -- Blocks of requests reserved from a credential's hourly budget by one process. A block counts
      -- size requests until its holder closes it (then used); it counts in the rolling window until an
      -- hour after held_until, the last moment its holder may send. credential is a SHA-256 of the
      -- credential's identity, never the secret.
      CREATE TABLE bitbridge.request_budget_blocks (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        credential text NOT NULL,
        size integer NOT NULL CHECK (size > 0),
        used integer CHECK (used >= 0 AND used <= size),
        taken_at timestamptz NOT NULL DEFAULT now(),
        held_until timestamptz NOT NULL,
        holder text NOT NULL
      );
      CREATE INDEX request_budget_blocks_credential_idx
        ON bitbridge.request_budget_blocks (credential, held_until);
    `,
  },
];
