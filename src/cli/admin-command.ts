import { Command } from "commander";
import { ADMIN_USER, resetAdminPassword } from "../api/auth/admin.js";
import { withAppDatabase } from "./app-database.js";

/** `bitbridge admin reset-password`: the way back in when the web UI's admin password is lost. */
export function adminCommand(): Command {
  const admin = new Command("admin").description("The web UI's admin user");
  admin
    .command("reset-password")
    .description("Give the admin a new generated password (shown once) and end every web session")
    .action(async () => {
      const password = await withAppDatabase((db) => resetAdminPassword(db.pool));
      process.stdout.write(
        `New password of web user ${ADMIN_USER}: ${password}\n(shown once; change it in the web UI; every session was ended)\n`,
      );
    });
  return admin;
}
