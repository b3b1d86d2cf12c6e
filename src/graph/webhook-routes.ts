/**
 * Microsoft Graph's webhooks: POST /graph/notifications and POST /graph/lifecycle. Unauthenticated, as Graph
 * requires. A `?validationToken=` is echoed verbatim as text/plain. Anything else: every item's clientState is
 * checked in constant time against its subscription (a bad or unknown item is ignored and counted; the rest of the
 * batch still counts), the good items are persisted and their jobs queued in one transaction, and then 202.
 * The work happens from the queue: nothing here calls Graph.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../storage/schema.js';
import type { Dialect } from '../storage/database.js';
import { JobStore } from '../jobs/job-store.js';
import type { Clock } from '../clock.js';
import type { ConnectionRepository, NotificationItem } from './connection-repository.js';
import { GraphJobs, dedupeKey } from './job-names.js';

export interface WebhookDeps {
  db: Kysely<Database>;
  dialect: Dialect;
  connections: ConnectionRepository;
  /** Wakes this process's queue after a commit (optional). */
  onQueued?: () => void;
  clock: Clock;
  /** How long a notification-triggered sync waits for more notifications of the same calendar. */
  syncDelayMs: number;
}

export interface WebhookCounters {
  accepted: number;
  ignored: number;
}

const LIFECYCLE_EVENTS = new Set(['reauthorizationRequired', 'subscriptionRemoved', 'missed']);
const MAX_ITEMS = 1000;

function sameSecret(a: string, b: string): boolean {
  // Hash first so both sides have one length: timingSafeEqual needs equal lengths, and lengths must not leak.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

export async function webhookRoutes(app: FastifyInstance, deps: WebhookDeps): Promise<void> {
  const counters: WebhookCounters = { accepted: 0, ignored: 0 };
  app.decorate('webhookCounters', counters);

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
    const accepted: NotificationItem[] = [];
    let ignored = 0;
    for (const raw of items.slice(0, MAX_ITEMS)) {
      // A null, a number or an array is one bad item, not a reason to reject the batch.
      const item = (raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>;
      const subscriptionId = typeof item.subscriptionId === 'string' ? item.subscriptionId : '';
      const clientState = typeof item.clientState === 'string' ? item.clientState : '';
      const lifecycleEvent = typeof item.lifecycleEvent === 'string' ? item.lifecycleEvent : null;
      const owner = subscriptionId ? await deps.connections.ownerOfSubscription(subscriptionId) : undefined;
      const valid = owner && owner.client_state && sameSecret(clientState, owner.client_state)
        && (lifecycleEvent === null || LIFECYCLE_EVENTS.has(lifecycleEvent));
      if (!valid) {
        ignored++;
        continue;
      }
      accepted.push({
        calendarRecordId: owner!.calendar_record_id,
        subscriptionId,
        kind: lifecycleEvent ? 'lifecycle' : 'change',
        changeType: typeof item.changeType === 'string' ? item.changeType : null,
        lifecycleEvent,
        resource: typeof item.resource === 'string' ? item.resource.slice(0, 2000) : null,
      });
    }
    ignored += Math.max(0, items.length - MAX_ITEMS);
    if (ignored) request.log.warn({ ignored, endpoint: expect }, 'ignored notification items (unknown subscription or clientState mismatch)');

    if (accepted.length) {
      const now = deps.clock.now();
      const receivedAt = new Date(now).toISOString();
      await deps.db.transaction().execute(async (trx) => {
        await deps.connections.recordNotifications(trx, accepted, receivedAt);
        const jobs = new JobStore(trx, deps.dialect);
        for (const item of accepted) {
          if (item.kind === 'change') {
            // A short window lets a burst (Outlook sends several items per edit) become one delta round per calendar,
            // which also keeps a busy mailbox inside Graph's request budget.
            await jobs.enqueue({
              type: GraphJobs.sync, payload: { recordId: item.calendarRecordId }, dedupeKey: dedupeKey.sync(item.calendarRecordId), runAt: now + deps.syncDelayMs,
            }, now);
          } else {
            await jobs.enqueue({
              type: GraphJobs.lifecycle,
              payload: { recordId: item.calendarRecordId, event: item.lifecycleEvent },
              dedupeKey: dedupeKey.lifecycle(item.calendarRecordId, item.lifecycleEvent!),
            });
          }
        }
      });
      deps.onQueued?.();
    }
    counters.accepted += accepted.length;
    counters.ignored += ignored;
    return reply.code(202).send();
  };

  const schema = { tags: ['Microsoft Graph webhooks'], hide: false };
  app.post('/graph/notifications', { schema: { ...schema, summary: 'Graph change notifications (and the validation handshake)' } }, handle('change'));
  app.post('/graph/lifecycle', { schema: { ...schema, summary: 'Graph lifecycle notifications (and the validation handshake)' } }, handle('lifecycle'));
}
