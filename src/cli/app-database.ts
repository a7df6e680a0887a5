import { type AppDatabase, openAppDatabase } from "../app/database.js";
import { loadSecretKey } from "../app/secrets.js";
import { ConnectionStore } from "../engine/connection-store.js";

/** Opens the application database for one command and always closes it (stopping an embedded server). */
export async function withAppDatabase<T>(
  work: (db: AppDatabase, connections: ConnectionStore) => Promise<T>,
): Promise<T> {
  const db = await openAppDatabase();
  try {
    return await work(db, new ConnectionStore(db.pool, () => loadSecretKey()));
  } finally {
    await db.close();
  }
}
