import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Refresh-token families: every token issued from one password grant shares a family, and a used refresh token is
 * kept (marked used) until it expires, so its reuse is recognised and revokes the whole family (OAuth 2.0 security
 * best current practice, refresh token rotation with reuse detection).
 */
export function tokenFamilies(_dialect: Dialect) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('access_tokens').addColumn('family', 'text').execute();
      await db.schema.alterTable('refresh_tokens').addColumn('family', 'text').execute();
      await db.schema.alterTable('refresh_tokens').addColumn('used_at', 'bigint').execute();
      await db.schema.createIndex('access_tokens_family').on('access_tokens').column('family').execute();
      await db.schema.createIndex('refresh_tokens_family').on('refresh_tokens').column('family').execute();
    },
    async down(): Promise<void> {
      throw new Error('calbridge migrations are forward-only');
    },
  };
}
