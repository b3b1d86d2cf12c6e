import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { migrate, openPostgres, openSqlite, type Storage } from '../../src/storage/database.js';
import { JobStore } from '../../src/jobs/job-store.js';
import { systemClock } from '../../src/core/clock.js';
import { JobQueue, backoffDelay } from '../../src/jobs/job-queue.js';
import { postgresUrlFor, testDatabaseUrl } from '../helpers/database.js';
import { until } from '../helpers/until.js';

const quiet = { info() {}, warn() {}, error() {} };

async function openTestStorage(dir = fs.mkdtempSync(path.join(os.tmpdir(), 'calbridge-jobs-'))) {
  const url = testDatabaseUrl ? await postgresUrlFor(dir) : undefined;
  const storage: Storage = url ? openPostgres({ url, poolSize: 8 }) : openSqlite({ file: path.join(dir, 'calbridge.db') });
  await migrate(storage);
  await sql`CREATE TABLE IF NOT EXISTS test_job_runs (job_id bigint NOT NULL, pid integer NOT NULL, phase text NOT NULL)`.execute(storage.db);
  const env: Record<string, string> = url ? { DATABASE_URL: url } : { DATABASE_FILE: path.join(dir, 'calbridge.db') };
  return { storage, dir, env, store: new JobStore(storage.db, storage.dialect, systemClock) };
}

function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/jobs/worker-process.ts'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => String(d).includes('ready') && resolve(child));
    child.once('exit', (code) => reject(new Error(`worker exited early with ${code}`)));
  });
}

async function runsOf(storage: Storage) {
  const r = await sql<{ job_id: number; pid: number; phase: string }>`SELECT job_id, pid, phase FROM test_job_runs`.execute(storage.db);
  return r.rows.map((x) => ({ ...x, job_id: Number(x.job_id) }));
}

describe('durable job queue', () => {
  test('runs a job, runs a delayed job only when due, and keeps jobs across a restart', async () => {
    const t = await openTestStorage();
    const seen: string[] = [];
    const queue = new JobQueue(t.store, quiet, { pollMs: 20 }).register('note', async (job) => void seen.push((job.payload as { text: string }).text));
    await queue.enqueue({ type: 'note', payload: { text: 'now' } });
    await queue.enqueue({ type: 'note', payload: { text: 'later' }, runAt: Date.now() + 1500 });
    queue.start();
    await until('the due job', async () => seen.includes('now'));
    assert.deepEqual(seen, ['now'], 'the delayed job waits for its time');
    await until('the delayed job', async () => seen.includes('later'), 5000);
    await queue.stop();

    // A job enqueued before a restart (storage closed and reopened) still runs after it.
    await t.store.enqueue({ type: 'note', payload: { text: 'after restart' } });
    await t.storage.close();
    const again = await openTestStorage(t.dir);
    const q2 = new JobQueue(again.store, quiet, { pollMs: 20 }).register('note', async (job) => void seen.push((job.payload as { text: string }).text));
    q2.start();
    await until('the job from before the restart', async () => seen.includes('after restart'));
    await q2.stop();
    assert.equal((await again.store.counts()).done, 3);
    await again.storage.close();
  });

  test('failures retry with exponential back-off, then the job is dead and visible', async () => {
    const t = await openTestStorage();
    const attempts: number[] = [];
    const queue = new JobQueue(t.store, quiet, { pollMs: 10, backoffBaseMs: 50, backoffMaxMs: 1000 })
      .register('flaky', async (job) => {
        attempts.push(Date.now());
        throw new Error(`boom ${job.attempts}`);
      });
    const { id } = await queue.enqueue({ type: 'flaky', maxAttempts: 4 });
    queue.start();
    await until('the job to die', async () => (await t.store.counts()).dead === 1, 10_000);
    await queue.stop();
    assert.equal(attempts.length, 4);
    const gaps = attempts.slice(1).map((a, i) => a - attempts[i]!);
    assert.ok(gaps[2]! > gaps[0]!, `gaps grow: ${gaps.join(', ')}`);
    const [dead] = await t.store.list('dead', 10);
    assert.equal(dead!.id, id);
    assert.equal(dead!.attempts, 4);
    assert.match(dead!.lastError ?? '', /boom 4/);
    // An operator can put it back.
    assert.equal(await t.store.retryDead([id!]), 1);
    assert.equal((await t.store.counts()).pending, 1);
    await t.storage.close();
  });

  test('back-off doubles per attempt, with jitter, up to the cap', () => {
    assert.equal(backoffDelay(1, 1000, 60_000, 0.5), 1000);
    assert.equal(backoffDelay(3, 1000, 60_000, 0.5), 4000);
    assert.equal(backoffDelay(20, 1000, 60_000, 0.5), 60_000);
    assert.ok(backoffDelay(3, 1000, 60_000, 0) < backoffDelay(3, 1000, 60_000, 1));
  });

  test('1,000 enqueues with one dedupe key give one run', async () => {
    const t = await openTestStorage();
    let runs = 0;
    const queue = new JobQueue(t.store, quiet, { pollMs: 20 }).register('sync', async () => void runs++);
    const results = await Promise.all(Array.from({ length: 1000 }, () => queue.enqueue({ type: 'sync', dedupeKey: 'calendar:7' })));
    assert.equal(results.filter((r) => !r.deduped).length, 1);
    queue.start();
    await until('the run', async () => runs === 1);
    await new Promise((r) => setTimeout(r, 200));
    await queue.stop();
    assert.equal(runs, 1);
    // Once the pending one has run, the key is free again.
    assert.equal((await t.store.enqueue({ type: 'sync', dedupeKey: 'calendar:7' })).deduped, false);
    await t.storage.close();
  });

  test('a worker killed with SIGKILL mid-job gives the job back when its lease expires', async () => {
    const t = await openTestStorage();
    const first = await startWorker({ ...t.env, LEASE_MS: '1500' });
    const { id } = await t.store.enqueue({ type: 'record', payload: { sleepMs: 60_000 } });
    await until('the first worker to start the job', async () => (await runsOf(t.storage)).some((r) => r.phase === 'start'));
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const second = await startWorker({ ...t.env, LEASE_MS: '1500' });
    try {
      // The job sleeps 60 s per attempt, so shorten it: the second attempt is a fresh claim of the same job.
      await until('the second worker to start the job', async () => (await runsOf(t.storage)).filter((r) => r.phase === 'start').length === 2, 15_000);
      const runs = await runsOf(t.storage);
      assert.equal(runs.filter((r) => r.job_id === id).length, 2);
      assert.notEqual(runs[0]!.pid, runs[1]!.pid, 'another process took the job over');
      const [row] = await t.store.list('running', 1);
      assert.equal(row!.attempts, 2);
    } finally {
      second.kill('SIGKILL');
      await t.storage.close();
    }
  });

  test('4 worker processes × 1,000 jobs: each job processed exactly once', {
    timeout: 120_000,
    skip: !testDatabaseUrl && 'many worker processes are the PostgreSQL deployment; on SQLite one process works the queue',
  }, async () => {
    const t = await openTestStorage();
    const rows = Array.from({ length: 4000 }, () => ({ type: 'record' }));
    for (let i = 0; i < rows.length; i += 500) {
      await Promise.all(rows.slice(i, i + 500).map((r) => t.store.enqueue(r)));
    }
    const workers = await Promise.all([1, 2, 3, 4].map(() => startWorker({ ...t.env, CONCURRENCY: '8' })));
    try {
      await until('all jobs done', async () => (await t.store.counts()).done === 4000, 100_000);
      const runs = (await runsOf(t.storage)).filter((r) => r.phase === 'done');
      const perJob = new Map<number, number>();
      for (const r of runs) perJob.set(r.job_id, (perJob.get(r.job_id) ?? 0) + 1);
      assert.equal(perJob.size, 4000);
      assert.ok([...perJob.values()].every((n) => n === 1), 'no job ran twice');
      assert.ok(new Set(runs.map((r) => r.pid)).size > 1, 'the work was shared between processes');
    } finally {
      for (const w of workers) w.kill('SIGTERM');
      await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode !== null ? r(null) : w.once('exit', r)))));
      await t.storage.close();
    }
  });
});
