/**
 * Which database the tests run on: SQLite files by default; PostgreSQL when scripts/test.mjs sets TEST_DATABASE_URL
 * (a throwaway cluster, or yours). On PostgreSQL each data directory gets its own database, so a test that
 * "restarts" on the same directory finds its data again.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';

export const testDatabaseUrl = process.env.TEST_DATABASE_URL || undefined;

export async function postgresUrlFor(dir: string): Promise<string> {
  if (!testDatabaseUrl) throw new Error('TEST_DATABASE_URL is not set');
  const name = `cb_${createHash('sha1').update(dir).digest('hex').slice(0, 20)}`;
  const admin = new pg.Client({ connectionString: testDatabaseUrl });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!exists.rowCount) await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(testDatabaseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Environment for a real server or CLI process that uses `DATA_DIR`: on PostgreSQL runs, its database URL too. */
export async function processDatabaseEnv(env: Record<string, string>): Promise<Record<string, string>> {
  if (!testDatabaseUrl || env.DATABASE_URL || !env.DATA_DIR) return env;
  return { ...env, DATABASE_URL: await postgresUrlFor(env.DATA_DIR) };
}
