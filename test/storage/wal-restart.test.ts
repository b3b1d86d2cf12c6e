/**
 * The background checkpointer keeps the SQLite WAL small under sustained writes: past its threshold it asks the main
 * thread for a quiet moment and restarts the WAL. The writes of that time wait for the connection instead of failing
 * or blocking in SQLite's busy handler, and nothing written is lost.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import BetterSqlite3 from 'better-sqlite3';
import { openSqlite } from '../../src/storage/database.js';
import { inTransaction } from '../../src/storage/unit-of-work.js';
import { defer, tempDir } from '../helpers/cleanup.js';

test('SQLite: under sustained writes the WAL is restarted in quiet moments, and every write survives', async (ctx) => {
  const file = path.join(tempDir(ctx, 'calbridge-wal-'), 'wal.db');
  let restarts = 0;
  let restarted: () => void = () => {};
  const storage = openSqlite({
    file,
    walRestartBytes: 256 * 1024,
    onWalRestart: () => {
      restarts++;
      restarted();
    },
  });
  let open = true;
  defer(ctx, () => open && storage.close());
  const { db } = storage;
  await sql`CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`.execute(db);

  // Write until two restarts happened; each transaction adds 10 rows of 1 KB (a few pages of WAL).
  const body = 'x'.repeat(1000);
  let written = 0;
  const twoRestarts = new Promise<void>((resolve) => {
    restarted = () => restarts >= 2 && resolve();
  });
  let done = false;
  void twoRestarts.then(() => (done = true));
  for (let i = 0; !done && i < 20_000; i++) {
    await inTransaction(db, async (trx) => {
      for (let j = 0; j < 10; j++) await sql`INSERT INTO notes (body) VALUES (${body})`.execute(trx);
    });
    written += 10;
    if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve)); // let the worker's messages in
  }
  assert.ok(restarts >= 2, `the WAL was restarted (${restarts} times, ${written} rows written)`);
  // Writing continues after the restarts, into the restarted WAL: the header's checkpoint sequence number counts
  // how many times the WAL started over (it is read before the close, whose final checkpoint deletes nothing but
  // truncates the file).
  await inTransaction(db, (trx) => sql`INSERT INTO notes (body) VALUES ('last')`.execute(trx));
  written++;
  const header = Buffer.alloc(32);
  const fd = fs.openSync(`${file}-wal`, 'r');
  fs.readSync(fd, header, 0, 32, 0);
  fs.closeSync(fd);
  assert.ok(header.readUInt32BE(12) >= 2, `WAL checkpoint sequence ${header.readUInt32BE(12)} after ${restarts} restarts`);
  await storage.close();
  open = false;

  const raw = new BetterSqlite3(file, { readonly: true });
  defer(ctx, () => raw.close());
  assert.equal(raw.pragma('integrity_check', { simple: true }), 'ok');
  assert.equal((raw.prepare('SELECT count(*) AS n FROM notes').get() as { n: number }).n, written);
});

test('SQLite: an open database with its checkpointer does not keep the process alive', (ctx) => {
  // A script that opens a file database and never closes it must end by itself; killed after 30 s, it would not have.
  const database = fileURLToPath(new URL('../../src/storage/database.ts', import.meta.url));
  const file = path.join(tempDir(ctx, 'calbridge-exit-'), 'exit.db');
  const code = `const { openSqlite } = await import(${JSON.stringify(database)}); openSqlite({ file: ${JSON.stringify(file)} });`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { timeout: 30_000, encoding: 'utf8' });
  assert.deepEqual([child.status, child.signal, child.stderr.trim()], [0, null, '']);
  assert.ok(fs.existsSync(file), 'it did open the database');
});
