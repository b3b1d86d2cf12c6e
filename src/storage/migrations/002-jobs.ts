import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/** The durable job queue's table (src/jobs/). */
export function jobs(dialect: Dialect) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await (dialect === 'postgres'
        ? db.schema.createTable('jobs').addColumn('id', 'bigint', (c) => c.primaryKey().generatedByDefaultAsIdentity())
        : db.schema.createTable('jobs').addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement()))
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        // pending → running → done | pending (retry, later run_at) | dead (attempts used up)
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('run_at', 'bigint', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('max_attempts', 'integer', (c) => c.notNull())
        .addColumn('dedupe_key', 'text')
        .addColumn('locked_by', 'text')
        .addColumn('lock_expires_at', 'bigint')
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      // At most one pending job per key: a burst of "sync calendar 7" collapses into one run.
      await sql`CREATE UNIQUE INDEX jobs_pending_dedupe ON jobs (dedupe_key) WHERE state = 'pending'`.execute(db);
      await sql`CREATE INDEX jobs_due ON jobs (state, run_at)`.execute(db);
      await sql`CREATE INDEX jobs_lease ON jobs (state, lock_expires_at)`.execute(db);
    },
    async down(): Promise<void> {
      throw new Error('calbridge migrations are forward-only');
    },
  };
}
