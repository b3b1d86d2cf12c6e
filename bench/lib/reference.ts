/**
 * `--with-reference`: the reference kit's bare Fastify + better-sqlite3 server (servers/c-fastify-sqlite.js) measured in
 * the same run with the same wrk scripts, so calbridge/reference ratios can be read despite a noisy machine.
 *
 * The shared kit is read-only, so its lib/, servers/ and setup/ are copied to .tmp/bench-reference/ inside this
 * repository; from there Node resolves fastify and better-sqlite3 from calbridge's own node_modules (same major
 * versions as the kit pins), so nothing is installed. Its own loader (setup/load-sqlite.js) builds its database there.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import Database from 'better-sqlite3';
import { REFERENCE } from './cases.js';
import { startProcessServer, type RunningServer } from './server.js';

export const REFERENCE_SOURCE = '/work/shared/bench-reference';
const TABLE = 'coworker_ms_office_calendar';

export interface ReferenceSetup {
  dir: string;
  file: string;
  token: string;
  /** The loader's JSON summary when it ran in this run. */
  load?: unknown;
}

export function prepareReference(root: string, rows: number, reuse: boolean, log: (line: string) => void): ReferenceSetup {
  if (!fs.existsSync(path.join(REFERENCE_SOURCE, 'servers', 'c-fastify-sqlite.js'))) {
    throw new Error(`--with-reference: ${REFERENCE_SOURCE}/servers/c-fastify-sqlite.js not found`);
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
  const req = createRequire(path.join(dir, 'servers', 'c-fastify-sqlite.js'));
  for (const dep of ['fastify', 'better-sqlite3']) req.resolve(dep); // throws if the copy cannot find them

  fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'results'), { recursive: true });
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
  return { dir, file, token: randomBytes(16).toString('hex'), load };
}

export function startReference(ref: ReferenceSetup, port: number, nodeFlags: string[], env: Record<string, string>): Promise<RunningServer> {
  const entry = 'servers/c-fastify-sqlite.js';
  return startProcessServer({
    cwd: ref.dir,
    args: [...nodeFlags, entry],
    entry,
    port,
    env: { ...process.env, PORT: String(port), SQLITE_FILE: ref.file, SQLITE_SYNC: 'NORMAL', BENCH_TOKEN: ref.token, ...env },
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
