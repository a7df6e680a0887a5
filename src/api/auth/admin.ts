import { randomBytes } from "node:crypto";
import type pg from "pg";
import { BitbridgeError } from "../../app/errors.js";
import { hashPassword, verifyPassword } from "../../odata/credentials.js";

export const ADMIN_USER = "admin";

/** Shorter passwords are refused when changed through the API (generated ones have 32 characters). */
export const MIN_PASSWORD_LENGTH = 12;

export interface User {
  readonly id: number;
  readonly username: string;
}

/** 192 random bits in 32 URL-safe characters. */
function generatePassword(): string {
  return randomBytes(24).toString("base64url");
}

/**
 * Creates the `admin` user when there is none: with `password` (BITBRIDGE_ADMIN_PASSWORD) or a generated
 * one, handed to `announce` once. Safe when several processes start at once: only the one that inserts
 * announces. An existing admin is left alone (its password is changed in the UI or with the CLI).
 */
export async function ensureAdmin(
  db: pg.Pool,
  password: string | undefined,
  announce: (line: string) => void,
): Promise<void> {
  const chosen = password && password.length > 0 ? password : undefined;
  const existing = await db.query("SELECT 1 FROM bitbridge.api_users WHERE username = $1", [ADMIN_USER]);
  if (existing.rowCount) return;
  const effective = chosen ?? generatePassword();
  const inserted = await db.query(
    `INSERT INTO bitbridge.api_users (username, password_hash) VALUES ($1, $2)
     ON CONFLICT (username) DO NOTHING`,
    [ADMIN_USER, await hashPassword(effective)],
  );
  if (!inserted.rowCount) return;
  announce(
    chosen
      ? `Created web user ${ADMIN_USER} with the password from BITBRIDGE_ADMIN_PASSWORD.`
      : `Created web user ${ADMIN_USER}, password ${effective} (shown once; change it in the web UI).`,
  );
}

/** A hash to compare against when the user does not exist, so both failures take as long. */
let decoy: Promise<string> | undefined;

/** The user when `password` is theirs; undefined for a wrong password or an unknown user alike. */
export async function checkLogin(db: pg.Pool, username: string, password: string): Promise<User | undefined> {
  const result = await db.query<{ id: string; username: string; password_hash: string }>(
    "SELECT id, username, password_hash FROM bitbridge.api_users WHERE username = $1",
    [username],
  );
  const row = result.rows[0];
  decoy ??= hashPassword(randomBytes(16).toString("hex"));
  const ok = await verifyPassword(password, row?.password_hash ?? (await decoy));
  return row && ok ? { id: Number(row.id), username: row.username } : undefined;
}

/** Changes `user`'s password after checking the current one. */
export async function changePassword(
  db: pg.Pool,
  user: User,
  currentPassword: string,
  newPassword: string,
): Promise<void> {
  if (!(await checkLogin(db, user.username, currentPassword)))
    throw new BitbridgeError(
      "VALIDATION",
      "body.currentPassword: is not the current password",
      { fields: [{ field: "body.currentPassword", message: "is not the current password" }] },
      400,
    );
  await setPassword(db, user.username, newPassword);
}

async function setPassword(db: pg.Pool, username: string, password: string): Promise<void> {
  const result = await db.query(
    "UPDATE bitbridge.api_users SET password_hash = $2, password_changed_at = now() WHERE username = $1",
    [username, await hashPassword(password)],
  );
  if (!result.rowCount) throw new BitbridgeError("NOT_FOUND", `No web user ${username}.`, {}, 404);
}

/**
 * For an administrator locked out: the admin gets a new generated password (created if missing), and
 * every session ends. Returns the password, to show once.
 */
export async function resetAdminPassword(db: pg.Pool): Promise<string> {
  const password = generatePassword();
  await db.query(
    `INSERT INTO bitbridge.api_users (username, password_hash) VALUES ($1, $2)
     ON CONFLICT (username) DO UPDATE SET password_hash = EXCLUDED.password_hash, password_changed_at = now()`,
    [ADMIN_USER, await hashPassword(password)],
  );
  await db.query(
    "DELETE FROM bitbridge.api_sessions WHERE user_id = (SELECT id FROM bitbridge.api_users WHERE username = $1)",
    [ADMIN_USER],
  );
  return password;
}
