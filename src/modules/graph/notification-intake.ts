/**
 * What Graph's webhooks deliver, checked and kept: every item's clientState is compared in constant time with its
 * subscription's (a bad or unknown item is ignored and counted; the rest of the batch still counts), and the good
 * items are persisted with their jobs in one transaction before the webhook answers 202. Nothing here calls Graph.
 */
import { matchesDigest } from '../../core/secret-box.js';
import type { Kysely } from 'kysely';
import type { Clock } from '../../core/clock.js';
import type { JobStore } from '../../jobs/job-store.js';
import type { Database } from '../../storage/schema.js';
import { afterCommit, inTransaction } from '../../storage/unit-of-work.js';
import type { ConnectionRepository, NotificationItem } from './connection-repository.js';
import { GraphJobs, dedupeKey } from './job-names.js';

const LIFECYCLE_EVENTS = new Set(['reauthorizationRequired', 'subscriptionRemoved', 'missed']);
const CHANGE_TYPES = new Set(['created', 'updated', 'deleted']);
export const MAX_ITEMS = 1000;

export interface IntakeDeps {
  db: Kysely<Database>;
  connections: ConnectionRepository;
  jobs: JobStore;
  clock: Clock;
  /** How long a notification-triggered sync waits for more notifications of the same calendar. */
  syncDelayMs: number;
  /** Wakes this process's queue after the commit. */
  poke?: () => void;
}


export class NotificationIntake {
  readonly counters = { accepted: 0, ignored: 0 };

  constructor(private readonly d: IntakeDeps) {}

  /**
   * Checks and stores a batch's items; answers how many were accepted and ignored. Each webhook URL takes its own
   * kind: change items (created/updated/deleted) on the notification URL, lifecycle items on the lifecycle URL.
   */
  async accept(items: unknown[], kind: 'change' | 'lifecycle'): Promise<{ accepted: number; ignored: number }> {
    const accepted: NotificationItem[] = [];
    let ignored = Math.max(0, items.length - MAX_ITEMS);
    for (const raw of items.slice(0, MAX_ITEMS)) {
      // A null, a number or an array is one bad item, not a reason to reject the batch.
      const item = (raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>;
      // A NUL can't be in any subscription id (and PostgreSQL refuses it in a query): an unknown subscription.
      const subscriptionId = typeof item.subscriptionId === 'string' && !item.subscriptionId.includes('\u0000') ? item.subscriptionId : '';
      const clientState = typeof item.clientState === 'string' ? item.clientState : '';
      const lifecycleEvent = typeof item.lifecycleEvent === 'string' ? item.lifecycleEvent : null;
      const owner = subscriptionId ? await this.d.connections.ownerOfSubscription(subscriptionId) : undefined;
      const changeType = typeof item.changeType === 'string' ? item.changeType : null;
      const rightKind = kind === 'lifecycle'
        ? lifecycleEvent !== null && LIFECYCLE_EVENTS.has(lifecycleEvent)
        : lifecycleEvent === null && changeType !== null && CHANGE_TYPES.has(changeType);
      const valid = rightKind && owner && owner.client_state && matchesDigest(clientState, owner.client_state);
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
    if (accepted.length) await this.store(accepted);
    this.counters.accepted += accepted.length;
    this.counters.ignored += ignored;
    return { accepted: accepted.length, ignored };
  }

  private async store(accepted: NotificationItem[]): Promise<void> {
    const now = this.d.clock.now();
    await inTransaction(this.d.db, async (trx) => {
      await this.d.connections.recordNotifications(trx, accepted, new Date(now).toISOString());
      for (const item of accepted) {
        if (item.kind === 'change') {
          // A short window lets a burst (Outlook sends several items per edit) become one delta round per calendar,
          // which also keeps a busy mailbox inside Graph's request budget.
          await this.d.jobs.enqueue({
            type: GraphJobs.sync, payload: { recordId: item.calendarRecordId }, dedupeKey: dedupeKey.sync(item.calendarRecordId), runAt: now + this.d.syncDelayMs,
          }, trx);
        } else {
          await this.d.jobs.enqueue({
            type: GraphJobs.lifecycle,
            payload: { recordId: item.calendarRecordId, event: item.lifecycleEvent },
            dedupeKey: dedupeKey.lifecycle(item.calendarRecordId, item.lifecycleEvent!),
          }, trx);
        }
      }
      if (this.d.poke) await afterCommit(trx, this.d.poke);
    });
  }
}
