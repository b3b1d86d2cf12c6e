import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * What a full round needs to judge the events calbridge wrote for API bookings:
 * - bookings.event_connection_id: the connection whose calendar holds the booking's event (the push wrote it there);
 * - bookings.event_written_at: when the event was last written at the booking's current times (NULL while a push is
 *   due), so a round that began reading after it and did not see the event knows the member removed it;
 * - graph_connections.window_start / window_end: the calendarView window of the connection's delta link (fixed at its
 *   full round), so an event the API moved out of it is not mistaken for one the member deleted.
 * API bookings written before this migration are attributed to their coworker's only connection, if there is one.
 */
export function eventWritten(_dialect: Dialect) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('bookings').addColumn('event_connection_id', 'integer', (c) => c.references('coworker_ms_office_calendars.id').onDelete('set null')).execute();
      await db.schema.alterTable('bookings').addColumn('event_written_at', 'text').execute();
      await db.schema.alterTable('graph_connections').addColumn('window_start', 'text').execute();
      await db.schema.alterTable('graph_connections').addColumn('window_end', 'text').execute();
      await sql`UPDATE bookings SET event_written_at = updated_on, event_connection_id = (
          SELECT min(c.id) FROM coworker_ms_office_calendars c WHERE c.coworker_id = bookings.coworker_id)
        WHERE source = 'api' AND office365_event_id IS NOT NULL AND cancelled_on IS NULL
          AND (SELECT count(*) FROM coworker_ms_office_calendars c WHERE c.coworker_id = bookings.coworker_id) = 1`.execute(db);
      await sql`CREATE INDEX bookings_event_connection ON bookings (event_connection_id) WHERE cancelled_on IS NULL`.execute(db);
    },
    async down(): Promise<void> {
      throw new Error('calbridge migrations are forward-only');
    },
  };
}
