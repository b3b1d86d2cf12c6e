#!/usr/bin/env node
// Runs every test file (test/**/*.test.ts) with Node's test runner through tsx, first on SQLite, then again on
// PostgreSQL: against TEST_DATABASE_URL when set, else a throwaway cluster started here (Debian's postgresql).
// When PostgreSQL can't be had, the run says so loudly. Extra arguments narrow the run: `npm test -- test/api`.
// TEST_DATABASES=sqlite (or postgres) runs one database only. TEST_TAP_DIR=dir keeps the full TAP logs there.
//
// Output: one line per test file as it finishes (scripts/test-progress.mjs), then the full TAP entry of every
// failed test, then one summary line per database and, last, the total as "N passed, N failed, N skipped" (CI reads
// that line). The exit code is 1 when anything failed.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { findPgBin, startCluster } from './pg-cluster.mjs';

const PROGRESS_REPORTER = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), 'test-progress.mjs')).href;

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

/** The run's totals from the summary comments at the end of a TAP log (the last of each wins). */
function tapCounts(tap) {
  const counts = {};
  for (const m of tap.matchAll(/^# (tests|pass|fail|cancelled|skipped|todo) (\d+)$/gm)) counts[m[1]] = Number(m[2]);
  return counts.tests === undefined ? undefined : counts;
}

/**
 * The TAP entries of failed tests, each with the names of the suites it sits in: "not ok" lines and their YAML,
 * leaving out the suites that failed only because a test inside them did.
 */
function tapFailures(tap) {
  const lines = tap.split('\n');
  const names = [];
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const subtest = /^( *)# Subtest: (.*)$/.exec(line);
    if (subtest) {
      const level = subtest[1].length / 4;
      names.length = level;
      names[level] = subtest[2];
      continue;
    }
    const failed = /^( *)not ok \d+ - (.*)$/.exec(line);
    if (!failed) continue;
    const indent = failed[1].length;
    const block = [];
    let j = i + 1;
    if (lines[j]?.trim() === '---') {
      for (; j < lines.length; j++) {
        block.push(lines[j].slice(indent));
        if (lines[j].trim() === '...') break;
      }
    }
    if (!block.some((l) => /^\s*failureType: 'subtestsFailed'$/.test(l))) {
      const where = names.slice(0, indent / 4).filter(Boolean);
      out.push([`✖ ${[...where, failed[2]].join(' › ')}`, ...block].join('\n'));
    }
    i = j;
  }
  return out;
}

const results = [];

function runSuite(label, env, list = files) {
  if (!list.length) return;
  console.log(`\n======== tests on ${label} ========\n`);
  // TEST_TAP_DIR keeps the TAP logs (sqlite.tap, postgresql.tap) there; by default they go with the run.
  const keep = process.env.TEST_TAP_DIR;
  if (keep) mkdirSync(keep, { recursive: true });
  const tmp = keep ?? mkdtempSync(path.join(os.tmpdir(), 'calbridge-tap-'));
  const tapFile = path.join(tmp, `${label.split(' ')[0].toLowerCase()}.tap`);
  const started = Date.now();
  try {
    const r = spawnSync(process.execPath, [
      '--import', 'tsx', '--test', '--test-concurrency=2',
      `--test-reporter=${PROGRESS_REPORTER}`, '--test-reporter-destination=stdout',
      '--test-reporter=tap', `--test-reporter-destination=${tapFile}`,
      ...list,
    ], { stdio: 'inherit', env: { ...process.env, ...env } });
    const seconds = Math.round((Date.now() - started) / 1000);
    let tap = '';
    try {
      tap = readFileSync(tapFile, 'utf8');
    } catch {
      /* no log: the runner did not start */
    }
    const counts = tapCounts(tap);
    const failures = tapFailures(tap);
    if (failures.length) console.log(`\nFailed on ${label}:\n\n${failures.join('\n\n')}\n`);
    const status = r.status ?? 1;
    if (!counts) console.log(`\nThe test runner on ${label} ended (exit code ${r.status}${r.signal ? `, ${r.signal}` : ''}) without a summary.`);
    results.push({ label: label.split(' ')[0], counts: counts ?? {}, seconds, ok: status === 0 && !!counts && !counts.fail && !counts.cancelled });
  } finally {
    if (!keep) rmSync(tmp, { recursive: true, force: true });
  }
}

let skippedPostgres;
if (wanted.includes('sqlite')) runSuite('SQLite (and the Graph emulator)', { TEST_DATABASE_URL: '' }, [...files, ...emulatorFiles]);

if (wanted.includes('postgres') && files.length) {
  if (process.env.TEST_DATABASE_URL) {
    runSuite(`PostgreSQL (${process.env.TEST_DATABASE_URL.replace(/:[^:@/]*@/, ':***@')})`, {});
  } else if (findPgBin()) {
    const cluster = await startCluster({ settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' } });
    const stop = () => cluster.stop();
    process.on('SIGINT', () => { stop(); process.exit(130); });
    try {
      runSuite('PostgreSQL (throwaway cluster)', { TEST_DATABASE_URL: cluster.url });
    } finally {
      stop();
    }
  } else {
    skippedPostgres = 'no server binaries (apt-get install postgresql) and no TEST_DATABASE_URL';
    console.warn('\n' + '!'.repeat(78) + `\n!! PostgreSQL SKIPPED: ${skippedPostgres}.\n!! Only SQLite was tested.\n` + '!'.repeat(78) + '\n');
  }
}

const total = { pass: 0, failed: 0, skipped: 0 };
console.log('');
for (const { label, counts, seconds, ok } of results) {
  const failed = (counts.fail ?? 0) + (counts.cancelled ?? 0) + (ok || counts.fail || counts.cancelled ? 0 : 1);
  total.pass += counts.pass ?? 0;
  total.failed += failed;
  total.skipped += counts.skipped ?? 0;
  const extra = [counts.cancelled && `${counts.cancelled} cancelled`, !ok && !counts.fail && !counts.cancelled && 'the runner failed'].filter(Boolean).join(', ');
  console.log(`${label}: ${counts.pass ?? 0} passed, ${failed} failed${extra ? ` (${extra})` : ''}, ${counts.skipped ?? 0} skipped${counts.todo ? `, ${counts.todo} todo` : ''} (${seconds} s)`);
}
if (skippedPostgres) console.log(`PostgreSQL: SKIPPED, not tested (${skippedPostgres})`);
console.log(`${total.pass} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(results.every((r) => r.ok) && total.failed === 0 ? 0 : 1);
