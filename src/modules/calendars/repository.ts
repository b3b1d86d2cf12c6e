/** SQL for CoworkerMsOfficeCalendar records. Name substrings use the FTS5 trigram index on SQLite. */
import { sql, type SelectQueryBuilder } from 'kysely';
import type { Storage } from '../../storage/database.js';
import type { Executor } from '../../storage/unit-of-work.js';
import type { ListQuery } from '../../core/list-query.js';
import { RecordRepository, type ListPlan } from '../records/record-repository.js';
import { joinsNeeded, likeContains } from '../records/list-sql.js';
import { calendarEntity, type CoworkerMsOfficeCalendar } from './schema.js';

const TABLE = 'coworker_ms_office_calendars';
const FTS = 'coworker_ms_office_calendars_name_fts';

export class CoworkerMsOfficeCalendarRepository extends RecordRepository<typeof calendarEntity, CoworkerMsOfficeCalendar> {
  constructor(storage: Storage) {
    super(storage, calendarEntity);
  }

  /** What Graph last said about the record's subscription (a sync-engine write: IsNew and UpdatedOn stay). */
  async setSubscription(recordId: number, subscriptionId: string, expireIso: string, db: Executor = this.db): Promise<void> {
    await db.updateTable(TABLE).set({ subscription_id: subscriptionId, subscription_expire_date: expireIso }).where('id', '=', recordId).execute();
    await this.invalidateCounts(db);
  }


  /**
   * PostgreSQL: a Name substring tests the stored lowercase copy (`name_lower`, migration 014), which its trigram index
   * covers, instead of computing lower(name) for every row the page reads.
   */
  private planPostgres(query: ListQuery): ListPlan {
    const nameIdx = query.conditions.findIndex((c) => c.op === 'contains' && c.field === 'Name');
    if (nameIdx < 0) return super.plan(query);
    const base = super.plan({ ...query, conditions: query.conditions.filter((_, i) => i !== nameIdx) });
    const term = (query.conditions[nameIdx] as { value: string }).value;
    return { ...base, where: [sql`${sql.ref('c.name_lower')} LIKE ${likeContains(term)} ESCAPE '\\'`, ...base.where] };
  }

  /** The connection's state changes without a write to the records: a total filtered on it is always counted. */
  protected override totalCacheable(query: ListQuery): boolean {
    return !query.conditions.some((c) => c.field === 'State');
  }

  /**
   * With a Name substring of 3+ characters on SQLite, read through the trigram index: as the driving table when
   * ordering by Id (FTS5 yields rowids in order, so a page stops after `offset + size` matches), as an IN list otherwise.
   */
  protected override plan(query: ListQuery): ListPlan {
    if (this.storage.dialect === 'postgres') return this.planPostgres(query);
    const nameIdx = this.storage.dialect === 'sqlite'
      // FTS5 refuses a NUL in a phrase; LIKE simply matches nothing.
      ? query.conditions.findIndex((c) => c.op === 'contains' && c.field === 'Name' && [...c.value].length >= 3 && !c.value.includes('\u0000'))
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
    for (const join of joinsNeeded(rest, this.entity.columns)) count = this.entity.joins[join]!(count);
    const rowid = sql.ref(`${FTS}.rowid`);
    return {
      rows: this.withJoins(this.entity.selectRecord(fromIndex()), rest),
      count,
      where: [match, ...base.where],
      order: query.descending ? sql`${rowid} DESC` : sql`${rowid} ASC`,
    };
  }
}
