/** What operators see: readiness (database, migrations, job queue) and the job queue's jobs. */
import { sql } from 'kysely';
import type { Storage } from '../../storage/database.js';
import { pendingMigrations } from '../../storage/database.js';
import type { JobQueue } from '../../jobs/job-queue.js';
import type { JobState, JobStore } from '../../jobs/job-store.js';

/** What readiness reads from this process's Graph client (modules/graph/graph-client.ts). */
export interface GraphHealth {
  readonly credentialsProblem: { summary: string } | null;
}

export const JOB_STATES: readonly JobState[] = ['pending', 'running', 'done', 'dead'];

export class OperationsService {
  constructor(
    private readonly storage: Storage,
    readonly jobs: JobStore,
    /** This process's worker (null: this process runs none). */
    private readonly queue: () => JobQueue | null,
    /** This process's Graph client (null: this process runs no sync engine). */
    private readonly graph: () => GraphHealth | null = () => null,
  ) {}

  /**
   * ready: this process can serve (database, migrations, queue); false means 503. degraded: it serves, but something
   * an operator must fix stops the sync (Microsoft refuses the app's credentials): still 200, since taking the API and
   * the webhooks out of the load balancer would fix nothing and stop the bookings API too.
   */
  async readiness(): Promise<{ ready: boolean; degraded: boolean; checks: Record<string, string> }> {
    const checks: Record<string, string> = {};
    let ready = true;
    let degraded = false;
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
    const graph = this.graph();
    if (graph) {
      const problem = graph.credentialsProblem;
      checks.graph = problem ? `operator: ${problem.summary}` : 'ok';
      if (problem) degraded = true;
    }
    return { ready, degraded, checks };
  }
}
