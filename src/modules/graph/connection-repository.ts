/** SQL for the Graph side of calendar records: connections, received notifications, settings. */
import { sql, type Kysely, type QueryCreator, type SelectQueryBuilder } from 'kysely';
import type { Clock } from '../../core/clock.js';
import type { Database, GraphConnectionTable } from '../../storage/schema.js';
import { preparedQuery, type PreparedQuery } from '../../storage/prepared.js';
import type { Executor } from '../../storage/unit-of-work.js';
import { DEFAULT_MAX_ATTEMPTS, jobInsert } from '../../jobs/job-store.js';
import { GraphJobs } from './job-names.js';
import { actionByAfter, nextState, IllegalTransitionError, type ConnectionEvent, type ConnectionState } from './connection-states.js';

/** A new connection row's columns before the caller's fields (mailbox and state come from the caller). */
const NEW_CONNECTION = {
  auth_mode: 'app', mailbox: '', refresh_token_sealed: null, subscription_id: null, subscription_resource: null, client_state: null,
  delta_link: null, last_notification_at: null, last_renewed_at: null, next_renewal_at: null, last_reauthorized_at: null,
  last_synced_at: null, last_error: null, dedicated: 0, last_full_sync_at: null,
} as const;

/** The states and errors an app-only connection starts in, as parameters of appOnlyInsert (in this order). */
const APP_ONLY_START = (noMailbox: string) =>
  [nextState(null, 'attached'), actionByAfter('attached'), nextState(null, 'detached'), actionByAfter('detached'), noMailbox] as const;

/** A coworker's mailbox, read inside the statement that needs it: their e-mail, or '' without one. */
const mailboxOf = (coworkerId: unknown) => sql<string>`coalesce((SELECT email FROM coworkers WHERE id = ${coworkerId}), '')`;

/**
 * The app-only connection of each row of `records` (its `record_id` and `mailbox` columns): attached when the mailbox
 * is known, detached with `noMailbox` as its error when it is ''. `start` is APP_ONLY_START's values (or placeholders).
 * One statement for both uses: insertAppOnly runs it over one row of parameters, a create on PostgreSQL over the row
 * its own statement inserted (withAppOnlyConnection).
 */
function appOnlyInsert(db: Kysely<any>, records: SelectQueryBuilder<any, any, { record_id: unknown; mailbox: string }>, start: readonly unknown[], now: unknown) {
  const [attached, attachedBy, detached, detachedBy, noMailbox] = start;
  const computed = new Set(['mailbox', 'last_error']);
  const fixed = Object.entries({ ...NEW_CONNECTION, auth_mode: 'app' }).filter(([c]) => !computed.has(c));
  const none = sql`m.mailbox = ''`;
  return db.insertInto('graph_connections')
    .columns([...fixed.map(([c]) => c), 'calendar_record_id', 'mailbox', 'state', 'action_by', 'last_error', 'updated_at'] as never)
    .expression(db.selectFrom(records.as('m')).select([
      ...fixed.map(([c, v]) => sql.lit(v).as(c)),
      'm.record_id',
      'm.mailbox',
      sql`CASE WHEN ${none} THEN ${detached} ELSE ${attached} END`.as('state'),
      sql`CASE WHEN ${none} THEN ${detachedBy} ELSE ${attachedBy} END`.as('action_by'),
      sql`CASE WHEN ${none} THEN ${noMailbox} END`.as('last_error'),
      sql`${now}`.as('updated_at'),
    ] as never) as never)
    .returning(['calendar_record_id', 'mailbox']);
}

/** The subscribe job's payload and dedupe key in SQL, for a record id expression: as job-names.ts and the service write them. */
const subscribeJobColumns = (recordId: unknown) => [
  sql<string>`concat('{"recordId":', ${recordId}, '}')`.as('payload'),
  sql<string>`concat(${sql.lit(`${GraphJobs.subscribe}:`)}, ${recordId})`.as('dedupe_key'), // dedupeKey.subscribe
];

export type GraphConnection = Omit<GraphConnectionTable, 'state'> & { state: ConnectionState };
/** What callers write; the state and who must act on it (action_by) move only by the transition table. */
type ConnectionFields = Partial<Omit<GraphConnection, 'calendar_record_id' | 'state' | 'action_by' | 'updated_at'>>;

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

/** The Graph path of a connection's mailbox: the app's view of the user (app-only), or the member's own `/me`. */
export function mailboxPath(conn: Pick<GraphConnection, 'auth_mode' | 'mailbox'>): string {
  return conn.auth_mode === 'app' ? `/users/${encodeURIComponent(conn.mailbox)}` : '/me';
}

export class ConnectionRepository {
  private readonly ownerOf: PreparedQuery<SubscriptionOwner, [string]>;
  private readonly byRecord: PreparedQuery<unknown, [number]>;
  private readonly appOnlyInsert;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
    private readonly dialect: 'sqlite' | 'postgres' = 'sqlite',
  ) {
    this.appOnlyInsert = preparedQuery(db, (recordId: number, coworkerId: number | null, attached: string, attachedBy: string | null,
      detached: string, detachedBy: string | null, noMailbox: string, now: string) =>
      // Typed: in a derived table PostgreSQL would take the bare parameter for text.
      appOnlyInsert(db, db.selectNoFrom([sql`CAST(${recordId} AS integer)`.as('record_id'), mailboxOf(coworkerId).as('mailbox')]),
        [attached, attachedBy, detached, detachedBy, noMailbox], now), 8);
    this.byRecord = preparedQuery(db, (recordId: number) => db.selectFrom('graph_connections').selectAll().where('calendar_record_id', '=', recordId), 1);
    // The engine's own subscription id decides: a client cannot redirect notifications by writing the record's.
    this.ownerOf = preparedQuery(
      db,
      (subscriptionId: string) =>
        db.selectFrom('graph_connections').select(['calendar_record_id', 'client_state']).where('subscription_id', '=', subscriptionId),
      1,
    );
  }

  private nowIso(): string {
    return new Date(this.clock.now()).toISOString();
  }

  /** Serialises a calendar's delta rounds (PostgreSQL row lock until the round's commit; SQLite has one writer). */
  async lockForRound(recordId: number, trx: Executor): Promise<void> {
    if (this.dialect === 'postgres') await trx.selectFrom('graph_connections').select('calendar_record_id').where('calendar_record_id', '=', recordId).forUpdate().execute();
  }

  /** The record (and its clientState) that holds a Graph subscription id. */
  async ownerOfSubscription(subscriptionId: string): Promise<SubscriptionOwner | undefined> {
    return (await this.ownerOf(subscriptionId))[0];
  }

  async get(recordId: number, db: Executor = this.db): Promise<GraphConnection | undefined> {
    return (await this.byRecord.on(db, recordId))[0] as GraphConnection | undefined;
  }

  /**
   * Whether calbridge holds a live subscription for the record: then the record shows what Graph last said, not what
   * clients send. Before the first subscription exists, a client's values are stored as sent.
   */
  async manages(recordId: number, db: Executor = this.db): Promise<boolean> {
    const row = await db.selectFrom('graph_connections').select('subscription_id').where('calendar_record_id', '=', recordId).executeTakeFirst();
    return row?.subscription_id != null;
  }

  /**
   * Creates the connection row of a record, or replaces its fields, moving its state by `event` (the transition table
   * decides; a row that does not exist yet takes any event allowed from every state).
   */
  async upsert(recordId: number, event: ConnectionEvent, fields: ConnectionFields, db: Executor = this.db): Promise<ConnectionState> {
    const existing = await this.get(recordId, db);
    if (existing) return this.transition(recordId, event, fields, db);
    return this.insert(recordId, event, fields, db);
  }

  /** The connection row of a record that has none yet (a record just created): no read first. */
  async insert(recordId: number, event: ConnectionEvent, fields: ConnectionFields, db: Executor = this.db): Promise<ConnectionState> {
    const state = nextState(null, event);
    await db.insertInto('graph_connections').values({
      ...NEW_CONNECTION, calendar_record_id: recordId, ...fields, state, action_by: actionByAfter(event), updated_at: this.nowIso(),
    }).execute();
    return state;
  }

  /**
   * The app-only connection of a record just created, its mailbox the coworker's e-mail read inside the insert (one
   * statement, no read first): `attached` when there is one, else `detached` with `noMailbox` as its error. Answers
   * the mailbox ('' for none).
   */
  async insertAppOnly(recordId: number, coworkerId: number | null, noMailbox: string, db: Executor = this.db): Promise<string> {
    const rows = await this.appOnlyInsert.on(db, recordId, coworkerId, ...APP_ONLY_START(noMailbox), this.nowIso());
    return rows[0]!.mailbox;
  }

  /** The values withAppOnlyConnection's placeholders stand for, for one create now: the start, then the time twice. */
  appOnlyArgs(noMailbox: string): unknown[] {
    return [...APP_ONLY_START(noMailbox), this.nowIso(), this.clock.now()];
  }
  readonly appOnlyArity = APP_ONLY_START('').length + 2;

  /**
   * PostgreSQL, inside a create's statement: insertAppOnly and the subscribe job of an attached connection, as
   * data-modifying CTEs over `created` (the CTE that inserted the record), so the record, its connection and its job
   * are one statement. `args` are appOnlyArgs' values (or their placeholders). `jobsCte` names the CTE whose rows are
   * the jobs added.
   */
  withAppOnlyConnection(q: QueryCreator<any>, created: string, jobsCte: string, args: readonly unknown[]): QueryCreator<any> {
    const start = args.slice(0, -2);
    const [nowIso, nowMs] = args.slice(-2);
    const connection = `${jobsCte}_connection`;
    return q
      .with(connection, (db) => appOnlyInsert(db as Kysely<any>,
        db.selectFrom(created).select([sql.ref(`${created}.id`).as('record_id'), mailboxOf(sql.ref(`${created}.coworker_id`)).as('mailbox')]) as never,
        start, nowIso))
      .with(jobsCte, (db) => jobInsert(db as Kysely<any>,
        db.selectFrom(connection).select(subscribeJobColumns(sql.ref(`${connection}.calendar_record_id`))).where('mailbox', '<>', '') as never,
        { type: GraphJobs.subscribe, runAt: nowMs, maxAttempts: DEFAULT_MAX_ATTEMPTS, now: nowMs }));
  }

  /**
   * Moves the connection by `event` and writes `fields` with it, in one conditional UPDATE on the state it read, so
   * two writers can never combine into a transition the table forbids. Throws IllegalTransitionError when the event
   * is not allowed from the current state; answers undefined when the connection does not exist.
   */
  async transition(recordId: number, event: ConnectionEvent, fields: ConnectionFields = {}, db: Executor = this.db): Promise<ConnectionState> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await db.selectFrom('graph_connections').select('state').where('calendar_record_id', '=', recordId).executeTakeFirst();
      if (!current) throw new IllegalTransitionError(null, event);
      const to = nextState(current.state as ConnectionState, event);
      const r = await db.updateTable('graph_connections').set({ ...fields, state: to, action_by: actionByAfter(event), updated_at: this.nowIso() })
        .where('calendar_record_id', '=', recordId).where('state', '=', current.state).executeTakeFirst();
      if (Number(r.numUpdatedRows) === 1) return to;
    }
    throw new Error(`connection ${recordId}: its state kept changing under "${event}"`);
  }

  /** Like transition, but an event the current state does not allow leaves the connection as it is (answers false). */
  async transitionIfAllowed(recordId: number, event: ConnectionEvent, fields: ConnectionFields = {}, db: Executor = this.db): Promise<boolean> {
    try {
      await this.transition(recordId, event, fields, db);
      return true;
    } catch (err) {
      if (err instanceof IllegalTransitionError) return false;
      throw err;
    }
  }

  /** Writes fields that are not the state (delta link, timestamps, last error, sealed tokens). */
  async update(recordId: number, values: ConnectionFields, db: Executor = this.db): Promise<void> {
    await db.updateTable('graph_connections').set({ ...values, updated_at: this.nowIso() }).where('calendar_record_id', '=', recordId).execute();
  }

  /** Moves next_renewal_at from `expected` to `until`; false when another worker moved it first. */
  async claimRenewal(recordId: number, expected: string | null, until: string): Promise<boolean> {
    const r = await this.db.updateTable('graph_connections').set({ next_renewal_at: until, updated_at: this.nowIso() })
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

  /** A coworker's connection that can write to their calendar (credentials in hand; a subscription is not needed). */
  async liveOfCoworker(coworkerId: number): Promise<GraphConnection | undefined> {
    return this.db.selectFrom('graph_connections as g').innerJoin('coworker_ms_office_calendars as c', 'c.id', 'g.calendar_record_id')
      .selectAll('g').where('c.coworker_id', '=', coworkerId).where('g.state', 'in', ['active', 'renewing', 'failed']).where('g.mailbox', '<>', '').orderBy('c.id').limit(1)
      .executeTakeFirst() as Promise<GraphConnection | undefined>;
  }

  async calendarIdOf(recordId: number): Promise<string | undefined> {
    const row = await this.db.selectFrom('coworker_ms_office_calendars').select('calendar_id').where('id', '=', recordId).executeTakeFirst();
    return row?.calendar_id as string | undefined;
  }

  /** Live connections whose last full round is older than `beforeIso` (or that never had one): time to reconcile. */
  async dueForReconciliation(beforeIso: string, limit: number): Promise<number[]> {
    const rows = await this.db.selectFrom('graph_connections').select('calendar_record_id')
      .where('state', '=', 'active').where('subscription_id', 'is not', null)
      .where((eb) => eb.or([eb('last_full_sync_at', 'is', null), eb('last_full_sync_at', '<', beforeIso)])).limit(limit).execute();
    return rows.map((r) => r.calendar_record_id);
  }

  /** Calendar records that have no connection row (made while no sync engine ran anywhere, or before one existed). */
  async recordsWithoutConnection(limit: number): Promise<number[]> {
    const rows = await this.db.selectFrom('coworker_ms_office_calendars as c').leftJoin('graph_connections as g', 'g.calendar_record_id', 'c.id')
      .select('c.id').where('g.calendar_record_id', 'is', null).orderBy('c.id').limit(limit).execute();
    return rows.map((r) => r.id);
  }

  /** Persists notification items and stamps the connections' last notification time, in the caller's transaction. */
  async recordNotifications(db: Executor, items: NotificationItem[], receivedAt: string): Promise<void> {
    if (!items.length) return;
    await db.insertInto('graph_notifications').values(items.map((i) => ({
      calendar_record_id: i.calendarRecordId,
      subscription_id: i.subscriptionId,
      kind: i.kind,
      change_type: i.changeType,
      lifecycle_event: i.lifecycleEvent,
      resource: i.resource,
      received_at: receivedAt,
    }))).execute();
    const ids = [...new Set(items.map((i) => i.calendarRecordId))];
    await db.updateTable('graph_connections').set({ last_notification_at: receivedAt }).where('calendar_record_id', 'in', ids).execute();
  }

  /** A record's most recent notifications, newest first (the dashboard's sync history). */
  async recentNotifications(recordId: number, limit: number): Promise<Array<{ kind: string; change_type: string | null; lifecycle_event: string | null; received_at: string }>> {
    return this.db.selectFrom('graph_notifications').select(['kind', 'change_type', 'lifecycle_event', 'received_at'])
      .where('calendar_record_id', '=', recordId).orderBy('id', 'desc').limit(limit).execute();
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
