import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

const FTS = 'coworker_ms_office_calendars_name_fts';

/**
 * SQLite: FTS5 merges the trigram index's segments a little at every commit instead of all at once now and then.
 * With FTS5's own automatic merging, every 64 leaf pages written it merged 64 pages per level of the index (576 on
 * 1M records) inside whichever COMMIT came next: 40–65 ms, several times a second under a create flood, and those
 * commits set the POST p99 (measured with a statement timer: 9–13 commits over 8 ms in 10 s, none without it). Now
 * automatic merging is off and the storage runs FTS5's `merge` command before every commit that wrote, for a few
 * pages more than automerge would have merged on average (storage/database.ts; NAME_INDEX_MERGE below): the same
 * merging, spread evenly. Every write gets the step, not only creates: renames and deletes write segments too (the
 * triggers), and without merging only FTS5's crisis merge (16 segments on a level, whole levels at once, cascading)
 * would bound them, measured at 374 ms in one commit of 100,000 renames. A step with nothing to merge writes nothing.
 */
export function nameIndexMergePerCommit(dialect: Dialect) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      if (dialect !== 'sqlite') return;
      await sql`INSERT INTO ${sql.table(FTS)}(${sql.raw(FTS)}, rank) VALUES ('automerge', 0)`.execute(db);
    },
    async down(): Promise<void> {
      throw new Error('calbridge migrations are forward-only');
    },
  };
}

/**
 * The merge step run before a commit that indexed `rows` new records (0 for any other write): up to `pages(rows)`
 * pages of merging, only on levels with at least 4 segments (FTS5's usermerge), so a compact index costs nothing.
 * A leaf page holds about 32 new names and automerge merged one page per level (9 on 1M records) for each leaf
 * written: rows / 2 pages keeps ahead of that with room to spare, and each step stays a few ms at most.
 */
export const NAME_INDEX_MERGE = {
  statement: `INSERT INTO ${FTS}(${FTS}, rank) VALUES ('merge', ?)`,
  pages: (rows: number): number => 4 + Math.ceil(rows / 2),
} as const;
