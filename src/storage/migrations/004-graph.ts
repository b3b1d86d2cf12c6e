import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/** The Graph side of each calendar record, received notifications, and settings (the encryption-key check). */
export function graph(dialect: Dialect) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      const id = (t: ReturnType<Kysely<any>['schema']['createTable']>) =>
        dialect === 'postgres'
          ? t.addColumn('id', 'bigint', (c) => c.primaryKey().generatedByDefaultAsIdentity())
          : t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());

      await db.schema.createTable('settings')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();

      // One row per calendar record: how calbridge reaches the mailbox and the state of its subscription.
      await db.schema.createTable('graph_connections')
        .addColumn('calendar_record_id', 'integer', (c) => c.primaryKey().references('coworker_ms_office_calendars.id').onDelete('cascade'))
        .addColumn('auth_mode', 'text', (c) => c.notNull())            // app | delegated
        .addColumn('mailbox', 'text', (c) => c.notNull())              // user id or UPN the app-only path uses; the member for delegated
        .addColumn('refresh_token_sealed', 'text')                     // delegated only, SecretBox-sealed
        .addColumn('state', 'text', (c) => c.notNull())                // active | renewing | reauth_required | credentials_missing | failed
        .addColumn('subscription_resource', 'text')
        .addColumn('client_state', 'text')                             // random per subscription; never returned
        .addColumn('delta_link', 'text')
        .addColumn('last_notification_at', 'text')
        .addColumn('last_renewed_at', 'text')
        .addColumn('next_renewal_at', 'text')
        .addColumn('last_reauthorized_at', 'text')
        .addColumn('last_synced_at', 'text')
        .addColumn('last_error', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await sql`CREATE INDEX graph_connections_state ON graph_connections (state)`.execute(db);

      // Received change and lifecycle notifications, persisted before the 202.
      await id(db.schema.createTable('graph_notifications'))
        .addColumn('calendar_record_id', 'integer', (c) => c.notNull())
        .addColumn('subscription_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())                 // change | lifecycle
        .addColumn('change_type', 'text')
        .addColumn('lifecycle_event', 'text')
        .addColumn('resource', 'text')
        .addColumn('received_at', 'text', (c) => c.notNull())
        .execute();
      await sql`CREATE INDEX graph_notifications_record ON graph_notifications (calendar_record_id, id)`.execute(db);
    },
    async down(): Promise<void> {
      throw new Error('calbridge migrations are forward-only');
    },
  };
}
