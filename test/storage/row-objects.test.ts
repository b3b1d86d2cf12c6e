/**
 * SQLite statements that name their columns read rows as arrays and name the values with the columns they were
 * prepared with. SQLite prepares a statement again by itself when the schema changes, even through another connection
 * (a migration run by `npm run users`, or a newer version starting): a `*` then stands for other columns, so those
 * statements keep better-sqlite3's own row objects, and every row still carries each value under its own name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { sql } from 'kysely';
import BetterSqlite3 from 'better-sqlite3';
import { openSqlite } from '../../src/storage/database.js';
import { testDatabaseUrl } from '../helpers/database.js';
import { defer, tempDir } from '../helpers/cleanup.js';

test('rows keep each value under its own name when another connection changes the table', { skip: !!testDatabaseUrl && 'SQLite only' }, async (ctx) => {
  const file = path.join(tempDir(ctx, 'calbridge-rows-'), 'db.sqlite');
  const storage = openSqlite({ file });
  defer(ctx, () => storage.close());
  const { db } = storage;
  await sql`CREATE TABLE notes (id INTEGER PRIMARY KEY, secret TEXT, body TEXT NOT NULL)`.execute(db);
  await sql`INSERT INTO notes (secret, body) VALUES ('S', 'B')`.execute(db);
  const star = () => db.selectFrom('notes' as never).selectAll().execute();
  const named = () => db.selectFrom('notes' as never).select(['id', 'body'] as never).execute();
  assert.deepEqual(await star(), [{ id: 1, secret: 'S', body: 'B' }]);
  assert.deepEqual(await named(), [{ id: 1, body: 'B' }]);

  const other = new BetterSqlite3(file);
  defer(ctx, () => other.close());
  other.exec(`ALTER TABLE notes DROP COLUMN secret; ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0`);
  assert.deepEqual(await star(), [{ id: 1, body: 'B', pinned: 0 }]);
  assert.deepEqual(await named(), [{ id: 1, body: 'B' }]);
  // duplicate names keep the last value, as better-sqlite3's own row objects do
  assert.deepEqual((await sql`SELECT 1 AS n, 2 AS n`.execute(db)).rows, [{ n: 2 }]);
});
