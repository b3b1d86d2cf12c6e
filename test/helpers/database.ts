/**
 * Which database the tests run on: SQLite files by default; PostgreSQL when scripts/test.mjs sets TEST_DATABASE_URL
 * (a throwaway cluster, or yours). On PostgreSQL each data directory gets its own database, so a test that
 * "restarts" on the same directory finds its data again.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';

export const testDatabaseUrl = process.env.TEST_DATABASE_URL || undefined;

/** The databases this process created, by the directory they stand for: only these are ever dropped. */
const created = new Map<string, string>();

function databaseNameFor(dir: string): string {
  return `cb_${createHash('sha1').update(dir).digest('hex').slice(0, 20)}`;
}

async function withAdmin<T>(fn: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: testDatabaseUrl });
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}

export async function postgresUrlFor(dir: string): Promise<string> {
  if (!testDatabaseUrl) throw new Error('TEST_DATABASE_URL is not set');
  const name = databaseNameFor(dir);
  await withAdmin(async (admin) => {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!exists.rowCount) {
      await admin.query(`CREATE DATABASE ${name}`);
      created.set(dir, name);
    }
  });
  const url = new URL(testDatabaseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Drops the databases this process created for `dir` and for directories under it (a test's `dir/target`), once
 * whatever used them is closed. A plain DROP: PostgreSQL waits a few seconds for connections that are still closing
 * (a pool's end() resolves before its sockets are gone; a killed child's backends linger a moment). A database that
 * is still in use after that is left alone rather than forced (forcing would kill a connection someone still holds);
 * the throwaway cluster goes with it.
 */
export async function dropDatabasesUnder(dir: string): Promise<void> {
  const mine = [...created].filter(([d]) => d === dir || d.startsWith(dir + path.sep));
  if (!testDatabaseUrl || !mine.length) return;
  await withAdmin(async (admin) => {
    for (const [d, name] of mine) {
      created.delete(d);
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${name}`);
      } catch (e) {
        if ((e as { code?: string }).code !== '55006') throw e; // 55006: still in use
      }
    }
  });
}

/** Environment for a real server or CLI process that uses `DATA_DIR`: on PostgreSQL runs, its database URL too. */
export async function processDatabaseEnv(env: Record<string, string>): Promise<Record<string, string>> {
  if (!testDatabaseUrl || env.DATABASE_URL || !env.DATA_DIR) return env;
  // One test process with its own embedded emulator: the explicit single-process opt-in.
  return { GRAPH_EMULATOR: 'embedded', ...env, DATABASE_URL: await postgresUrlFor(env.DATA_DIR) };
}
