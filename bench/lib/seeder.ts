/**
 * Builds a benchmark database: the real migrations (openSqlite + migrate), a full administrator created through the
 * real UserService, then resources, coworkers and N calendar records bulk-loaded with raw better-sqlite3 prepared
 * statements in large transactions. This is a loader, not the API: no validation, no HTTP.
 *
 * Speed: the calendar table's secondary indexes and FTS triggers are dropped before the load and recreated afterwards
 * from the exact SQL text SQLite stored for them when the migration ran (sqlite_master.sql), and the FTS5 trigram index
 * is filled once with 'rebuild'. Result checks: FTS document count = row count, and FTS MATCH counts = LIKE counts.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openSqlite, migrate } from '../../src/storage/database.js';
import { composeServices } from '../../src/composition-root.js';
import { CALENDAR_COLUMNS, COWORKERS, NAME_TERMS, RESOURCES, calendarRow } from './synth.js';

export const DEFAULT_ADMIN = { email: 'bench@calbridge.local', password: 'bench-password-2026' };

export interface SeedOptions {
  file: string;
  rows: number;
  email?: string;
  password?: string;
  /** Rows per transaction (default: all in one). */
  batch?: number;
  /** Also run FTS5 'integrity-check' (slow on large tables). */
  integrityCheck?: boolean;
  log?: (line: string) => void;
}

export interface SeedResult {
  file: string;
  rows: number;
  email: string;
  password: string;
  /** Calendar rows per second over the insert phase alone. */
  insertRowsPerSec: number;
  /** Calendar rows per second over the whole seed (migrations, user, inserts, indexes, FTS, checks). */
  totalRowsPerSec: number;
  seconds: { migrate: number; admin: number; insert: number; indexes: number; fts: number; checks: number; total: number };
  sizeMb: number;
  ftsCounts: Record<string, number>;
}

/** Written next to the database: what it holds and how to log in. */
export interface SeedInfo {
  rows: number;
  email: string;
  password: string;
  seededAt: string;
  result: SeedResult;
}

export function seedInfoPath(file: string): string {
  return `${file}.seed.json`;
}

export function readSeedInfo(file: string): SeedInfo | undefined {
  try {
    return JSON.parse(fs.readFileSync(seedInfoPath(file), 'utf8')) as SeedInfo;
  } catch {
    return undefined;
  }
}

const CAL = 'coworker_ms_office_calendars';
const FTS = 'coworker_ms_office_calendars_name_fts';

const secondsSince = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

export function removeDatabaseFiles(file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`, seedInfoPath(file)]) fs.rmSync(f, { force: true });
}

export async function seed(options: SeedOptions): Promise<SeedResult> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const file = path.resolve(options.file);
  const rows = options.rows;
  const batch = options.batch ?? rows;
  const email = options.email ?? DEFAULT_ADMIN.email;
  const password = options.password ?? DEFAULT_ADMIN.password;
  if (!Number.isSafeInteger(rows) || rows < 1) throw new Error(`--rows must be a positive integer (got ${rows})`);

  if (fs.existsSync(file)) log(`seed: replacing the existing ${file}`);
  removeDatabaseFiles(file);
  const tAll = process.hrtime.bigint();

  // 1. The real schema and a real administrator, through the application's own code.
  let t = process.hrtime.bigint();
  const storage = openSqlite({ file, backgroundCheckpoints: false });
  const applied = await migrate(storage);
  const migrateS = secondsSince(t);
  t = process.hrtime.bigint();
  const container = composeServices(storage, { scryptCost: 16384 });
  await container.userService.create(
    { Email: email, Password: password, FullName: 'Benchmark administrator', FullAdministrator: true },
    { userId: 0, email: 'seed' },
  );
  const adminS = secondsSince(t);
  await storage.close();
  log(`seed: migrations ${applied.join(', ')} applied; full administrator ${email} created`);

  // 2. Raw loader connection. No rollback journal and no fsync while loading: a failed load leaves a file that is
  //    thrown away anyway. WAL is switched back on at the end, as the app expects.
  const db = new Database(file);
  try {
    // Out of WAL first (a WAL file as big as the database would be written), then no rollback journal at all:
    // better-sqlite3's defensive mode refuses journal_mode=OFF, so it is lifted for the load (and restored after).
    db.pragma('journal_mode = DELETE');
    db.unsafeMode(true);
    const journal = db.pragma('journal_mode = OFF', { simple: true });
    db.pragma('synchronous = OFF');
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('cache_size = -524288'); // 512 MiB
    db.pragma('temp_store = MEMORY');
    db.pragma('threads = 2'); // SQLite's multi-threaded sorter for CREATE INDEX
    db.pragma('foreign_keys = OFF'); // parents are loaded first; ids are generated in range

    // Secondary indexes and triggers of the calendar table, exactly as the migration created them.
    const objects = db
      .prepare(`SELECT type, name, sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY rowid`)
      .all(CAL) as { type: 'index' | 'trigger'; name: string; sql: string }[];
    const indexes = objects.filter((o) => o.type === 'index');
    const triggers = objects.filter((o) => o.type === 'trigger');
    if (triggers.length !== 3) throw new Error(`expected the 3 FTS triggers of the migration, found ${triggers.length}`);
    for (const o of [...indexes, ...triggers]) db.exec(`DROP ${o.type.toUpperCase()} ${o.name}`);

    const now = new Date().toISOString();
    t = process.hrtime.bigint();
    const insertResource = db.prepare(
      `INSERT INTO resources (id, unique_id, created_on, updated_on, updated_by, is_new, name, calendar_email) VALUES (?, ?, ?, ?, 'seed', 1, ?, ?)`,
    );
    db.transaction(() => {
      for (let i = 1; i <= RESOURCES; i++) insertResource.run(i, randomUUID(), now, now, `Room ${i}`, `room${i}@bench.calbridge.local`);
    })();
    const insertCoworker = db.prepare(
      `INSERT INTO coworkers (id, unique_id, created_on, updated_on, updated_by, is_new, full_name, email) VALUES (?, ?, ?, ?, 'seed', 1, ?, ?)`,
    );
    db.transaction(() => {
      for (let i = 1; i <= COWORKERS; i++) insertCoworker.run(i, randomUUID(), now, now, `Member ${i}`, `member${i}@bench.calbridge.local`);
    })();
    log(`seed: ${fmt(RESOURCES)} resources and ${fmt(COWORKERS)} coworkers in ${secondsSince(t).toFixed(2)} s (loader journal_mode ${String(journal)})`);

    // 3. Calendar records.
    const insertCalendar = db.prepare(
      `INSERT INTO ${CAL} (${CALENDAR_COLUMNS.join(', ')}) VALUES (${CALENDAR_COLUMNS.map(() => '?').join(', ')})`,
    );
    const tInsert = process.hrtime.bigint();
    let lastReport = tInsert;
    const progress = (done: number) => {
      const nowNs = process.hrtime.bigint();
      if (Number(nowNs - lastReport) < 1e9 && done !== rows) return;
      const s = Number(nowNs - tInsert) / 1e9;
      log(`seed: ${fmt(done).padStart(11)} / ${fmt(rows)} calendar rows  ${fmt(done / s).padStart(9)} rows/s`);
      lastReport = nowNs;
    };
    // By default one transaction for everything: pages created inside it are never journaled or written twice.
    const loadBatch = db.transaction((from: number, to: number) => {
      for (let i = from; i <= to; i++) {
        insertCalendar.run(calendarRow(i));
        if (i % 25_000 === 0 && i !== rows) progress(i);
      }
    });
    for (let done = 0; done < rows; ) {
      const to = Math.min(rows, done + batch);
      loadBatch(done + 1, to);
      done = to;
    }
    progress(rows);
    const insertS = secondsSince(tInsert);

    // 4. Indexes, then the FTS index in one pass, then the triggers that keep it in step from now on.
    t = process.hrtime.bigint();
    for (const ix of indexes) db.exec(ix.sql);
    const indexesS = secondsSince(t);
    log(`seed: ${indexes.length} secondary indexes rebuilt in ${indexesS.toFixed(2)} s`);
    t = process.hrtime.bigint();
    db.exec(`INSERT INTO ${FTS}(${FTS}) VALUES ('rebuild')`);
    for (const tr of triggers) db.exec(tr.sql);
    const ftsS = secondsSince(t);
    log(`seed: FTS5 trigram index rebuilt and its ${triggers.length} triggers recreated in ${ftsS.toFixed(2)} s`);

    // 5. Checks: every object is back; the FTS index holds every row; MATCH finds what LIKE finds.
    t = process.hrtime.bigint();
    const after = db
      .prepare(`SELECT type, name, sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') AND sql IS NOT NULL`)
      .all(CAL) as { type: string; name: string; sql: string }[];
    const key = (o: { type: string; name: string; sql: string }) => `${o.type} ${o.name} ${o.sql}`;
    const missing = objects.map(key).filter((k) => !after.map(key).includes(k));
    if (missing.length || after.length !== objects.length) throw new Error(`schema objects differ after the load: ${missing.join('; ')}`);
    const count = (sqlText: string, ...params: unknown[]) => Number((db.prepare(sqlText).pluck().get(...params) as number | bigint) ?? 0);
    const calendars = count(`SELECT count(*) FROM ${CAL}`);
    const ftsDocs = count(`SELECT count(*) FROM ${FTS}_docsize`);
    if (calendars !== rows || ftsDocs !== rows) throw new Error(`row counts: table ${calendars}, FTS documents ${ftsDocs}, expected ${rows}`);
    const ftsCounts: Record<string, number> = {};
    for (const term of NAME_TERMS) {
      const viaFts = count(`SELECT count(*) FROM ${FTS} WHERE ${FTS} MATCH ?`, `"${term}"`);
      const viaLike = count(`SELECT count(*) FROM ${CAL} WHERE lower(name) LIKE ?`, `%${term}%`);
      if (viaFts !== viaLike) throw new Error(`FTS finds ${viaFts} rows for "${term}", LIKE finds ${viaLike}`);
      ftsCounts[term] = viaFts;
    }
    if (options.integrityCheck) db.exec(`INSERT INTO ${FTS}(${FTS}, rank) VALUES ('integrity-check', 1)`);
    const checksS = secondsSince(t);
    log(`seed: checks passed in ${checksS.toFixed(2)} s: ${fmt(calendars)} rows, ${fmt(ftsDocs)} FTS documents; name matches ${NAME_TERMS.map(
      (term) => `${term} ${fmt(ftsCounts[term]!)} (${((100 * ftsCounts[term]!) / rows).toFixed(2)}%)`).join(', ')}`);

    db.pragma('locking_mode = NORMAL');
    db.pragma('journal_mode = WAL');
    db.unsafeMode(false);
    const totalS = secondsSince(tAll);
    db.close();
    const sizeMb = fs.statSync(file).size / 2 ** 20;
    const result: SeedResult = {
      file,
      rows,
      email,
      password,
      insertRowsPerSec: Math.round(rows / insertS),
      totalRowsPerSec: Math.round(rows / totalS),
      seconds: { migrate: +migrateS.toFixed(3), admin: +adminS.toFixed(3), insert: +insertS.toFixed(3), indexes: +indexesS.toFixed(3), fts: +ftsS.toFixed(3), checks: +checksS.toFixed(3), total: +totalS.toFixed(3) },
      sizeMb: +sizeMb.toFixed(1),
      ftsCounts,
    };
    const info: SeedInfo = { rows, email, password, seededAt: new Date().toISOString(), result };
    fs.writeFileSync(seedInfoPath(file), `${JSON.stringify(info, null, 2)}\n`);
    log(`seed: done: ${fmt(rows)} calendar rows in ${totalS.toFixed(1)} s = ${fmt(result.totalRowsPerSec)} rows/s overall ` +
      `(insert phase ${fmt(result.insertRowsPerSec)} rows/s); ${sizeMb.toFixed(0)} MB at ${file}`);
    return result;
  } catch (err) {
    if (db.open) db.close();
    removeDatabaseFiles(file); // a half-loaded file must not be mistaken for a seeded one
    throw err;
  }
}
