/**
 * Operations: /healthz (the process answers) and /readyz (database reachable, migrations applied, queue running),
 * both unauthenticated and free of secrets; /api/sys/jobs lets full administrators see and retry dead jobs.
 */
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { sql } from 'kysely';
import { requireAccess, type AccessDeps } from '../auth/access.js';
import type { Storage } from '../storage/database.js';
import { pendingMigrations } from '../storage/database.js';
import type { JobQueue } from '../jobs/job-queue.js';
import type { JobStore } from '../jobs/job-store.js';
import { writeEnvelope } from './envelope.js';
import { ApiError } from './errors.js';
import { errorResponses } from './schemas.js';

export interface OperationsDeps {
  storage: Storage;
  jobs: JobStore;
  /** This process's worker, for /readyz (null: this process runs none). */
  queue: JobQueue | null;
  access: AccessDeps;
}

const JOB_STATES = ['pending', 'running', 'done', 'dead'] as const;

export async function operationsRoutes(app: FastifyInstance, deps: OperationsDeps): Promise<void> {
  app.get('/healthz', { schema: { tags: ['Operations'], summary: 'The process is alive' } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { tags: ['Operations'], summary: 'Ready to serve: database, migrations, job queue' } }, async (_request, reply) => {
    const checks: Record<string, string> = {};
    let ready = true;
    try {
      await sql`SELECT 1`.execute(deps.storage.db);
      checks.database = 'ok';
      const pending = await pendingMigrations(deps.storage);
      checks.migrations = pending.length ? `pending: ${pending.join(', ')}` : 'ok';
      if (pending.length) ready = false;
    } catch {
      checks.database = 'unreachable';
      ready = false;
    }
    if (deps.queue) {
      checks.queue = deps.queue.isRunning ? 'running' : 'stopped';
      if (!deps.queue.isRunning) ready = false;
    }
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
  });

  const adminOnly = requireAccess(deps.access, null);
  app.get('/api/sys/jobs', {
    schema: {
      tags: ['Operations'],
      summary: 'Jobs by state (full administrators); dead jobs are the ones that used up their attempts',
      querystring: Type.Object({ state: Type.Optional(Type.String()), size: Type.Optional(Type.String()) }),
    },
    onRequest: adminOnly,
  }, async (request) => {
    const q = request.query as { state?: string; size?: string };
    if (q.state && !JOB_STATES.includes(q.state as never)) throw ApiError.field('state', `must be one of ${JOB_STATES.join(', ')}`, q.state);
    const size = Math.min(1000, Math.max(1, Number(q.size) || 100));
    const store = deps.jobs;
    return { Counts: await store.counts(), Records: await store.list(q.state as never, size) };
  });

  app.post('/api/sys/jobs/retry', {
    schema: {
      tags: ['Operations'],
      summary: 'Put dead jobs back in the queue (full administrators)',
      body: Type.Object({ Ids: Type.Array(Type.Integer(), { maxItems: 1000 }) }),
      response: { ...errorResponses },
    },
    onRequest: adminOnly,
  }, async (request) => {
    const { Ids } = request.body as { Ids: number[] };
    const n = await deps.jobs.retryDead(Ids);
    return writeEnvelope(`${n} job(s) queued again.`, { Retried: n }, new Date().toISOString(), request.principal.email);
  });
}
