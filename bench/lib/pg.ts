/**
 * PostgreSQL pieces of the benchmark: the connection URL (from DATABASE_URL, or a throwaway cluster with --pg-cluster),
 * the marker that says a database is a calbridge benchmark database (and holds the login of its seeded administrator),
 * and putting the seeded data back after a writing case.
 *
 * The benchmark only ever replaces the contents of a database that is empty or carries its marker
 * (table calbridge_bench.seed_info); any other database is refused.
 */
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';

/** Schema of the marker table (not calbridge's schema: the app never sees it). */
export const MARKER_SCHEMA = 'calbridge_bench';
export const MARKER_TABLE = `${MARKER_SCHEMA}.seed_info`;
const CAL = 'coworker_ms_office_calendars';

/** Settings of the --pg-cluster cluster: durable like production (unlike the test suite's fsync=off cluster). */
export const BENCH_CLUSTER_SETTINGS: Record<string, string> = {
  fsync: 'on',
  synchronous_commit: 'on',
  full_page_writes: 'on',
  shared_buffers: '256MB',
  // Room for the bulk load's WAL without a checkpoint every few seconds; checkpoints stay spread out.
  max_wal_size: '2GB',
};

export const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The URL without its password, for messages. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'calbridge-bench' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface PgCluster {
  url: string;
  stop(): void;
}

/** scripts/pg-cluster.mjs: initdb into a temporary directory, start on a free loopback port (as "postgres" when root). */
export async function startBenchCluster(root: string): Promise<PgCluster> {
  const mod = (await import(pathToFileURL(path.join(root, 'scripts', 'pg-cluster.mjs')).href)) as {
    startCluster(o: { settings: Record<string, string> }): Promise<PgCluster>;
  };
  return mod.startCluster({ settings: BENCH_CLUSTER_SETTINGS });
}

export interface PgServerInfo {
  version: string;
  settings: Record<string, string>;
}

export async function serverInfo(url: string): Promise<PgServerInfo> {
  return withClient(url, async (c) => {
    const names = ['fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers', 'max_wal_size', 'max_connections', 'work_mem'];
    const r = await c.query<{ name: string; setting: string }>(
      `SELECT name, current_setting(name) AS setting FROM pg_settings WHERE name = ANY($1) ORDER BY name`, [names]);
    const version = (await c.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]!.v;
    return { version, settings: Object.fromEntries(r.rows.map((x) => [x.name, x.setting])) };
  });
}

export interface PgSeedInfo {
  rows: number;
  email: string;
  password: string;
  seededAt: string;
  result: unknown;
}

/** The marker of a finished seed, or undefined (no marker, or a seed that did not finish). */
export async function readPgSeedInfo(url: string): Promise<PgSeedInfo | undefined> {
  return withClient(url, async (c) => {
    const exists = (await c.query<{ t: string | null }>(`SELECT to_regclass('${MARKER_TABLE}')::text AS t`)).rows[0]!.t;
    if (!exists) return undefined;
    const r = await c.query<{ state: string; rows: number; email: string; password: string; seeded_at: string; result: unknown }>(
      `SELECT state, rows, email, password, seeded_at, result FROM ${MARKER_TABLE} WHERE id = 1`);
    const m = r.rows[0];
    if (!m || m.state !== 'seeded') return undefined;
    return { rows: m.rows, email: m.email, password: m.password, seededAt: m.seeded_at, result: m.result };
  });
}

/**
 * Deletes what the POST case (or an interrupted run) added, puts the identity sequence back, moves the data version on
 * (no process may reuse a list total counted with those rows) and vacuums: dead rows and the GIN pending list the
 * inserts left would otherwise slow down the cases that follow.
 */
export async function restorePgSeededRows(url: string, rows: number): Promise<number> {
  return withClient(url, async (c) => {
    const removed = (await c.query(`DELETE FROM ${CAL} WHERE id > $1`, [rows])).rowCount ?? 0;
    await c.query(`SELECT setval(pg_get_serial_sequence('${CAL}', 'id'), $1)`, [rows]);
    // Each create queued a subscribe job (the seeded data has none); ids are reused, so stale ones would collide.
    await c.query('DELETE FROM jobs');
    if (removed) await c.query(`VACUUM (ANALYZE) ${CAL}`);
    return removed;
  });
}

/** WAL position in MB since the cluster began: the difference over a case is the WAL it wrote (cluster-wide). */
export async function walPositionMb(url: string): Promise<number> {
  return withClient(url, async (c) => {
    const r = await c.query<{ b: string }>(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text AS b`);
    return Number(r.rows[0]!.b) / 2 ** 20;
  });
}

/** libpq-style environment (PGHOST, PGPORT, ...) for a program that reads its connection from there. */
export function pgEnvironment(url: string): Record<string, string> {
  const u = new URL(url);
  const q = u.searchParams;
  const user = decodeURIComponent(u.username) || q.get('user') || process.env.PGUSER || os.userInfo().username;
  const env: Record<string, string> = {
    // A `host` parameter wins over the URL's host, as in libpq and pg (how a URL names a Unix socket directory).
    PGHOST: q.get('host') || decodeURIComponent(u.hostname) || process.env.PGHOST || 'localhost',
    PGPORT: u.port || q.get('port') || process.env.PGPORT || '5432',
    PGUSER: user,
    PGDATABASE: decodeURIComponent(u.pathname.replace(/^\//, '')) || q.get('dbname') || user,
  };
  const password = decodeURIComponent(u.password) || q.get('password') || process.env.PGPASSWORD;
  if (password) env.PGPASSWORD = password;
  const sslmode = q.get('sslmode');
  if (sslmode) env.PGSSLMODE = sslmode;
  return env;
}
