import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { sql } from 'kysely';
import { migrate, openPostgres, openSqlite, type Storage } from '../../src/storage/database.js';
import { JobStore } from '../../src/jobs/job-store.js';
import type { Clock } from '../../src/core/clock.js';
import { JobQueue, backoffDelay } from '../../src/jobs/job-queue.js';
import { postgresUrlFor, testDatabaseUrl } from '../helpers/database.js';
import { until } from '../helpers/until.js';
import { defer, tempDir, type Scope } from '../helpers/cleanup.js';

const quiet = { info() {}, warn() {}, error() {} };

/** A clock that stands still until the test moves it: a job that is not due stays not due, however slow the machine. */
class ManualClock implements Clock {
  private ms = Date.now();
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

/** A queue on the test's store that is stopped when the test ends, even when an assertion stopped the test first. */
function testQueue(ctx: Scope, store: JobStore, options: ConstructorParameters<typeof JobQueue>[2]) {
  const queue = new JobQueue(store, quiet, options);
  defer(ctx, () => queue.stop());
  return queue;
}

/**
 * A migrated database in a temporary directory (made here, or `dir` to reopen one), with a JobStore on a clock the
 * test moves (a reopen passes the clock on). `close()` may be called mid-test (a restart); whatever is still open is
 * closed when the test ends.
 */
async function openTestStorage(ctx: Scope, dir = tempDir(ctx, 'calbridge-jobs-'), clock = new ManualClock()) {
  const url = testDatabaseUrl ? await postgresUrlFor(dir) : undefined;
  const storage: Storage = url ? openPostgres({ url, poolSize: 8 }) : openSqlite({ file: path.join(dir, 'calbridge.db') });
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= storage.close());
  defer(ctx, close);
  await migrate(storage);
  await sql`CREATE TABLE IF NOT EXISTS test_job_runs (job_id bigint NOT NULL, pid integer NOT NULL, phase text NOT NULL)`.execute(storage.db);
  const env: Record<string, string> = url ? { DATABASE_URL: url } : { DATABASE_FILE: path.join(dir, 'calbridge.db') };
  return { storage, dir, env, clock, close, store: new JobStore(storage.db, storage.dialect, clock) };
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
  test('runs a job, runs a delayed job only when due, and keeps jobs across a restart', async (ctx) => {
    const t = await openTestStorage(ctx);
    const seen: string[] = [];
    const queue = testQueue(ctx, t.store, { pollMs: 20 }).register('note', async (job) => void seen.push((job.payload as { text: string }).text));
    await queue.enqueue({ type: 'note', payload: { text: 'now' } });
    await queue.enqueue({ type: 'note', payload: { text: 'later' }, runAt: t.clock.now() + 1500 });
    queue.start();
    await until('the due job', async () => seen.includes('now'));
    assert.deepEqual(seen, ['now'], 'the delayed job waits for its time');
    t.clock.advance(1500);
    queue.poke();
    await until('the delayed job', async () => seen.includes('later'), 5000);
    await queue.stop();

    // A job enqueued before a restart (storage closed and reopened) still runs after it.
    await t.store.enqueue({ type: 'note', payload: { text: 'after restart' } });
    await t.close();
    const again = await openTestStorage(ctx, t.dir, t.clock);
    const q2 = testQueue(ctx, again.store, { pollMs: 20 }).register('note', async (job) => void seen.push((job.payload as { text: string }).text));
    q2.start();
    await until('the job from before the restart', async () => seen.includes('after restart'));
    await q2.stop();
    assert.equal((await again.store.counts()).done, 3);
    await again.close();
  });

  test('failures retry with exponential back-off, then the job is dead and visible', async (ctx) => {
    const t = await openTestStorage(ctx);
    const attempts: number[] = [];
    const queue = testQueue(ctx, t.store, { pollMs: 10, backoffBaseMs: 50, backoffMaxMs: 1000 })
      .register('flaky', async (job) => {
        attempts.push(t.clock.now());
        throw new Error(`boom ${job.attempts}`);
      });
    const { id } = await queue.enqueue({ type: 'flaky', maxAttempts: 4 });
    queue.start();
    // Each failure puts the job back with a later run_at; the clock stands still, so the retry waits until the test
    // moves the clock there.
    for (let failure = 1; failure <= 3; failure++) {
      const row = await until(`failure ${failure}`, () => t.storage.db.selectFrom('jobs').select('run_at')
        .where('id', '=', id!).where('state', '=', 'pending').where('attempts', '=', failure).executeTakeFirst());
      assert.equal(attempts.length, failure, 'the retry waits for its time');
      t.clock.advance(Number(row.run_at) - t.clock.now());
      queue.poke();
    }
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
    await t.close();
  });

  test('a worker claims only the job types it has handlers for (an API-only process leaves Graph jobs alone)', async (ctx) => {
    const t = await openTestStorage(ctx);
    const seen: string[] = [];
    const apiOnly = testQueue(ctx, t.store, { pollMs: 10 }); // no handlers, as with SYNC_ENGINE=off
    const notes = testQueue(ctx, t.store, { pollMs: 10 }).register('note', async () => void seen.push('note'));
    const { id: foreign } = await t.store.enqueue({ type: 'graph.subscribe', payload: {} });
    await t.store.enqueue({ type: 'note' });
    apiOnly.start();
    notes.start();
    await until('the note', async () => seen.length === 1);
    await apiOnly.stop();
    await notes.stop();
    const row = await t.storage.db.selectFrom('jobs').select(['state', 'attempts', 'last_error']).where('id', '=', foreign!).executeTakeFirstOrThrow();
    assert.deepEqual({ ...row, attempts: Number(row.attempts) }, { state: 'pending', attempts: 0, last_error: null }, 'no attempt was spent on a job nobody here can run');
    assert.deepEqual(await t.store.claim('w', 5, 1000, t.clock.now(), []), [], 'no types: nothing claimed');
    assert.equal((await t.store.claim('w', 5, 1000, t.clock.now(), ['graph.subscribe'])).length, 1);
    await t.close();
  });

  test('back-off doubles per attempt, with jitter, up to the cap', () => {
    assert.equal(backoffDelay(1, 1000, 60_000, 0.5), 1000);
    assert.equal(backoffDelay(3, 1000, 60_000, 0.5), 4000);
    assert.equal(backoffDelay(20, 1000, 60_000, 0.5), 60_000);
    assert.ok(backoffDelay(3, 1000, 60_000, 0) < backoffDelay(3, 1000, 60_000, 1));
  });

  test('1,000 enqueues with one dedupe key give one run', async (ctx) => {
    const t = await openTestStorage(ctx);
    let runs = 0;
    const queue = testQueue(ctx, t.store, { pollMs: 20 }).register('sync', async () => void runs++);
    const results = await Promise.all(Array.from({ length: 1000 }, () => queue.enqueue({ type: 'sync', dedupeKey: 'calendar:7' })));
    assert.equal(results.filter((r) => !r.deduped).length, 1);
    queue.start();
    await until('the run', async () => runs === 1);
    await queue.stop();
    assert.equal(runs, 1);
    // Nothing is left that could run a second time: the one job is done.
    assert.deepEqual(await t.store.counts(), { pending: 0, running: 0, done: 1, dead: 0 });
    // Once the pending one has run, the key is free again.
    assert.equal((await t.store.enqueue({ type: 'sync', dedupeKey: 'calendar:7' })).deduped, false);
    await t.close();
  });

  test('a worker killed with SIGKILL mid-job gives the job back when its lease expires', async (ctx) => {
    const t = await openTestStorage(ctx);
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
      await t.close();
    }
  });

  test('4 worker processes × 1,000 jobs: each job processed exactly once', {
    timeout: 120_000,
    skip: !testDatabaseUrl && 'many worker processes are the PostgreSQL deployment; on SQLite one process works the queue',
  }, async (ctx) => {
    const t = await openTestStorage(ctx);
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
      await t.close();
    }
  });
});
