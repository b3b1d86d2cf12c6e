import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';
import { withRecordMeta } from './001-initial.js';

/**
 * Bookings (active and cancelled in one table: a cancellation stamps cancelled_on), their conflicts, and the
 * connection's "dedicated booking calendar" setting. No two active bookings of one resource overlap: PostgreSQL
 * enforces it with an exclusion constraint, SQLite inside its single-writer transaction (modules/bookings).
 */
export function bookings(dialect: Dialect) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await withRecordMeta(db.schema.createTable('bookings'), dialect)
        .addColumn('resource_id', 'integer', (c) => c.notNull().references('resources.id').onDelete('restrict'))
        .addColumn('coworker_id', 'integer', (c) => c.references('coworkers.id').onDelete('restrict'))
        .addColumn('from_time', 'text', (c) => c.notNull())
        .addColumn('to_time', 'text', (c) => c.notNull())
        .addColumn('notes', 'text')
        .addColumn('tentative', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('office365_event_id', 'text')
        .addColumn('coworker_ms_office_calendar_id', 'integer', (c) => c.references('coworker_ms_office_calendars.id').onDelete('set null'))
        .addColumn('source', 'text', (c) => c.notNull())
        // Outlook bookings: the immutable event or occurrence id that made it (with the connection, its key).
        .addColumn('event_key', 'text')
        .addColumn('cancelled_on', 'text')
        .addColumn('cancellation_reason', 'text')
        .execute();
      await sql`CREATE INDEX bookings_resource_time ON bookings (resource_id, from_time) WHERE cancelled_on IS NULL`.execute(db);
      await sql`CREATE INDEX bookings_connection_key ON bookings (coworker_ms_office_calendar_id, event_key)`.execute(db);
      await sql`CREATE INDEX bookings_event ON bookings (office365_event_id)`.execute(db);
      await sql`CREATE INDEX bookings_coworker ON bookings (coworker_id, id)`.execute(db);
      await sql`CREATE INDEX bookings_cancelled ON bookings (cancelled_on, id)`.execute(db);
      if (dialect === 'postgres') {
        await sql`CREATE EXTENSION IF NOT EXISTS btree_gist`.execute(db);
        // Stored times are ISO 8601 UTC ("...Z"), so reading them as timestamptz does not depend on any setting.
        await sql`CREATE FUNCTION calbridge_instant(t text) RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE
          AS $$ SELECT t::timestamptz $$`.execute(db);
        await sql`ALTER TABLE bookings ADD CONSTRAINT bookings_no_overlap EXCLUDE USING gist (
          resource_id WITH =, tstzrange(calbridge_instant(from_time), calbridge_instant(to_time), '[)') WITH &&)
          WHERE (cancelled_on IS NULL)`.execute(db);
      }

      const id = dialect === 'postgres'
        ? db.schema.createTable('booking_conflicts').addColumn('id', 'integer', (c) => c.primaryKey().generatedByDefaultAsIdentity())
        : db.schema.createTable('booking_conflicts').addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
      // An occurrence that wanted a resource another booking holds; it is booked once that booking goes away.
      await id
        .addColumn('coworker_ms_office_calendar_id', 'integer', (c) => c.notNull().references('coworker_ms_office_calendars.id').onDelete('cascade'))
        .addColumn('event_key', 'text', (c) => c.notNull())
        .addColumn('resource_id', 'integer', (c) => c.notNull().references('resources.id').onDelete('cascade'))
        .addColumn('coworker_id', 'integer')
        .addColumn('from_time', 'text', (c) => c.notNull())
        .addColumn('to_time', 'text', (c) => c.notNull())
        .addColumn('tentative', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('subject', 'text')
        .addColumn('blocking_booking_id', 'integer')
        .addColumn('detected_on', 'text', (c) => c.notNull())
        // Whether the member's event carries the calbridge mark (category and body line) for this conflict.
        .addColumn('marked', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await sql`CREATE UNIQUE INDEX booking_conflicts_key ON booking_conflicts (coworker_ms_office_calendar_id, event_key, resource_id)`.execute(db);
      await sql`CREATE INDEX booking_conflicts_resource ON booking_conflicts (resource_id, from_time)`.execute(db);

      await db.schema.alterTable('graph_connections').addColumn('dedicated', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable('graph_connections').addColumn('last_full_sync_at', 'text').execute();
    },
    async down(): Promise<void> {
      throw new Error('calbridge migrations are forward-only');
    },
  };
}
