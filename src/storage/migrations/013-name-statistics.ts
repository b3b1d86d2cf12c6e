import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * PostgreSQL plans a Name substring (`lower(name) LIKE '%term%'`) from the histogram of `lower(name)`. With the default
 * 100 buckets and names that are all distinct, a term that no bucket happens to contain was estimated at 100 rows when
 * 15,776 matched (1M rows): the planner then read every match through the trigram index and sorted them (~53 ms a page)
 * instead of walking the primary key until the page was full (1–7 ms). 1,000 buckets put every benchmark term within
 * about 30 % of its real count; ANALYZE samples 300,000 rows instead of 30,000 (about 4 s on 1M rows). SQLite reads
 * Name substrings through its FTS5 trigram index and needs nothing here.
 */
export function nameStatistics(dialect: Dialect) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      if (dialect !== 'postgres') return;
      for (const index of ['coworker_ms_office_calendars_name_trgm', 'coworker_ms_office_calendars_name_lower', 'coworkers_full_name_trgm', 'coworkers_full_name_lower']) {
        await sql`ALTER INDEX ${sql.ref(index)} ALTER COLUMN 1 SET STATISTICS 1000`.execute(db);
      }
      await sql`ANALYZE coworker_ms_office_calendars`.execute(db);
      await sql`ANALYZE coworkers`.execute(db);
    },
    async down(): Promise<void> {
      throw new Error('calbridge migrations are forward-only');
    },
  };
}
