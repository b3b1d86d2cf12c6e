/**
 * A job-queue worker as its own process, for crash and concurrency tests. It runs "record" jobs: insert a row into
 * test_job_runs (job id, worker pid, phase), sleep payload.sleepMs, insert a "done" row.
 * Env: DATABASE_URL or DATABASE_FILE, LEASE_MS, CONCURRENCY. Prints "ready" once it is working.
 */
import { sql } from 'kysely';
import { openStorage } from '../../src/storage/database.js';
import { JobStore } from '../../src/jobs/job-store.js';
import { systemClock } from '../../src/core/clock.js';
import { JobQueue } from '../../src/jobs/job-queue.js';

const storage = openStorage({ databaseUrl: process.env.DATABASE_URL || undefined, databaseFile: process.env.DATABASE_FILE ?? '', databasePoolSize: 4 }, { backgroundCheckpoints: false });
const quiet = { info() {}, warn() {}, error: (o: object, m?: string) => console.error(m, o) };
const queue = new JobQueue(new JobStore(storage.db, storage.dialect, systemClock), quiet, {
  leaseMs: Number(process.env.LEASE_MS ?? 30_000),
  concurrency: Number(process.env.CONCURRENCY ?? 4),
  pollMs: 20,
});
queue.register('record', async (job) => {
  const { sleepMs = 0 } = (job.payload ?? {}) as { sleepMs?: number };
  await sql`INSERT INTO test_job_runs (job_id, pid, phase) VALUES (${job.id}, ${process.pid}, 'start')`.execute(storage.db);
  if (sleepMs) await new Promise((r) => setTimeout(r, sleepMs));
  await sql`INSERT INTO test_job_runs (job_id, pid, phase) VALUES (${job.id}, ${process.pid}, 'done')`.execute(storage.db);
});
queue.start();
console.log('ready');
process.on('SIGTERM', async () => {
  await queue.stop();
  await storage.close();
  process.exit(0);
});
