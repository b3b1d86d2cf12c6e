/**
 * `--with-reference`: the reference kit's bare Fastify server measured in the same run with the same wrk scripts, so
 * calbridge/reference ratios can be read despite a noisy machine: servers/c-fastify-sqlite.js (better-sqlite3) when the
 * benchmark runs on SQLite, servers/d-fastify-pg.js (pg, pool PG_POOL) when it runs on PostgreSQL.
 *
 * The shared kit is read-only, so its lib/, servers/ and setup/ are copied to .tmp/bench-reference/ inside this
 * repository; from there Node resolves fastify, better-sqlite3 and pg from calbridge's own node_modules (same major
 * versions as the kit pins), so nothing is installed. Its own loaders (setup/load-sqlite.js, setup/load-pg.js) build
 * its data. On PostgreSQL its table (coworker_ms_office_calendar, singular) lives in its own schema,
 * calbridge_bench_reference, in the same database: the kit reads its connection from PGHOST/PGPORT/PGUSER/PGPASSWORD/
 * PGDATABASE, and PGOPTIONS puts that schema first on its search_path (then the schema holding pg_trgm).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import Database from 'better-sqlite3';
import { REFERENCE } from './cases.js';
import { ident, pgEnvironment, withClient } from './pg.js';
import { startProcessServer, type RunningServer } from './server.js';

export const REFERENCE_SOURCE = '/work/shared/bench-reference';
const TABLE = 'coworker_ms_office_calendar';

/** Schema of the reference table on PostgreSQL. */
export const REFERENCE_PG_SCHEMA = 'calbridge_bench_reference';

export interface ReferenceSetup {
  kind: 'sqlite' | 'postgres';
  dir: string;
  /** SQLite: the database file; PostgreSQL: schema.table. */
  file: string;
  /** PostgreSQL: the database URL and the kit's libpq-style environment. */
  url?: string;
  env?: Record<string, string>;
  token: string;
  /** The loader's JSON summary when it ran in this run. */
  load?: unknown;
}

/** Copies the kit's lib/, servers/ and setup/ to .tmp/bench-reference and checks its dependencies resolve from there. */
function copyKit(root: string, server: string, deps: string[]): string {
  if (!fs.existsSync(path.join(REFERENCE_SOURCE, 'servers', server))) {
    throw new Error(`--with-reference: ${REFERENCE_SOURCE}/servers/${server} not found`);
  }
  const dir = path.join(root, '.tmp', 'bench-reference');
  for (const sub of ['lib', 'servers', 'setup']) {
    fs.rmSync(path.join(dir, sub), { recursive: true, force: true });
    fs.cpSync(path.join(REFERENCE_SOURCE, sub), path.join(dir, sub), { recursive: true });
    // The kit's files are read-only; the copies need not be.
    for (const f of fs.readdirSync(path.join(dir, sub))) fs.chmodSync(path.join(dir, sub, f), 0o644);
  }
  // Its package.json says "type": "commonjs" (calbridge's says module).
  fs.copyFileSync(path.join(REFERENCE_SOURCE, 'package.json'), path.join(dir, 'package.json'));
  fs.chmodSync(path.join(dir, 'package.json'), 0o644);
  const req = createRequire(path.join(dir, 'servers', server));
  for (const dep of deps) req.resolve(dep); // throws if the copy cannot find them
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'results'), { recursive: true });
  return dir;
}

export function prepareReference(root: string, rows: number, reuse: boolean, log: (line: string) => void): ReferenceSetup {
  const dir = copyKit(root, 'c-fastify-sqlite.js', ['fastify', 'better-sqlite3']);
  const rel = path.join('data', `sqlite-${rows}.db`);
  const file = path.join(dir, rel);
  let load: unknown;
  if (reuse && fs.existsSync(file)) {
    const removed = restoreReference(file, rows);
    log(`bench: reference: reusing ${path.relative(root, file)}${removed ? ` (removed ${removed} rows left by an earlier run)` : ''}`);
  } else {
    log(`bench: reference: loading ${rows.toLocaleString('en-US')} rows with its own setup/load-sqlite.js`);
    const r = spawnSync(process.execPath, ['setup/load-sqlite.js', rel, String(rows)], { cwd: dir, encoding: 'utf8', timeout: 600_000 });
    if (r.status !== 0) throw new Error(`reference loader failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}`);
    const line = r.stdout.trim().split('\n').pop() ?? '';
    load = JSON.parse(line) as unknown;
    log(`bench: reference: ${line}`);
  }
  return { kind: 'sqlite', dir, file, token: randomBytes(16).toString('hex'), load };
}

/**
 * PostgreSQL: its table in schema calbridge_bench_reference of the benchmark database, loaded by its own
 * setup/load-pg.js (batched INSERT ... SELECT FROM unnest, indexes and its pg_trgm GIN index afterwards, VACUUM ANALYZE).
 * Reused when it still holds exactly the loaded rows (after removing any a POST case left).
 */
export async function prepareReferencePg(root: string, url: string, rows: number, log: (line: string) => void): Promise<ReferenceSetup> {
  const dir = copyKit(root, 'd-fastify-pg.js', ['fastify', 'pg']);
  const qualified = `${REFERENCE_PG_SCHEMA}.${TABLE}`;
  const trgmSchema = await withClient(url, async (c) => {
    await c.query(`CREATE SCHEMA IF NOT EXISTS ${REFERENCE_PG_SCHEMA}`);
    await c.query('CREATE EXTENSION IF NOT EXISTS pg_trgm'); // calbridge's migration made it already; harmless
    return (await c.query<{ s: string }>(`SELECT extnamespace::regnamespace::text AS s FROM pg_extension WHERE extname = 'pg_trgm'`)).rows[0]!.s;
  });
  const env = { ...pgEnvironment(url), PGOPTIONS: `-c search_path=${REFERENCE_PG_SCHEMA},${trgmSchema}` };
  const setup: ReferenceSetup = { kind: 'postgres', dir, file: qualified, url, env, token: randomBytes(16).toString('hex') };

  const exists = await withClient(url, async (c) => (await c.query<{ t: string | null }>(`SELECT to_regclass($1)::text AS t`, [qualified])).rows[0]!.t !== null);
  if (exists) {
    const removed = await restoreReferencePg(setup, rows);
    const count = await withClient(url, async (c) => Number((await c.query<{ n: number }>(`SELECT count(*) AS n FROM ${qualified}`)).rows[0]!.n));
    if (count === rows) {
      log(`bench: reference: reusing ${qualified} (${rows.toLocaleString('en-US')} rows${removed ? `; removed ${removed} rows left by an earlier run` : ''})`);
      return setup;
    }
  }
  log(`bench: reference: loading ${rows.toLocaleString('en-US')} rows into ${qualified} with its own setup/load-pg.js`);
  const r = spawnSync(process.execPath, ['setup/load-pg.js', String(rows)], {
    cwd: dir, encoding: 'utf8', timeout: 900_000, env: { ...process.env, ...env },
  });
  if (r.status !== 0) throw new Error(`reference loader failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}`);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  setup.load = JSON.parse(line) as unknown;
  log(`bench: reference: ${line}`);
  await withClient(url, async (c) => {
    try {
      await c.query('CHECKPOINT');
    } catch {
      // not allowed for this role: the checkpointer gets to it on its own
    }
  });
  return setup;
}

export function startReference(ref: ReferenceSetup, port: number, nodeFlags: string[], env: Record<string, string>): Promise<RunningServer> {
  const entry = ref.kind === 'postgres' ? 'servers/d-fastify-pg.js' : 'servers/c-fastify-sqlite.js';
  const dbEnv = ref.kind === 'postgres'
    // The same pool size as calbridge's (DATABASE_POOL_SIZE, default 10).
    ? { ...ref.env, PG_POOL: process.env.DATABASE_POOL_SIZE?.trim() || '10' }
    : { SQLITE_FILE: ref.file, SQLITE_SYNC: 'NORMAL' };
  return startProcessServer({
    cwd: ref.dir,
    args: [...nodeFlags, entry],
    entry,
    port,
    env: { ...process.env, PORT: String(port), ...dbEnv, BENCH_TOKEN: ref.token, ...env },
    readyPath: `${REFERENCE.collection}/1`,
  });
}

/** Deletes the rows its POST case created (Id above the loaded count). */
export function restoreReference(file: string, rows: number): number {
  const db = new Database(file);
  try {
    db.pragma('busy_timeout = 10000');
    const removed = db.prepare(`DELETE FROM ${TABLE} WHERE Id > ?`).run(rows).changes;
    db.pragma('wal_checkpoint(TRUNCATE)');
    return removed;
  } finally {
    db.close();
  }
}

/** PostgreSQL: deletes the rows its POST case created, puts its identity sequence back and vacuums its table. */
export async function restoreReferencePg(ref: ReferenceSetup, rows: number): Promise<number> {
  return withClient(ref.url!, async (c) => {
    const table = `${ident(REFERENCE_PG_SCHEMA)}.${ident(TABLE)}`;
    const removed = (await c.query(`DELETE FROM ${table} WHERE id > $1`, [rows])).rowCount ?? 0;
    await c.query(`SELECT setval(pg_get_serial_sequence($1, 'id'), $2)`, [table, rows]);
    if (removed) await c.query(`VACUUM (ANALYZE) ${table}`);
    return removed;
  });
}
