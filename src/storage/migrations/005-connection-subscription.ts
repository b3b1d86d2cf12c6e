import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * The engine's own record of the Graph subscription it made: renew, delete and notification matching use this, never
 * the record's client-writable SubscriptionId. Filled from the records of connections that have a live subscription.
 */
export function connectionSubscription(_dialect: Dialect) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('graph_connections').addColumn('subscription_id', 'text').execute();
      await sql`UPDATE graph_connections SET subscription_id = (
        SELECT c.subscription_id FROM coworker_ms_office_calendars c WHERE c.id = graph_connections.calendar_record_id)
        WHERE client_state IS NOT NULL`.execute(db);
      await sql`CREATE INDEX graph_connections_subscription ON graph_connections (subscription_id)`.execute(db);
    },
    async down(): Promise<void> {
      throw new Error('calbridge migrations are forward-only');
    },
  };
}
