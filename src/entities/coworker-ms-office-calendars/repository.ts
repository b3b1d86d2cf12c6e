/** SQL for CoworkerMsOfficeCalendar records. Name substrings use the FTS5 trigram index on SQLite. */
import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';
import type { Database as Schema } from '../../storage/schema.js';
import type { Storage } from '../../storage/database.js';
import type { ListQuery } from '../../http/list-query.js';
import { META_SELECT, RecordRepository, metaColumns, recordMeta, type ListPlan, type MetaRow, type RecordTable } from '../../storage/record-repository.js';
import { joinsNeeded, type ColumnMap } from '../../storage/list-sql.js';
import type { CoworkerMsOfficeCalendar, CoworkerMsOfficeCalendarValues } from './schema.js';

const TABLE = 'coworker_ms_office_calendars';
const FTS = 'coworker_ms_office_calendars_name_fts';

interface Row extends MetaRow {
  resource_id: number;
  coworker_id: number | null;
  coworker_full_name: string | null;
  name: string;
  subscription_id: string;
  calendar_id: string;
  subscription_expire_date: string;
}

const columns: ColumnMap = {
  ...metaColumns('c', 'name'),
  ResourceId: { column: 'c.resource_id', type: 'int' },
  CoworkerId: { column: 'c.coworker_id', type: 'int' },
  CoworkerFullName: { column: 'w.full_name', type: 'string', join: 'coworker' },
  Name: { column: 'c.name', type: 'string' },
  SubscriptionId: { column: 'c.subscription_id', type: 'string' },
  CalendarId: { column: 'c.calendar_id', type: 'string' },
  SubscriptionExpireDate: { column: 'c.subscription_expire_date', type: 'date' },
  State: { column: 'g.state', type: 'string', join: 'connection' },
};

function toRecord(r: Row): CoworkerMsOfficeCalendar {
  return {
    ResourceId: r.resource_id,
    CoworkerId: r.coworker_id,
    CoworkerFullName: r.coworker_full_name,
    Name: r.name,
    SubscriptionId: r.subscription_id,
    CalendarId: r.calendar_id,
    SubscriptionExpireDate: r.subscription_expire_date,
    ...recordMeta(r, r.name),
  };
}

/** Adds the coworker join and the record's columns to any query that has the calendar table as "c". */
function withRecordColumns<QB extends SelectQueryBuilder<any, any, any>>(qb: QB) {
  return qb
    .leftJoin('coworkers as w', 'w.id', 'c.coworker_id')
    .select(META_SELECT.map((c) => `c.${c}` as const))
    .select([
      'c.resource_id', 'c.coworker_id', 'w.full_name as coworker_full_name', 'c.name',
      'c.subscription_id', 'c.calendar_id', 'c.subscription_expire_date',
    ]);
}

function selectRows(db: Kysely<Schema>) {
  return withRecordColumns(db.selectFrom(`${TABLE} as c`));
}

const table: RecordTable<Row, CoworkerMsOfficeCalendar> = {
  table: TABLE,
  alias: 'c',
  columns,
  selectRows,
  addJoin: (qb, join) => join === 'connection'
    ? qb.leftJoin('graph_connections as g', 'g.calendar_record_id', 'c.id')
    : qb.leftJoin('coworkers as w', 'w.id', 'c.coworker_id'),
  rowJoins: ['coworker'],
  toRecord,
};

export function valuesToColumns(v: CoworkerMsOfficeCalendarValues) {
  return {
    resource_id: v.ResourceId,
    coworker_id: v.CoworkerId,
    name: v.Name,
    subscription_id: v.SubscriptionId,
    calendar_id: v.CalendarId,
    subscription_expire_date: v.SubscriptionExpireDate,
    system_id: v.SystemId,
  };
}

export class CoworkerMsOfficeCalendarRepository extends RecordRepository<Row, CoworkerMsOfficeCalendar> {
  constructor(storage: Storage) {
    super(storage, table);
  }

  /** What Graph last said about the record's subscription (a sync-engine write: IsNew and UpdatedOn stay). */
  async setSubscription(recordId: number, subscriptionId: string, expireIso: string): Promise<void> {
    await this.db.updateTable(TABLE).set({ subscription_id: subscriptionId, subscription_expire_date: expireIso }).where('id', '=', recordId).execute();
    await this.storage.counts?.invalidate();
  }

  /**
   * With a Name substring of 3+ characters on SQLite, read through the trigram index: as the driving table when
   * ordering by Id (FTS5 yields rowids in order, so a page stops after `offset + size` matches), as an IN list otherwise.
   */
  protected override plan(query: ListQuery): ListPlan {
    const nameIdx = this.storage.dialect === 'sqlite'
      ? query.conditions.findIndex((c) => c.op === 'contains' && c.field === 'Name' && [...c.value].length >= 3)
      : -1;
    if (nameIdx < 0) return super.plan(query);
    const nameCond = query.conditions[nameIdx] as { value: string };
    const rest = { ...query, conditions: query.conditions.filter((_, i) => i !== nameIdx) };
    const base = super.plan(rest);
    const phrase = `"${nameCond.value.replaceAll('"', '""')}"`;
    const match = sql`${sql.ref(FTS)} MATCH ${phrase}`;
    if (query.orderBy !== 'Id') {
      return { ...base, where: [...base.where, sql`c.id IN (SELECT rowid FROM ${sql.ref(FTS)} WHERE ${match})`] };
    }
    const fromIndex = () => this.db.selectFrom(FTS).innerJoin(`${TABLE} as c`, 'c.id', `${FTS}.rowid`);
    let count: SelectQueryBuilder<any, any, any> = rest.conditions.length ? fromIndex() : this.db.selectFrom(FTS);
    for (const join of joinsNeeded(rest, columns)) count = table.addJoin!(count, join);
    const rowid = sql.ref(`${FTS}.rowid`);
    return {
      rows: this.withJoins(withRecordColumns(fromIndex()), rest),
      count,
      where: [match, ...base.where],
      order: query.descending ? sql`${rowid} DESC` : sql`${rowid} ASC`,
    };
  }
}
