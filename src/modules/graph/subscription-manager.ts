/**
 * Keeps one Graph subscription alive per calendar record: create it (validation handshake, per-subscription
 * clientState, ImmutableId, the longest lifetime Graph allows), write SubscriptionId/SubscriptionExpireDate back from
 * what Graph answered, renew (PATCH) when less than 24 h remain, re-create on 404, react to lifecycle events, delete it
 * when the record goes. Every step is a job on the durable queue; nothing here runs in a request.
 */
import { randomBytes } from 'node:crypto';
import type { Subscription } from '@microsoft/microsoft-graph-types';
import type { Clock } from '../../core/clock.js';
import type { JobQueue } from '../../jobs/job-queue.js';
import type { Job } from '../../jobs/job-store.js';
import type { CoworkerMsOfficeCalendarRepository } from '../calendars/repository.js';
import type { ConnectionService } from './connection-service.js';
import { mailboxPath, type ConnectionRepository, type GraphConnection } from './connection-repository.js';
import type { GraphAuth, GraphClient } from './graph-client.js';
import { GraphAuthError, GraphError, GraphNotFoundError, MailboxMismatchError } from './graph-errors.js';
import { GraphJobs, dedupeKey, type UnsubscribePayload } from './job-names.js';
import { digestSecret, type SecretBox } from '../../core/secret-box.js';

/** Ask for 10,070 minutes (Graph's Outlook maximum is 10,080); Graph may answer with less. */
export const REQUESTED_LIFETIME_MS = 10_070 * 60_000;
/** Renew when less than this remains. */
export const RENEW_BEFORE_MS = 24 * 3600_000;
/** How far a renewal in progress moves next_renewal_at, so that nothing else starts the same renewal meanwhile. */
const RENEW_CLAIM_MS = 5 * 60_000;
/** A PATCH also reauthorizes; Graph asks not to do both within 10 minutes. */
const REAUTHORIZE_QUIET_MS = 10 * 60_000;

interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface SubscriptionManagerDeps {
  graph: GraphClient;
  connectionService: ConnectionService;
  calendars: CoworkerMsOfficeCalendarRepository;
  connections: ConnectionRepository;
  queue: JobQueue;
  clock: Clock;
  secrets: SecretBox;
  publicUrl: string;
  log: Logger;
}


export class SubscriptionManager {
  constructor(private readonly d: SubscriptionManagerDeps) {}

  register(queue: JobQueue): void {
    queue.register(GraphJobs.subscribe, (job) => this.subscribeJob(job));
    queue.register(GraphJobs.renew, (job) => this.renewJob(job));
    queue.register(GraphJobs.unsubscribe, (job) => this.unsubscribeJob(job));
    queue.register(GraphJobs.lifecycle, (job) => this.lifecycleJob(job));
    queue.register(GraphJobs.reconcile, (job) => this.reconcileJob(job));
  }

  /** The auth a connection uses for Graph calls. */
  authFor(conn: GraphConnection): GraphAuth {
    if (conn.auth_mode === 'app') return { kind: 'app', mailbox: conn.mailbox };
    return { kind: 'delegated', mailbox: conn.mailbox, connectionKey: `record:${conn.calendar_record_id}`, cache: this.tokenCache(conn.calendar_record_id) };
  }

  /** The member's MSAL token cache, sealed in graph_connections. */
  tokenCache(recordId: number) {
    const { connections, secrets } = this.d;
    return {
      load: async () => {
        const sealed = (await connections.get(recordId))?.refresh_token_sealed;
        return sealed ? secrets.open(sealed) : null;
      },
      save: async (serialized: string) => connections.update(recordId, { refresh_token_sealed: secrets.seal(serialized) }),
    };
  }

  /** The resource a record's subscription watches. */
  resourceFor(conn: GraphConnection, calendarId: string): string {
    return `${mailboxPath(conn).slice(1)}/calendars/${encodeURIComponent(calendarId)}/events`;
  }

  async enqueue(type: string, recordId: number, runAt?: number, extra: Record<string, unknown> = {}): Promise<void> {
    const key = type === GraphJobs.subscribe ? dedupeKey.subscribe(recordId)
      : type === GraphJobs.renew ? (extra.reauthorizeOnly ? dedupeKey.reauthorize(recordId) : extra.force ? dedupeKey.renewNow(recordId) : dedupeKey.renew(recordId))
      : type === GraphJobs.sync ? dedupeKey.sync(recordId)
      : type === GraphJobs.reconcile ? dedupeKey.reconcile(recordId) : undefined;
    await this.d.queue.enqueue({ type, payload: { recordId, ...extra }, dedupeKey: key, runAt });
  }

  // ---- jobs -------------------------------------------------------------------------------------------------------

  private async subscribeJob(job: Job): Promise<void> {
    const { recordId } = job.payload as { recordId: number };
    const loaded = await this.load(recordId);
    if (!loaded) return;
    const { conn, record } = loaded;
    // A failed connection stays 'failed' while the queue retries it (no flicker); success makes it active.
    await this.d.connections.transitionIfAllowed(recordId, 'workStarted');
    const auth = this.authFor(conn);
    // The old subscription of this record (if any) goes first, so Graph's duplicate rule (409) does not bite.
    if (conn.client_state && conn.subscription_id) await this.deleteQuietly(auth, conn.subscription_id);
    const clientState = randomBytes(32).toString('base64url');
    const resource = this.resourceFor(conn, record.CalendarId);
    const body: Subscription = {
      changeType: 'created,updated,deleted',
      notificationUrl: `${this.d.publicUrl}/graph/notifications`,
      lifecycleNotificationUrl: `${this.d.publicUrl}/graph/lifecycle`,
      resource,
      expirationDateTime: new Date(this.d.clock.now() + REQUESTED_LIFETIME_MS).toISOString(),
      clientState,
    };
    let created: Subscription;
    try {
      created = await this.d.graph.call<Subscription>(auth, 'POST', '/subscriptions', body, { Prefer: 'IdType="ImmutableId"' });
    } catch (err) {
      throw await this.recordFailure(recordId, err, job);
    }
    const expiry = Date.parse(created.expirationDateTime!);
    await this.d.calendars.setSubscription(recordId, created.id!, new Date(expiry).toISOString());
    await this.d.connections.transition(recordId, 'subscribed', {
      subscription_id: created.id!,
      // Kept only as its digest: enough to recognise Graph's notifications, useless to anyone reading the database.
      client_state: digestSecret(clientState),
      subscription_resource: resource,
      last_renewed_at: new Date(this.d.clock.now()).toISOString(),
      next_renewal_at: new Date(this.nextRenewal(expiry)).toISOString(),
      last_error: null,
    });
    await this.enqueue(GraphJobs.renew, recordId, this.nextRenewal(expiry));
    await this.enqueue(GraphJobs.sync, recordId, undefined, { full: true });
    this.d.log.info({ recordId, subscriptionId: created.id, expires: created.expirationDateTime }, 'Graph subscription created');
  }

  private async renewJob(job: Job): Promise<void> {
    const { recordId, force, reauthorizeOnly } = job.payload as { recordId: number; force?: boolean; reauthorizeOnly?: boolean };
    const loaded = await this.load(recordId);
    if (!loaded) return;
    const { conn, record } = loaded;
    if (!conn.client_state) return this.enqueue(GraphJobs.subscribe, recordId);
    if (reauthorizeOnly) return this.reauthorize(recordId, conn.subscription_id ?? record.SubscriptionId, conn, job);
    const due = Date.parse(conn.next_renewal_at ?? '') || 0;
    if (!force && due > this.d.clock.now()) {
      // Scheduled too early (e.g. a renewal already happened): run again when it is really due.
      return this.enqueue(GraphJobs.renew, recordId, due);
    }
    // The schedule and the sweep may both have queued this renewal: the first to move next_renewal_at (a few minutes
    // on, so a renewal that dies is picked up again) does it, the other stops.
    const claimUntil = new Date(this.d.clock.now() + RENEW_CLAIM_MS).toISOString();
    if (!force && !(await this.d.connections.claimRenewal(recordId, conn.next_renewal_at, claimUntil))) return;
    // A failed connection stays 'failed' while the queue retries it (no flicker); success makes it active.
    await this.d.connections.transitionIfAllowed(recordId, 'workStarted');
    const subscriptionId = conn.subscription_id ?? record.SubscriptionId;
    let renewed: Subscription;
    try {
      renewed = await this.d.graph.call<Subscription>(this.authFor(conn), 'PATCH', `/subscriptions/${encodeURIComponent(subscriptionId)}`, {
        expirationDateTime: new Date(this.d.clock.now() + REQUESTED_LIFETIME_MS).toISOString(),
      });
    } catch (err) {
      if (err instanceof GraphNotFoundError) return this.subscriptionGone(recordId, err, 'renewal');
      throw await this.recordFailure(recordId, err, job);
    }
    const expiry = Date.parse(renewed.expirationDateTime!);
    await this.d.calendars.setSubscription(recordId, subscriptionId, new Date(expiry).toISOString());
    await this.d.connections.transition(recordId, 'subscribed', {
      last_renewed_at: new Date(this.d.clock.now()).toISOString(),
      next_renewal_at: new Date(this.nextRenewal(expiry)).toISOString(),
      last_error: null,
    });
    await this.enqueue(GraphJobs.renew, recordId, this.nextRenewal(expiry));
  }

  /** POST /subscriptions/{id}/reauthorize (204): the subscription goes on with the connection's current token. */
  private async reauthorize(recordId: number, subscriptionId: string, conn: GraphConnection, job: Job): Promise<void> {
    try {
      await this.d.graph.call(this.authFor(conn), 'POST', `/subscriptions/${encodeURIComponent(subscriptionId)}/reauthorize`);
    } catch (err) {
      if (err instanceof GraphNotFoundError) return this.subscriptionGone(recordId, err, 'reauthorization');
      throw await this.recordFailure(recordId, err, job);
    }
    await this.d.connections.update(recordId, { last_reauthorized_at: new Date(this.d.clock.now()).toISOString() });
  }

  /** Graph dropped the subscription (expired, removed): make a new one, which reads the calendar again for what was missed. */
  private async subscriptionGone(recordId: number, err: GraphNotFoundError, during: 'renewal' | 'reauthorization'): Promise<void> {
    this.d.log.warn({ recordId }, `subscription gone on ${during}; re-creating`);
    await this.d.connections.update(recordId, { client_state: null, subscription_id: null, last_error: err.message });
    await this.enqueue(GraphJobs.subscribe, recordId);
  }

  private async unsubscribeJob(job: Job): Promise<void> {
    const p = job.payload as UnsubscribePayload;
    const auth: GraphAuth = p.authMode === 'app'
      ? { kind: 'app', mailbox: p.mailbox }
      : {
          kind: 'delegated', mailbox: p.mailbox, connectionKey: p.connectionKey,
          cache: { load: async () => (p.tokenCacheSealed ? this.d.secrets.open(p.tokenCacheSealed) : null), save: async () => {} },
        };
    try {
      await this.deleteQuietly(auth, p.subscriptionId);
    } catch (err) {
      // Without a token the subscription can't be deleted; it expires by itself within 7 days.
      if (err instanceof GraphAuthError) this.d.log.warn({ subscriptionId: p.subscriptionId }, 'cannot delete subscription without credentials; it will expire');
      else throw err;
    } finally {
      this.d.graph.forget(p.connectionKey);
    }
  }

  /**
   * A subscription can expire or vanish without a lifecycle message, and then notifications just stop. Ask Graph
   * whether it is still there: re-create a missing one (which reads the calendar again), else read the whole calendar
   * (a full round also slides the booking horizon, which a delta link cannot).
   */
  private async reconcileJob(job: Job): Promise<void> {
    const { recordId } = job.payload as { recordId: number };
    const loaded = await this.load(recordId);
    if (!loaded?.conn.client_state || !loaded.conn.subscription_id) return;
    const { conn } = loaded;
    try {
      const sub = await this.d.graph.call<Subscription>(this.authFor(conn), 'GET', `/subscriptions/${encodeURIComponent(conn.subscription_id!)}`);
      if (Date.parse(sub.expirationDateTime ?? '') > this.d.clock.now()) {
        await this.enqueue(GraphJobs.sync, recordId, undefined, { full: true });
        return;
      }
    } catch (err) {
      if (!(err instanceof GraphNotFoundError)) throw err;
    }
    this.d.log.warn({ recordId }, 'subscription vanished without a lifecycle message; re-creating');
    await this.d.connections.update(recordId, { client_state: null, subscription_id: null });
    await this.enqueue(GraphJobs.subscribe, recordId);
  }

  private async lifecycleJob(job: Job): Promise<void> {
    const { recordId, event } = job.payload as { recordId: number; event: string };
    const conn = await this.d.connections.get(recordId);
    if (!conn) return;
    switch (event) {
      case 'reauthorizationRequired': {
        const last = Math.max(Date.parse(conn.last_renewed_at ?? '') || 0, Date.parse(conn.last_reauthorized_at ?? '') || 0);
        if (this.d.clock.now() - last < REAUTHORIZE_QUIET_MS) return; // a PATCH or reauthorize just did it
        // Graph also asks ahead of the bound access token's expiry (about hourly): when the renewal is not due, the
        // lighter POST /reauthorize answers it; near the expiry a renewal (PATCH) does both. That one is the scheduled
        // renewal, not a forced one: its claim keeps it to one PATCH when the schedule or the sweep runs it too.
        const renewalDue = (Date.parse(conn.next_renewal_at ?? '') || 0) <= this.d.clock.now();
        await this.enqueue(GraphJobs.renew, recordId, undefined, renewalDue ? {} : { reauthorizeOnly: true });
        return;
      }
      case 'subscriptionRemoved':
        await this.d.connections.update(recordId, { client_state: null, subscription_id: null });
        await this.enqueue(GraphJobs.subscribe, recordId);
        return;
      case 'missed':
        await this.enqueue(GraphJobs.sync, recordId, undefined, { full: false });
        return;
    }
  }

  /** Deletes a record's live subscription with the credentials of `conn` (the ones that made it); 404 counts as done. */
  async deleteCurrent(conn: GraphConnection): Promise<void> {
    if (!conn.client_state || !conn.subscription_id) return;
    await this.deleteQuietly(this.authFor(conn), conn.subscription_id);
  }

  /**
   * A member signed in with Microsoft (delegated, auth code flow): redeem the code into the record's sealed token
   * cache, switch the connection to the member's own mailbox (`me/...`), and subscribe with their token.
   * `sameMailbox` (a member reconnecting): the account must be the one the connection already reads; another one is
   * refused (MailboxMismatchError) before anything about the connection changes.
   */
  async connectDelegated(recordId: number, code: string, redirectUri: string, codeVerifier?: string, options: { sameMailbox?: boolean } = {}): Promise<string> {
    // Redeemed into memory first: nothing is stored until the account is known to be the right one.
    let cache: string | null = null;
    const signInKey = `sign-in:${recordId}`;
    const mailbox = await this.d.graph.redeemCode(signInKey, { load: async () => cache, save: async (s) => void (cache = s) }, code, redirectUri, codeVerifier)
      .finally(() => this.d.graph.forget(signInKey));
    const expected = options.sameMailbox ? (await this.d.connections.get(recordId))?.mailbox : undefined;
    if (expected && expected.toLowerCase() !== mailbox.toLowerCase()) throw new MailboxMismatchError(mailbox, expected);
    const existing = await this.d.connectionService.beginDelegated(recordId);
    this.d.graph.forget(`record:${recordId}`);
    if (cache) await this.tokenCache(recordId).save(cache);
    const appMade = Boolean(existing?.auth_mode === 'app' && existing.client_state);
    if (appMade) {
      // Made with the app's credentials: the member's token can neither see nor delete it, and Graph refuses a second
      // subscription on the same calendar (409). It goes now, with the app's credentials; should that fail, the
      // subscribe job's 409 shows on the record and it retries.
      await this.deleteCurrent(existing!).catch(() => {});
    }
    await this.d.connectionService.completeDelegated(recordId, mailbox, appMade);
    return mailbox;
  }

  // ---- helpers ----------------------------------------------------------------------------------------------------

  /** Renew when 24 h remain; for a short lifetime, half-way through it. */
  nextRenewal(expiry: number): number {
    const now = this.d.clock.now();
    return expiry - now > 2 * RENEW_BEFORE_MS ? expiry - RENEW_BEFORE_MS : now + Math.max(60_000, (expiry - now) / 2);
  }

  private async load(recordId: number) {
    const [conn, record] = await Promise.all([this.d.connections.get(recordId), this.d.calendars.findById(recordId)]);
    if (!conn || !record) return undefined; // the record was deleted meanwhile
    if (conn.state === 'credentials_missing' || conn.state === 'reauth_required') return undefined;
    return { conn, record };
  }

  private async deleteQuietly(auth: GraphAuth, subscriptionId: string): Promise<void> {
    try {
      await this.d.graph.call(auth, 'DELETE', `/subscriptions/${encodeURIComponent(subscriptionId)}`);
    } catch (err) {
      if (!(err instanceof GraphNotFoundError)) throw err; // 404 counts as done
    }
  }

  /**
   * Records a failed subscribe or renew on the connection and answers the error for the queue. Whose it is decides:
   * a refused member token (invalid_grant, interaction_required, 401 on the member's token) asks the member to sign in
   * again (reauth_required). What only the operator can fix (the app's own credentials refused, an untrusted
   * certificate, access denied by permission or tenant policy, an unknown mailbox or calendar) fails the connection at
   * once with ActionBy "operator" and a LastError that says so, and the job does not retry. Anything else is passing:
   * retried, and failed (ActionBy null) when the retries are used up.
   */
  private async recordFailure(recordId: number, err: unknown, job: Job): Promise<unknown> {
    const message = err instanceof Error ? err.message : String(err);
    const by = err instanceof GraphError ? err.actionBy : null;
    const delegated = (await this.d.connections.get(recordId))?.auth_mode === 'delegated';
    if (by === 'member' && delegated) {
      await this.d.connections.transitionIfAllowed(recordId, 'authRefused', { last_error: prefixed('member', message) });
      return err;
    }
    const permanent = err instanceof GraphError && err.status >= 400 && err.status < 500 && err.status !== 429 && err.status !== 409 && err.status !== 408;
    if (by !== null || permanent) {
      await this.d.connections.transitionIfAllowed(recordId, 'operatorRequired', { last_error: operatorMessage(err, message) });
      return Object.assign(err as Error, { permanent: true });
    }
    const last = job.attempts >= job.maxAttempts;
    const wasFailed = (await this.d.connections.get(recordId))?.state === 'failed';
    await this.d.connections.transitionIfAllowed(recordId, last || wasFailed ? 'failed' : 'retrying', { last_error: message });
    return err;
  }
}

/** A LastError that begins with whose it is to fix ("operator: ..." / "member: ..."). */
export function prefixed(by: 'operator' | 'member', message: string): string {
  return message.startsWith(`${by}:`) ? message : `${by}: ${message}`;
}

/** The operator's LastError for a failure that no retry and no member sign-in fixes. */
export function operatorMessage(err: unknown, message: string): string {
  if (message.startsWith('operator:')) return message;
  if (err instanceof GraphAuthError && err.status === 403) {
    return prefixed('operator', `${message} (access denied: the app needs permission for this mailbox, admin consent, or a tenant policy blocks it; an operator must fix it, then run RENEW_SUBSCRIPTION)`);
  }
  return prefixed('operator', `${message} (a retry will not fix it: check the record's CalendarId and the coworker's mailbox, or the app registration, then run RENEW_SUBSCRIPTION)`);
}
