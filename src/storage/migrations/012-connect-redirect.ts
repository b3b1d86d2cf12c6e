import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/** The redirect URI a connect attempt sent to the sign-in (the code's redemption must name the same one). */
export function connectRedirect(_dialect: Dialect) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('connect_attempts').addColumn('redirect_uri', 'text').execute();
    },
    async down(): Promise<void> {
      throw new Error('calbridge migrations are forward-only');
    },
  };
}
