import { sql, type Kysely } from 'kysely';

/**
 * A booking's `event_written_at` says its Outlook event is as the booking says: null means a write is due (the push
 * job's, after an API change). Bookings made from Outlook events now start written (the event is where they came
 * from); this marks the ones made before, so a full round's "re-queue what is due" does not rewrite every member's
 * own meeting. An Outlook booking changed through the API whose push has not run yet is marked too: the next API
 * change pushes it again.
 */
export const outlookBookingsWritten = {
  async up(db: Kysely<any>): Promise<void> {
    await sql`UPDATE bookings SET event_written_at = updated_on WHERE source = 'outlook' AND event_written_at IS NULL`.execute(db);
  },
  async down(): Promise<void> {
    throw new Error('calbridge migrations are forward-only');
  },
};
