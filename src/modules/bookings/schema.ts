/**
 * Bookings of the space's resources, declared once. Active and cancelled bookings live in one table; each is its own
 * Nexudus entity (`/api/spaces/bookings`, `/api/spaces/cancelledbookings`) over its rows.
 */
import { Type, type Static } from 'typebox';
import { sql } from 'kysely';
import { defineEntity, field, type ValuesOf } from '../records/entity.js';
import { NullableInteger, NullableString } from '../records/schema-parts.js';

export const BOOKING = 'Booking';
export const CANCELLED_BOOKING = 'CancelledBooking';
export const BOOKING_SOURCES = ['api', 'outlook'] as const;
export type BookingSource = (typeof BOOKING_SOURCES)[number];

/** Why a booking was cancelled: Nexudus' reasons (Integration: it came from the connected calendar). */
export const CANCELLATION = { integration: 'Integration', api: 'Customer', conflict: 'Conflict' } as const;

const bookingFields = {
  ResourceId: field.integer('The booked resource (room or desk).', { filter: { match: 'exact', param: 'Resource' } }),
  CoworkerId: field.reference('The member the booking is for; 0 or null for none.', { filter: { match: 'exact', param: 'Coworker' } }),
  CoworkerFullName: field.joined(NullableString(), 'string', 'coworker', 'w.full_name'),
  ResourceName: field.joined(Type.String(), 'string', 'resource', 'r.name'),
  FromTime: field.date('Start (ISO 8601; no zone means UTC). Answered in UTC.', { range: true }),
  ToTime: field.date('End, after FromTime (ISO 8601; no zone means UTC). Answered in UTC.', { range: true }),
  Notes: field.text(2000, 'Free text.'),
  Tentative: field.boolean('A tentative booking (an Outlook event shown as tentative).'),
  Office365EventId: field.text(500, "The member's Outlook event, when there is one.", { filter: { match: 'exact' }, column: 'office365_event_id' }),
  CoworkerMsOfficeCalendarId: {
    out: NullableInteger(), type: 'int' as const, column: 'coworker_ms_office_calendar_id',
    filter: { match: 'exact' as const, param: 'CoworkerMsOfficeCalendar' },
  },
  Source: { out: Type.String({ enum: [...BOOKING_SOURCES], description: 'api or outlook' }), type: 'string' as const, filter: { match: 'exact' as const, values: BOOKING_SOURCES } },
};

const joins = {
  coworker: (qb: any) => qb.leftJoin('coworkers as w', 'w.id', 'b.coworker_id'),
  resource: (qb: any) => qb.innerJoin('resources as r', 'r.id', 'b.resource_id'),
};

export const bookingEntity = defineEntity({
  entity: BOOKING,
  table: 'bookings',
  alias: 'b',
  toString: 'ResourceName',
  fields: bookingFields,
  joins,
  scope: (qb) => qb.where(sql<boolean>`b.cancelled_on IS NULL`),
});

export const cancelledBookingEntity = defineEntity({
  entity: CANCELLED_BOOKING,
  table: 'bookings',
  alias: 'b',
  toString: 'ResourceName',
  fields: {
    ...bookingFields,
    CancelledOn: { out: Type.String({ format: 'date-time' }), type: 'date' as const, range: true },
    CancellationReason: {
      out: NullableString(), type: 'string' as const, filter: { match: 'exact' as const, values: Object.values(CANCELLATION) },
    },
  },
  joins,
  scope: (qb) => qb.where(sql<boolean>`b.cancelled_on IS NOT NULL`),
});

export type Booking = Static<typeof bookingEntity.record>;
export type CancelledBooking = Static<typeof cancelledBookingEntity.record>;
export type BookingValues = ValuesOf<typeof bookingEntity.fields>;


/** A conflict: an occurrence that wanted a resource another booking holds (/api/spaces/bookingconflicts). */
export const BookingConflictSchema = Type.Object({
  Id: Type.Integer(),
  CoworkerMsOfficeCalendarId: Type.Integer(),
  ResourceId: Type.Integer(),
  CoworkerId: NullableInteger(),
  FromTime: Type.String({ format: 'date-time' }),
  ToTime: Type.String({ format: 'date-time' }),
  Subject: NullableString(),
  Office365EventId: Type.String(),
  BlockingBookingId: NullableInteger(),
  DetectedOn: Type.String({ format: 'date-time' }),
  MarkedInOutlook: Type.Boolean(),
});
export type BookingConflict = Static<typeof BookingConflictSchema>;
