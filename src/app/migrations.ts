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
];
