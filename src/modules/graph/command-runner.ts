/** RENEW_SUBSCRIPTION, RESYNC and the status endpoint, as jobs on the queue and reads of the connection. */
import type { JobStore } from '../../jobs/job-store.js';
import type { CalendarCommandRunner, SyncHistoryEntry } from '../calendars/commands.js';
import type { ConnectionRepository } from './connection-repository.js';
import { GraphJobs, dedupeKey } from './job-names.js';

export class QueueCommandRunner implements CalendarCommandRunner {
  constructor(
    private readonly jobs: JobStore,
    private readonly connections: ConnectionRepository,
    private readonly poke: () => void = () => {},
  ) {}

  async renewNow(recordId: number): Promise<void> {
    const conn = await this.connections.get(recordId);
    // Without a live subscription, "renew" means making one.
    const type = conn?.client_state ? GraphJobs.renew : GraphJobs.subscribe;
    if (conn && (conn.state === 'failed' || conn.state === 'reauth_required') && type === GraphJobs.subscribe) {
      await this.connections.transition(recordId, 'renewRequested');
    }
    await this.jobs.enqueue({
      type,
      payload: { recordId, force: true },
      dedupeKey: type === GraphJobs.renew ? dedupeKey.renewNow(recordId) : dedupeKey.subscribe(recordId),
    });
    this.poke();
  }

  async resync(recordId: number): Promise<void> {
    await this.connections.update(recordId, { delta_link: null });
    await this.jobs.enqueue({ type: GraphJobs.sync, payload: { recordId, full: true }, dedupeKey: dedupeKey.sync(recordId) });
    this.poke();
  }

  async setDedicated(recordId: number, dedicated: boolean): Promise<void> {
    await this.connections.update(recordId, { dedicated: dedicated ? 1 : 0 });
    await this.resync(recordId);
  }

  async history(recordId: number, limit: number): Promise<SyncHistoryEntry[]> {
    const keys = [dedupeKey.subscribe(recordId), dedupeKey.renew(recordId), dedupeKey.renewNow(recordId), dedupeKey.reauthorize(recordId), dedupeKey.sync(recordId), dedupeKey.reconcile(recordId)];
    const jobs = await this.jobs.history(keys, [dedupeKey.lifecycle(recordId, '')], limit);
    const kind = (j: { type: string; dedupe_key: string | null }) => (j.dedupe_key === dedupeKey.reauthorize(recordId) ? 'reauthorize' : j.type.replace(/^graph\./, ''));
    return jobs.map((j) => ({ Kind: kind(j), State: j.state, Attempts: j.attempts, At: new Date(Number(j.updated_at)).toISOString(), Error: j.last_error }));
  }

  async status(recordId: number) {
    const c = await this.connections.get(recordId);
    if (!c) return undefined;
    return {
      State: c.state,
      AuthMode: c.auth_mode,
      Mailbox: c.mailbox || null,
      LastNotification: c.last_notification_at,
      LastRenewal: c.last_renewed_at,
      NextRenewal: c.next_renewal_at,
      LastSync: c.last_synced_at,
      LastError: c.last_error,
      ActionBy: c.action_by ?? null,
      DedicatedBookingCalendar: c.dedicated === 1,
      LastFullSync: c.last_full_sync_at,
    };
  }
}
