/**
 * The storage half every entity shares: get by id, get many, list (filters, order, paging, total), insert,
 * update and delete of one table, described by a RecordTable. Entity repositories add their own queries on top.
 */
import { sql, type Kysely, type RawBuilder, type SelectQueryBuilder } from 'kysely';
import type { ListQuery } from '../http/list-query.js';
import type { Database as Schema, TableName } from './schema.js';
import type { Storage } from './database.js';
import { preparedQuery } from './prepared.js';
import { applyWhere, conditionSql, joinsNeeded, orderSql, pageOffset, type ColumnMap } from './list-sql.js';

type AnySelect = SelectQueryBuilder<any, any, any>;

export interface RecordTable<Row, Rec> {
  table: TableName;
  /** Alias of the table in every query, e.g. "c". */
  alias: string;
  columns: ColumnMap;
  /** The rows query: FROM the table plus the joins a record always needs, selecting what toRecord reads. */
  selectRows(db: Kysely<Schema>): AnySelect;
  /** Adds a named join (from ColumnInfo.join) to a query that lacks it. */
  addJoin?(qb: AnySelect, join: string): AnySelect;
  /** Joins selectRows already has. */
  rowJoins?: string[];
  toRecord(row: Row): Rec;
}

/** How one list query reads: overridable by entities with special indexes (e.g. full-text). */
export interface ListPlan {
  rows: AnySelect;
  count: AnySelect;
  where: RawBuilder<unknown>[];
  order: RawBuilder<unknown>;
}

export class RecordRepository<Row, Rec> {
  readonly db: Kysely<Schema>;
  private readonly byId: (id: number) => Promise<Row[]>;
  protected readonly idColumn: string;

  constructor(
    protected readonly storage: Storage,
    protected readonly spec: RecordTable<Row, Rec>,
  ) {
    this.db = storage.db;
    this.idColumn = `${spec.alias}.id`;
    this.byId = preparedQuery(this.db, (id: number) => spec.selectRows(this.db).where(this.idColumn, '=', id), 1) as never;
  }

  async findById(id: number): Promise<Rec | undefined> {
    const rows = await this.byId(id);
    return rows.length ? this.spec.toRecord(rows[0]!) : undefined;
  }

  /** Records for the ids that exist, in the order asked. */
  async findByIds(ids: number[]): Promise<Rec[]> {
    if (!ids.length) return [];
    const rows = (await this.spec.selectRows(this.db).where(this.idColumn, 'in', ids).execute()) as Row[];
    const byId = new Map(rows.map((r) => [(r as { id: number }).id, r]));
    return ids.flatMap((id) => (byId.has(id) ? [this.spec.toRecord(byId.get(id)!)] : []));
  }

  async exists(id: number): Promise<boolean> {
    const row = await this.db.selectFrom(this.spec.table).select('id').where('id', '=', id).executeTakeFirst();
    return row !== undefined;
  }

  async list(query: ListQuery): Promise<{ records: Rec[]; total: number }> {
    const plan = this.plan(query);
    const rowsQuery = applyWhere(plan.rows, plan.where).orderBy(plan.order as never).limit(query.size).offset(pageOffset(query));
    const countQuery = applyWhere(plan.count, plan.where).select(sql<number>`count(*)`.as('n'));
    const compiledCount = countQuery.compile();
    const count = async () => Number((await this.db.executeQuery<{ n: number | string }>(compiledCount)).rows[0]?.n ?? 0);
    const total = this.storage.counts
      ? await this.storage.counts.total(`${compiledCount.sql}\u0000${JSON.stringify(compiledCount.parameters)}`, count)
      : await count();
    // Past the last page there is nothing to read.
    const rows = pageOffset(query) < total ? ((await rowsQuery.execute()) as Row[]) : [];
    return { records: rows.map((r) => this.spec.toRecord(r)), total };
  }

  /** The default plan: the rows query with its joins, a count over the base table plus only the joins needed. */
  protected plan(query: ListQuery): ListPlan {
    const { spec } = this;
    let count: AnySelect = this.db.selectFrom(`${spec.table} as ${spec.alias}` as never);
    for (const join of joinsNeeded({ conditions: query.conditions }, spec.columns)) count = spec.addJoin!(count, join);
    return {
      rows: this.withJoins(spec.selectRows(this.db), query),
      count,
      where: query.conditions.map((c) => conditionSql(c, spec.columns)),
      order: orderSql(query, spec.columns, this.idColumn),
    };
  }

  /** Adds the joins the query's conditions or order need and the rows query lacks. */
  protected withJoins(rows: AnySelect, query: ListQuery): AnySelect {
    for (const join of joinsNeeded(query, this.spec.columns)) {
      if (!this.spec.rowJoins?.includes(join)) rows = this.spec.addJoin!(rows, join);
    }
    return rows;
  }

  /**
   * Inserts a row and answers its id once it is committed. On SQLite, inserts that arrive in the same turn of the
   * event loop share one transaction (group commit): a commit writes every touched index page once per group instead
   * of once per row. If the group fails, its rows are retried one by one, so one bad row fails alone.
   */
  async insert(values: Record<string, unknown>): Promise<number> {
    const id = this.storage.dialect === 'sqlite' ? await this.groupInsert(values) : await this.insertOne(this.db, values);
    await this.storage.counts?.invalidate();
    return id;
  }

  private async insertOne(db: Kysely<Schema>, values: Record<string, unknown>): Promise<number> {
    const row = await db.insertInto(this.spec.table).values(values as never).returning('id').executeTakeFirstOrThrow();
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

  async updateById(id: number, values: Record<string, unknown>): Promise<boolean> {
    const result = await this.db.updateTable(this.spec.table).set(values as never).where('id', '=', id).executeTakeFirst();
    await this.storage.counts?.invalidate();
    return Number(result.numUpdatedRows) > 0;
  }

  async deleteById(id: number): Promise<boolean> {
    const result = await this.db.deleteFrom(this.spec.table).where('id', '=', id).executeTakeFirst();
    await this.storage.counts?.invalidate();
    return Number(result.numDeletedRows) > 0;
  }
}

/** Columns of the fields every record has, for a table aliased `alias`. */
export function metaColumns(alias: string, toStringColumn: string): ColumnMap {
  return {
    Id: { column: `${alias}.id`, type: 'int' },
    CreatedOn: { column: `${alias}.created_on`, type: 'date' },
    UpdatedOn: { column: `${alias}.updated_on`, type: 'date' },
    UpdatedBy: { column: `${alias}.updated_by`, type: 'string' },
    UniqueId: { column: `${alias}.unique_id`, type: 'string' },
    IsNew: { column: `${alias}.is_new`, type: 'bool' },
    SystemId: { column: `${alias}.system_id`, type: 'string' },
    ToStringText: { column: `${alias}.${toStringColumn}`, type: 'string' },
  };
}

export const META_SELECT = ['id', 'unique_id', 'created_on', 'updated_on', 'updated_by', 'is_new', 'system_id'] as const;

export interface MetaRow {
  id: number;
  unique_id: string;
  created_on: string;
  updated_on: string;
  updated_by: string | null;
  is_new: number | boolean;
  system_id: string | null;
}

/** The read-only tail of every record, in Nexudus' key order. */
export function recordMeta(r: MetaRow, toStringText: string) {
  return {
    Id: r.id,
    UpdatedOn: r.updated_on,
    CreatedOn: r.created_on,
    UniqueId: r.unique_id,
    UpdatedBy: r.updated_by,
    IsNew: r.is_new === 1 || r.is_new === true,
    SystemId: r.system_id,
    ToStringText: toStringText,
    LocalizationDetails: null,
    CustomFields: null,
  };
}
