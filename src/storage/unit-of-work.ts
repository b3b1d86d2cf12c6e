/**
 * The transaction seam. Repositories take an Executor (the Kysely instance, or a transaction), so a service can run
 * several repository calls, and enqueue the jobs they start, in one transaction on both databases (the transactional
 * outbox: a job exists exactly when the write that asked for it committed).
 *
 * Work that must only happen once the data is visible to others (list-total invalidation, waking the job queue)
 * goes through afterCommit: run at once outside a transaction, after the commit inside one, never on a rollback.
 *
 * SQLite: the driver has one connection and Kysely holds it for the whole transaction, so no other request's
 * statement runs in between: a check made inside a transaction cannot be invalidated by another write. The group
 * commit of RecordRepository.insert batches only inserts made outside a transaction, in a transaction of its own
 * that also holds the connection, so the two never interleave.
 * PostgreSQL: each transaction has its own pooled connection; checks that must hold until commit are enforced by
 * the database (constraints, row locks, conditional writes).
 */
import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.js';

export type Executor = Kysely<Database> | Transaction<Database>;

const pendingAfterCommit = new WeakMap<Transaction<Database>, Array<() => unknown>>();

/** Runs fn in a transaction; the callbacks it registered with afterCommit run after a successful commit. */
export async function inTransaction<T>(db: Kysely<Database>, fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    let callbacks: Array<() => unknown> = [];
    try {
      const result = await db.transaction().execute(async (trx) => {
        callbacks = [];
        pendingAfterCommit.set(trx, callbacks);
        return fn(trx);
      });
      for (const cb of callbacks) await cb();
      return result;
    } catch (err) {
      // PostgreSQL resolves a deadlock (or a serialization conflict) by aborting one side: that side runs again.
      if (attempt >= 3 || !RETRYABLE.has((err as { code?: string }).code ?? '')) throw err;
    }
  }
}

const RETRYABLE = new Set(['40P01', '40001']);

/**
 * Inside an open transaction: use it (the caller's unit of work). Outside: start one. Lets a service method be
 * called on its own or as part of a larger unit of work.
 */
export function withTransaction<T>(db: Kysely<Database>, executor: Executor | undefined, fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  if (executor?.isTransaction) return fn(executor as Transaction<Database>);
  return inTransaction(db, fn);
}

/** Runs cb once what `executor` wrote is committed: now, or after its transaction commits. */
export async function afterCommit(executor: Executor, cb: () => unknown): Promise<void> {
  if (!executor.isTransaction) return void (await cb());
  const pending = pendingAfterCommit.get(executor as Transaction<Database>);
  // A transaction opened elsewhere would run cb before its commit: that is a bug, not a fallback.
  if (!pending) throw new Error('afterCommit: the transaction was not opened with inTransaction()');
  pending.push(cb);
}
