/**
 * The job table's SQL. One store for both databases; the claim differs: on PostgreSQL many processes claim at once,
 * so due rows are locked with FOR UPDATE SKIP LOCKED (each row goes to exactly one claimer); SQLite has one writer.
 */
import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';
import type { Database, JobTable } from '../storage/schema.js';
import type { Dialect } from '../storage/database.js';
import type { Executor } from '../storage/unit-of-work.js';
import type { Clock } from '../core/clock.js';
import { preparedQuery } from '../storage/prepared.js';

export interface JobSpec {
  type: string;
  payload?: unknown;
  /** When to run (ms since epoch); default now. */
  runAt?: number;
  /** At most one pending job per key. */
  dedupeKey?: string;
  maxAttempts?: number;
}

export interface Job {
  id: number;
  type: string;
  payload: unknown;
  attempts: number;
  maxAttempts: number;
  dedupeKey: string | null;
}

export type JobState = JobTable['state'];

export interface JobRow {
  id: number;
  type: string;
  state: JobState;
  runAt: string;
  attempts: number;
  maxAttempts: number;
  dedupeKey: string | null;
  lastError: string | null;
  updatedAt: string;
}

/** What jobInsert's source rows do not say: the same for every job it adds. */
export interface JobColumns {
  type: unknown;
  runAt: unknown;
  maxAttempts: unknown;
  now: unknown;
}

/**
 * The one enqueue statement: a pending job for each row of `rows` (its `payload` and `dedupe_key` columns), none where
 * a pending job has the same key. JobStore.enqueue runs it over one row of parameters; a PostgreSQL statement that
 * writes something and its job together (a data-modifying CTE) runs it over the rows it wrote.
 */
export function jobInsert(db: Kysely<any>, rows: SelectQueryBuilder<any, any, { payload: unknown; dedupe_key: unknown }>, c: JobColumns) {
  const src = rows.as('job_source');
  return db
    .insertInto('jobs')
    .columns(['type', 'payload', 'state', 'run_at', 'attempts', 'max_attempts', 'dedupe_key', 'created_at', 'updated_at'])
    .expression(db.selectFrom(src).select([
      sql`${c.type}`.as('type'), 'job_source.payload', sql.lit('pending').as('state'), sql`${c.runAt}`.as('run_at'), sql.lit(0).as('attempts'),
      sql`${c.maxAttempts}`.as('max_attempts'), 'job_source.dedupe_key', sql`${c.now}`.as('created_at'), sql`${c.now}`.as('updated_at'),
    // SQLite reads `ON CONFLICT` right after a FROM as a join's constraint unless a WHERE comes between.
    ]).where(sql<boolean>`true`) as never)
    // The literal (not a parameter) lets both databases match the partial unique index.
    .onConflict((oc) => oc.column('dedupe_key').where(sql<boolean>`state = 'pending'`).doNothing())
    .returning('id');
}

/** Attempts before a job is dead, unless its spec says otherwise. */
export const DEFAULT_MAX_ATTEMPTS = 8;

const UNIQUE_VIOLATION = new Set(['SQLITE_CONSTRAINT_UNIQUE', '23505']);

export class JobStore {
  /** Built once: every enqueue is the same statement (on PostgreSQL a named one). */
  private readonly insertJob;

  constructor(
    readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
    readonly clock: Clock,
  ) {
    this.insertJob = preparedQuery(db, (type: string, payload: string, runAt: number, maxAttempts: number, dedupeKey: string | null, now: number) =>
      jobInsert(db, db.selectNoFrom([sql`${payload}`.as('payload'), sql`${dedupeKey}`.as('dedupe_key')]), { type, runAt, maxAttempts, now }), 6);
  }

  /**
   * Adds a job. With a dedupeKey that already has a pending job, adds nothing and says so; the pending job keeps its
   * payload but moves to the earlier of the two run times (a "renew now" beats a renewal scheduled for next week).
   * Pass the caller's transaction as `db` to enqueue inside it: the job exists exactly when that transaction commits.
   */
  async enqueue(spec: JobSpec, db: Executor = this.db): Promise<{ id: number | null; deduped: boolean }> {
    const now = this.clock.now();
    const runAt = spec.runAt ?? now;
    const [row] = await this.insertJob.on(db, spec.type, JSON.stringify(spec.payload ?? null), runAt, spec.maxAttempts ?? DEFAULT_MAX_ATTEMPTS, spec.dedupeKey ?? null, now);
    if (row) return { id: Number(row.id), deduped: false };
    await db.updateTable('jobs').set({ run_at: runAt, updated_at: now })
      .where('dedupe_key', '=', spec.dedupeKey!).where('state', '=', 'pending').where('run_at', '>', runAt).execute();
    return { id: null, deduped: true };
  }

  /**
   * Takes up to `limit` due jobs (or jobs whose lease ran out) of the given types for this worker. A worker claims only
   * what it has handlers for: an API-only process (SYNC_ENGINE=off) must not take Graph jobs and fail them.
   */
  async claim(workerId: string, limit: number, leaseMs: number, now = this.clock.now(), types?: readonly string[]): Promise<Job[]> {
    if (types && !types.length) return [];
    let due = this.db
      .selectFrom('jobs')
      .select('id')
      .where((eb) => eb.or([
        eb.and([eb('state', '=', 'pending'), eb('run_at', '<=', now)]),
        eb.and([eb('state', '=', 'running'), eb('lock_expires_at', '<', now)]),
      ]))
      .orderBy('run_at')
      .orderBy('id')
      .limit(limit);
    if (types) due = due.where('type', 'in', [...types]);
    if (this.dialect === 'postgres') due = due.forUpdate().skipLocked();
    const rows = await this.db
      .updateTable('jobs')
      .set((eb) => ({ state: 'running', locked_by: workerId, lock_expires_at: now + leaseMs, attempts: eb('attempts', '+', 1), updated_at: now }))
      .where('id', 'in', due)
      .returning(['id', 'type', 'payload', 'attempts', 'max_attempts', 'dedupe_key'])
      .execute();
    return rows.map((r) => ({
      id: Number(r.id),
      type: r.type,
      payload: JSON.parse(r.payload),
      attempts: r.attempts,
      maxAttempts: r.max_attempts,
      dedupeKey: r.dedupe_key,
    }));
  }

  /** Extends the lease of a job this worker still holds. */
  async extend(id: number, workerId: string, until: number): Promise<boolean> {
    const r = await this.db.updateTable('jobs').set({ lock_expires_at: until }).where('id', '=', id).where('locked_by', '=', workerId).where('state', '=', 'running').executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Marks done; false when the lease was lost to another worker meanwhile. */
  async complete(id: number, workerId: string, now = this.clock.now()): Promise<boolean> {
    const r = await this.db.updateTable('jobs').set({ state: 'done', locked_by: null, lock_expires_at: null, last_error: null, updated_at: now })
      .where('id', '=', id).where('locked_by', '=', workerId).where('state', '=', 'running').executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Schedules a retry at `retryAt`, or (null) moves the job to dead. */
  async fail(id: number, workerId: string, error: string, retryAt: number | null, now = this.clock.now()): Promise<void> {
    const held = this.db.updateTable('jobs').where('id', '=', id).where('locked_by', '=', workerId).where('state', '=', 'running');
    const lastError = error.slice(0, 2000);
    if (retryAt === null) {
      await held.set({ state: 'dead', locked_by: null, lock_expires_at: null, last_error: lastError, updated_at: now }).execute();
      return;
    }
    try {
      await held.set({ state: 'pending', run_at: retryAt, locked_by: null, lock_expires_at: null, last_error: lastError, updated_at: now }).execute();
    } catch (err) {
      // A newer pending job with the same key exists: it will do this work, so this one is done.
      if (!UNIQUE_VIOLATION.has((err as { code?: string }).code ?? '')) throw err;
      await held.set({ state: 'done', locked_by: null, lock_expires_at: null, last_error: `${lastError} (superseded by a pending job with the same key)`, updated_at: now }).execute();
    }
  }

  /** Puts dead jobs back to pending, to be tried again from scratch. */
  async retryDead(ids: number[], now = this.clock.now()): Promise<number> {
    if (!ids.length) return 0;
    const r = await this.db.updateTable('jobs').set({ state: 'pending', attempts: 0, run_at: now, updated_at: now })
      .where('id', 'in', ids).where('state', '=', 'dead').executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** Job counts by type and state, for operators (which kind of work is failing). */
  async countsByType(): Promise<Array<{ type: string } & Record<JobState, number>>> {
    const rows = await this.db.selectFrom('jobs').select(['type', 'state', (eb) => eb.fn.countAll<number>().as('n')]).groupBy(['type', 'state']).orderBy('type').execute();
    const byType = new Map<string, { type: string } & Record<JobState, number>>();
    for (const r of rows) {
      const entry = byType.get(r.type) ?? { type: r.type, pending: 0, running: 0, done: 0, dead: 0 };
      entry[r.state as JobState] = Number(r.n);
      byType.set(r.type, entry);
    }
    return [...byType.values()];
  }

  async counts(): Promise<Record<JobState, number>> {
    const rows = await this.db.selectFrom('jobs').select(['state', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('state').execute();
    const out: Record<JobState, number> = { pending: 0, running: 0, done: 0, dead: 0 };
    for (const r of rows) out[r.state] = Number(r.n);
    return out;
  }

  async list(state: JobState | undefined, limit: number): Promise<JobRow[]> {
    let q = this.db.selectFrom('jobs').select(['id', 'type', 'state', 'run_at', 'attempts', 'max_attempts', 'dedupe_key', 'last_error', 'updated_at']).orderBy('id', 'desc').limit(limit);
    if (state) q = q.where('state', '=', state);
    const rows = await q.execute();
    return rows.map((r) => ({
      id: Number(r.id), type: r.type, state: r.state, runAt: new Date(Number(r.run_at)).toISOString(), attempts: r.attempts,
      maxAttempts: r.max_attempts, dedupeKey: r.dedupe_key, lastError: r.last_error, updatedAt: new Date(Number(r.updated_at)).toISOString(),
    }));
  }

  /**
   * The newest jobs with one of `keys` as dedupe key, or a key starting with one of `prefixes`: what the queue did
   * for one subject (kept until purged). Not indexed by key: an operator's page, not a hot path.
   */
  async history(keys: string[], prefixes: string[], limit: number): Promise<Array<{ type: string; dedupe_key: string | null; state: JobState; attempts: number; updated_at: number; last_error: string | null }>> {
    // Prefixes are the queue's own keys (no % or _), so LIKE needs no escaping here.
    if (prefixes.some((p) => /[%_\\]/.test(p))) throw new Error(`a history prefix cannot hold LIKE wildcards: ${prefixes.join(', ')}`);
    const rows = await this.db.selectFrom('jobs').select(['type', 'dedupe_key', 'state', 'attempts', 'updated_at', 'last_error'])
      .where((eb) => eb.or([...(keys.length ? [eb('dedupe_key', 'in', keys)] : []), ...prefixes.map((p) => eb('dedupe_key', 'like', `${p}%`))]))
      .orderBy('id', 'desc').limit(limit).execute();
    return rows.map((r) => ({ ...r, updated_at: Number(r.updated_at) }));
  }

  /** Forgets dead jobs older than `before` (operators have had their time to look at them). */
  async purgeDead(before: number): Promise<number> {
    const r = await this.db.deleteFrom('jobs').where('state', '=', 'dead').where('updated_at', '<', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /** Forgets finished jobs older than `before`. */
  async purgeDone(before: number): Promise<number> {
    const r = await this.db.deleteFrom('jobs').where('state', '=', 'done').where('updated_at', '<', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
