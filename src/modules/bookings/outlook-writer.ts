/**
 * Outbound: the jobs that write to members' Outlook calendars.
 * - push: a booking made, moved or cancelled through the API becomes, moves or deletes an event in the member's
 *   calendar (created with the booking's UniqueId as transactionId, so a retried create never duplicates; inviting the
 *   resource's CalendarEmail and naming the resource as the location; tagged with a single-value extended property
 *   naming the booking). An Outlook-made booking moved through the API moves its event; cancelled through the API, the
 *   resource is taken off the member's event (the meeting itself stays theirs).
 * - mark / unmark: a conflicting event gets the category "calbridge: not booked" and one line at the top of its body;
 *   both go once it is booked (or the conflict goes).
 */
import type { Event } from '@microsoft/microsoft-graph-types';
import type { Clock } from '../../core/clock.js';
import type { JobQueue } from '../../jobs/job-queue.js';
import type { Job } from '../../jobs/job-store.js';
import { graphDateTime, zonedToInstant } from '../../core/time-zones.js';
import { mailboxPath, type ConnectionRepository, type GraphConnection } from '../graph/connection-repository.js';
import type { GraphClient, GraphAuth } from '../graph/graph-client.js';
import { GraphNotFoundError } from '../graph/graph-errors.js';
import type { ResourceRepository } from '../directory/resource-repository.js';
import type { BookingRepository, BookingSlot } from './repository.js';
import { BOOKING_PROPERTY_ID, BookingJobs, CONFLICT_CATEGORY } from './jobs.js';
import type { BookingSync } from './booking-sync.js';

export interface OutlookWriterDeps {
  graph: GraphClient;
  authFor(conn: GraphConnection): GraphAuth;
  connections: ConnectionRepository;
  bookings: BookingRepository;
  resources: ResourceRepository;
  sync: BookingSync;
  clock: Clock;
  /** The zone the events are written in (SPACE_TIME_ZONE; IANA or Windows name). */
  timeZone?: string;
}

const MARK_PREFIX = 'calbridge:';

export class OutlookWriter {
  constructor(private readonly d: OutlookWriterDeps) {}

  register(queue: JobQueue): void {
    queue.register(BookingJobs.push, (job) => this.push(job));
    queue.register(BookingJobs.mark, (job) => this.mark(job));
    queue.register(BookingJobs.unmark, (job) => this.unmark(job));
    queue.register(BookingJobs.rebook, (job) => this.d.sync.rebook((job.payload as { resourceId: number }).resourceId));
    queue.register(BookingJobs.verify, (job) => this.verify(job));
  }

  /** The member's connection a booking is written through: its own (Outlook bookings), else the coworker's live one. */
  private async connectionFor(b: { coworker_ms_office_calendar_id: number | null; coworker_id: number | null }): Promise<GraphConnection | undefined> {
    if (b.coworker_ms_office_calendar_id) return this.d.connections.get(b.coworker_ms_office_calendar_id);
    if (b.coworker_id === null) return undefined;
    return this.d.connections.liveOfCoworker(b.coworker_id);
  }

  private eventsPath(conn: GraphConnection, calendarId: string | null): string {
    return calendarId ? `${mailboxPath(conn)}/calendars/${encodeURIComponent(calendarId)}/events` : `${mailboxPath(conn)}/events`;
  }

  private eventPath(conn: GraphConnection, eventId: string): string {
    return `${mailboxPath(conn)}/events/${encodeURIComponent(eventId)}`;
  }

  private async push(job: Job): Promise<void> {
    const { bookingId } = job.payload as { bookingId: number };
    const b = await this.d.bookings.slot(bookingId);
    if (!b) return;
    const conn = await this.connectionFor(b);
    // No connection that can write (none yet, or waiting for the member to sign in again): the write stays due, and
    // the calendar's next full round (after the member connects or signs in again) queues it again.
    if (!canWrite(conn)) return;
    const auth = this.d.authFor(conn);
    const resource = await this.d.resources.findById(b.resource_id);
    if (b.cancelled_on) {
      if (!b.office365_event_id) return;
      if (b.source === 'api') {
        const home = b.event_connection_id === null ? conn : await this.d.connections.get(b.event_connection_id);
        if (canWrite(home)) await this.ignoreGone(this.d.graph.call(this.d.authFor(home), 'DELETE', this.eventPath(home, b.office365_event_id)));
        return this.d.bookings.markCancelWritten(b.id, this.nowIso());
      }
      // The member's own meeting stays: only the resource leaves it. In a dedicated booking calendar the event invites
      // no resource (every busy event books the calendar's one): there the event is the booking, and it goes. An
      // ordinary meeting that no longer invites the resource (the member took it off meanwhile) is left alone.
      const event = await this.getEvent(auth, conn, b.office365_event_id);
      if (event) {
        const email = resource?.CalendarEmail?.toLowerCase();
        const isRoom = (address?: string | null) => Boolean(email) && address?.toLowerCase() === email;
        const invites = (event.attendees ?? []).some((a) => isRoom(a.emailAddress?.address)) || isRoom(event.location?.locationEmailAddress);
        if (!invites && conn.dedicated === 1) await this.ignoreGone(this.d.graph.call(auth, 'DELETE', this.eventPath(conn, b.office365_event_id)));
        else if (invites) {
          await this.d.graph.call(auth, 'PATCH', this.eventPath(conn, b.office365_event_id), {
            attendees: (event.attendees ?? []).filter((a) => !isRoom(a.emailAddress?.address)),
            // A location that is the room would book it again.
            ...(isRoom(event.location?.locationEmailAddress) ? { location: { displayName: '' } } : {}),
          });
        }
      }
      return this.d.bookings.markCancelWritten(b.id, this.nowIso());
    }
    const times = eventTimes(b.from_time, b.to_time, this.d.timeZone);
    let eventId = b.office365_event_id;
    if (eventId && b.source === 'api' && b.event_connection_id !== null && b.event_connection_id !== conn.calendar_record_id) {
      // Given to another coworker (or their calendar changed): the event leaves the old calendar for the new one.
      const old = await this.d.connections.get(b.event_connection_id);
      if (canWrite(old)) await this.ignoreGone(this.d.graph.call(this.d.authFor(old), 'DELETE', this.eventPath(old, eventId)));
      eventId = null;
    }
    if (eventId && (await this.moveEvent(auth, conn, b, eventId, resource, times))) return;
    const uniqueId = (await this.d.bookings.findById(b.id))?.UniqueId;
    const calendarId = (await this.d.connections.calendarIdOf(conn.calendar_record_id)) ?? null;
    const event: Event = {
      ...times,
      ...this.bookingEventParts(resource),
      showAs: b.tentative ? 'tentative' : 'busy',
      transactionId: uniqueId,
      singleValueExtendedProperties: [{ id: BOOKING_PROPERTY_ID, value: String(b.id) }],
    };
    const created = await this.d.graph.call<Event>(auth, 'POST', this.eventsPath(conn, calendarId), event);
    await this.d.bookings.setEventId(b.id, created.id ?? null, conn.calendar_record_id);
    await this.d.bookings.markEventWritten(b.id, b.from_time, b.to_time, this.nowIso());
    // Cancelled while the event was being created (that cancel's job found no event to delete): delete it now.
    if ((await this.d.bookings.slot(b.id))?.cancelled_on && created.id) await this.ignoreGone(this.d.graph.call(auth, 'DELETE', this.eventPath(conn, created.id)));
  }

  /**
   * Writes a booking's times (and, for an API booking, its resource) to its existing event. False when there is no such
   * event to write and calbridge should create one: an id the client gave that is no event of this calendar. An event
   * calbridge wrote that the member deleted counts as written: the next full round sees it missing and cancels.
   */
  private async moveEvent(auth: GraphAuth, conn: GraphConnection, b: BookingSlot, eventId: string, resource: Resource | undefined, times: Pick<Event, 'start' | 'end' | 'isAllDay'>): Promise<boolean> {
    const written = async () => {
      if (b.event_connection_id === null) await this.d.bookings.setEventId(b.id, eventId, conn.calendar_record_id);
      await this.d.bookings.markEventWritten(b.id, b.from_time, b.to_time, this.nowIso());
      return true;
    };
    const ours = b.source !== 'api' || b.event_connection_id !== null;
    try {
      // An API booking's event also names its resource, which an update may have changed: then the old resource leaves
      // the event for the new one (the member's other attendees stay).
      const current = b.source === 'api' ? await this.getEvent(auth, conn, eventId) : undefined;
      if (b.source === 'api' && !current) return ours ? written() : false;
      const body = current && !namesResource(current, resource) ? { ...times, ...this.bookingEventParts(resource, current) } : times;
      await this.d.graph.call(auth, 'PATCH', this.eventPath(conn, eventId), body);
      return written();
    } catch (err) {
      if (!(err instanceof GraphNotFoundError)) throw err;
      return ours ? written() : false;
    }
  }

  /**
   * What names an API booking's resource in its event: the subject, the resource invited and as the location. Given
   * the event as it is, its other attendees stay and only resource attendees (the old resource) are replaced.
   */
  private bookingEventParts(resource: Resource | undefined, current?: Event): Pick<Event, 'subject' | 'attendees' | 'location'> {
    const others = (current?.attendees ?? []).filter((a) => a.type !== 'resource');
    if (!resource) return { subject: 'Booking', ...(current ? { attendees: others, location: { displayName: '' } } : {}) };
    return {
      subject: `Booking: ${resource.Name}`,
      ...(resource.CalendarEmail
        ? { attendees: [...others, { type: 'resource', emailAddress: { address: resource.CalendarEmail, name: resource.Name } }], location: { displayName: resource.Name, locationEmailAddress: resource.CalendarEmail } }
        : { attendees: others, location: { displayName: resource.Name } }),
    };
  }

  /** Whether an API booking's event (outside a round's window) is still where calbridge wrote it; if not, the booking is cancelled. */
  private async verify(job: Job): Promise<void> {
    const { bookingId, eventId } = job.payload as { bookingId: number; eventId: string };
    const b = await this.d.bookings.slot(bookingId);
    if (!b || b.cancelled_on || b.office365_event_id !== eventId || b.event_connection_id === null) return;
    const conn = await this.d.connections.get(b.event_connection_id);
    if (!canWrite(conn)) return;
    const event = await this.getEvent(this.d.authFor(conn), conn, eventId);
    // Gone, or moved by the member (its push is not due, so calbridge did not move it): out of the horizon, as good as
    // deleted, like an event a round reports @removed.
    const at = (t: Event['start']) => (t?.dateTime ? zonedToInstant(t.dateTime, t.timeZone) : NaN);
    const moved = event && (at(event.start) !== Date.parse(b.from_time) || at(event.end) !== Date.parse(b.to_time));
    if (!event || moved) await this.d.sync.eventGone(bookingId, eventId);
  }

  private async mark(job: Job): Promise<void> {
    const { conflictId } = job.payload as { conflictId: number };
    const c = await this.d.bookings.conflictById(conflictId);
    if (!c || c.marked || c.same_meeting) return;
    const conn = await this.d.connections.get(c.coworker_ms_office_calendar_id);
    if (!canWrite(conn)) return;
    const auth = this.d.authFor(conn);
    const event = await this.getEvent(auth, conn, c.event_key);
    if (!event) return;
    const resource = await this.d.resources.findById(c.resource_id);
    const blocking = c.blocking_booking_id ? await this.d.bookings.slot(c.blocking_booking_id) : undefined;
    const taken = blocking ? ` from ${blocking.from_time} to ${blocking.to_time}` : '';
    const line = `${MARK_PREFIX} not booked: ${resource?.Name ?? `resource ${c.resource_id}`} is already booked${taken}.`;
    const categories = [...new Set([...(event.categories ?? []).filter((x) => !x.startsWith(MARK_PREFIX)), CONFLICT_CATEGORY])];
    await this.d.graph.call(auth, 'PATCH', this.eventPath(conn, c.event_key), { categories, body: withMark(event.body, line) });
    await this.d.bookings.setConflictMarked(c.id, true);
    // Booked, dropped or found to be its meeting's copy while the mark was being written: the mark goes again.
    const now = await this.d.bookings.conflictById(c.id);
    if (now?.same_meeting) await this.d.bookings.setConflictMarked(c.id, false); // so a real collision later marks it again
    if (!now || now.same_meeting) await this.unmarkEvent(conn, c.coworker_ms_office_calendar_id, c.event_key);
  }

  private async unmark(job: Job): Promise<void> {
    const { connectionId, eventKey } = job.payload as { connectionId: number; eventKey: string };
    const conn = await this.d.connections.get(connectionId);
    if (canWrite(conn)) await this.unmarkEvent(conn, connectionId, eventKey);
  }

  private async unmarkEvent(conn: GraphConnection, connectionId: number, eventKey: string): Promise<void> {
    // Still a conflict for another resource of the same event: the mark stays.
    if ((await this.d.bookings.conflictsOfEvent(connectionId, eventKey)).length) return;
    const auth = this.d.authFor(conn);
    const event = await this.getEvent(auth, conn, eventKey);
    if (!event) return;
    const categories = (event.categories ?? []).filter((x) => !x.startsWith(MARK_PREFIX));
    const body = withoutMark(event.body);
    if (categories.length === (event.categories ?? []).length && body === undefined) return;
    await this.ignoreGone(this.d.graph.call(auth, 'PATCH', this.eventPath(conn, eventKey), { categories, ...(body ? { body } : {}) }));
  }

  private async getEvent(auth: GraphAuth, conn: GraphConnection, eventId: string): Promise<Event | undefined> {
    try {
      return await this.d.graph.call<Event>(auth, 'GET', this.eventPath(conn, eventId), undefined, { Prefer: 'outlook.timezone="UTC"' });
    } catch (err) {
      if (err instanceof GraphNotFoundError) return undefined;
      throw err;
    }
  }

  private nowIso(): string {
    return new Date(this.d.clock.now()).toISOString();
  }

  private async ignoreGone(p: Promise<unknown>): Promise<void> {
    try {
      await p;
    } catch (err) {
      if (!(err instanceof GraphNotFoundError)) throw err;
    }
  }
}

/**
 * An event's new times, as wall-clock times in `zone` under its Windows name. A member's all-day event moved to times
 * that are not whole days there becomes a timed event (Graph refuses an all-day event whose start or end is not
 * midnight in its time zone).
 */
export function eventTimes(fromIso: string, toIso: string, zone = 'UTC'): Pick<Event, 'start' | 'end' | 'isAllDay'> {
  const start = graphDateTime(fromIso, zone);
  const end = graphDateTime(toIso, zone);
  const wholeDays = [start, end].every((t) => t.dateTime.endsWith('T00:00:00.000') || t.dateTime.endsWith('T00:00:00'));
  return { start, end, ...(wholeDays ? {} : { isAllDay: false }) };
}

type Resource = { Name: string; CalendarEmail: string | null };

/** Whether the event already names the resource (invites its mailbox, or has its name as the location when it has none). */
function namesResource(event: Event, resource: Resource | undefined): boolean {
  if (!resource) return true;
  const email = resource.CalendarEmail?.toLowerCase();
  if (!email) return event.location?.displayName === resource.Name;
  return (event.attendees ?? []).some((a) => a.emailAddress?.address?.toLowerCase() === email) || event.location?.locationEmailAddress?.toLowerCase() === email;
}

/** Writing to a member's calendar needs their credentials, not a subscription (one may be being re-created). */
function canWrite(conn: GraphConnection | undefined): conn is GraphConnection {
  return Boolean(conn?.mailbox) && conn!.state !== 'credentials_missing' && conn!.state !== 'reauth_required';
}

type Body = Event['body'];

/** The body with calbridge's line at the top (replacing an earlier one). */
export function withMark(body: Body, line: string): NonNullable<Body> {
  const rest = withoutMark(body) ?? body;
  const html = rest?.contentType === 'html';
  const content = rest?.content ?? '';
  return html ? { contentType: 'html', content: `<p>${escapeHtml(line)}</p>${content}` } : { contentType: 'text', content: content ? `${line}\n${content}` : line };
}

/** The body without calbridge's line; undefined when it has none. */
export function withoutMark(body: Body): NonNullable<Body> | undefined {
  const content = body?.content ?? '';
  const stripped = body?.contentType === 'html'
    ? content.replace(/^(\s*<html[^>]*>)?(\s*<head>[\s\S]*?<\/head>)?(\s*<body[^>]*>)?\s*<p>calbridge:[^<]*<\/p>/i, '$1$2$3')
    : content.replace(/^calbridge:[^\n]*\n?/, '');
  return stripped === content ? undefined : { contentType: body?.contentType ?? 'text', content: stripped };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}
