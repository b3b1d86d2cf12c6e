/**
 * Turns a parsed ListQuery into SQL for any entity: one implementation of filters, ranges, ordering and paging,
 * shared by every repository. Repositories describe their columns; nothing here knows an entity.
 */
import { sql, type RawBuilder, type SelectQueryBuilder } from 'kysely';
import type { Condition, FieldType, ListQuery } from '../../core/list-query.js';

export interface ColumnInfo {
  /** Qualified column, e.g. "c.resource_id". */
  column: string;
  type: FieldType;
  /** Needs a join that the repository adds only when asked (e.g. the coworker's name). */
  join?: string;
}

export type ColumnMap = Record<string, ColumnInfo>;

/** Escapes LIKE wildcards so a user's "%" or "_" means itself. */
export function likeContains(value: string): string {
  return `%${value.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export function conditionSql(cond: Condition, columns: ColumnMap): RawBuilder<unknown> {
  const info = columns[cond.field];
  if (!info) throw new Error(`no column for ${cond.field}`);
  const col = sql.ref(info.column);
  switch (cond.op) {
    case 'eq':
      if (info.type === 'bool') return sql`${col} = ${cond.value ? 1 : 0}`;
      return sql`${col} = ${cond.value}`;
    case 'contains':
      // A term with a NUL matches nothing, on both databases (SQLite's LIKE would stop reading it there: '\0al' matched all).
      if (cond.value.includes('\u0000')) return sql`1 = 0`;
      return sql`lower(${col}) LIKE ${likeContains(cond.value)} ESCAPE '\\'`;
    case 'gte':
      return sql`${col} >= ${cond.value}`;
    case 'lt':
      return sql`${col} < ${cond.value}`;
  }
}

/** Joins (by name) that the conditions or the order need. */
export function joinsNeeded(query: Pick<ListQuery, 'conditions'> & { orderBy?: string }, columns: ColumnMap): Set<string> {
  const joins = new Set<string>();
  for (const c of query.conditions) {
    const j = columns[c.field]?.join;
    if (j) joins.add(j);
  }
  const o = query.orderBy ? columns[query.orderBy]?.join : undefined;
  if (o) joins.add(o);
  return joins;
}

/** ORDER BY the field (strings case-insensitively; nulls first ascending, last descending), ties by Id ascending. */
export function orderSql(query: ListQuery, columns: ColumnMap, idColumn: string): RawBuilder<unknown> {
  const info = columns[query.orderBy];
  if (!info) throw new Error(`no column for ${query.orderBy}`);
  const id = sql.ref(idColumn);
  if (info.column === idColumn) return query.descending ? sql`${id} DESC` : sql`${id} ASC`;
  const col = info.type === 'string' ? sql`lower(${sql.ref(info.column)})` : sql`${sql.ref(info.column)}`;
  return query.descending ? sql`${col} DESC NULLS LAST, ${id} ASC` : sql`${col} ASC NULLS FIRST, ${id} ASC`;
}

export function applyWhere<QB extends SelectQueryBuilder<any, any, any>>(qb: QB, conditions: RawBuilder<unknown>[]): QB {
  let out = qb;
  for (const c of conditions) out = out.where(c as never) as QB;
  return out;
}

export function pageOffset(query: ListQuery): number {
  return (query.page - 1) * query.size;
}
