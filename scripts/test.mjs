#!/usr/bin/env node
// Runs every test file (test/**/*.test.ts) with Node's test runner through tsx, first on SQLite, then again on
// PostgreSQL: against TEST_DATABASE_URL when set, else a throwaway cluster started here (Debian's postgresql).
// When PostgreSQL can't be had, the run says so loudly. Extra arguments narrow the run: `npm test -- test/api`.
// TEST_DATABASES=sqlite (or postgres) runs one database only.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { findPgBin, startCluster } from './pg-cluster.mjs';

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return name === 'node_modules' ? [] : find(full);
    return name.endsWith('.test.ts') ? [full] : [];
  });
}

const roots = process.argv.slice(2).length ? process.argv.slice(2) : ['test', 'emulator/test'];
const all = roots.flatMap((r) => (statSync(r).isDirectory() ? find(r) : [r])).sort();
// The Graph emulator's own tests use no database: they run once, in the SQLite pass.
const isEmulatorTest = (f) => f.split(path.sep).includes('emulator');
const files = all.filter((f) => !isEmulatorTest(f));
const emulatorFiles = all.filter(isEmulatorTest);
if (!all.length) {
  console.error(`No test files under ${roots.join(', ')}`);
  process.exit(1);
}
const wanted = (process.env.TEST_DATABASES ?? 'sqlite,postgres').split(',');

function runSuite(label, env, list = files) {
  if (!list.length) return 0;
  console.log(`\n======== tests on ${label} ========\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...list], { stdio: 'inherit', env: { ...process.env, ...env } });
  return r.status ?? 1;
}

let failed = 0;
if (wanted.includes('sqlite')) failed |= runSuite('SQLite (and the Graph emulator)', { TEST_DATABASE_URL: '' }, [...files, ...emulatorFiles]);

if (wanted.includes('postgres')) {
  if (process.env.TEST_DATABASE_URL) {
    failed |= runSuite(`PostgreSQL (${process.env.TEST_DATABASE_URL.replace(/:[^:@/]*@/, ':***@')})`, {});
  } else if (findPgBin()) {
    const cluster = await startCluster({ settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' } });
    const stop = () => cluster.stop();
    process.on('SIGINT', () => { stop(); process.exit(130); });
    try {
      failed |= runSuite('PostgreSQL (throwaway cluster)', { TEST_DATABASE_URL: cluster.url });
    } finally {
      stop();
    }
  } else {
    console.warn('\n' + '!'.repeat(78) + '\n!! PostgreSQL SKIPPED: no server binaries (apt-get install postgresql) and no TEST_DATABASE_URL.\n!! Only SQLite was tested.\n' + '!'.repeat(78) + '\n');
  }
}
process.exit(failed ? 1 : 0);
