/**
 * Reads a calendar's changes with calendarView/delta: from the stored deltaLink, or a full round over the booking
 * horizon (−1 day … +180 days by default). A notification only marks the calendar dirty (a deduplicated job), so a
 * burst of notifications costs one delta round. A dead token (410 / syncStateNotFound) starts a full round.
 * What the changes mean for bookings is the next layer's business: they go to the EventSink.
 */
import type { Event } from '@microsoft/microsoft-graph-types';
import type { Clock } from '../../core/clock.js';
import type { JobQueue } from '../../jobs/job-queue.js';
import type { Job } from '../../jobs/job-store.js';
import type { CoworkerMsOfficeCalendarRepository } from '../calendars/repository.js';
import { mailboxPath, type ConnectionRepository, type GraphConnection } from './connection-repository.js';
import type { GraphClient } from './graph-client.js';
import { GraphError, GraphGoneError } from './graph-errors.js';
import { GraphJobs } from './job-names.js';
import { operatorMessage, prefixed, type SubscriptionManager } from './subscription-manager.js';

export type DeltaItem = Event & { '@removed'?: { reason: string } };

/** What a round read: its calendarView window, and when it began reading (the one clock). */
export interface RoundWindow {
  start: string;
  end: string;
  readAt: string;
}

/** Receives each round's changes (the bookings). `window` is unknown for a delta link older than its recording. */
export interface EventSink {
  apply(recordId: number, items: DeltaItem[], full: boolean, window?: RoundWindow): Promise<void>;
}

export interface CalendarSyncDeps {
  graph: GraphClient;
  manager: SubscriptionManager;
  calendars: CoworkerMsOfficeCalendarRepository;
  connections: ConnectionRepository;
  clock: Clock;
  sink: EventSink;
  horizonPastDays: number;
  horizonFutureDays: number;
}

interface DeltaPage {
  value?: DeltaItem[];
  '@odata.nextLink'?: string;
  '@odata.deltaLink'?: string;
}

const PREFER = 'odata.maxpagesize=100, IdType="ImmutableId", outlook.timezone="UTC"';
const MAX_PAGES = 10_000;

export class CalendarSync {
  constructor(private readonly d: CalendarSyncDeps) {}

  register(queue: JobQueue): void {
    queue.register(GraphJobs.sync, (job) => this.syncJob(job));
  }

  private async syncJob(job: Job): Promise<void> {
    const { recordId, full } = job.payload as { recordId: number; full?: boolean };
    const [conn, record] = await Promise.all([this.d.connections.get(recordId), this.d.calendars.findById(recordId)]);
    if (!conn || !record || !conn.client_state || conn.state === 'reauth_required' || conn.state === 'credentials_missing') return;
    try {
      await this.round(conn, record.CalendarId, Boolean(full) || !conn.delta_link);
    } catch (err) {
      if (err instanceof GraphGoneError) {
        // The delta token is dead: start over with a full round.
        await this.d.connections.update(recordId, { delta_link: null });
        await this.round(conn, record.CalendarId, true);
        return;
      }
      // Whose it is: a refused member token asks the member to sign in again; what only the operator can fix fails the
      // connection (ActionBy "operator") and is not retried; anything else is noted and retried.
      const by = err instanceof GraphError ? err.actionBy : null;
      const message = err instanceof Error ? err.message : String(err);
      if (by === 'member' && conn.auth_mode === 'delegated') {
        await this.d.connections.transitionIfAllowed(recordId, 'authRefused', { last_error: prefixed('member', message) });
      } else if (by !== null) {
        await this.d.connections.transitionIfAllowed(recordId, 'operatorRequired', { last_error: operatorMessage(err, message) });
        throw Object.assign(err as Error, { permanent: true });
      } else {
        await this.d.connections.update(recordId, { last_error: message });
      }
      throw err;
    }
  }

  private async round(conn: GraphConnection, calendarId: string, full: boolean): Promise<void> {
    const auth = this.d.manager.authFor(conn);
    const readAt = new Date(this.d.clock.now()).toISOString();
    const first = full || !conn.delta_link;
    const horizon = first ? this.horizon() : undefined;
    let url = horizon ? this.firstUrl(conn, calendarId, horizon) : conn.delta_link!;
    const bounds = horizon ?? (conn.window_start && conn.window_end ? { start: conn.window_start, end: conn.window_end } : undefined);
    const window = bounds ? { ...bounds, readAt } : undefined;
    const items: DeltaItem[] = [];
    for (let page = 0; page < MAX_PAGES; page++) {
      const answer = await this.d.graph.call<DeltaPage>(auth, 'GET', url, undefined, { Prefer: PREFER });
      items.push(...(answer.value ?? []));
      if (answer['@odata.nextLink']) {
        url = answer['@odata.nextLink'];
        continue;
      }
      await this.d.sink.apply(conn.calendar_record_id, items, first, window);
      const nowIso = new Date(this.d.clock.now()).toISOString();
      const fields = {
        delta_link: answer['@odata.deltaLink'] ?? null, last_synced_at: nowIso, last_error: null,
        ...(horizon ? { last_full_sync_at: nowIso, window_start: horizon.start, window_end: horizon.end } : {}),
      };
      if (conn.state === 'failed') await this.d.connections.transition(conn.calendar_record_id, 'syncRecovered', fields);
      else await this.d.connections.update(conn.calendar_record_id, fields);
      return;
    }
    throw new Error('calendarView/delta did not end after 10,000 pages');
  }

  /** A full round's window: the booking horizon around now. */
  private horizon(): { start: string; end: string } {
    const now = this.d.clock.now();
    return { start: new Date(now - this.d.horizonPastDays * 86_400_000).toISOString(), end: new Date(now + this.d.horizonFutureDays * 86_400_000).toISOString() };
  }

  private firstUrl(conn: GraphConnection, calendarId: string, window: { start: string; end: string }): string {
    return `${mailboxPath(conn)}/calendars/${encodeURIComponent(calendarId)}/calendarView/delta?startDateTime=${window.start}&endDateTime=${window.end}`;
  }
}

/** Counts each round's changes (tests and benchmarks watch them), then hands them on (to the bookings). */
export class CountingSink implements EventSink {
  readonly rounds: Array<{ recordId: number; items: number; removed: number; full: boolean }> = [];
  constructor(private readonly next?: EventSink) {}
  async apply(recordId: number, items: DeltaItem[], full: boolean, window?: RoundWindow): Promise<void> {
    await this.next?.apply(recordId, items, full, window);
    this.rounds.push({ recordId, items: items.length, removed: items.filter((i) => i['@removed']).length, full });
    if (this.rounds.length > 1000) this.rounds.shift();
  }
}
