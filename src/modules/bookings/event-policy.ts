/**
 * Which events book what (the policy the README states):
 * - an event books resource R when it invites R's CalendarEmail: an attendee of any type, or a location's
 *   locationEmailAddress; any resource of the space, for the connection's coworker;
 * - in a dedicated booking calendar, every event that books at all also books the connection's own resource;
 * - showAs busy, oof and tentative book (tentative → Tentative: true); free, workingElsewhere and unknown do not;
 *   a cancelled event never does;
 * - a recurring series books per occurrence (calendarView/delta delivers occurrences and exceptions, never masters);
 * - an all-day event books the whole days it covers, as Graph gives them in UTC;
 * - an event whose end is not after its start books nothing;
 * - one meeting in several members' calendars (one iCalUId) books a resource once: the other copies wait behind that
 *   booking, neither listed as conflicts nor marked (booking-sync.ts).
 * Pure: no SQL, no Graph.
 */
import type { Event } from '@microsoft/microsoft-graph-types';
import { zonedToInstant } from '../../core/time-zones.js';

export type CalendarItem = Event & { '@removed'?: { reason?: string } };

export interface BookingContext {
  /** The record's resource (booked by every busy event of a dedicated booking calendar). */
  resourceId: number;
  dedicated: boolean;
  /** Resource ids by lower-case CalendarEmail. */
  resourcesByEmail: ReadonlyMap<string, number>;
}

export interface EventSpan {
  fromIso: string;
  toIso: string;
  tentative: boolean;
  subject: string | null;
  /** The occurrence's iCalUId: the same in every member's copy of one meeting. */
  iCalUId: string | null;
}

export interface WantedBooking extends EventSpan {
  resourceId: number;
  /** Wanted only because the calendar is a dedicated booking calendar (the event invites no such resource). */
  byDedication: boolean;
}

const BOOKING_SHOW_AS = new Set(['busy', 'oof', 'tentative']);

/** The resources an event invites, by their mailboxes. */
export function invitedResources(event: CalendarItem, byEmail: ReadonlyMap<string, number>): number[] {
  const emails = [
    ...(event.attendees ?? []).map((a) => a.emailAddress?.address),
    event.location?.locationEmailAddress,
    ...(event.locations ?? []).map((l) => l.locationEmailAddress),
  ];
  const ids = new Set<number>();
  for (const e of emails) {
    const id = e ? byEmail.get(e.trim().toLowerCase()) : undefined;
    if (id !== undefined) ids.add(id);
  }
  return [...ids];
}

/** When an event (or occurrence) books, whatever it books; undefined when it books nothing (removed, free, …). */
export function bookingSpan(event: CalendarItem): EventSpan | undefined {
  if (event['@removed'] || event.isCancelled || event.type === 'seriesMaster') return undefined;
  if (!BOOKING_SHOW_AS.has(event.showAs ?? 'busy')) return undefined;
  const from = event.start?.dateTime ? zonedToInstant(event.start.dateTime, event.start.timeZone) : NaN;
  const to = event.end?.dateTime ? zonedToInstant(event.end.dateTime, event.end.timeZone) : NaN;
  if (!Number.isFinite(from) || !Number.isFinite(to) || to <= from) return undefined;
  return { fromIso: new Date(from).toISOString(), toIso: new Date(to).toISOString(), tentative: event.showAs === 'tentative', subject: event.subject ?? null, iCalUId: event.iCalUId ?? null };
}

/** The bookings an event (or occurrence) wants; none for a removal. */
export function wantedBookings(event: CalendarItem, ctx: BookingContext): WantedBooking[] {
  const span = bookingSpan(event);
  if (!span) return [];
  const invited = new Set(invitedResources(event, ctx.resourcesByEmail));
  const wanted = [...invited].map((resourceId) => ({ resourceId, byDedication: false, ...span }));
  if (ctx.dedicated && !invited.has(ctx.resourceId)) wanted.push({ resourceId: ctx.resourceId, byDedication: true, ...span });
  return wanted;
}
