import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

const TABLE = 'coworker_ms_office_calendars';
const FTS = 'coworker_ms_office_calendars_name_fts';
/** The records inserted since the last commit, not yet in the trigram index. */
export const NAME_INDEX_PENDING = `${FTS}_pending`;

/**
 * What the storage runs before each commit on SQLite (storage/database.ts): the records inserted in the transaction
 * enter the trigram index in one statement. `pending` says whether there is anything to do.
 */
export const NAME_INDEX_FLUSH = {
  pending: `SELECT 1 FROM ${NAME_INDEX_PENDING} LIMIT 1`,
  statements: [
    `INSERT INTO ${FTS}(rowid, name) SELECT c.id, c.name FROM ${NAME_INDEX_PENDING} p JOIN ${TABLE} c ON c.id = p.id`,
    `DELETE FROM ${NAME_INDEX_PENDING}`,
  ],
} as const;

/**
 * SQLite: new records enter the FTS5 trigram index of names once per commit instead of once per insert. FTS5 flushes
 * what it holds in memory as a new segment whenever a statement opens a statement journal (xSavepoint), so each
 * insert's trigger wrote a segment of its own, and every 64 leaves FTS5 merged 256 pages inside whichever insert came
 * next (15–60 ms of CPU). Now the insert trigger notes the id in a small table, and the commit indexes the
 * transaction's new records in one statement: one segment per commit (with group commit, per group of creates).
 * A record updated or deleted before its commit is still pending: it is not in the index, so the triggers leave the
 * index alone and the flush reads its name as it is then (or no longer finds it).
 */
export function nameIndexPerCommit(dialect: Dialect) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      if (dialect !== 'sqlite') return;
      const notPending = (id: string) => sql.raw(`NOT EXISTS (SELECT 1 FROM ${NAME_INDEX_PENDING} WHERE id = ${id})`);
      // Kysely runs SQLite's migrations outside a transaction: written so that a run cut short can simply run again.
      await sql`CREATE TABLE IF NOT EXISTS ${sql.table(NAME_INDEX_PENDING)} (id INTEGER PRIMARY KEY)`.execute(db);
      for (const t of ['ai', 'ad', 'au']) await sql`DROP TRIGGER IF EXISTS ${sql.raw(`${TABLE}_fts_${t}`)}`.execute(db);
      await sql`CREATE TRIGGER ${sql.raw(`${TABLE}_fts_ai`)} AFTER INSERT ON ${sql.table(TABLE)} BEGIN
        INSERT INTO ${sql.table(NAME_INDEX_PENDING)}(id) VALUES (new.id); END`.execute(db);
      await sql`CREATE TRIGGER ${sql.raw(`${TABLE}_fts_ad`)} AFTER DELETE ON ${sql.table(TABLE)} BEGIN
        INSERT INTO ${sql.table(FTS)}(${sql.raw(FTS)}, rowid, name) SELECT 'delete', old.id, old.name WHERE ${notPending('old.id')};
        DELETE FROM ${sql.table(NAME_INDEX_PENDING)} WHERE id = old.id; END`.execute(db);
      await sql`CREATE TRIGGER ${sql.raw(`${TABLE}_fts_au`)} AFTER UPDATE OF name ON ${sql.table(TABLE)} WHEN ${notPending('old.id')} BEGIN
        INSERT INTO ${sql.table(FTS)}(${sql.raw(FTS)}, rowid, name) VALUES ('delete', old.id, old.name);
        INSERT INTO ${sql.table(FTS)}(rowid, name) VALUES (new.id, new.name); END`.execute(db);
    },
    async down(): Promise<void> {
      throw new Error('calbridge migrations are forward-only');
    },
  };
}
