/** First start: with no users, create a full administrator from ADMIN_EMAIL/ADMIN_PASSWORD or a generated password. */
import { randomBytes } from 'node:crypto';
import type { UserRepository } from './repository.js';
import type { UserService } from './service.js';

export async function ensureAdministrator(
  config: { adminEmail?: string; adminPassword?: string },
  container: { users: UserRepository; userService: UserService },
  print: (line: string) => void,
): Promise<void> {
  if ((await container.users.count()) > 0) return;
  const email = config.adminEmail ?? 'admin@calbridge.local';
  const password = config.adminPassword ?? randomBytes(12).toString('base64url');
  try {
    await container.userService.create(
      { Email: email, FullName: 'Administrator', Password: password, FullAdministrator: true, Roles: [] },
      { userId: 0, email: 'system' },
    );
  } catch (err) {
    // Several processes starting at once on one PostgreSQL database: another one created it first.
    if ((await container.users.count()) > 0) return;
    throw err;
  }
  if (config.adminPassword) {
    print(`Created the first full administrator ${email} with the password from ADMIN_PASSWORD.`);
  } else {
    // Printed once, to the terminal, never to the log.
    print(`Created the first full administrator:\n    e-mail:   ${email}\n    password: ${password}\n  Keep it now: it is not shown again (change it with npm run users -- set-password).`);
  }
}
