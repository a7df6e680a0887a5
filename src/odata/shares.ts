import type pg from "pg";
import { BitbridgeError } from "../app/errors.js";
import {
  CHANGE_TRIGGER,
  type ChangeTrackingResult,
  trackChanges,
  untrackChanges,
} from "./change-versions.js";
import { chooseMaxLengths, describeEntitySet } from "./introspect.js";
import type { EdmModel, EntitySet } from "./model.js";
import { entitySetName } from "./names.js";
import { type GrantResult, grantReader, revokeReader } from "./reader-role.js";

export interface Share {
  readonly schema: string;
  readonly table: string;
  readonly entitySet: string;
  readonly maxLengths: Readonly<Record<string, number>>;
  readonly sharedAt: Date;
}

export const NAMESPACE = "bitbridge";

/**
 * Which tables and views the OData service publishes, in the application database. The entity set name
 * and the text MaxLengths are chosen once, when a table is shared, so `$metadata` (and the Salesforce
 * objects synced from it) stays the same while rows come and go.
 */
export class ShareStore {
  constructor(
    private readonly app: pg.Pool,
    /** The database whose tables are published. */
    private readonly data: pg.Pool,
  ) {}

  /**
   * Publishes `schema.table`; checks it has a key and measures its text columns. Sharing again refreshes.
   * With `admin` (a connection that may grant), the reader role is given SELECT on it, and a table it owns
   * gets the change-version trigger that lets the service answer repeated counts from memory.
   */
  async share(
    schema: string,
    table: string,
    name?: string,
    admin?: pg.ClientBase,
  ): Promise<EntitySet & { readerRole?: GrantResult; changeTracking?: ChangeTrackingResult }> {
    // The admin connection reads too: the service's own sessions may only read what is already shared.
    const pooled = admin ? undefined : await this.data.connect();
    const client = admin ?? (pooled as pg.PoolClient);
    try {
      const all = await this.list();
      const existing = all.find((s) => s.schema === schema && s.table === table);
      const taken = all.filter((s) => s !== existing).map((s) => s.entitySet);
      const chosen = name ?? existing?.entitySet ?? entitySetName(schema, table, taken);
      // Salesforce and OData 4.01 lookups ignore case: names differing only in case would clash.
      if (taken.some((t) => t.toLowerCase() === chosen.toLowerCase()))
        throw new BitbridgeError(
          "ODATA_NAME_TAKEN",
          `Entity set name ${chosen} is already used by another shared table; choose one with --name.`,
          {},
          409,
        );
      const maxLengths = await chooseMaxLengths(client, schema, table);
      const set = await describeEntitySet(client, { schema, table, name: chosen, maxLengths });
      await this.app.query(
        `INSERT INTO bitbridge.odata_shares (schema_name, table_name, entity_set, max_lengths)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (schema_name, table_name)
         DO UPDATE SET entity_set = EXCLUDED.entity_set, max_lengths = EXCLUDED.max_lengths, shared_at = now()`,
        [schema, table, chosen, JSON.stringify(maxLengths)],
      );
      if (!admin) return set;
      const readerRole = await grantReader(admin, schema, table);
      const changeTracking = await trackChanges(admin, schema, table);
      return { ...set, tracksChanges: changeTracking.installed, readerRole, changeTracking };
    } finally {
      pooled?.release();
    }
  }

  /**
   * Gives a table shared earlier what sharing installs now, without choosing its name or lengths again:
   * the reader role's SELECT, and the change trigger when it has none (a share made by an older version).
   */
  async refreshAccess(schema: string, table: string, admin: pg.ClientBase): Promise<void> {
    await grantReader(admin, schema, table);
    const trigger = await admin.query(
      `SELECT FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2 AND t.tgname = $3`,
      [schema, table, CHANGE_TRIGGER],
    );
    if (trigger.rowCount === 0) await trackChanges(admin, schema, table);
  }

  async unshare(schemaOrSet: string, table?: string, admin?: pg.ClientBase): Promise<void> {
    const result =
      table === undefined
        ? await this.app.query(
            "DELETE FROM bitbridge.odata_shares WHERE entity_set = $1 RETURNING schema_name, table_name",
            [schemaOrSet],
          )
        : await this.app.query(
            "DELETE FROM bitbridge.odata_shares WHERE schema_name = $1 AND table_name = $2 RETURNING schema_name, table_name",
            [schemaOrSet, table],
          );
    const removed = result.rows[0];
    if (admin && removed) {
      await revokeReader(admin, removed.schema_name, removed.table_name);
      await untrackChanges(admin, removed.schema_name, removed.table_name);
    }
    if (result.rowCount === 0)
      throw new BitbridgeError(
        "ODATA_NOT_SHARED",
        `${table === undefined ? schemaOrSet : `${schemaOrSet}.${table}`} is not shared; \`bitbridge odata list\` shows what is.`,
        {},
        404,
      );
  }

  async list(): Promise<Share[]> {
    const result = await this.app.query(
      `SELECT schema_name, table_name, entity_set, max_lengths, shared_at
       FROM bitbridge.odata_shares ORDER BY entity_set`,
    );
    return result.rows.map((r) => ({
      schema: r.schema_name,
      table: r.table_name,
      entitySet: r.entity_set,
      maxLengths: r.max_lengths,
      sharedAt: r.shared_at,
    }));
  }

  /** The published model; a shared table that no longer exists (or lost its key) is left out and reported. */
  async model(onProblem?: (share: Share, error: unknown) => void): Promise<EdmModel> {
    const shares = await this.list();
    const client = await this.data.connect();
    try {
      const entitySets: EntitySet[] = [];
      for (const share of shares) {
        try {
          entitySets.push(
            await describeEntitySet(client, {
              schema: share.schema,
              table: share.table,
              name: share.entitySet,
              maxLengths: share.maxLengths,
            }),
          );
        } catch (error) {
          onProblem?.(share, error);
        }
      }
      return { namespace: NAMESPACE, container: "Container", entitySets };
    } finally {
      client.release();
    }
  }

  /**
   * Changes to the shares or to the shared tables' definitions, cheaply: the model is rebuilt only when
   * this changes. A table recreated by a DropTable load (a new oid) or given new columns by schema
   * evolution is described again; its rows coming and going change nothing.
   */
  async version(): Promise<string> {
    const shares = await this.app.query<{ v: string; schemas: string[]; tables: string[] }>(
      `SELECT count(*) || ':' || coalesce(max(shared_at)::text, '') AS v,
              coalesce(array_agg(schema_name), '{}') AS schemas, coalesce(array_agg(table_name), '{}') AS tables
         FROM bitbridge.odata_shares`,
    );
    const row = shares.rows[0];
    if (!row) return "";
    // Catalog names only: no privilege on the tables or their schemas is needed to read them.
    const definitions = await this.data.query<{ v: string }>(
      `SELECT md5(coalesce(string_agg(concat_ws(':', c.oid, a.attname, a.atttypid, a.atttypmod, a.attnotnull),
                                      ',' ORDER BY c.oid, a.attnum), '')) AS v
         FROM unnest($1::text[], $2::text[]) AS s(schema_name, table_name)
         JOIN pg_namespace n ON n.nspname = s.schema_name
         JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = s.table_name
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped`,
      [row.schemas, row.tables],
    );
    return `${row.v}:${definitions.rows[0]?.v ?? ""}`;
  }
}
