/**
 * Follows calendar records (as a record observer) so every record gets its Graph connection: a record created
 * through the REST API is managed with the app-only credentials when they cover the member's mailbox (the
 * coworker's e-mail); otherwise its state is credentials_missing. A deleted record's subscription is deleted by a job.
 */
import type { Clock } from '../clock.js';
import type { RecordObserver } from '../entities/record-service.js';
import type { CoworkerMsOfficeCalendar } from '../entities/coworker-ms-office-calendars/schema.js';
import type { CoworkerRepository } from '../entities/coworkers/repository.js';
import type { ConnectionRepository, GraphConnection } from './connection-repository.js';
import { GraphJobs } from './job-names.js';
import type { SubscriptionManager, UnsubscribePayload } from './subscription-manager.js';
import type { JobQueue } from '../jobs/job-queue.js';
import type { GraphClient } from './graph-client.js';

export class ConnectionService implements RecordObserver<CoworkerMsOfficeCalendar> {
  constructor(
    private readonly connections: ConnectionRepository,
    private readonly coworkers: CoworkerRepository,
    private readonly manager: SubscriptionManager,
    private readonly queue: JobQueue,
    private readonly clock: Clock,
    /** App-only credentials are configured (real Microsoft or the emulator). */
    private readonly appCredentials: boolean,
  ) {}

  async created(record: CoworkerMsOfficeCalendar): Promise<void> {
    await this.attachAppOnly(record);
  }

  async updated(before: CoworkerMsOfficeCalendar, after: CoworkerMsOfficeCalendar): Promise<void> {
    if (before.CalendarId === after.CalendarId && before.CoworkerId === after.CoworkerId) return;
    const conn = await this.connections.get(after.Id);
    if (conn?.auth_mode === 'delegated') {
      // The member's own sign-in decides the mailbox; a new calendar needs a new subscription.
      if (before.CalendarId !== after.CalendarId) await this.manager.enqueue(GraphJobs.subscribe, after.Id);
      return;
    }
    await this.attachAppOnly(after, conn);
  }

  async deleting(record: CoworkerMsOfficeCalendar): Promise<void> {
    const conn = await this.connections.get(record.Id);
    if (!conn?.client_state) return; // calbridge never made a subscription for it
    const payload: UnsubscribePayload = {
      subscriptionId: record.SubscriptionId,
      authMode: conn.auth_mode,
      mailbox: conn.mailbox,
      connectionKey: `record:${record.Id}`,
      tokenCacheSealed: conn.refresh_token_sealed,
    };
    await this.queue.enqueue({ type: GraphJobs.unsubscribe, payload });
  }

  /**
   * A member signed in with Microsoft (delegated, auth code flow): redeem the code into the record's sealed token
   * cache, switch the connection to the member's own mailbox (`me/...`), and subscribe with their token.
   */
  async connectDelegated(graph: GraphClient, recordId: number, code: string, redirectUri: string, codeVerifier?: string): Promise<string> {
    const existing = await this.connections.get(recordId);
    const paused = { ...this.blank(recordId), ...(existing ?? {}), auth_mode: 'delegated' as const, state: 'credentials_missing' as const, refresh_token_sealed: null, client_state: existing?.client_state ?? null, updated_at: this.nowIso() };
    await this.connections.upsert(paused);
    graph.forget(`record:${recordId}`);
    const mailbox = await graph.redeemCode(`record:${recordId}`, this.manager.tokenCache(recordId), code, redirectUri, codeVerifier);
    const appMade = existing?.auth_mode === 'app' && existing.client_state;
    if (appMade) {
      // Made with the app's credentials: the member's token can neither see nor delete it, and Graph refuses a second
      // subscription on the same calendar and URL (409). It goes now, with the app's credentials; should that fail,
      // the subscribe job's 409 shows on the record and it retries.
      await this.manager.deleteCurrent(existing).catch(() => {});
    }
    await this.connections.update(recordId, { mailbox, state: 'renewing', last_error: null, ...(appMade ? { client_state: null } : {}) });
    await this.manager.enqueue(GraphJobs.subscribe, recordId);
    return mailbox;
  }

  private async attachAppOnly(record: CoworkerMsOfficeCalendar, existing?: GraphConnection): Promise<void> {
    const coworker = record.CoworkerId ? await this.coworkers.findById(record.CoworkerId) : undefined;
    const mailbox = coworker?.Email ?? '';
    const reason = !this.appCredentials
      ? 'no Microsoft app credentials are configured'
      : !mailbox ? 'the record has no coworker, so no mailbox to subscribe to' : null;
    await this.connections.upsert({
      ...this.blank(record.Id),
      ...(existing ?? {}),
      auth_mode: 'app',
      mailbox,
      state: reason ? 'credentials_missing' : 'renewing',
      last_error: reason,
      updated_at: this.nowIso(),
    });
    if (!reason) await this.manager.enqueue(GraphJobs.subscribe, record.Id);
  }

  private blank(recordId: number): GraphConnection {
    return {
      calendar_record_id: recordId, auth_mode: 'app', mailbox: '', refresh_token_sealed: null, state: 'renewing',
      subscription_resource: null, client_state: null, delta_link: null, last_notification_at: null, last_renewed_at: null,
      next_renewal_at: null, last_reauthorized_at: null, last_synced_at: null, last_error: null, updated_at: this.nowIso(),
    };
  }

  private nowIso(): string {
    return new Date(this.clock.now()).toISOString();
  }
}
