/**
 * The domain rules every entity shares: normalise a validated body, check references, stamp the audit fields,
 * refuse to delete what others still reference. Each write is one unit of work: the record, and whatever observers
 * write because of it (a Graph connection and its jobs), commit together or not at all.
 */
import { newUniqueId } from '../../core/unique-id.js';
import type { Kysely } from 'kysely';
import { AppError, type FieldError } from '../../core/errors.js';
import type { Clock } from '../../core/clock.js';
import type { ListQuery } from '../../core/list-query.js';
import type { Database } from '../../storage/schema.js';
import { retryingConflicts, withTransaction, type Executor } from '../../storage/unit-of-work.js';
import type { CreateFollowUp, RecordRepository, ReferenceGuard } from './record-repository.js';

export interface Actor {
  userId: number;
  email: string;
}

export interface EntityReader<Rec = unknown> {
  /** Singular Nexudus name: "CoworkerMsOfficeCalendar". */
  readonly entity: string;
  list(query: ListQuery): Promise<{ records: Rec[]; total: number }>;
  get(id: number): Promise<Rec | undefined>;
  getMany(ids: number[]): Promise<Rec[]>;
}

/** Read-only records of one entity (cancelled bookings): list, get, batch. */
export class RecordReader<Rec> implements EntityReader<Rec> {
  constructor(readonly entity: string, protected readonly repo: RecordRepository<any, Rec>) {}
  list(query: ListQuery) {
    return this.repo.list(query);
  }
  get(id: number) {
    return this.repo.findById(id);
  }
  getMany(ids: number[]) {
    return this.repo.findByIds(ids);
  }
}

/** A reference a record must hold, with the error that names it when the referenced row does not exist. */
export type Reference = ReferenceGuard & { error: FieldError };

export interface EntityService<Rec = unknown> extends EntityReader<Rec> {
  create(body: Record<string, unknown>, actor: Actor): Promise<Rec>;
  update(id: number, body: Record<string, unknown>, actor: Actor): Promise<{ UpdatedOn: string }>;
  remove(id: number, actor: Actor): Promise<{ UpdatedOn: string }>;
}

/**
 * Listeners for record changes: how other modules (the Graph connections) follow records without routes knowing.
 * They run inside the write's transaction, with its executor: a failing observer rolls the write back.
 */
export interface RecordObserver<Rec> {
  created?(record: Rec, trx: Executor): Promise<void>;
  /**
   * PostgreSQL: what `created` writes, inside the create's own statement (CreateFollowUp), so a create with no
   * transaction of its caller's is one statement without BEGIN and COMMIT; `settled` runs once it committed, with the
   * statement's row. A create with an observer that has `created` but not this runs as a transaction.
   */
  createdInStatement?: { followUp: CreateFollowUp; settled(row: Record<string, unknown>, db: Executor): Promise<void> };
  updated?(before: Rec, after: Rec, trx: Executor): Promise<void>;
  /** Before the delete, with the record still readable. */
  deleting?(record: Rec, trx: Executor): Promise<void>;
}

export interface RecordServiceDeps {
  db: Kysely<Database>;
  clock: Clock;
}

export abstract class RecordService<Rec extends { Id: number }, Values> extends RecordReader<Rec> implements EntityService<Rec> {
  private readonly observers: RecordObserver<Rec>[] = [];
  /**
   * Whether this entity's writes may share a commit with others on SQLite (unit-of-work group commit). Off for a
   * service whose write awaits more than the database (a password hash): the whole group would wait for it.
   */
  protected readonly groupCommit: boolean = true;
  protected readonly db: Kysely<Database>;
  protected readonly clock: Clock;

  /**
   * PostgreSQL: the observers' writes on create as follow-ups of the record's own statement, when every observer that
   * writes on create has that form (null otherwise: creates run as transactions). Worked out as observers are added.
   */
  private statementFollowUps: CreateFollowUp[] | null = [];

  observe(observer: RecordObserver<Rec>): void {
    this.observers.push(observer);
    if (observer.createdInStatement) this.statementFollowUps?.push(observer.createdInStatement.followUp);
    else if (observer.created) this.statementFollowUps = null;
  }

  constructor(entity: string, repo: RecordRepository<any, Rec>, deps: RecordServiceDeps) {
    super(entity, repo);
    this.db = deps.db;
    this.clock = deps.clock;
  }

  /** Body (already schema-valid) → typed values. May throw AppError.validation for rules a schema can't say. */
  protected abstract normalize(body: Record<string, unknown>, existingId: number | undefined, trx: Executor): Values | Promise<Values>;
  /** Values → the columns to write; on update, `existing` is the stored record. */
  protected abstract toColumns(values: Values, existing?: Rec, trx?: Executor): Record<string, unknown> | Promise<Record<string, unknown>>;
  /**
   * References that must exist, each with the error that names it when it does not. A create checks them inside its
   * insert (one statement); the errors are worked out only when that insert found one missing. Updates check them
   * one by one.
   */
  protected referenceGuards(_values: Values): Reference[] {
    return [];
  }
  /** Errors for references a guard cannot say (rules over several rows). */
  protected async checkReferences(_values: Values, _trx: Executor, _existingId?: number): Promise<FieldError[]> {
    return [];
  }
  /** Human descriptions of the records that still reference this one (e.g. "CoworkerMsOfficeCalendar 4, 9"). */
  protected async referencedBy(_id: number, _trx: Executor): Promise<string[]> {
    return [];
  }
  protected async afterUpdate(_id: number, _values: Values, _trx: Executor): Promise<void> {}
  protected async beforeDelete(_id: number, _trx: Executor): Promise<void> {}

  protected nowIso(): string {
    return new Date(this.clock.now()).toISOString();
  }

  async create(body: Record<string, unknown>, actor: Actor, executor?: Executor): Promise<Rec> {
    const inStatement = this.createsInOneStatement(executor);
    const unit = async (trx: Executor) => {
      const values = await this.normalize(body, undefined, trx);
      const errors = await this.checkReferences(values, trx);
      if (errors.length) throw AppError.validation(errors);
      const guards = this.referenceGuards(values);
      const nowMs = this.clock.now();
      const now = new Date(nowMs).toISOString();
      const created = await this.repo.createRow({
        ...(await this.toColumns(values, undefined, trx)),
        unique_id: newUniqueId(nowMs), // the same millisecond as CreatedOn
        created_on: now,
        updated_on: now,
        updated_by: actor.email,
        is_new: 1,
      }, guards, trx, inStatement ? this.statementFollowUps! : []);
      if (created === undefined) {
        const missing = await this.missingReferences(guards, trx);
        // Found now but not by the insert: the referenced row came or went meanwhile (PostgreSQL, another process).
        throw AppError.validation(missing.length ? missing : guards.slice(0, 1).map((g) => ({ ...g.error, Message: `${g.error.Message}, or it changed while this record was being created; try again` })));
      }
      for (const o of this.observers) {
        if (inStatement) await o.createdInStatement?.settled(created.row, trx);
        else await o.created?.(created.record, trx);
      }
      return created.record;
    };
    return inStatement ? retryingConflicts(() => unit(this.db)) : withTransaction(this.db, executor, unit, { group: this.groupCommit });
  }

  /**
   * Whether a create is one statement: on PostgreSQL (where an INSERT may sit in a CTE), with no transaction of its
   * caller's, when every observer that writes on create can do it inside that statement. It saves BEGIN and COMMIT, and
   * each observer's round trips; SQLite shares commits instead (group commit).
   */
  private createsInOneStatement(executor: Executor | undefined): boolean {
    return this.statementFollowUps !== null && this.repo.createsWithFollowUps && !executor?.isTransaction;
  }

  private async missingReferences(guards: Reference[], trx: Executor): Promise<FieldError[]> {
    const missing: FieldError[] = [];
    for (const g of guards) if (!(await this.repo.rowExists(g, trx))) missing.push(g.error);
    return missing;
  }

  async update(id: number, body: Record<string, unknown>, actor: Actor, executor?: Executor): Promise<{ UpdatedOn: string }> {
    return withTransaction(this.db, executor, async (trx) => {
      const values = await this.validValues(body, id, trx);
      const before = await this.repo.findById(id, trx);
      if (!before) throw this.notFound();
      const now = this.nowIso();
      const updated = await this.repo.updateById(id, { ...(await this.toColumns(values, before, trx)), updated_on: now, updated_by: actor.email, is_new: 0 }, trx);
      if (!updated) throw this.notFound();
      await this.afterUpdate(id, values, trx);
      if (this.observers.length) {
        const after = (await this.repo.findById(id, trx))!;
        for (const o of this.observers) await o.updated?.(before, after, trx);
      }
      return { UpdatedOn: now };
    }, { group: this.groupCommit });
  }

  /** Marks a record changed without changing its fields (commands count as a change). */
  async touch(id: number, actor: Actor, executor?: Executor): Promise<{ UpdatedOn: string }> {
    const now = this.nowIso();
    if (!(await this.repo.updateById(id, { updated_on: now, updated_by: actor.email, is_new: 0 }, executor))) throw this.notFound();
    return { UpdatedOn: now };
  }

  async remove(id: number, _actor: Actor, executor?: Executor): Promise<{ UpdatedOn: string }> {
    return withTransaction(this.db, executor, async (trx) => {
      const record = await this.repo.findById(id, trx);
      if (!record) throw this.notFound();
      const holders = await this.referencedBy(id, trx);
      if (holders.length) {
        throw AppError.field('Id', `${this.entity} ${id} is still referenced by ${holders.join('; ')}; remove or change those first`, id);
      }
      await this.beforeDelete(id, trx);
      for (const o of this.observers) await o.deleting?.(record, trx);
      if (!(await this.repo.deleteById(id, trx))) throw this.notFound();
      return { UpdatedOn: this.nowIso() };
    }, { group: this.groupCommit });
  }

  notFound(): AppError {
    return AppError.notFound(`${this.entity} not found.`);
  }

  private async validValues(body: Record<string, unknown>, existingId: number | undefined, trx: Executor): Promise<Values> {
    const values = await this.normalize(body, existingId, trx);
    const errors = [...await this.missingReferences(this.referenceGuards(values), trx), ...await this.checkReferences(values, trx, existingId)];
    if (errors.length) throw AppError.validation(errors);
    return values;
  }
}

/** "CoworkerMsOfficeCalendar 4, 9" (at most 10 ids; callers fetch 11 to know there are more). */
export function describeHolders(entity: string, ids: number[]): string {
  const shown = ids.slice(0, 10).join(', ');
  return ids.length > 10 ? `${entity} ${shown} and more` : `${entity} ${shown}`;
}
