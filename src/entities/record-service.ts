/**
 * The domain rules every entity shares: normalise a validated body, check references, stamp the audit fields,
 * refuse to delete what others still reference. Entities fill in the hooks; routes only ever call a service.
 */
import { randomUUID } from 'node:crypto';
import { ApiError, type FieldError } from '../http/errors.js';
import { nowIso } from '../http/dates.js';
import type { ListQuery } from '../http/list-query.js';
import type { RecordRepository } from '../storage/record-repository.js';

export interface Actor {
  userId: number;
  email: string;
}

export interface EntityService<Rec = unknown> {
  /** Singular Nexudus name: "CoworkerMsOfficeCalendar". */
  readonly entity: string;
  list(query: ListQuery): Promise<{ records: Rec[]; total: number }>;
  get(id: number): Promise<Rec | undefined>;
  getMany(ids: number[]): Promise<Rec[]>;
  create(body: Record<string, unknown>, actor: Actor): Promise<Rec>;
  update(id: number, body: Record<string, unknown>, actor: Actor): Promise<{ UpdatedOn: string }>;
  remove(id: number, actor: Actor): Promise<{ UpdatedOn: string }>;
}

/** Listeners for record changes: how other rooms (the Graph sync engine) follow records without routes knowing. */
export interface RecordObserver<Rec> {
  created?(record: Rec): Promise<void>;
  updated?(before: Rec, after: Rec): Promise<void>;
  /** Before the delete, with the record still readable. */
  deleting?(record: Rec): Promise<void>;
}

export abstract class RecordService<Rec, Values> implements EntityService<Rec> {
  private readonly observers: RecordObserver<Rec>[] = [];

  observe(observer: RecordObserver<Rec>): void {
    this.observers.push(observer);
  }

  constructor(
    readonly entity: string,
    protected readonly repo: RecordRepository<any, Rec>,
  ) {}

  /** Body (already schema-valid) → typed values. May throw ApiError.validation for rules a schema can't say. */
  protected abstract normalize(body: Record<string, unknown>, existingId?: number): Values | Promise<Values>;
  protected abstract toColumns(values: Values): Record<string, unknown>;
  /** Errors for references to records that don't exist. */
  protected async checkReferences(_values: Values, _existingId?: number): Promise<FieldError[]> {
    return [];
  }
  /** Human descriptions of the records that still reference this one (e.g. "CoworkerMsOfficeCalendar 4, 9"). */
  protected async referencedBy(_id: number): Promise<string[]> {
    return [];
  }
  /** Rules that depend on the stored record (e.g. the last administrator); runs after validation. */
  protected async beforeUpdate(_id: number, _values: Values): Promise<void> {}
  protected async afterUpdate(_id: number, _values: Values): Promise<void> {}
  protected async beforeDelete(_id: number): Promise<void> {}

  list(query: ListQuery) {
    return this.repo.list(query);
  }

  get(id: number) {
    return this.repo.findById(id);
  }

  getMany(ids: number[]) {
    return this.repo.findByIds(ids);
  }

  async create(body: Record<string, unknown>, actor: Actor): Promise<Rec> {
    const values = await this.validValues(body);
    const now = nowIso();
    const id = await this.repo.insert({
      ...this.toColumns(values),
      unique_id: randomUUID(),
      created_on: now,
      updated_on: now,
      updated_by: actor.email,
      is_new: 1,
    });
    const record = (await this.repo.findById(id))!;
    for (const o of this.observers) await o.created?.(record);
    return record;
  }

  async update(id: number, body: Record<string, unknown>, actor: Actor): Promise<{ UpdatedOn: string }> {
    const values = await this.validValues(body, id);
    if (!(await this.repo.exists(id))) throw this.notFound();
    await this.beforeUpdate(id, values);
    const before = this.observers.length ? await this.repo.findById(id) : undefined;
    const now = nowIso();
    const updated = await this.repo.updateById(id, { ...this.toColumns(values), updated_on: now, updated_by: actor.email, is_new: 0 });
    if (!updated) throw this.notFound();
    await this.afterUpdate(id, values);
    if (before) {
      const after = (await this.repo.findById(id))!;
      for (const o of this.observers) await o.updated?.(before, after);
    }
    return { UpdatedOn: now };
  }

  /** Marks a record changed without changing its fields (commands count as a change). */
  async touch(id: number, actor: Actor): Promise<{ UpdatedOn: string }> {
    const now = nowIso();
    if (!(await this.repo.updateById(id, { updated_on: now, updated_by: actor.email, is_new: 0 }))) throw this.notFound();
    return { UpdatedOn: now };
  }

  async remove(id: number, _actor: Actor): Promise<{ UpdatedOn: string }> {
    if (!(await this.repo.exists(id))) throw this.notFound();
    const holders = await this.referencedBy(id);
    if (holders.length) {
      throw ApiError.field('Id', `${this.entity} ${id} is still referenced by ${holders.join('; ')}; remove or change those first`, id);
    }
    await this.beforeDelete(id);
    if (this.observers.length) {
      const record = await this.repo.findById(id);
      if (record) for (const o of this.observers) await o.deleting?.(record);
    }
    if (!(await this.repo.deleteById(id))) throw this.notFound();
    return { UpdatedOn: nowIso() };
  }

  notFound(): ApiError {
    return ApiError.notFound(`${this.entity} not found.`);
  }

  private async validValues(body: Record<string, unknown>, existingId?: number): Promise<Values> {
    const values = await this.normalize(body, existingId);
    const errors = await this.checkReferences(values, existingId);
    if (errors.length) throw ApiError.validation(errors);
    return values;
  }
}

/** "CoworkerMsOfficeCalendar 4, 9" (at most 10 ids; callers fetch 11 to know there are more). */
export function describeHolders(entity: string, ids: number[]): string {
  const shown = ids.slice(0, 10).join(', ');
  return ids.length > 10 ? `${entity} ${shown} and more` : `${entity} ${shown}`;
}
