/**
 * One meeting in several members' calendars (the organizer's and each attendee's copy, one iCalUId): the room it
 * invites is booked once, by the first copy calbridge reads; the other copies wait behind that booking as "same
 * meeting" conflicts, which are neither listed as conflicts nor marked in Outlook, and one of them takes the booking
 * over if the copy that holds it goes (its member declines, or disconnects).
 * - bookings.ical_uid: the iCalUId of the occurrence an Outlook booking was made from;
 * - booking_conflicts.ical_uid and same_meeting (1: it waits behind a copy of the same meeting, not a collision).
 */
import type { Kysely } from 'kysely';

export const sharedMeetings = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema.alterTable('bookings').addColumn('ical_uid', 'text').execute();
    await db.schema.alterTable('booking_conflicts').addColumn('ical_uid', 'text').execute();
    await db.schema.alterTable('booking_conflicts').addColumn('same_meeting', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  },
  async down(): Promise<void> {
    throw new Error('calbridge migrations are forward-only');
  },
};
