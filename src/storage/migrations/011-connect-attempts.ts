import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * A member's sign-in with Microsoft in progress (the /connect flow): the single-use `state` (as its digest), the PKCE
 * verifier and, once Microsoft answered, the member's token cache (both sealed) until a calendar is picked.
 */
export function connectAttempts(dialect: Dialect) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      const id = dialect === 'postgres'
        ? db.schema.createTable('connect_attempts').addColumn('id', 'integer', (c) => c.primaryKey().generatedByDefaultAsIdentity())
        : db.schema.createTable('connect_attempts').addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
      await id
        .addColumn('state_digest', 'text', (c) => c.notNull().unique())
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('coworker_id', 'integer', (c) => c.notNull())
        // Reconnecting an existing record (reauth_required), or null for a new connection.
        .addColumn('record_id', 'integer')
        .addColumn('verifier_sealed', 'text', (c) => c.notNull())
        .addColumn('token_cache_sealed', 'text')
        .addColumn('mailbox', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        // 'started' → 'signed_in' (calendars listed) → 'done'; the state is used once.
        .addColumn('status', 'text', (c) => c.notNull())
        .execute();
    },
    async down(): Promise<void> {
      throw new Error('calbridge migrations are forward-only');
    },
  };
}
