/**
 * Every calendar record gets its Graph connection. As a record observer it runs inside the record's own transaction:
 * the record, its connection row and its subscribe job commit together or not at all (also in a process that runs no
 * sync engine: any engine process then takes the job). A record made through the REST API is managed with the app-only
 * credentials, for the member's mailbox (the coworker's e-mail); without a coworker its state is credentials_missing.
 * A deleted record's subscription is deleted by a job queued in the same transaction.
 */
import type { Clock } from '../../core/clock.js';
import type { JobStore } from '../../jobs/job-store.js';
import { afterCommit, inTransaction, withTransaction, type Executor } from '../../storage/unit-of-work.js';
import type { Kysely } from 'kysely';
import type { Database } from '../../storage/schema.js';
import type { RecordObserver } from '../records/record-service.js';
import type { CreateFollowUp } from '../records/record-repository.js';
import type { CoworkerMsOfficeCalendar } from '../calendars/schema.js';
import type { CoworkerMsOfficeCalendarRepository } from '../calendars/repository.js';
import type { CoworkerRepository } from '../directory/coworker-repository.js';
import type { ConnectionRepository, GraphConnection } from './connection-repository.js';
import { GraphJobs, dedupeKey, type UnsubscribePayload } from './job-names.js';

export interface ConnectionServiceDeps {
  db: Kysely<Database>;
  connections: ConnectionRepository;
  calendars: CoworkerMsOfficeCalendarRepository;
  coworkers: CoworkerRepository;
  jobs: JobStore;
  clock: Clock;
  /** Wakes this process's queue once a job is committed (no-op where no queue runs). */
  poke?: () => void;
}

const NO_MAILBOX = 'the record has no coworker, so no mailbox to subscribe to';

export class ConnectionService implements RecordObserver<CoworkerMsOfficeCalendar> {
  /** What `created` writes (the app-only connection and, with a mailbox, its subscribe job), inside the record's insert. */
  readonly createdInStatement: NonNullable<RecordObserver<CoworkerMsOfficeCalendar>['createdInStatement']>;

  constructor(private readonly d: ConnectionServiceDeps) {
    const followUp: CreateFollowUp = {
      name: 'graph_subscribe_job',
      arity: d.connections.appOnlyArity,
      args: () => d.connections.appOnlyArgs(NO_MAILBOX),
      addTo: (q, args) => d.connections.withAppOnlyConnection(q, 'created_row', followUp.name, args),
    };
    this.createdInStatement = {
      followUp,
      settled: async (row, db) => {
        if (Number(row[followUp.name]) > 0) await this.wakeAfter(db);
      },
    };
  }

  /** Whether the engine manages a record's subscription fields (wired into the calendar service). */
  manages = (recordId: number, trx: Executor) => this.d.connections.manages(recordId, trx);

  async created(record: CoworkerMsOfficeCalendar, trx: Executor): Promise<void> {
    await this.attachAppOnly(record, trx, true);
  }

  async updated(before: CoworkerMsOfficeCalendar, after: CoworkerMsOfficeCalendar, trx: Executor): Promise<void> {
    if (before.CalendarId === after.CalendarId && before.CoworkerId === after.CoworkerId) return;
    const conn = await this.d.connections.get(after.Id, trx);
    if (conn?.auth_mode === 'delegated') {
      // The member's own sign-in decides the mailbox; a new calendar needs a new subscription.
      if (before.CalendarId !== after.CalendarId) await this.enqueue(trx, GraphJobs.subscribe, after.Id);
      return;
    }
    await this.attachAppOnly(after, trx);
  }

  async deleting(record: CoworkerMsOfficeCalendar, trx: Executor): Promise<void> {
    const conn = await this.d.connections.get(record.Id, trx);
    if (!conn?.client_state || !conn.subscription_id) return; // calbridge never made a subscription for it
    const payload: UnsubscribePayload = {
      // The engine's own id: a client's write to the record's SubscriptionId never decides what gets deleted.
      subscriptionId: conn.subscription_id,
      authMode: conn.auth_mode,
      mailbox: conn.mailbox,
      connectionKey: `record:${record.Id}`,
      tokenCacheSealed: conn.refresh_token_sealed,
    };
    await this.d.jobs.enqueue({ type: GraphJobs.unsubscribe, payload }, trx);
    await this.wakeAfter(trx);
  }

  /** Gives every record without a connection its connection (records made while no engine ran). Returns how many. */
  async repairMissing(limit = 500): Promise<number> {
    const ids = await this.d.connections.recordsWithoutConnection(limit);
    for (const id of ids) {
      await inTransaction(this.d.db, async (trx) => {
        const record = await this.d.calendars.findById(id, trx);
        if (record && !(await this.d.connections.get(id, trx))) await this.attachAppOnly(record, trx);
      });
    }
    return ids.length;
  }

  /**
   * A member connected a calendar through /connect: inside the transaction that created its record, the connection
   * becomes the member's own (delegated, with the token cache their sign-in left) and subscribes with it.
   */
  async connectMember(recordId: number, o: { mailbox: string; tokenCacheSealed: string; dedicated: boolean }, trx: Executor): Promise<void> {
    await this.d.connections.upsert(recordId, 'signInStarted', {
      auth_mode: 'delegated', refresh_token_sealed: o.tokenCacheSealed, client_state: null, subscription_id: null, dedicated: o.dedicated ? 1 : 0,
    }, trx);
    await this.d.connections.transition(recordId, 'signedIn', { mailbox: o.mailbox, last_error: null }, trx);
    await this.enqueue(trx, GraphJobs.subscribe, recordId);
  }

  /** A delegated sign-in begins: the connection pauses (credentials_missing) until the member's code is redeemed. */
  async beginDelegated(recordId: number): Promise<GraphConnection | undefined> {
    return withTransaction(this.d.db, undefined, async (trx) => {
      const existing = await this.d.connections.get(recordId, trx);
      await this.d.connections.upsert(recordId, 'signInStarted', {
        auth_mode: 'delegated', refresh_token_sealed: null, client_state: existing?.client_state ?? null,
      }, trx);
      return existing;
    });
  }

  /** The member signed in (their token cache is stored): subscribe with their token. */
  async completeDelegated(recordId: number, mailbox: string, dropAppSubscription: boolean): Promise<void> {
    await inTransaction(this.d.db, async (trx) => {
      await this.d.connections.transition(recordId, 'signedIn', {
        mailbox, last_error: null, ...(dropAppSubscription ? { client_state: null, subscription_id: null } : {}),
      }, trx);
      await this.enqueue(trx, GraphJobs.subscribe, recordId);
    });
  }

  /** `isNew`: the record was created in this transaction, so it has no connection row yet (one insert, no reads). */
  private async attachAppOnly(record: CoworkerMsOfficeCalendar, trx: Executor, isNew = false): Promise<void> {
    let mailbox: string;
    if (isNew) {
      mailbox = await this.d.connections.insertAppOnly(record.Id, record.CoworkerId ?? null, NO_MAILBOX, trx);
    } else {
      const coworker = record.CoworkerId ? await this.d.coworkers.findById(record.CoworkerId, trx) : undefined;
      mailbox = coworker?.Email ?? '';
      const fields = { auth_mode: 'app' as const, mailbox, last_error: mailbox ? null : NO_MAILBOX };
      await this.d.connections.upsert(record.Id, mailbox ? 'attached' : 'detached', fields, trx);
    }
    if (mailbox) await this.enqueue(trx, GraphJobs.subscribe, record.Id);
  }

  private async enqueue(trx: Executor, type: typeof GraphJobs.subscribe, recordId: number): Promise<void> {
    await this.d.jobs.enqueue({ type, payload: { recordId }, dedupeKey: dedupeKey.subscribe(recordId) }, trx);
    await this.wakeAfter(trx);
  }

  private async wakeAfter(trx: Executor): Promise<void> {
    const { poke } = this.d;
    if (poke) await afterCommit(trx, poke);
  }
}
