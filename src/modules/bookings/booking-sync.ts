/**
 * Inbound: each delta round of a connected calendar becomes bookings, in one transaction. Bookings are keyed by
 * (connection, immutable event or occurrence id, resource), so duplicated, reordered and replayed rounds change
 * nothing twice. `@removed` and cancelled events cancel; a moved event moves its booking; a full round also cancels
 * the connection's bookings whose events are gone. An occurrence that collides with another booking of the resource
 * is not booked: it becomes a conflict, marked once in the member's Outlook (a job), and booked as soon as the
 * resource frees up (the rebook job). Events calbridge wrote for API bookings (found by event id or transactionId)
 * move or cancel those bookings instead of making new ones.
 */
import { newUniqueId } from '../../core/unique-id.js';
import type { Kysely } from 'kysely';
import type { Clock } from '../../core/clock.js';
import type { JobStore } from '../../jobs/job-store.js';
import type { Database } from '../../storage/schema.js';
import { afterCommit, inTransaction, type Executor } from '../../storage/unit-of-work.js';
import type { EventSink, RoundWindow } from '../graph/calendar-sync.js';
import type { ConnectionRepository } from '../graph/connection-repository.js';
import type { CoworkerMsOfficeCalendarRepository } from '../calendars/repository.js';
import type { ResourceRepository } from '../directory/resource-repository.js';
import type { BookingRepository, BookingSlot, ConflictRow } from './repository.js';
import { CANCELLATION } from './schema.js';
import { BookingJobs, bookingDedupe } from './jobs.js';
import { bookingSpan, wantedBookings, type CalendarItem, type WantedBooking } from './event-policy.js';

const SYNC_ACTOR = 'outlook-sync';
/** How far before a full round's window the API bookings' events are still checked at Graph. */
const VERIFY_PAST_MS = 30 * 86_400_000;

export interface BookingSyncDeps {
  db: Kysely<Database>;
  bookings: BookingRepository;
  connections: ConnectionRepository;
  calendars: CoworkerMsOfficeCalendarRepository;
  resources: ResourceRepository;
  jobs: JobStore;
  clock: Clock;
  poke?: () => void;
}

export class BookingSync implements EventSink {
  constructor(private readonly d: BookingSyncDeps) {}

  async apply(recordId: number, items: CalendarItem[], full: boolean, window?: RoundWindow): Promise<void> {
    await inTransaction(this.d.db, async (trx) => {
      // One round per calendar at a time (PostgreSQL): a second round waits here, then sees the first's bookings.
      await this.d.connections.lockForRound(recordId, trx);
      const [record, conn] = await Promise.all([this.d.calendars.findById(recordId, trx), this.d.connections.get(recordId, trx)]);
      if (!record || !conn) return;
      const ctx = { resourceId: record.ResourceId, dedicated: conn.dedicated === 1, resourcesByEmail: await this.d.resources.idsByCalendarEmail(trx) };
      const withEmail = new Set(ctx.resourcesByEmail.values());
      const round = new Round(this.d, trx, recordId, record.CoworkerId, this.nowIso(), window, withEmail);
      await round.load(items, full);
      // Later items win: a round may carry an event twice (replays, pages).
      const latest = new Map<string, CalendarItem>();
      for (const item of items) if (item.id) latest.set(item.id, item);
      // What is going away first: a moved series arrives as new occurrences plus the old ones @removed, and the new
      // ones must not collide with their own old bookings.
      const ordered = [...latest.values()].map((item) => ({ item, wanted: wantedBookings(item, ctx) }))
        .sort((a, b) => Number(a.wanted.length > 0) - Number(b.wanted.length > 0));
      for (const { item, wanted } of ordered) await round.event(item, wanted);
      if (full) await round.reconcile(new Set(latest.keys()));
      await round.finish(full);
    });
  }

  /** A resource freed up: book the conflicts waiting for it, oldest first, while they fit. */
  async rebook(resourceId: number): Promise<void> {
    await inTransaction(this.d.db, async (trx) => {
      const now = this.nowIso();
      for (const waiting of await this.d.bookings.waitingFor(resourceId, trx)) {
        // Like a round, hold the calendar's round lock (PostgreSQL), then read the conflict again: a round of that
        // calendar may have booked or dropped it meanwhile.
        await this.d.connections.lockForRound(waiting.coworker_ms_office_calendar_id, trx);
        const c = await this.d.bookings.conflictById(waiting.id, trx);
        if (!c) continue;
        const other = await this.d.bookings.overlapping(resourceId, c.from_time, c.to_time, null, trx);
        if (other) {
          const sameMeeting = sameMeetingAs({ iCalUId: c.ical_uid, fromIso: c.from_time, toIso: c.to_time }, other) ? 1 : 0;
          if (other.id !== c.blocking_booking_id || sameMeeting !== c.same_meeting) {
            await followMark(this.d, trx, await this.d.bookings.saveConflict({ ...c, blocking_booking_id: other.id, same_meeting: sameMeeting }, trx));
          }
          continue;
        }
        await insertOutlookBooking(this.d.bookings, trx, c.coworker_ms_office_calendar_id, c.coworker_id, c.event_key, c, now);
        const { marked } = await this.d.bookings.deleteConflict(c.id, trx);
        if (marked) await queue(this.d, trx, BookingJobs.unmark, { connectionId: c.coworker_ms_office_calendar_id, eventKey: c.event_key }, bookingDedupe.unmark(c.coworker_ms_office_calendar_id, c.event_key));
      }
    });
  }

  /** Graph says an API booking's event is gone (a verify job): the booking is cancelled, unless it changed meanwhile. */
  async eventGone(bookingId: number, eventId: string): Promise<void> {
    await inTransaction(this.d.db, async (trx) => {
      const b = await this.d.bookings.slot(bookingId, trx);
      if (!b || b.cancelled_on || b.office365_event_id !== eventId || b.event_written_at === null) return;
      if (await this.d.bookings.cancel(b.id, CANCELLATION.integration, this.nowIso(), SYNC_ACTOR, trx)) {
        await queue(this.d, trx, BookingJobs.rebook, { resourceId: b.resource_id }, bookingDedupe.rebook(b.resource_id));
      }
    });
  }


  private nowIso(): string {
    return new Date(this.d.clock.now()).toISOString();
  }
}

async function queue(d: BookingSyncDeps, trx: Executor, type: string, payload: unknown, dedupeKey: string): Promise<void> {
  await d.jobs.enqueue({ type, payload, dedupeKey }, trx);
  if (d.poke) await afterCommit(trx, d.poke);
}

async function insertOutlookBooking(bookings: BookingRepository, trx: Executor, connectionId: number, coworkerId: number | null, eventKey: string,
  w: { resource_id?: number; resourceId?: number; from_time?: string; fromIso?: string; to_time?: string; toIso?: string; tentative: number | boolean; subject: string | null; iCalUId?: string | null; ical_uid?: string | null }, now: string): Promise<number> {
  return bookings.insert({
    unique_id: newUniqueId(Date.parse(now)), created_on: now, updated_on: now, updated_by: SYNC_ACTOR, is_new: 1, system_id: null,
    // Made from the event: the event is already as the booking says (no Outlook write is due).
    event_written_at: now,
    resource_id: w.resourceId ?? w.resource_id, coworker_id: coworkerId, from_time: w.fromIso ?? w.from_time, to_time: w.toIso ?? w.to_time,
    notes: w.subject, tentative: w.tentative ? 1 : 0, office365_event_id: eventKey, coworker_ms_office_calendar_id: connectionId,
    source: 'outlook', event_key: eventKey, cancelled_on: null, cancellation_reason: null, ical_uid: w.iCalUId ?? w.ical_uid ?? null,
  }, trx);
}

/**
 * A saved conflict's mark in Outlook follows what it is now: a real collision is marked (once); a copy waiting behind
 * its own meeting's booking is not, and loses a mark it got while it was a real collision.
 */
async function followMark(d: BookingSyncDeps, trx: Executor, c: ConflictRow): Promise<void> {
  if (!c.same_meeting && !c.marked) await queue(d, trx, BookingJobs.mark, { conflictId: c.id }, bookingDedupe.mark(c.id));
  if (c.same_meeting && c.marked) {
    await d.bookings.setConflictMarked(c.id, false, trx);
    await queue(d, trx, BookingJobs.unmark, { connectionId: c.coworker_ms_office_calendar_id, eventKey: c.event_key }, bookingDedupe.unmark(c.coworker_ms_office_calendar_id, c.event_key));
  }
}

/** Whether a booking is another member's copy of the same meeting (one iCalUId, the same times). */
function sameMeetingAs(w: { iCalUId: string | null; fromIso: string; toIso: string }, booking: Pick<BookingSlot, 'ical_uid' | 'from_time' | 'to_time'>): boolean {
  return Boolean(w.iCalUId) && booking.ical_uid === w.iCalUId && booking.from_time === w.fromIso && booking.to_time === w.toIso;
}

/** One delta round's work inside its transaction. */
class Round {
  private own = new Map<string, BookingSlot>();           // this connection's Outlook bookings by key
  private echoes = new Map<string, BookingSlot>();        // API bookings written to these events, by event id
  private echoesByTransaction = new Map<string, BookingSlot>(); // the same, by the transactionId (UniqueId) they carry
  private conflicts = new Map<string, ConflictRow>();
  private freed = new Set<number>();                      // resources to re-check for waiting conflicts after commit

  constructor(
    private readonly d: BookingSyncDeps,
    private readonly trx: Executor,
    private readonly connectionId: number,
    private readonly coworkerId: number | null,
    private readonly now: string,
    private readonly window: RoundWindow | undefined,
    /** Resources with a CalendarEmail (the ones an event can invite). */
    private readonly invitable: ReadonlySet<number>,
  ) {}

  /** Whether a booking lies (partly) inside the round's calendarView window. */
  private inWindow(b: BookingSlot): boolean {
    return !this.window || (b.from_time < this.window.end && b.to_time > this.window.start);
  }

  private key(eventKey: string, resourceId: number): string {
    return `${eventKey}\u0000${resourceId}`;
  }

  async load(items: CalendarItem[], full: boolean): Promise<void> {
    const { bookings } = this.d;
    const ids = [...new Set(items.map((i) => i.id).filter((x): x is string => Boolean(x)))];
    // Orphans come from a disconnect; a connection's first round is full, so delta rounds need not look for them.
    if (full) await bookings.adoptOrphans(this.connectionId, this.coworkerId, ids, this.trx);
    for (const b of await bookings.activeOfConnection(this.connectionId, this.trx)) if (b.event_key) this.own.set(this.key(b.event_key, b.resource_id), b);
    // An API booking is this calendar's echo only if calbridge wrote its event here, or (an event id the client gave)
    // it is this member's: event ids of other members' calendars cannot reach into them.
    const mine = (b: BookingSlot) => b.source === 'api'
      && (b.event_connection_id === this.connectionId || (b.event_connection_id === null && b.coworker_id !== null && b.coworker_id === this.coworkerId));
    for (const b of await bookings.activeByEvent(ids, this.trx)) if (mine(b)) this.echoes.set(b.office365_event_id!, b);
    const byTransaction = await bookings.activeApiByUniqueId(items.map((i) => i.transactionId).filter((x): x is string => Boolean(x)), this.trx);
    this.echoesByTransaction = new Map([...byTransaction].filter(([, b]) => b.event_connection_id === this.connectionId || b.coworker_id === this.coworkerId));
    for (const c of await bookings.conflictsOfConnection(this.connectionId, this.trx, true)) this.conflicts.set(this.key(c.event_key, c.resource_id), c);
  }

  /** Brings the bookings and conflicts of one event (or occurrence) in line with what it wants. */
  async event(item: CalendarItem, wanted: WantedBooking[]): Promise<void> {
    const eventKey = item.id!;
    const echo = this.echoes.get(eventKey) ?? (item.transactionId ? this.echoesByTransaction.get(item.transactionId) : undefined);
    let rest = wanted;
    if (echo) {
      // An event calbridge wrote for an API booking: the member may move or delete it, never duplicate it.
      let w = wanted.find((x) => x.resourceId === echo.resource_id);
      // A resource without a CalendarEmail cannot be invited: the event is all that links it, by its times.
      const span = !w && !this.invitable.has(echo.resource_id) ? bookingSpan(item) : undefined;
      if (span) w = { resourceId: echo.resource_id, byDedication: false, ...span };
      // The API changed the booking and its push has not written the event yet: the event is older than the booking,
      // and the push brings it in line (a member's deletion meanwhile shows as a 404 there, then in a full round).
      if (echo.event_written_at === null) { /* the booking stands */ }
      // Removed from a window the booking is not in: Graph reports an event that leaves the window (the API moved
      // the booking out) as @removed, as it does a deletion. A job asks Graph which it was.
      else if (!w && item['@removed'] && !this.inWindow(echo)) await this.verify(echo);
      else if (!w) await this.cancel(echo, CANCELLATION.integration);
      else if (w.fromIso !== echo.from_time || w.toIso !== echo.to_time) await this.move(echo, w, eventKey);
      if (!echo.office365_event_id) await this.d.bookings.setEventId(echo.id, eventKey, this.connectionId, this.trx);
      // calbridge's own event books nothing more by being in a dedicated calendar (it is the API booking's echo).
      rest = wanted.filter((x) => x.resourceId !== echo.resource_id && !x.byDedication);
    }
    const wantedResources = new Set(rest.map((w) => w.resourceId));
    for (const w of rest) {
      const k = this.key(eventKey, w.resourceId);
      const existing = this.own.get(k);
      if (existing) {
        if (existing.from_time !== w.fromIso || existing.to_time !== w.toIso || existing.tentative !== (w.tentative ? 1 : 0)) await this.move(existing, w, eventKey);
        else if ((existing.notes ?? null) !== w.subject) await this.d.bookings.setNotes(existing.id, w.subject, this.now, this.trx);
        continue;
      }
      const other = await this.d.bookings.overlapping(w.resourceId, w.fromIso, w.toIso, null, this.trx);
      if (other) await this.conflict(eventKey, w, other);
      else await this.book(eventKey, w);
    }
    // Resources this event no longer wants: their bookings and conflicts go.
    for (const [k, b] of this.own) if (b.event_key === eventKey && !wantedResources.has(b.resource_id)) { await this.cancel(b, CANCELLATION.integration); this.own.delete(k); }
    for (const [k, c] of this.conflicts) if (c.event_key === eventKey && !wantedResources.has(c.resource_id)) { await this.dropConflict(c); this.conflicts.delete(k); }
  }

  /**
   * A full round saw every event of the window: the connection's bookings and conflicts of other events go, and so do
   * the API bookings in the window whose events calbridge wrote into this calendar before the round began reading
   * (the member deleted them, or moved them out of the window, and no delta round told). A booking whose push is due
   * or ran during the read is left to the next full round.
   */
  async reconcile(seen: Set<string>): Promise<void> {
    // Only inside the window: a booking whose occurrence has passed out of it (the day before yesterday's meeting)
    // was not seen because the round did not look there, and stays as it was.
    for (const [k, b] of this.own) if (!seen.has(b.event_key!) && this.inWindow(b)) { await this.cancel(b, CANCELLATION.integration); this.own.delete(k); }
    for (const [k, c] of this.conflicts) if (!seen.has(c.event_key)) { await this.dropConflict(c); this.conflicts.delete(k); }
    if (!this.window) return;
    const recent = new Date(Date.parse(this.window.start) - VERIFY_PAST_MS).toISOString();
    for (const b of await this.d.bookings.writtenInto(this.connectionId, this.trx)) {
      const settled = b.event_written_at !== null && b.event_written_at < this.window.readAt;
      if (!settled || seen.has(b.office365_event_id!)) continue;
      if (this.inWindow(b)) await this.cancel(b, CANCELLATION.integration);
      // Outside the window the round could not see it: Graph is asked (future ones, and the last month's).
      else if (b.to_time > recent) await this.verify(b);
    }
  }

  private async verify(b: BookingSlot): Promise<void> {
    await queue(this.d, this.trx, BookingJobs.verify, { bookingId: b.id, eventId: b.office365_event_id }, bookingDedupe.verify(b.id));
  }

  async finish(full: boolean): Promise<void> {
    // A full round follows a (re)connection and runs daily: Outlook writes the push job could not make then (no
    // connection yet, or one waiting for the member to sign in again) are queued again now that it can.
    if (full) {
      for (const bookingId of await this.d.bookings.pushDue(this.connectionId, this.coworkerId, this.trx)) {
        await queue(this.d, this.trx, BookingJobs.push, { bookingId }, bookingDedupe.push(bookingId));
      }
    }
    // Whether anyone waits is decided by the job, after this commit: on PostgreSQL a conflict another round is making
    // meanwhile is not visible here. That round queues its own (see conflict()), so the later commit's job sees both.
    for (const resourceId of this.freed) await queue(this.d, this.trx, BookingJobs.rebook, { resourceId }, bookingDedupe.rebook(resourceId));
  }

  private async book(eventKey: string, w: WantedBooking): Promise<void> {
    const id = await insertOutlookBooking(this.d.bookings, this.trx, this.connectionId, this.coworkerId, eventKey, w, this.now);
    const k = this.key(eventKey, w.resourceId);
    this.own.set(k, {
      id, resource_id: w.resourceId, coworker_id: this.coworkerId, from_time: w.fromIso, to_time: w.toIso, tentative: w.tentative ? 1 : 0,
      office365_event_id: eventKey, coworker_ms_office_calendar_id: this.connectionId, event_key: eventKey, source: 'outlook', notes: w.subject, event_connection_id: null, event_written_at: this.now, ical_uid: w.iCalUId,
    });
    const waiting = this.conflicts.get(k);
    if (waiting) { await this.dropConflict(waiting); this.conflicts.delete(k); }
  }

  private async move(b: BookingSlot, w: WantedBooking, eventKey: string): Promise<void> {
    const other = await this.d.bookings.overlapping(b.resource_id, w.fromIso, w.toIso, b.id, this.trx);
    if (other) {
      // Moved onto a taken slot: it is no longer booked, and waits as a conflict.
      await this.cancel(b, CANCELLATION.conflict);
      this.own.delete(this.key(b.event_key ?? eventKey, b.resource_id));
      await this.conflict(eventKey, w, other);
      return;
    }
    await this.d.bookings.move(b.id, { from_time: w.fromIso, to_time: w.toIso, tentative: w.tentative ? 1 : 0, ...(b.source === 'outlook' ? { notes: w.subject } : {}) }, this.now, SYNC_ACTOR, this.trx);
    Object.assign(b, { from_time: w.fromIso, to_time: w.toIso, tentative: w.tentative ? 1 : 0 });
    this.freed.add(b.resource_id);
  }

  private async cancel(b: BookingSlot, reason: string): Promise<void> {
    if (await this.d.bookings.cancel(b.id, reason, this.now, SYNC_ACTOR, this.trx)) this.freed.add(b.resource_id);
  }

  private async conflict(eventKey: string, w: WantedBooking, blocking: Pick<BookingSlot, 'id' | 'ical_uid' | 'from_time' | 'to_time'>): Promise<void> {
    // Another member's copy of this meeting holds the resource: booked already, so nothing to mark or list; it waits
    // there to take the booking over should that copy go.
    const sameMeeting = sameMeetingAs(w, blocking);
    const saved = await this.d.bookings.saveConflict({
      coworker_ms_office_calendar_id: this.connectionId, event_key: eventKey, resource_id: w.resourceId, coworker_id: this.coworkerId,
      from_time: w.fromIso, to_time: w.toIso, tentative: w.tentative ? 1 : 0, subject: w.subject, blocking_booking_id: blocking.id, detected_on: this.now,
      ical_uid: w.iCalUId, same_meeting: sameMeeting ? 1 : 0,
    }, this.trx);
    this.conflicts.set(this.key(eventKey, w.resourceId), saved);
    // The blocking booking may be going away in a transaction this one cannot see yet: the rebook job checks again.
    this.freed.add(w.resourceId);
    await followMark(this.d, this.trx, saved);
  }

  private async dropConflict(c: ConflictRow): Promise<void> {
    const { marked } = await this.d.bookings.deleteConflict(c.id, this.trx);
    if (marked) await queue(this.d, this.trx, BookingJobs.unmark, { connectionId: c.coworker_ms_office_calendar_id, eventKey: c.event_key }, bookingDedupe.unmark(c.coworker_ms_office_calendar_id, c.event_key));
  }
}
