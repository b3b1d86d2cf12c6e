/**
 * Manage users in the service's own database: npm run users -- add|list|set-roles|set-password|remove.
 * Runs the same services (and so the same rules) as /api/sys/users.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { loadConfig, ConfigError } from '../config.js';
import { openStorage, migrate } from '../storage/database.js';
import { composeServices } from '../composition-root.js';
import { AppError } from '../core/errors.js';
import { KNOWN_ROLES } from '../modules/users/roles.js';

const USAGE = `Usage: npm run users -- <command> [options]
  add <email> [--password P] [--name "Full Name"] [--admin] [--roles Role-A,Role-B] [--coworker ID]
  list
  set-roles <email> [--roles Role-A,Role-B] [--admin | --no-admin]
  set-password <email> [--password P]      (revokes the user's tokens)
  remove <email>
Without --password a strong password is generated and printed once.
The database is the service's: DATA_DIR (default ./data) or DATABASE_FILE.
Known roles: ${KNOWN_ROLES.join(', ')}`;

const CLI_ACTOR = { userId: 0, email: 'cli' };

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      password: { type: 'string' },
      name: { type: 'string' },
      roles: { type: 'string' },
      coworker: { type: 'string' },
      admin: { type: 'boolean' },
      'no-admin': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, email] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  const config = loadConfig();
  const storage = openStorage(config, { backgroundCheckpoints: false });
  try {
    await migrate(storage);
    const c = composeServices(storage, config);
    const roles = values.roles === undefined ? undefined : values.roles.split(',').map((r) => r.trim()).filter(Boolean);
    const needUser = async () => {
      if (!email) throw new UsageError(`${command} needs an e-mail address`);
      const id = await c.users.findIdByEmail(email);
      if (id === undefined) throw new UsageError(`no user with e-mail ${email}`);
      return (await c.userService.get(id))!;
    };

    switch (command) {
      case 'add': {
        if (!email) throw new UsageError('add needs an e-mail address');
        const password = values.password ?? generatedPassword();
        const user = await c.userService.create(
          { Email: email, Password: password, FullName: values.name ?? null, FullAdministrator: values.admin ?? false, Roles: roles ?? [], CoworkerId: values.coworker ?? null },
          CLI_ACTOR,
        );
        console.log(`Added user ${user.Id} ${user.Email}${user.FullAdministrator ? ' (full administrator)' : ''}${user.Roles.length ? ` roles: ${user.Roles.join(', ')}` : ''}`);
        if (!values.password) console.log(`Password (shown once): ${password}`);
        return 0;
      }
      case 'list': {
        const { records } = await c.userService.list({ page: 1, size: 1000, orderBy: 'Id', descending: false, conditions: [] });
        if (!records.length) console.log('No users.');
        for (const u of records) {
          console.log(`${String(u.Id).padStart(5)}  ${u.Email}  ${u.FullAdministrator ? 'full administrator' : u.Roles.join(', ') || '(no roles)'}`);
        }
        return 0;
      }
      case 'set-roles': {
        const user = await needUser();
        const admin = values.admin ? true : values['no-admin'] ? false : user.FullAdministrator;
        await c.userService.update(user.Id, {
          Email: user.Email, FullName: user.FullName, FullAdministrator: admin, Roles: roles ?? user.Roles, CoworkerId: user.CoworkerId,
        }, CLI_ACTOR);
        const after = (await c.userService.get(user.Id))!;
        console.log(`${after.Email}: ${after.FullAdministrator ? 'full administrator; ' : ''}roles: ${after.Roles.join(', ') || '(none)'}`);
        return 0;
      }
      case 'set-password': {
        const user = await needUser();
        const password = values.password ?? generatedPassword();
        if (password.length < 10) throw new UsageError('the password must be at least 10 characters');
        await c.userService.setPassword(user.Id, password);
        console.log(`Password of ${user.Email} changed; every token of the user is revoked.`);
        if (!values.password) console.log(`New password (shown once): ${password}`);
        return 0;
      }
      case 'remove': {
        const user = await needUser();
        await c.userService.remove(user.Id, CLI_ACTOR);
        console.log(`Removed user ${user.Id} ${user.Email}.`);
        return 0;
      }
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } finally {
    await storage.close();
  }
}

class UsageError extends Error {}

function generatedPassword(): string {
  return randomBytes(12).toString('base64url');
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof AppError) console.error(`Refused: ${err.message}`);
    else if (err instanceof UsageError) console.error(`Error: ${err.message}\n\n${USAGE}`);
    else if (err instanceof ConfigError) console.error(err.message);
    else if (err && (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') console.error(`${(err as Error).message}\n\n${USAGE}`);
    else console.error(err);
    process.exit(1);
  },
);
