/**
 * SQLite statements read rows as arrays and name their values with the columns they were prepared with; a change to
 * the schema (a migration adding a column) prepares them again, so a cached `SELECT *` answers the new column too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { sql } from 'kysely';
import { openSqlite } from '../../src/storage/database.js';
import { testDatabaseUrl } from '../helpers/database.js';
import { defer, tempDir } from '../helpers/cleanup.js';

test('a cached SELECT * sees a column added after it was first run', { skip: !!testDatabaseUrl && 'SQLite only' }, async (ctx) => {
  const storage = openSqlite({ file: path.join(tempDir(ctx, 'calbridge-rows-'), 'db.sqlite') });
  defer(ctx, () => storage.close());
  const { db } = storage;
  await sql`CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`.execute(db);
  await sql`INSERT INTO notes (body) VALUES ('first')`.execute(db);
  const all = () => db.selectFrom('notes' as never).selectAll().execute();
  assert.deepEqual(await all(), [{ id: 1, body: 'first' }]);
  await sql`ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0`.execute(db);
  assert.deepEqual(await all(), [{ id: 1, body: 'first', pinned: 0 }]);
  // duplicate names keep the last value, as better-sqlite3's own row objects do
  assert.deepEqual((await sql`SELECT 1 AS n, 2 AS n`.execute(db)).rows, [{ n: 2 }]);
});
