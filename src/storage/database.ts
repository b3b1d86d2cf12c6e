/**
 * Opens the database behind Kysely and applies migrations. SQLite (better-sqlite3, WAL) is the embedded default.
 * Prepared statements are cached per SQL text: better-sqlite3 statements are reusable, and Kysely would
 * otherwise prepare every query anew.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type MigrationProvider } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';
import { allMigrations } from './migrations/index.js';
import { NAME_INDEX_FLUSH } from './migrations/016-name-index-per-commit.js';
import { NAME_INDEX_MERGE } from './migrations/017-name-index-merge-per-commit.js';
import { CountCache, MemoryDataVersion, SnapshotDataVersion } from './count-cache.js';
import { statementName } from './prepared.js';

import type { Dialect } from './dialect.js';
export type { Dialect };

export interface Storage {
  db: Kysely<Database>;
  dialect: Dialect;
  /** List totals cached until the next write (null: always count). */
  counts: CountCache | null;
  close(): Promise<void>;
}

export interface SqliteOptions {
  file: string;
  /** Run WAL checkpoints in a worker thread instead of inside commits (on by default for files). */
  backgroundCheckpoints?: boolean;
  /** WAL content past which the background checkpointer restarts the WAL (default 32 MB). */
  walRestartBytes?: number;
  /** Called after each WAL restart by the background checkpointer. */
  onWalRestart?: () => void;
}

export function openSqlite(options: SqliteOptions): Storage {
  const { file } = options;
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  const raw = new BetterSqlite3(file);
  raw.pragma('journal_mode = WAL');
  // NORMAL in WAL mode: a commit survives a process crash; only an OS crash can lose the last commits.
  raw.pragma('synchronous = NORMAL');
  raw.pragma('foreign_keys = ON');
  raw.pragma('busy_timeout = 5000');
  raw.pragma('cache_size = -16384'); // 16 MB: the OS page cache holds the rest, and RSS stays small
  raw.pragma('journal_size_limit = 67108864'); // after a WAL reset, the file shrinks back to 64 MB
  raw.pragma('temp_store = MEMORY');

  const background = options.backgroundCheckpoints ?? file !== ':memory:';
  let checkpointer: Worker | undefined;
  if (background) {
    // Checkpoints copy the WAL back into the database file; done inside a commit they cost tens of ms.
    raw.pragma('wal_autocheckpoint = 0');
    checkpointer = startCheckpointer(file, options.walRestartBytes ?? WAL_RESTART_BYTES);
  }

  const statements = new Map<string, DriverStatement>();
  const nameIndex = deferredNameIndex(raw);
  const cachedDb = {
    close: () => raw.close(),
    prepare(sqlText: string) {
      // Transactions take the write lock when they begin: a deferred one that read first and then writes fails at
      // once with SQLITE_BUSY when the checkpointer's connection got in between (no busy wait on a lock upgrade).
      if (sqlText === 'begin') sqlText = 'begin immediate';
      let stmt = statements.get(sqlText);
      if (!stmt) {
        const prepared = raw.prepare(sqlText);
        stmt = nameIndex.around(sqlText, prepared.readonly, rowsAsObjects(sqlText, prepared));
        if (statements.size >= 1000) statements.clear();
        statements.set(sqlText, stmt);
      }
      return stmt;
    },
  };
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: cachedDb as never }) });
  if (checkpointer) grantQuietMoments(checkpointer, db, options.onWalRestart);
  return {
    db,
    dialect: 'sqlite',
    counts: new CountCache(new MemoryDataVersion()),
    async close() {
      if (checkpointer) {
        checkpointer.ref(); // keep the process alive until the final checkpoint is done
        checkpointer.postMessage('stop');
        await new Promise((resolve) => checkpointer!.once('exit', resolve));
      }
      await db.destroy();
    },
  };
}

export interface PostgresOptions {
  url: string;
  poolSize?: number;
}

// int8 (count(*), bigint columns) as JS numbers: every value calbridge stores fits in 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

/** PostgreSQL through a connection pool; many processes may share one database (counts are versioned by snapshot). */
export function openPostgres(options: PostgresOptions): Storage {
  const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10 });
  // Queries built once (storage/prepared.ts) go out as named statements: PostgreSQL parses and plans them once per
  // connection. Kysely calls query(text, values); everything else passes through unchanged.
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (text: unknown, ...rest: unknown[]) => {
      const name = typeof text === 'string' && Array.isArray(rest[0]) ? statementName(text) : undefined;
      return name ? query({ name, text, values: rest[0] }, ...rest.slice(1)) : query(text, ...rest);
    };
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    dialect: 'postgres',
    counts: new CountCache(new SnapshotDataVersion(db)),
    async close() {
      await db.destroy();
    },
  };
}

/** A `*` in a select list or RETURNING (not count(*)): its columns follow the table's, whoever changes the table. */
const STAR_COLUMNS = /(^|[\s,.])\*(\s|,|$)/;

/** What Kysely's SQLite driver uses of a statement. */
type DriverStatement = Pick<BetterSqlite3.Statement, 'reader' | 'all' | 'run' | 'iterate'>;

/**
 * A statement that returns named columns reads its rows as arrays (better-sqlite3's raw mode) and makes each row
 * object here, with its properties in one order, so every row of a statement shares one shape. better-sqlite3's own
 * row objects cost more to build: measured on 1M records, a page of 20 records with the coworker's name 175 → 140 µs,
 * a record by id 11 → 9 µs. Duplicate column names keep the last value, as better-sqlite3's objects do. The names are
 * the statement's when it was prepared: SQLite prepares a statement again by itself after any change to the schema,
 * even by another connection, and a `*` would then stand for other columns, so statements with one keep
 * better-sqlite3's own objects; a named column that went away fails the statement instead.
 */
function rowsAsObjects(sqlText: string, stmt: BetterSqlite3.Statement): DriverStatement {
  if (!stmt.reader || STAR_COLUMNS.test(sqlText)) return { reader: stmt.reader, run: stmt.run.bind(stmt), all: stmt.all.bind(stmt), iterate: stmt.iterate.bind(stmt) };
  const names = stmt.columns().map((c) => c.name);
  stmt.raw(true);
  const toObject = (values: unknown[]) => {
    const row: Record<string, unknown> = {};
    for (let i = 0; i < names.length; i++) row[names[i]!] = values[i];
    return row;
  };
  return {
    reader: true,
    run: stmt.run.bind(stmt),
    all: (...args: unknown[]) => (stmt.all(...args) as unknown[][]).map(toObject),
    iterate: function* (...args: unknown[]) {
      for (const values of stmt.iterate(...args) as IterableIterator<unknown[]>) yield toObject(values);
    } as never,
  };
}

/**
 * The trigram index of calendar names takes a transaction's new records at its commit, in one statement (migration
 * 016 says why), followed by a bounded step of merging (migration 017) that every write gets: `around` puts them
 * before every COMMIT, and after a write made outside a transaction, in a transaction of their own. Before migration
 * 016 there is nothing to do.
 */
function deferredNameIndex(raw: BetterSqlite3.Database) {
  let pending: BetterSqlite3.Statement | undefined;
  let steps: BetterSqlite3.Statement[] = [];
  let merge: BetterSqlite3.Statement | undefined;
  const ready = (): boolean => {
    if (pending) return true;
    try {
      pending = raw.prepare(NAME_INDEX_FLUSH.pending);
      steps = NAME_INDEX_FLUSH.statements.map((text) => raw.prepare(text));
      merge = raw.prepare(NAME_INDEX_MERGE.statement);
      return true;
    } catch {
      pending = undefined; // no such table yet: the database is older than migration 016
      return false;
    }
  };
  const indexPending = (): number => {
    const indexed = steps[0]!.run().changes;
    for (const step of steps.slice(1)) step.run();
    return indexed;
  };
  // The new records enter the index; then FTS5 merges a few pages of its segments, more when records were indexed
  // (migration 017 says why). Every write gets the step: renames and deletes write segments too, through the triggers,
  // and a step with nothing to merge writes nothing.
  const flush = () => {
    if (!ready()) return;
    merge!.run(NAME_INDEX_MERGE.pages(pending!.get() === undefined ? 0 : indexPending()));
  };
  // IMMEDIATE: it reads, then writes; a deferred transaction would fail on its upgrade if another process (the users
  // CLI) committed in between, after the caller's write had already committed.
  const flushAlone = raw.transaction(flush).immediate;
  const afterWrite = <T>(result: T): T => {
    if (!raw.inTransaction) flushAlone();
    return result;
  };
  return {
    around(sqlText: string, readonly: boolean, stmt: DriverStatement): DriverStatement {
      if (sqlText === 'commit') return { reader: false, all: stmt.all, iterate: stmt.iterate, run: (...args: unknown[]) => (flush(), stmt.run(...args)) };
      if (readonly) return stmt;
      return { reader: stmt.reader, iterate: stmt.iterate, all: (...args: unknown[]) => afterWrite(stmt.all(...args)), run: (...args: unknown[]) => afterWrite(stmt.run(...args)) };
    },
  };
}

/** WAL content (frames) past which the checkpointer restarts the WAL: below journal_size_limit, so the file never needs cutting. */
const WAL_RESTART_BYTES = 32 * 1024 * 1024;

/**
 * A worker thread with its own connection that checkpoints the WAL every 200 ms, off the event loop. Passive
 * checkpoints never stop a writer, but under sustained writes they never catch up (frames keep arriving while they
 * copy), so the WAL would never start over and would grow without end. Past WAL_RESTART_BYTES the worker asks the
 * main thread for a quiet moment: the main thread takes the one connection from Kysely (requests queue for it
 * without blocking the event loop), the worker runs a RESTART checkpoint, which finds no writer and copies only the
 * frames written since its last passive pass, and hands the connection back. Before asking, the worker runs passive
 * passes back to back (up to 8), each copying what arrived during the one before, so that rest is a few ms of writes.
 * Measured on a create flood (bench/README.md): about two quiet moments a second; with the writes of the 200 ms since
 * the last pass left for them they took 35–55 ms each (the copy and the fsyncs of ~600 frames), and set the POST p99;
 * after the catch-up passes 3–4 ms (~190 frames). Before, the worker took the write lock by itself (a TRUNCATE past 256 MB, every ~3 s of the flood) and
 * the main thread's `begin immediate` waited in SQLite's busy handler, whose sleeps (1, 2, 5, 10 … 50 ms) blocked
 * the event loop for 130–180 ms each time: the POST p99 of ~200 ms. A larger threshold measured worse (fewer but
 * longer pauses, and a WAL file that grows instead of being rewritten in place).
 */
function startCheckpointer(file: string, restartBytes: number): Worker {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const Database = require(workerData.driver);
    const db = new Database(workerData.file);
    db.pragma('busy_timeout = 20');
    const frameBytes = db.pragma('page_size', { simple: true }) + 24;
    let asked = 0; // when the worker asked for a quiet moment; asked again after 5 s without one
    const timer = setInterval(() => {
      if (Date.now() - asked < 5000) return;
      try {
        let [state] = db.pragma('wal_checkpoint(PASSIVE)');
        if (state.log * frameBytes <= workerData.restartBytes) return;
        // Catch up before asking: each pass copies what arrived during the one before, so what is left for the quiet
        // moment (copy and fsync, with the writer held) is a few ms of writes, not the 200 ms since the last pass.
        for (let pass = 0; pass < 8; pass++) {
          const before = state.log;
          [state] = db.pragma('wal_checkpoint(PASSIVE)');
          if (state.log < before) return; // a pass caught up between two commits: the next commit started the WAL over
          if (state.log - before < 128) break;
        }
        asked = Date.now();
        parentPort.postMessage('quiet?');
      } catch {}
    }, 200);
    parentPort.on('message', (message) => {
      if (message === 'quiet') {
        // Catch up (only what was written since the last pass), then start the WAL over: no writer can come between.
        try { db.pragma('wal_checkpoint(RESTART)'); } catch {}
        asked = 0;
        parentPort.postMessage('restarted');
        return;
      }
      clearInterval(timer);
      try { db.pragma('wal_checkpoint(TRUNCATE)'); } catch {}
      db.close();
      process.exit(0);
    });`;
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  // Unreferenced by grantQuietMoments, once its listeners are on (adding a 'message' listener references it again).
  return new Worker(code, { eval: true, workerData: { file, driver, restartBytes } });
}

/**
 * The main thread's side of a WAL restart: it holds the one connection (so no transaction of this process is open)
 * until the worker says it is done, or for at most a second, so a stuck worker cannot hold up the service.
 */
function grantQuietMoments(worker: Worker, db: Kysely<Database>, onRestart?: () => void): void {
  let exited = false;
  worker.once('exit', () => (exited = true));
  worker.on('message', (message) => {
    if (message !== 'quiet?') return;
    void db
      .connection()
      .execute(
        () =>
          new Promise<void>((resolve) => {
            if (exited) return resolve(); // stopped (the database is closing) while the connection was busy
            const finish = () => {
              clearTimeout(timer);
              worker.off('message', onMessage);
              worker.off('exit', finish);
              resolve();
            };
            const onMessage = (reply: unknown) => {
              if (reply !== 'restarted') return;
              finish();
              onRestart?.();
            };
            const timer = setTimeout(finish, 1000);
            worker.on('message', onMessage);
            worker.once('exit', finish);
            worker.postMessage('quiet');
          }),
      )
      .catch(() => {}); // the database was closed meanwhile
  });
  worker.unref(); // the checkpointer never keeps the process alive
}

/** The database the configuration names: PostgreSQL with DATABASE_URL, else the SQLite file. */
export function openStorage(config: { databaseUrl?: string; databasePoolSize?: number; databaseFile: string }, sqlite: Partial<SqliteOptions> = {}): Storage {
  return config.databaseUrl
    ? openPostgres({ url: config.databaseUrl, poolSize: config.databasePoolSize })
    : openSqlite({ file: config.databaseFile, ...sqlite });
}

function migrator(storage: Storage): Migrator {
  const migrations = allMigrations(storage.dialect);
  const provider: MigrationProvider = { getMigrations: async () => migrations };
  return new Migrator({ db: storage.db, provider });
}

/** Names of migrations not yet applied (empty when the schema is current). */
export async function pendingMigrations(storage: Storage): Promise<string[]> {
  return (await migrator(storage).getMigrations()).filter((m) => m.executedAt === undefined).map((m) => m.name);
}

export async function migrate(storage: Storage): Promise<string[]> {
  const { error, results } = await migrator(storage).migrateToLatest();
  if (error) throw error;
  // SQLite: a process that stopped between a write made outside a transaction and its trigram flush left records
  // waiting (deferredNameIndex); any commit takes them, so an empty transaction does at start-up.
  if (storage.dialect === 'sqlite') await storage.db.transaction().execute(async () => {});
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
