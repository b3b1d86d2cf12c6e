/**
 * The transaction seam. Repositories take an Executor (the Kysely instance, or a transaction), so a service can run
 * several repository calls, and enqueue the jobs they start, in one transaction on both databases (the transactional
 * outbox: a job exists exactly when the write that asked for it committed).
 *
 * Work that must only happen once the data is visible to others (list-total invalidation, waking the job queue)
 * goes through afterCommit: run at once outside a transaction, after the commit inside one, never on a rollback.
 *
 * SQLite: the driver has one connection and Kysely holds it for the whole transaction, so no other request's
 * statement runs in between: a check made inside a transaction cannot be invalidated by another write. Group
 * commit (groupedTransaction) runs the waiting units one after another inside one such transaction, so the same
 * holds; a grouped unit must await only the database (anything slower holds every unit of its group).
 * PostgreSQL: each transaction has its own pooled connection; checks that must hold until commit are enforced by
 * the database (constraints, row locks, conditional writes).
 */
import { SqliteAdapter, sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.js';

export type Executor = Kysely<Database> | Transaction<Database>;

const pendingAfterCommit = new WeakMap<Transaction<Database>, Array<() => unknown>>();

/** Runs fn in a transaction; the callbacks it registered with afterCommit run after a successful commit. */
export async function inTransaction<T>(db: Kysely<Database>, fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  return retryingConflicts(async () => {
    let callbacks: Array<() => unknown> = [];
    const result = await db.transaction().execute(async (trx) => {
      callbacks = [];
      pendingAfterCommit.set(trx, callbacks);
      return fn(trx);
    });
    for (const cb of callbacks) await cb();
    return result;
  });
}

/**
 * Runs a write again (twice at most) when PostgreSQL aborted it to resolve a deadlock or a serialization conflict:
 * a transaction (inTransaction), or a write that is one statement on its own (a create, RecordService).
 */
export async function retryingConflicts<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      if (attempt >= 3 || !RETRYABLE.has((err as { code?: string }).code ?? '')) throw err;
    }
  }
}

const RETRYABLE = new Set(['40P01', '40001']);

/**
 * Inside an open transaction: use it (the caller's unit of work). Outside: start one. Lets a service method be
 * called on its own or as part of a larger unit of work. `group`: on SQLite, the unit may share its commit with
 * others (see groupedTransaction); elsewhere it has no effect.
 */
export function withTransaction<T>(
  db: Kysely<Database>, executor: Executor | undefined, fn: (trx: Transaction<Database>) => Promise<T>, options: { group?: boolean } = {},
): Promise<T> {
  if (executor?.isTransaction) return fn(executor as Transaction<Database>);
  if (options.group && db.getExecutor().adapter instanceof SqliteAdapter) return groupedTransaction(db, fn);
  return inTransaction(db, fn);
}

interface GroupedUnit {
  fn: (trx: Transaction<Database>) => Promise<unknown>;
  resolve: (value: any) => void;
  reject: (err: unknown) => void;
}
const waitingUnits = new WeakMap<Kysely<Database>, GroupedUnit[]>();

/**
 * Group commit (SQLite): units of work that wait for the one connection together share one transaction, each in its
 * own savepoint. A unit that fails is rolled back to its savepoint and fails alone; the others commit together, so a
 * commit writes each touched page (index tails, the trigram index, the job queue) once per group instead of once per
 * unit. Units still run one after another, exactly as separate transactions on the one connection would, so a check
 * made inside a unit holds at its commit. A unit's afterCommit callbacks run, and its promise settles, only after the
 * group's commit. If the group's transaction fails as a whole (its commit, or a rollback to a savepoint), every unit
 * of the group runs again alone, those that had failed in it too (their error may have come from an earlier unit).
 */
function groupedTransaction<T>(db: Kysely<Database>, fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let units = waitingUnits.get(db);
    if (!units) {
      waitingUnits.set(db, (units = []));
      setImmediate(() => void commitGroup(db));
    }
    units.push({ fn, resolve, reject });
  });
}

const MAX_GROUP = 32;

async function commitGroup(db: Kysely<Database>): Promise<void> {
  let units: GroupedUnit[] = [];
  const done: Array<{ unit: GroupedUnit; value: unknown; callbacks: Array<() => unknown> }> = [];
  const failed: Array<{ unit: GroupedUnit; err: unknown }> = [];
  try {
    await db.transaction().execute(async (trx) => {
      // The group closes once the connection is ours: units that arrived while it was busy join this commit.
      const waiting = waitingUnits.get(db) ?? [];
      units = waiting.splice(0, MAX_GROUP);
      if (!waiting.length) waitingUnits.delete(db);
      else setImmediate(() => void commitGroup(db));
      for (const unit of units) {
        const callbacks: Array<() => unknown> = [];
        pendingAfterCommit.set(trx, callbacks);
        await sql`SAVEPOINT calbridge_unit`.execute(trx);
        try {
          const value = await unit.fn(trx);
          await sql`RELEASE calbridge_unit`.execute(trx);
          done.push({ unit, value, callbacks });
        } catch (err) {
          await sql`ROLLBACK TO calbridge_unit`.execute(trx);
          await sql`RELEASE calbridge_unit`.execute(trx);
          failed.push({ unit, err });
        }
      }
    });
  } catch {
    if (!units.length) {
      // The transaction never began (the units were not taken yet): they run alone.
      units = waitingUnits.get(db) ?? [];
      waitingUnits.delete(db);
    }
    // Every unit runs again alone, those that failed in the group too: their error may have come from an earlier
    // unit's writes, which were rolled back with the group.
    for (const unit of units) await inTransaction(db, unit.fn).then(unit.resolve, unit.reject);
    return;
  }
  for (const { unit, err } of failed) unit.reject(err);
  for (const { unit, value, callbacks } of done) {
    try {
      for (const cb of callbacks) await cb();
      unit.resolve(value);
    } catch (err) {
      unit.reject(err);
    }
  }
}

/** Runs cb once what `executor` wrote is committed: now, or after its transaction commits. */
export async function afterCommit(executor: Executor, cb: () => unknown): Promise<void> {
  if (!executor.isTransaction) return void (await cb());
  const pending = pendingAfterCommit.get(executor as Transaction<Database>);
  // A transaction opened elsewhere would run cb before its commit: that is a bug, not a fallback.
  if (!pending) throw new Error('afterCommit: the transaction was not opened with inTransaction()');
  pending.push(cb);
}
