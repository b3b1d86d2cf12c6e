/**
 * The storage half every entity shares: get by id, get many, list (filters, order, paging, total), insert, update and
 * delete of one table, all derived from the entity's declaration. Every method takes an optional Executor, so a service
 * can run several of them in one transaction. Entity repositories add their own queries on top.
 */
import { sql, type Compilable, type InsertQueryBuilder, type Kysely, type QueryCreator, type RawBuilder, type SelectQueryBuilder } from 'kysely';
import type { ListQuery } from '../../core/list-query.js';
import type { Database as Schema } from '../../storage/schema.js';
import type { Storage } from '../../storage/database.js';
import type { Version } from '../../storage/count-cache.js';
import { preparedQuery, type PreparedQuery } from '../../storage/prepared.js';
import { afterCommit, type Executor } from '../../storage/unit-of-work.js';
import { applyWhere, conditionSql, joinsNeeded, orderSql, pageOffset } from './list-sql.js';
import type { Entity, RecordOf } from './entity.js';

type AnySelect = SelectQueryBuilder<any, any, any>;

/** A row the inserted row refers to: the insert happens only if `table` has a row with this id. */
export interface ReferenceGuard {
  table: string;
  id: number;
}

/**
 * PostgreSQL: what an observer writes because a record was created, as data-modifying CTEs in the create's own
 * statement: the record and those writes commit as one statement, in one round trip, without a transaction.
 */
export interface CreateFollowUp {
  /** Its CTE whose rows say what it did; the create's row answers their number in a column of this name. */
  readonly name: string;
  /** How many parameters addTo takes, and their values for one create. */
  readonly arity: number;
  args(): unknown[];
  /** Adds its CTEs to `q`, which has the CTE `created_row` (the inserted row, every column). */
  addTo(q: QueryCreator<any>, args: readonly unknown[]): QueryCreator<any>;
}

/** The column a list page carries the data version in (DataVersion.inline). */
export const DATA_VERSION = 'calbridge_data_version';

/** A list shape built once: its rows (conditions' values, size, offset) and its total (conditions' values). */
interface ListShape {
  rows: PreparedQuery<Record<string, unknown>, unknown[]>;
  count: PreparedQuery<{ n: number | string }, unknown[]>;
}

/** How one list query reads: overridable by entities with special indexes (e.g. full-text). */
export interface ListPlan {
  rows: AnySelect;
  count: AnySelect;
  where: RawBuilder<unknown>[];
  order: RawBuilder<unknown>;
  /**
   * Where the page's ids can be taken first: the table with its scope and the joins the conditions and the order need.
   * The page then reads only its own rows whole (and joins only them), not the rows its offset skips, and an index
   * that holds the conditions' and order's columns (every secondary index holds the id) answers the ids alone.
   */
  ids?: AnySelect;
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

  /** Whether `table` has a row with this id (a reference guard, checked on its own). */
  async rowExists(guard: ReferenceGuard, db: Executor = this.db): Promise<boolean> {
    return (await db.selectFrom(guard.table as never).select('id' as never).where('id' as never, '=', guard.id as never).executeTakeFirst()) !== undefined;
  }

  async exists(id: number, db: Executor = this.db): Promise<boolean> {
    const from = db.selectFrom(`${this.entity.table} as ${this.entity.alias}` as never) as AnySelect;
    const row = await this.entity.scope(from).select(this.idColumn).where(this.idColumn, '=', id).executeTakeFirst();
    return row !== undefined;
  }

  async list(query: ListQuery): Promise<{ records: Rec[]; total: number }> {
    const shape = this.listShape(query);
    if (shape) return this.listPrepared(shape, query);
    const plan = this.plan(query);
    const pageRows = this.pageOf(plan, query.size, pageOffset(query));
    const inline = this.inlineVersion(query);
    const rowsQuery = inline ? pageRows.select(inline.as(DATA_VERSION)) : pageRows;
    const compiledCount = this.countOf(plan).compile();
    const count = async () => Number((await this.db.executeQuery<{ n: number | string }>(compiledCount)).rows[0]?.n ?? 0);
    return this.page(query, `${compiledCount.sql}\u0000${JSON.stringify(compiledCount.parameters)}`, count,
      async () => (await rowsQuery.execute()) as Record<string, unknown>[]);
  }

  /**
   * The total (remembered per data version where it may be) and the page's rows. Where the version travels inside the
   * rows' statement (inlineVersion: `rows` then selects it), the page is read first and an empty page asks for the
   * version alone; otherwise the total first, and no rows are read for a page past the end.
   */
  protected async page(query: ListQuery, countKey: string, count: () => Promise<number>, rows: () => Promise<Record<string, unknown>[]>) {
    const counts = this.storage.counts;
    if (counts && this.inlineVersion(query)) {
      const read = await rows();
      const version = read.length ? (read[0]![DATA_VERSION] as Version) : await counts.version.current();
      return { records: read.map((r) => this.toRecord(r)), total: await counts.totalAt(version, countKey, count) };
    }
    const total = counts && this.totalCacheable(query) ? await counts.total(countKey, count) : await count();
    const read = pageOffset(query) < total ? await rows() : [];
    return { records: read.map((r) => this.toRecord(r)), total };
  }

  /**
   * Lists whose conditions bind their values as they are (equality, ranges: the common filters and a member's scope)
   * are built once per shape (fields, operators, order) through plan() with placeholder values, then run as prepared
   * (on PostgreSQL, named) statements. A shape whose plan transforms a value (substrings, booleans, full-text phrases)
   * cannot be, and is built per request as before: preparedQuery finds a placeholder missing and says so.
   */
  private readonly listShapes = new Map<string, ListShape | null>();

  private listShape(query: ListQuery): ListShape | null {
    const key = JSON.stringify([query.conditions.map((c) => [c.field, c.op]), query.orderBy, query.descending]);
    let shape = this.listShapes.get(key);
    if (shape !== undefined) return shape;
    const n = query.conditions.length;
    const shaped = (args: unknown[]): ListQuery => ({ ...query, conditions: query.conditions.map((c, i) => ({ ...c, value: args[i] }) as typeof c) });
    // Where reading the data version costs a round trip, the page brings it along (one statement per list).
    const inline = this.inlineVersion(query);
    try {
      const rows = preparedQuery(this.db, (...args: unknown[]) => {
        const page = this.pageOf(this.plan(shaped(args)), args[n] as number, args[n + 1] as number);
        return inline ? page.select(inline.as(DATA_VERSION)) : page;
      }, n + 2) as PreparedQuery<Record<string, unknown>, unknown[]>;
      const countFor = (args: unknown[]) => this.countOf(this.plan(shaped(args)));
      const count = preparedQuery(this.db, (...args: unknown[]) => countFor(args), n) as PreparedQuery<{ n: number | string }, unknown[]>;
      // A plan that chose its SQL by the value while binding it unchanged would be frozen to the placeholder's choice:
      // other values (numbers, an empty string) must give the same text, or the shape is not reused.
      const probe = query.conditions.map((_, i) => (i % 2 ? '' : i + 1));
      shape = countFor(probe).compile().sql === count.sql ? { rows, count } : null;
    } catch {
      shape = null;
    }
    if (this.listShapes.size < 500) this.listShapes.set(key, shape);
    return shape;
  }

  private async listPrepared(shape: ListShape, query: ListQuery): Promise<{ records: Rec[]; total: number }> {
    const values = query.conditions.map((c) => c.value);
    const count = async () => Number((await shape.count(...values))[0]?.n ?? 0);
    const key = `${shape.count.sql}\u0000${JSON.stringify(values)}`;
    // The shape's rows carry the version exactly when the page reads it inline (listShape decides it the same way).
    return this.page(query, key, count, () => shape.rows(...values, query.size, pageOffset(query)));
  }

  /** A page of the plan's rows: through its ids first where the plan has them (ListPlan.ids). */
  private pageOf(plan: ListPlan, size: number, offset: number): AnySelect {
    if (!plan.ids) return applyWhere(plan.rows, plan.where).orderBy(plan.order as never).limit(size).offset(offset);
    const ids = applyWhere(plan.ids.select(this.idColumn), plan.where).orderBy(plan.order as never).limit(size).offset(offset);
    return plan.rows.where(this.idColumn, 'in', ids).orderBy(plan.order as never);
  }

  /** The version inside the rows' statement, where reading it costs a round trip of its own and the total may be remembered. */
  protected inlineVersion(query: ListQuery): RawBuilder<number | string> | undefined {
    return this.storage.counts && this.totalCacheable(query) ? this.storage.counts.version.inline : undefined;
  }

  /** The plan's total: count(*) over its count query and conditions. */
  protected countOf(plan: ListPlan) {
    return applyWhere(plan.count, plan.where).select(sql<number>`count(*)`.as('n'));
  }

  /** Whether a list total may be remembered until the next write through this repository's table. */
  protected totalCacheable(_query: ListQuery): boolean {
    return true;
  }

  /** The default plan: the rows query with its joins, a count over the base table plus only the joins needed. */
  protected plan(query: ListQuery): ListPlan {
    const { entity } = this;
    const table = () => entity.scope(this.db.selectFrom(`${entity.table} as ${entity.alias}` as never));
    let count: AnySelect = table();
    for (const join of joinsNeeded({ conditions: query.conditions }, entity.columns)) count = entity.joins[join]!(count);
    let ids: AnySelect = table();
    for (const join of joinsNeeded(query, entity.columns)) ids = entity.joins[join]!(ids);
    return {
      rows: this.withJoins(this.selectRows(this.db), query),
      count,
      where: query.conditions.map((c) => conditionSql(c, entity.columns)),
      order: orderSql(query, entity.columns, this.idColumn),
      ids,
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
   * Inserts a row and answers its id (insertIfReferenced: or undefined when a guard's row does not exist): the reference checks travel in
   * the insert itself (`INSERT ... SELECT ... WHERE EXISTS (...)`), one statement. Built once per column set and run as
   * a prepared (on PostgreSQL, named) statement. SQLite shares commits through the unit of work's group commit.
   */
  async insert(values: Record<string, unknown>, db: Executor = this.db): Promise<number> {
    return (await this.insertIfReferenced(values, [], db))!;
  }

  async insertIfReferenced(values: Record<string, unknown>, guards: readonly ReferenceGuard[], db: Executor = this.db): Promise<number | undefined> {
    const row = await this.runGuardedInsert('id', values, guards, db, (insert) => insert.returning('id' as never));
    return row && Number(row.id);
  }

  /** Whether createRow takes follow-ups (PostgreSQL, where an INSERT may sit in a CTE). */
  get createsWithFollowUps(): boolean {
    return this.storage.dialect === 'postgres';
  }

  /**
   * insertIfReferenced, answering the new record as findById would (or undefined when a guard's row does not exist).
   * PostgreSQL: one statement, the insert in a CTE and the record's joins read from its RETURNING, so a create does
   * not pay a second round trip to read back what it wrote; `followUps` add their writes to that statement, and `row`
   * (the statement's row) says what they did. SQLite has no INSERT in a CTE, and a read costs no round trip there: the
   * insert, then findById (it takes no followUps).
   */
  async createRow(values: Record<string, unknown>, guards: readonly ReferenceGuard[], db: Executor = this.db, followUps: readonly CreateFollowUp[] = []) {
    if (!this.createsWithFollowUps) {
      if (followUps.length) throw new Error('createRow: follow-ups need PostgreSQL (an INSERT inside a CTE)');
      const id = await this.insertIfReferenced(values, guards, db);
      return id === undefined ? undefined : { record: (await this.findById(id, db))!, row: {} as Record<string, unknown> };
    }
    const kind = ['record', ...followUps.map((f) => f.name)].join('+');
    const row = await this.runGuardedInsert(kind, values, guards, db, (insert, args) => {
      let q: QueryCreator<any> = this.db.with('created_row', () => insert.returningAll() as never);
      let at = 0;
      for (const f of followUps) q = f.addTo(q, args.slice(at, (at += f.arity)));
      const selected = this.entity.selectRecord(q.selectFrom(`created_row as ${this.entity.alias}` as never));
      return followUps.length ? selected.select(followUps.map((f) => sql`(SELECT count(*) FROM ${sql.table(f.name)})`.as(f.name)) as never) : selected;
    }, followUps.flatMap((f) => f.args()));
    return row && { record: this.toRecord(row), row };
  }

  /**
   * INSERT INTO the table (columns) SELECT the values WHERE every guard's row EXISTS, finished by `finish` (what it
   * answers, with `extra`'s placeholders), built once per kind, column set and guard tables and run as a prepared
   * statement. Its one row, or undefined when a guard's row does not exist; list totals are recounted after a write.
   */
  private async runGuardedInsert(
    kind: string, values: Record<string, unknown>, guards: readonly ReferenceGuard[], db: Executor,
    finish: (insert: InsertQueryBuilder<any, any, any>, extra: unknown[]) => Compilable<Record<string, unknown>>, extra: unknown[] = [],
  ): Promise<Record<string, unknown> | undefined> {
    const columns = Object.keys(values);
    const key = `${kind}|${columns.join(',')}|${guards.map((g) => g.table).join(',')}`;
    let statement = this.guardedInserts.get(key);
    if (!statement) {
      const fixed = columns.length + guards.length;
      statement = preparedQuery(this.db, (...args: unknown[]) => {
        let select = this.db.selectNoFrom(columns.map((c, i) => sql`${args[i]}`.as(c)) as never) as AnySelect;
        guards.forEach((g, i) => {
          select = select.where(sql`EXISTS (SELECT 1 FROM ${sql.table(g.table)} WHERE id = ${args[columns.length + i]})` as never);
        });
        return finish(this.db.insertInto(this.entity.table as never).columns(columns as never).expression(select as never), args.slice(fixed));
      }, fixed + extra.length);
      this.guardedInserts.set(key, statement);
    }
    const [row] = await statement.on(db, ...columns.map((c) => values[c]), ...guards.map((g) => g.id), ...extra);
    if (row) await this.invalidateCounts(db);
    return row;
  }

  private readonly guardedInserts = new Map<string, PreparedQuery<Record<string, unknown>, unknown[]>>();

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
