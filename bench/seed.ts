/**
 * npm run seed -- [--rows 1000000] [--file ./data/bench.db]
 * DATABASE_URL=postgres://... npm run seed -- [--rows 1000000]
 * Creates a fresh benchmark database (real migrations + a full administrator + bulk-loaded records): a SQLite file, or
 * with DATABASE_URL set the PostgreSQL database it names (which must be empty or an earlier benchmark database).
 */
import { ArgError, intArg, parseArgs, usage, type OptionSpec } from './lib/args.js';
import { DEFAULT_ADMIN, seed } from './lib/seeder.js';
import { seedPostgres } from './lib/pg-seeder.js';

const SPEC: Record<string, OptionSpec> = {
  rows: { value: true, help: 'calendar records to load (default 1000000)' },
  file: { value: true, help: 'SQLite file to (re)create (default ./data/bench.db); with DATABASE_URL set, that PostgreSQL database instead' },
  email: { value: true, help: `administrator e-mail (default ${DEFAULT_ADMIN.email})` },
  password: { value: true, help: 'administrator password (default: the bench default, see bench/lib/seeder.ts)' },
  batch: { value: true, help: 'rows per transaction (default: all rows in one)' },
  'integrity-check': { value: false, help: "also run FTS5 'integrity-check' at the end (slow)" },
  help: { value: false, help: 'show this help' },
};

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs(process.argv.slice(2), SPEC);
    if (args.has('help')) {
      process.stdout.write(`${usage('npm run seed --', SPEC)}\n`);
      return;
    }
    const password = args.get('password');
    if (typeof password === 'string' && password.length < 10) throw new ArgError('--password must be at least 10 characters');
    const url = process.env.DATABASE_URL?.trim();
    if (url) {
      if (!/^postgres(ql)?:\/\//.test(url)) throw new ArgError('DATABASE_URL must be a postgres:// or postgresql:// URL');
      for (const o of ['file', 'batch', 'integrity-check']) if (args.has(o)) throw new ArgError(`--${o} is for SQLite, but DATABASE_URL is set`);
      await seedPostgres({
        url,
        rows: intArg(args, 'rows', 1_000_000),
        email: typeof args.get('email') === 'string' ? String(args.get('email')) : undefined,
        password: typeof password === 'string' ? password : undefined,
      });
      return;
    }
    await seed({
      file: String(args.get('file') ?? './data/bench.db'),
      rows: intArg(args, 'rows', 1_000_000),
      batch: args.has('batch') ? intArg(args, 'batch', 1) : undefined,
      email: typeof args.get('email') === 'string' ? String(args.get('email')) : undefined,
      password: typeof password === 'string' ? password : undefined,
      integrityCheck: args.has('integrity-check'),
    });
  } catch (err) {
    if (err instanceof ArgError) {
      process.stderr.write(`seed: ${err.message}\n${usage('npm run seed --', SPEC)}\n`);
      process.exit(2);
    }
    throw err;
  }
}

main().catch((err) => {
  process.stderr.write(`seed failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
