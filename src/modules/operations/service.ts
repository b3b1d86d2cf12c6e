/** What operators see: readiness (database, migrations, job queue) and the job queue's jobs. */
import { sql } from 'kysely';
import type { Storage } from '../../storage/database.js';
import { pendingMigrations } from '../../storage/database.js';
import type { JobQueue } from '../../jobs/job-queue.js';
import type { JobState, JobStore } from '../../jobs/job-store.js';

export const JOB_STATES: readonly JobState[] = ['pending', 'running', 'done', 'dead'];

export class OperationsService {
  constructor(
    private readonly storage: Storage,
    readonly jobs: JobStore,
    /** This process's worker (null: this process runs none). */
    private readonly queue: () => JobQueue | null,
  ) {}

  async readiness(): Promise<{ ready: boolean; checks: Record<string, string> }> {
    const checks: Record<string, string> = {};
    let ready = true;
    try {
      await sql`SELECT 1`.execute(this.storage.db);
      checks.database = 'ok';
      const pending = await pendingMigrations(this.storage);
      checks.migrations = pending.length ? `pending: ${pending.join(', ')}` : 'ok';
      if (pending.length) ready = false;
    } catch {
      checks.database = 'unreachable';
      ready = false;
    }
    const queue = this.queue();
    if (queue) {
      checks.queue = queue.isRunning ? 'running' : 'stopped';
      if (!queue.isRunning) ready = false;
    }
    return { ready, checks };
  }
}
