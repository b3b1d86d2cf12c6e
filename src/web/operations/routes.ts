/**
 * Operations: /healthz (the process answers) and /readyz (database reachable, migrations applied, queue running: 503
 * when not; Microsoft refusing the app's credentials: 200 with status "degraded"), both unauthenticated and free of
 * secrets; /api/sys/jobs lets full administrators see and retry dead jobs.
 */
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { requireAccess, type AccessDeps } from '../nexudus/access.js';
import { JOB_STATES, type OperationsService } from '../../modules/operations/service.js';
import { writeEnvelope } from '../nexudus/envelope.js';
import { AppError } from '../../core/errors.js';
import { errorResponses } from '../nexudus/schemas.js';

export interface OperationsDeps {
  operations: OperationsService;
  access: AccessDeps;
}

export async function operationsRoutes(app: FastifyInstance, deps: OperationsDeps): Promise<void> {
  app.get('/healthz', { schema: { tags: ['Operations'], summary: 'The process is alive' } }, async () => ({ status: 'ok' }));

  app.get('/readyz', {
    schema: {
      tags: ['Operations'],
      summary: 'Ready to serve: database, migrations, job queue (503 when not); Graph credentials (200 "degraded" when Microsoft refuses them)',
    },
  }, async (_request, reply) => {
    const { ready, degraded, checks } = await deps.operations.readiness();
    return reply.code(ready ? 200 : 503).send({ status: !ready ? 'not ready' : degraded ? 'degraded' : 'ready', checks });
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
    if (q.state && !JOB_STATES.includes(q.state as never)) throw AppError.field('state', `must be one of ${JOB_STATES.join(', ')}`, q.state);
    const size = q.size === undefined || q.size === '' ? 100 : /^\s*\d+\s*$/.test(q.size) && Number(q.size) >= 1 ? Math.min(1000, Number(q.size)) : NaN;
    if (Number.isNaN(size)) throw AppError.field('size', 'must be a whole number of at least 1', q.size);
    const store = deps.operations.jobs;
    return { Counts: await store.counts(), ByType: await store.countsByType(), Records: await store.list(q.state as never, size) };
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
    const n = await deps.operations.jobs.retryDead(Ids);
    return writeEnvelope(`${n} job(s) queued again.`, { Retried: n }, new Date(deps.operations.jobs.clock.now()).toISOString(), request.principal.email);
  });
}
