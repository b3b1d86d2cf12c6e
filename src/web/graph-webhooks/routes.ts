/**
 * Microsoft Graph's webhooks: POST /graph/notifications and POST /graph/lifecycle. Unauthenticated, as Graph
 * requires. A `?validationToken=` is echoed verbatim as text/plain. Anything else: every item's clientState is
 * checked in constant time against its subscription (a bad or unknown item is ignored and counted; the rest of the
 * batch still counts), the good items are persisted and their jobs queued in one transaction, and then 202.
 * The work happens from the queue: nothing here calls Graph.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { NotificationIntake } from '../../modules/graph/notification-intake.js';

export interface WebhookDeps {
  intake: NotificationIntake;
}

export async function webhookRoutes(app: FastifyInstance, deps: WebhookDeps): Promise<void> {
  app.decorate('webhookCounters', deps.intake.counters);

  // Graph's handshake is an empty text/plain POST; notifications are JSON. Read both as text here.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 4 * 1024 * 1024 }, (_req, body, done) => done(null, body));

  const handle = (expect: 'change' | 'lifecycle') => async (request: FastifyRequest, reply: FastifyReply) => {
    const token = (request.query as Record<string, unknown>).validationToken;
    if (token !== undefined) {
      const text = Array.isArray(token) ? String(token[0]) : String(token);
      return reply.code(200).type('text/plain; charset=utf-8').send(text);
    }
    let items: unknown[];
    try {
      const parsed = JSON.parse(String(request.body ?? ''));
      items = Array.isArray(parsed?.value) ? parsed.value : [];
      if (!Array.isArray(parsed?.value)) throw new Error('no value array');
    } catch {
      return reply.code(400).type('application/json').send({ error: 'The body must be a Graph change-notification collection: {"value":[...]}' });
    }
    const { ignored } = await deps.intake.accept(items, expect);
    if (ignored) request.log.warn({ ignored, endpoint: expect }, 'ignored notification items (unknown subscription or clientState mismatch)');
    return reply.code(202).send();
  };

  const schema = { tags: ['Microsoft Graph webhooks'], hide: false };
  app.post('/graph/notifications', { schema: { ...schema, summary: 'Graph change notifications (and the validation handshake)' } }, handle('change'));
  app.post('/graph/lifecycle', { schema: { ...schema, summary: 'Graph lifecycle notifications (and the validation handshake)' } }, handle('lifecycle'));
}
