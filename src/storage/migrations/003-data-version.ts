import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/** PostgreSQL: the sequence that versions list totals across processes (see storage/count-cache.ts). */
export function dataVersion(dialect: Dialect) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      if (dialect !== 'postgres') return;
      await sql`CREATE SEQUENCE calbridge_data_version`.execute(db);
      // Called once so that last_value moves on every later nextval (before the first call it reads 1 as well).
      await sql`SELECT nextval('calbridge_data_version')`.execute(db);
    },
    async down(): Promise<void> {
      throw new Error('calbridge migrations are forward-only');
    },
  };
}
