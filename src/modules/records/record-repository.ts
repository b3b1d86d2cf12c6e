/**
 * The storage half every entity shares: get by id, get many, list (filters, order, paging, total), insert, update and
 * delete of one table, all derived from the entity's declaration. Every method takes an optional Executor, so a service
 * can run several of them in one transaction. Entity repositories add their own queries on top.
 */
import { sql, type Kysely, type RawBuilder, type SelectQueryBuilder } from 'kysely';
import type { ListQuery } from '../../core/list-query.js';
import type { Database as Schema } from '../../storage/schema.js';
import type { Storage } from '../../storage/database.js';
import { preparedQuery, type PreparedQuery } from '../../storage/prepared.js';
import { afterCommit, type Executor } from '../../storage/unit-of-work.js';
import { applyWhere, conditionSql, joinsNeeded, orderSql, pageOffset } from './list-sql.js';
import type { Entity, RecordOf } from './entity.js';

type AnySelect = SelectQueryBuilder<any, any, any>;

/** How one list query reads: overridable by entities with special indexes (e.g. full-text). */
export interface ListPlan {
  rows: AnySelect;
  count: AnySelect;
  where: RawBuilder<unknown>[];
  order: RawBuilder<unknown>;
}

export class RecordRepository<E extends Entity<any>, Rec = RecordOf<E['fields']>> {
  readonly db: Kysely<Schema>;
  private readonly byId: PreparedQuery<Record<string, unknown>, [number]>;
  protected readonly idColumn: string;

  constructor(
    protected readonly storage: Storage,
    readonly entity: E,
  ) {
    this.db = storage.db;
    this.idColumn = `${entity.alias}.id`;
    this.byId = preparedQuery(this.db, (id: number) => this.selectRows(this.db).where(this.idColumn, '=', id), 1) as never;
  }

  /** FROM the table with the joins and columns a record needs. */
  protected selectRows(db: Executor): AnySelect {
    return this.entity.selectRecord(db.selectFrom(`${this.entity.table} as ${this.entity.alias}` as never));
  }

  protected toRecord(row: Record<string, unknown>): Rec {
    return this.entity.toRecord(row) as Rec;
  }

  async findById(id: number, db: Executor = this.db): Promise<Rec | undefined> {
    const rows = await this.byId.on(db, id);
    return rows.length ? this.toRecord(rows[0]!) : undefined;
  }

  /** Records for the ids that exist, in the order asked. */
  async findByIds(ids: number[], db: Executor = this.db): Promise<Rec[]> {
    if (!ids.length) return [];
    const rows = (await this.selectRows(db).where(this.idColumn, 'in', ids).execute()) as Record<string, unknown>[];
    const byId = new Map(rows.map((r) => [r.id as number, r]));
    return ids.flatMap((id) => (byId.has(id) ? [this.toRecord(byId.get(id)!)] : []));
  }

  async exists(id: number, db: Executor = this.db): Promise<boolean> {
    const from = db.selectFrom(`${this.entity.table} as ${this.entity.alias}` as never) as AnySelect;
    const row = await this.entity.scope(from).select(this.idColumn).where(this.idColumn, '=', id).executeTakeFirst();
    return row !== undefined;
  }

  async list(query: ListQuery): Promise<{ records: Rec[]; total: number }> {
    const plan = this.plan(query);
    const rowsQuery = applyWhere(plan.rows, plan.where).orderBy(plan.order as never).limit(query.size).offset(pageOffset(query));
    const countQuery = applyWhere(plan.count, plan.where).select(sql<number>`count(*)`.as('n'));
    const compiledCount = countQuery.compile();
    const count = async () => Number((await this.db.executeQuery<{ n: number | string }>(compiledCount)).rows[0]?.n ?? 0);
    const total = this.storage.counts && this.totalCacheable(query)
      ? await this.storage.counts.total(`${compiledCount.sql}\u0000${JSON.stringify(compiledCount.parameters)}`, count)
      : await count();
    // Past the last page there is nothing to read.
    const rows = pageOffset(query) < total ? ((await rowsQuery.execute()) as Record<string, unknown>[]) : [];
    return { records: rows.map((r) => this.toRecord(r)), total };
  }

  /** Whether a list total may be remembered until the next write through this repository's table. */
  protected totalCacheable(_query: ListQuery): boolean {
    return true;
  }

  /** The default plan: the rows query with its joins, a count over the base table plus only the joins needed. */
  protected plan(query: ListQuery): ListPlan {
    const { entity } = this;
    let count: AnySelect = entity.scope(this.db.selectFrom(`${entity.table} as ${entity.alias}` as never));
    for (const join of joinsNeeded({ conditions: query.conditions }, entity.columns)) count = entity.joins[join]!(count);
    return {
      rows: this.withJoins(this.selectRows(this.db), query),
      count,
      where: query.conditions.map((c) => conditionSql(c, entity.columns)),
      order: orderSql(query, entity.columns, this.idColumn),
    };
  }

  /** Adds the joins the query's conditions or order need and the rows query lacks. */
  protected withJoins(rows: AnySelect, query: ListQuery): AnySelect {
    for (const join of joinsNeeded(query, this.entity.columns)) {
      if (!this.entity.rowJoins.includes(join)) rows = this.entity.joins[join]!(rows);
    }
    return rows;
  }

  /** List totals are counted again once this write is committed. */
  protected async invalidateCounts(db: Executor): Promise<void> {
    const counts = this.storage.counts;
    if (counts) await afterCommit(db, () => counts.invalidate());
  }

  /**
   * Inserts a row and answers its id. Inside a transaction the row goes through it. Outside one, on SQLite, inserts
   * that arrive in the same turn of the event loop share one transaction (group commit): a commit writes every touched
   * index page once per group instead of once per row. If the group fails, its rows are retried one by one, so one
   * bad row fails alone.
   */
  async insert(values: Record<string, unknown>, db: Executor = this.db): Promise<number> {
    const id = this.storage.dialect === 'sqlite' && !db.isTransaction ? await this.groupInsert(values) : await this.insertOne(db, values);
    await this.invalidateCounts(db);
    return id;
  }

  private async insertOne(db: Executor, values: Record<string, unknown>): Promise<number> {
    const row = await db.insertInto(this.entity.table as never).values(values as never).returning('id' as never).executeTakeFirstOrThrow();
    return (row as { id: number }).id;
  }

  private pendingInserts: Array<{ values: Record<string, unknown>; resolve: (id: number) => void; reject: (err: unknown) => void }> = [];

  private groupInsert(values: Record<string, unknown>): Promise<number> {
    return new Promise((resolve, reject) => {
      this.pendingInserts.push({ values, resolve, reject });
      if (this.pendingInserts.length === 1) setImmediate(() => void this.flushInserts());
    });
  }

  private async flushInserts(): Promise<void> {
    const group = this.pendingInserts.splice(0, 200);
    if (this.pendingInserts.length) setImmediate(() => void this.flushInserts());
    if (group.length === 1) {
      const [only] = group;
      return this.insertOne(this.db, only!.values).then(only!.resolve, only!.reject);
    }
    try {
      const ids = await this.db.transaction().execute(async (trx) => {
        const out: number[] = [];
        for (const item of group) out.push(await this.insertOne(trx, item.values));
        return out;
      });
      group.forEach((item, i) => item.resolve(ids[i]!));
    } catch {
      for (const item of group) await this.insertOne(this.db, item.values).then(item.resolve, item.reject);
    }
  }

  async updateById(id: number, values: Record<string, unknown>, db: Executor = this.db): Promise<boolean> {
    const result = await db.updateTable(this.entity.table as never).set(values as never).where('id' as never, '=', id as never).executeTakeFirst();
    await this.invalidateCounts(db);
    return Number(result.numUpdatedRows) > 0;
  }

  async deleteById(id: number, db: Executor = this.db): Promise<boolean> {
    const result = await db.deleteFrom(this.entity.table as never).where('id' as never, '=', id as never).executeTakeFirst();
    await this.invalidateCounts(db);
    return Number(result.numDeletedRows) > 0;
  }
}
