/** SQL for the Graph side of calendar records: connections, received notifications, settings. */
import type { Kysely, Transaction } from 'kysely';
import type { ConnectionState, Database, GraphConnectionTable } from '../storage/schema.js';
import { preparedQuery } from '../storage/prepared.js';

export type GraphConnection = GraphConnectionTable;

export interface NotificationItem {
  calendarRecordId: number;
  subscriptionId: string;
  kind: 'change' | 'lifecycle';
  changeType: string | null;
  lifecycleEvent: string | null;
  resource: string | null;
}

export interface SubscriptionOwner {
  calendar_record_id: number;
  client_state: string | null;
}

export class ConnectionRepository {
  private readonly ownerOf: (subscriptionId: string) => Promise<SubscriptionOwner[]>;

  constructor(private readonly db: Kysely<Database>) {
    this.ownerOf = preparedQuery(
      db,
      (subscriptionId: string) =>
        db.selectFrom('coworker_ms_office_calendars as c')
          .innerJoin('graph_connections as g', 'g.calendar_record_id', 'c.id')
          .select(['g.calendar_record_id', 'g.client_state'])
          .where('c.subscription_id', '=', subscriptionId),
      1,
    );
  }

  /** The record (and its clientState) that holds a Graph subscription id. */
  async ownerOfSubscription(subscriptionId: string): Promise<SubscriptionOwner | undefined> {
    return (await this.ownerOf(subscriptionId))[0];
  }

  async get(recordId: number): Promise<GraphConnection | undefined> {
    return this.db.selectFrom('graph_connections').selectAll().where('calendar_record_id', '=', recordId).executeTakeFirst();
  }

  async upsert(row: GraphConnection): Promise<void> {
    const { calendar_record_id: _, ...rest } = row;
    await this.db.insertInto('graph_connections').values(row)
      .onConflict((oc) => oc.column('calendar_record_id').doUpdateSet(rest)).execute();
  }

  async update(recordId: number, values: Partial<Omit<GraphConnection, 'calendar_record_id'>>): Promise<void> {
    await this.db.updateTable('graph_connections').set({ ...values, updated_at: new Date().toISOString() }).where('calendar_record_id', '=', recordId).execute();
  }

  async setState(recordId: number, state: ConnectionState, lastError: string | null = null): Promise<void> {
    await this.update(recordId, { state, last_error: lastError });
  }

  /** Moves next_renewal_at from `expected` to `until`; false when another worker moved it first. */
  async claimRenewal(recordId: number, expected: string | null, until: string): Promise<boolean> {
    const r = await this.db.updateTable('graph_connections').set({ next_renewal_at: until, updated_at: new Date().toISOString() })
      .where('calendar_record_id', '=', recordId)
      .where('next_renewal_at', expected === null ? 'is' : '=', expected)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Connections whose renewal is due (next_renewal_at passed) and that can be renewed. */
  async dueForRenewal(nowIso: string, limit: number): Promise<number[]> {
    const rows = await this.db.selectFrom('graph_connections').select('calendar_record_id')
      .where('next_renewal_at', '<=', nowIso).where('state', 'in', ['active', 'renewing', 'failed']).limit(limit).execute();
    return rows.map((r) => r.calendar_record_id);
  }

  /** Live connections whose last sync is older than `beforeIso` (or that never synced). */
  async staleSyncs(beforeIso: string, limit: number): Promise<number[]> {
    const rows = await this.db.selectFrom('graph_connections').select('calendar_record_id')
      .where('state', '=', 'active').where('client_state', 'is not', null)
      .where((eb) => eb.or([eb('last_synced_at', 'is', null), eb('last_synced_at', '<', beforeIso)])).limit(limit).execute();
    return rows.map((r) => r.calendar_record_id);
  }

  /** Persists notification items and stamps the connections' last notification time, in the caller's transaction. */
  async recordNotifications(trx: Transaction<Database>, items: NotificationItem[], receivedAt: string): Promise<void> {
    if (!items.length) return;
    await trx.insertInto('graph_notifications').values(items.map((i) => ({
      calendar_record_id: i.calendarRecordId,
      subscription_id: i.subscriptionId,
      kind: i.kind,
      change_type: i.changeType,
      lifecycle_event: i.lifecycleEvent,
      resource: i.resource,
      received_at: receivedAt,
    }))).execute();
    const ids = [...new Set(items.map((i) => i.calendarRecordId))];
    await trx.updateTable('graph_connections').set({ last_notification_at: receivedAt }).where('calendar_record_id', 'in', ids).execute();
  }

  async notificationCount(recordId: number): Promise<number> {
    const r = await this.db.selectFrom('graph_notifications').select((eb) => eb.fn.countAll<number>().as('n')).where('calendar_record_id', '=', recordId).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async getSetting(key: string): Promise<string | undefined> {
    return (await this.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst())?.value;
  }

  /** Stores a setting unless one exists; returns the stored value (first writer wins across processes). */
  async ensureSetting(key: string, value: string): Promise<string> {
    await this.db.insertInto('settings').values({ key, value }).onConflict((oc) => oc.column('key').doNothing()).execute();
    return (await this.getSetting(key))!;
  }
}
