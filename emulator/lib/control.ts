/** The control surface for tests and demos; /_control/* exposes the same operations over HTTP. */
import type { LifecycleEventType } from '@microsoft/microsoft-graph-types';
import type { EmulatorContext } from './context.js';
import type { AppRecord, CalendarRecord, NewApp, NewTenant, NewUser, TenantRecord, UserRecord } from './directory.js';
import { GraphError } from './errors.js';
import { renderEvent } from './events.js';
import type { FaultRule, FaultSpec } from './faults.js';
import type { GraphEvent } from './graph-types.js';
import type { DeliveryFilter, DeliveryRecord, NotificationFaultSpec } from './notifier.js';
import type { RequestFilter, RequestRecord } from './request-log.js';
import type { EmulatorSettings } from './settings.js';
import type { SubscriptionRecord } from './subscriptions.js';
import type { ThrottleStats } from './throttling.js';

/** A subscription as the control API shows it (clientState included, times in ISO). */
export interface ControlSubscription {
  id: string;
  appId: string;
  tenantId: string;
  creatorId: string;
  userId: string;
  calendarId: string;
  resource: string;
  changeType: string;
  notificationUrl: string;
  lifecycleNotificationUrl: string | null;
  clientState: string | null;
  expirationDateTime: string;
  createdDateTime: string;
  immutableIds: boolean;
  status: 'active' | 'expired' | 'deleted' | 'removed';
  removedAt?: string;
}

export interface SeedResult {
  tenant: TenantRecord;
  app: AppRecord;
  users: UserRecord[];
}

export interface ClockAdvance {
  ms?: number;
  seconds?: number;
  minutes?: number;
  hours?: number;
  days?: number;
}

export class EmulatorControl {
  constructor(private readonly ctx: EmulatorContext) {}

  /* ---------- directory ---------- */

  createTenant(input: NewTenant = {}): TenantRecord {
    return this.ctx.directory.createTenant(input);
  }

  createApp(input: NewApp): AppRecord {
    return this.ctx.directory.createApp(input);
  }

  /** Creates a user (mailbox) with its default calendar "Calendar". */
  createUser(input: NewUser): UserRecord {
    return this.ctx.directory.createUser(input);
  }

  createCalendar(user: string, name: string): CalendarRecord {
    return this.ctx.directory.createCalendar(this.user(user).id, name);
  }

  listTenants(): TenantRecord[] {
    return [...this.ctx.directory.tenants.values()];
  }

  listApps(): AppRecord[] {
    return [...this.ctx.directory.apps.values()];
  }

  listUsers(tenantId?: string): UserRecord[] {
    return [...this.ctx.directory.users.values()].filter((u) => !tenantId || u.tenantId === tenantId);
  }

  listCalendars(user: string): CalendarRecord[] {
    return this.ctx.directory.calendarsOf(this.user(user).id);
  }

  defaultCalendar(user: string): CalendarRecord {
    return this.ctx.directory.defaultCalendar(this.user(user).id);
  }

  /** By id, userPrincipalName or mail. */
  user(idOrUpn: string): UserRecord {
    const u = this.ctx.directory.findUser(idOrUpn);
    if (!u) throw new GraphError(404, 'ErrorInvalidUser', `The requested user '${idOrUpn}' is invalid.`);
    return u;
  }

  /** One tenant, one app (client id + secret) and a few mailboxes (two people and a meeting room). */
  seed(opts: { tenantId?: string; domain?: string; clientId?: string; clientSecret?: string; redirectUris?: string[] } = {}): SeedResult {
    const tenant = this.createTenant({ id: opts.tenantId, displayName: 'Contoso', domain: opts.domain ?? 'contoso.onmicrosoft.com' });
    const app = this.createApp({ tenantId: tenant.id, clientId: opts.clientId, clientSecret: opts.clientSecret, displayName: 'calbridge', redirectUris: opts.redirectUris });
    const users = [
      this.createUser({ tenantId: tenant.id, displayName: 'Adele Vance', userPrincipalName: `adelev@${tenant.domain}` }),
      this.createUser({ tenantId: tenant.id, displayName: 'Alex Wilber', userPrincipalName: `alexw@${tenant.domain}` }),
      this.createUser({ tenantId: tenant.id, displayName: 'Room Rainier', userPrincipalName: `rainier@${tenant.domain}`, kind: 'room' }),
    ];
    return { tenant, app, users };
  }

  /* ---------- events (same code path as Graph writes: notifications follow) ---------- */

  createEvent(user: string, event: GraphEvent, opts: { calendarId?: string; tz?: string } = {}): GraphEvent {
    const u = this.user(user);
    const cal = opts.calendarId ? this.ctx.directory.calendars.get(opts.calendarId) : this.ctx.directory.defaultCalendar(u.id);
    if (!cal || cal.userId !== u.id) throw new GraphError(404, 'ErrorItemNotFound', 'The calendar was not found.');
    return renderEvent(this.ctx.events.create(cal, event, { allowReadOnly: true }), { tz: opts.tz ?? null, extendedProperties: 'all' });
  }

  /** PATCH an event or occurrence; also accepts read-only fields Graph sets itself (isCancelled, organizer). */
  updateEvent(user: string, id: string, patch: GraphEvent, opts: { tz?: string } = {}): GraphEvent {
    const u = this.user(user);
    return renderEvent(this.ctx.events.update(u.id, id, patch, { allowReadOnly: true }), { tz: opts.tz ?? null, extendedProperties: 'all' });
  }

  deleteEvent(user: string, id: string): void {
    this.ctx.events.delete(this.user(user).id, id);
  }

  getEvent(user: string, id: string, opts: { tz?: string } = {}): GraphEvent {
    return renderEvent(this.ctx.events.find(this.user(user).id, id), { tz: opts.tz ?? null, extendedProperties: 'all' });
  }

  listEvents(user: string, opts: { calendarId?: string; tz?: string } = {}): GraphEvent[] {
    const u = this.user(user);
    const cal = opts.calendarId ?? this.ctx.directory.defaultCalendar(u.id).id;
    return this.ctx.events.listItems(cal).map((e) => renderEvent(e, { tz: opts.tz ?? null, extendedProperties: 'all' }));
  }

  /* ---------- tokens ---------- */

  private app(clientId: string): AppRecord {
    const a = this.ctx.directory.apps.get(clientId);
    if (!a) throw new GraphError(404, 'NotFound', `Application '${clientId}' not found.`);
    return a;
  }

  /** An app-only access token, as the client credentials grant would issue. */
  issueAppToken(clientId: string): string {
    return this.ctx.tokens.issueAppToken(this.app(clientId)).token;
  }

  /** A delegated access token (and a refresh token) for a user, as the auth code grant would issue. */
  issueUserToken(clientId: string, user: string, scopes: string[] = ['Calendars.ReadWrite', 'User.Read']): { accessToken: string; refreshToken: string } {
    const app = this.app(clientId);
    const u = this.user(user);
    return {
      accessToken: this.ctx.tokens.issueUserToken(app, u, scopes).token,
      refreshToken: this.ctx.tokens.issueRefreshToken(app, u, [...scopes, 'offline_access', 'openid', 'profile']).token,
    };
  }

  revokeAccessToken(token: string): boolean {
    return this.ctx.tokens.revokeAccessToken(token);
  }

  revokeRefreshToken(token: string): boolean {
    return this.ctx.tokens.revokeRefreshToken(token);
  }

  /** Revokes every token of a user (optionally for one app), like revokeSignInSessions. */
  revokeUser(user: string, clientId?: string): number {
    return this.ctx.tokens.revokeUser(this.user(user).id, clientId);
  }

  /**
   * The app registration's client secret as an operator changes it in Entra: a new value (the old one stops working:
   * invalid_client 7000215) and/or expired (invalid_client 7000222). Tokens already issued stay valid, as at Microsoft.
   */
  setClientSecret(clientId: string, change: { secret?: string; expired?: boolean }): { clientId: string; expired: boolean } {
    const app = this.app(clientId);
    if (change.secret !== undefined) {
      if (!change.secret) throw new GraphError(400, 'BadRequest', 'secret must not be empty.');
      app.clientSecret = change.secret;
    }
    if (change.expired !== undefined) app.secretExpired = change.expired;
    return { clientId: app.clientId, expired: Boolean(app.secretExpired) };
  }

  /**
   * Makes the next `times` interactive sign-ins for this app end in an OAuth error redirect (e.g. `access_denied` with
   * `AADSTS90094: Admin consent is required…`, or `AADSTS53003` for conditional access) once the user picks an account.
   */
  failSignIns(clientId: string, failure: { error: string; description: string; times?: number }): { clientId: string; remaining: number } {
    if (!failure.error || !/^[a-z_]+$/.test(failure.error)) throw new GraphError(400, 'BadRequest', 'error must be an OAuth error code such as access_denied.');
    const app = this.app(clientId);
    const remaining = failure.times ?? 1;
    app.signInFailure = remaining > 0 ? { error: failure.error, description: failure.description, remaining } : undefined;
    return { clientId: app.clientId, remaining };
  }

  revokeApp(clientId: string): number {
    return this.ctx.tokens.revokeApp(this.app(clientId).clientId);
  }

  /* ---------- clock ---------- */

  now(): string {
    return this.ctx.clock.iso();
  }

  advanceClock(by: number | ClockAdvance): string {
    const ms =
      typeof by === 'number'
        ? by
        : (by.ms ?? 0) + (by.seconds ?? 0) * 1e3 + (by.minutes ?? 0) * 6e4 + (by.hours ?? 0) * 3.6e6 + (by.days ?? 0) * 8.64e7;
    if (!Number.isFinite(ms)) throw new GraphError(400, 'BadRequest', 'advance needs a finite duration.');
    this.ctx.clock.advance(ms);
    return this.now();
  }

  setClock(iso: string | number): string {
    const t = typeof iso === 'number' ? iso : Date.parse(iso);
    if (Number.isNaN(t)) throw new GraphError(400, 'BadRequest', `Invalid instant '${iso}'.`);
    this.ctx.clock.set(t);
    return this.now();
  }

  /* ---------- subscriptions ---------- */

  private subJson(s: SubscriptionRecord, status: ControlSubscription['status'], removedAt?: string): ControlSubscription {
    return {
      id: s.id,
      appId: s.appId,
      tenantId: s.tenantId,
      creatorId: s.creatorId,
      userId: s.userId,
      calendarId: s.calendarId,
      resource: s.resource,
      changeType: s.changeTypes.join(','),
      notificationUrl: s.notificationUrl,
      lifecycleNotificationUrl: s.lifecycleNotificationUrl,
      clientState: s.clientState,
      expirationDateTime: new Date(s.expiresAt).toISOString(),
      createdDateTime: new Date(s.createdAt).toISOString(),
      immutableIds: s.immutableIds,
      status,
      ...(removedAt ? { removedAt } : {}),
    };
  }

  listSubscriptions(opts: { includeRemoved?: boolean } = {}): ControlSubscription[] {
    this.ctx.subscriptions.sweep();
    const live = [...this.ctx.subscriptions.subscriptions.values()].map((s) => this.subJson(s, 'active'));
    if (!opts.includeRemoved) return live;
    return [...live, ...this.ctx.subscriptions.removed.map((r) => this.subJson(r.subscription, r.reason, r.at))];
  }

  getSubscription(id: string): ControlSubscription {
    const s = this.ctx.subscriptions.subscriptions.get(id);
    if (s) return this.subJson(s, 'active');
    const r = [...this.ctx.subscriptions.removed].reverse().find((x) => x.subscription.id === id);
    if (r) return this.subJson(r.subscription, r.reason, r.at);
    throw new GraphError(404, 'ResourceNotFound', `Subscription '${id}' not found.`);
  }

  private liveSub(id: string): SubscriptionRecord {
    const s = this.ctx.subscriptions.subscriptions.get(id);
    if (!s) throw new GraphError(404, 'ResourceNotFound', `Subscription '${id}' not found.`);
    return s;
  }

  /** Ends a subscription as its expiry would: removed, nothing sent. */
  expireSubscription(id: string): ControlSubscription {
    const s = this.liveSub(id);
    s.expiresAt = this.ctx.clock.now();
    this.ctx.subscriptions.drop(s, 'expired');
    return this.getSubscription(id);
  }

  /** Removes a subscription as Graph would on its own; sends subscriptionRemoved unless notify is false. */
  removeSubscription(id: string, opts: { notify?: boolean } = {}): { subscription: ControlSubscription; notified: boolean } {
    const s = this.liveSub(id);
    this.ctx.subscriptions.drop(s, 'removed');
    const notified = opts.notify === false ? false : this.ctx.subscriptions.sendLifecycle(s, 'subscriptionRemoved');
    return { subscription: this.getSubscription(id), notified };
  }

  /** Sends reauthorizationRequired / missed / subscriptionRemoved (the last one does not remove; use removeSubscription). */
  sendLifecycle(id: string, event: LifecycleEventType): boolean {
    if (!['reauthorizationRequired', 'missed', 'subscriptionRemoved'].includes(event)) {
      throw new GraphError(400, 'BadRequest', `Unknown lifecycle event '${event}'.`);
    }
    return this.ctx.subscriptions.sendLifecycle(this.liveSub(id), event);
  }

  /* ---------- faults ---------- */

  /** Fault on the emulator's own endpoints: N × status (429/503 …) with Retry-After, and/or a delay. */
  addFault(spec: FaultSpec): FaultRule {
    return this.ctx.faults.add(spec);
  }

  listFaults(): FaultRule[] {
    return this.ctx.faults.rules;
  }

  removeFault(id: number): boolean {
    return this.ctx.faults.remove(id);
  }

  clearFaults(): void {
    this.ctx.faults.clear();
    this.ctx.notifier.faults = [];
  }

  /** The next `count` change notifications (optionally of one subscription) are not delivered. */
  dropNotifications(count = 1, opts: Omit<NotificationFaultSpec, 'action' | 'count'> = {}): void {
    this.ctx.notifier.addFault({ ...opts, action: 'drop', count });
  }

  /** The next `count` change notifications are delivered twice. */
  duplicateNotifications(count = 1, opts: Omit<NotificationFaultSpec, 'action' | 'count'> = {}): void {
    this.ctx.notifier.addFault({ ...opts, action: 'duplicate', count });
  }

  /** Makes delta tokens of a mailbox (or all) unusable: the next delta call answers 410. */
  invalidateDeltaTokens(user?: string): number {
    return this.ctx.delta.invalidate(user ? this.user(user).id : undefined);
  }

  /* ---------- inspection ---------- */

  deliveries(filter: DeliveryFilter = {}): DeliveryRecord[] {
    return this.ctx.notifier.list(filter);
  }

  clearDeliveries(): void {
    this.ctx.notifier.clearLog();
  }

  waitForDelivery(filter: DeliveryFilter & { predicate?: (d: DeliveryRecord) => boolean }, timeoutMs = 5_000): Promise<DeliveryRecord> {
    return this.ctx.notifier.waitForDelivery(filter, timeoutMs);
  }

  /** Resolves when no notification is queued, in flight or waiting for a retry. */
  waitForIdle(timeoutMs = 10_000): Promise<void> {
    return this.ctx.notifier.waitForIdle(timeoutMs);
  }

  requests(filter: RequestFilter = {}): RequestRecord[] {
    return this.ctx.requests.list(filter);
  }

  clearRequests(): void {
    this.ctx.requests.clear();
  }

  /** Outlook throttling counters per app and mailbox: 429s sent (by limit), highest concurrency, requests counted. */
  throttling(): ThrottleStats {
    return this.ctx.throttle.stats();
  }

  /** Zeroes the throttling counters and empties the request-rate windows (e.g. between benchmark runs or tests). */
  resetThrottling(): void {
    this.ctx.throttle.reset();
  }

  settings(): EmulatorSettings {
    return { ...this.ctx.settings };
  }

  /** Changes tunables at run time (e.g. validationTimeoutMs, notificationRetryDelaysMs). */
  updateSettings(patch: Partial<EmulatorSettings>): EmulatorSettings {
    for (const [k, v] of Object.entries(patch)) {
      if (!(k in this.ctx.settings)) throw new GraphError(400, 'BadRequest', `Unknown setting '${k}'.`);
      (this.ctx.settings as unknown as Record<string, unknown>)[k] = v;
    }
    return this.settings();
  }

  state(): Record<string, unknown> {
    return {
      now: this.now(),
      tenants: this.ctx.directory.tenants.size,
      apps: this.ctx.directory.apps.size,
      users: this.ctx.directory.users.size,
      calendars: this.ctx.directory.calendars.size,
      events: this.ctx.events.events.size,
      subscriptions: this.ctx.subscriptions.subscriptions.size,
      deltaTokens: this.ctx.delta.tokenCount,
      faults: this.ctx.faults.rules.filter((r) => r.remaining > 0).length,
      notificationFaults: this.ctx.notifier.faults.filter((f) => f.count > 0).length,
      pendingNotifications: this.ctx.notifier.pending,
      deliveries: this.ctx.notifier.deliveries.length,
      requests: this.ctx.requests.entries.length,
      throttled: this.ctx.throttle.stats().throttled,
    };
  }

  /** Forgets everything: directory, events, tokens, subscriptions, faults, logs; the clock offset stays. */
  reset(): void {
    this.ctx.notifier.reset();
    this.ctx.notifier.clearLog();
    this.ctx.subscriptions.clear();
    this.ctx.delta.clear();
    this.ctx.events.clear();
    this.ctx.tokens.clear();
    this.ctx.directory.clear();
    this.ctx.faults.clear();
    this.ctx.requests.clear();
    this.ctx.throttle.reset();
  }

  caCertificate(): string {
    return this.ctx.caCertificate;
  }
}
