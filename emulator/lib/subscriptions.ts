/** Outlook event subscriptions: create (with the validation handshake), renew, delete, expiry, notifications. */
import type { ChangeType, LifecycleEventType } from '@microsoft/microsoft-graph-types';
import type { EmulatorContext } from './context.js';
import { GraphError } from './errors.js';
import type { EventChange } from './events.js';
import type { EventChangeNotification, GraphSubscription, LifecycleNotification } from './graph-types.js';
import { guid } from './ids.js';
import type { Principal } from './tokens.js';

export interface SubscriptionRecord {
  id: string;
  appId: string;
  tenantId: string;
  /** The signed-in user (delegated) or the app's service principal (app-only). */
  creatorId: string;
  /** Delegated subscriptions are visible to their user only. */
  ownerUserId: string | null;
  /** Mailbox watched. */
  userId: string;
  calendarId: string;
  /** The resource string as the client sent it. */
  resource: string;
  changeTypes: ChangeType[];
  notificationUrl: string;
  lifecycleNotificationUrl: string | null;
  clientState: string | null;
  expiresAt: number;
  /** When expiresAt was last set (creation or renewal): the lifetime the reauthorizationRequired lead is a share of. */
  expirySetAt: number;
  /** The expiresAt a reauthorizationRequired was sent ahead of (once per expiry). */
  expiryWarnedFor: number | null;
  createdAt: number;
  includeResourceData: boolean;
  latestSupportedTlsVersion: string;
  immutableIds: boolean;
  /** Expiry of the access token the subscription was last (re)authorized with. */
  authorizedUntil: number;
  /** An automatic reauthorizationRequired was sent since the last (re)authorization. */
  reauthorizationSent: boolean;
}

export interface RemovedSubscription {
  subscription: SubscriptionRecord;
  reason: 'expired' | 'deleted' | 'removed';
  at: string;
}

const CHANGE_TYPES: ChangeType[] = ['created', 'updated', 'deleted'];

const invalidRequest = (message: string): GraphError => new GraphError(400, 'InvalidRequest', message);

function isoSub(ms: number): string {
  // Graph writes 7 fractional digits ("2022-01-01T21:42:18.2257768Z").
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
}

export class SubscriptionService {
  readonly subscriptions = new Map<string, SubscriptionRecord>();
  readonly removed: RemovedSubscription[] = [];

  constructor(private readonly ctx: EmulatorContext) {}

  /** Parses a subscription resource into mailbox + calendar. Single events and other resources are refused. */
  private resolveResource(resource: string, p: Principal): { userId: string; calendarId: string } {
    const raw = resource.split('?')[0]!.replace(/^\/+|\/+$/g, '');
    const segs = raw.split('/').map((s) => decodeURIComponent(s));
    const lower = segs.map((s) => s.toLowerCase());
    const unsupported = (): GraphError => invalidRequest(`The value '${resource}' of parameter 'Resource' is not supported.`);
    let userId: string;
    let rest: string[];
    let restLower: string[];
    if (lower[0] === 'me') {
      if (p.kind !== 'user') throw new GraphError(400, 'BadRequest', '/me request is only valid with delegated authentication flow.');
      userId = p.userId!;
      rest = segs.slice(1);
      restLower = lower.slice(1);
    } else if (lower[0] === 'users' && segs[1]) {
      const u = this.ctx.directory.findUser(segs[1], p.tenantId);
      if (!u) throw new GraphError(404, 'ResourceNotFound', `Resource '${resource}' does not exist or one of its queried reference-property objects are not present.`);
      userId = u.id;
      rest = segs.slice(2);
      restLower = lower.slice(2);
    } else throw unsupported();
    if (p.kind === 'user' && userId !== p.userId) {
      throw new GraphError(403, 'ExtensionError', 'Operation: Create; Exception: [Status Code: Forbidden; Reason: Forbidden]');
    }
    const dir = this.ctx.directory;
    if (restLower.length === 1 && restLower[0] === 'events') return { userId, calendarId: dir.defaultCalendar(userId).id };
    if (restLower.length === 2 && restLower[0] === 'calendar' && restLower[1] === 'events') return { userId, calendarId: dir.defaultCalendar(userId).id };
    if (restLower.length === 3 && restLower[0] === 'calendars' && restLower[2] === 'events') {
      const cal = dir.calendars.get(rest[1]!);
      if (!cal || cal.userId !== userId) throw new GraphError(404, 'ResourceNotFound', `Resource '${resource}' does not exist or one of its queried reference-property objects are not present.`);
      return { userId, calendarId: cal.id };
    }
    throw unsupported();
  }

  private parseChangeTypes(value: unknown): ChangeType[] {
    if (typeof value !== 'string' || !value.trim()) throw invalidRequest("The property 'changeType' is required.");
    const parts = value.split(',').map((s) => s.trim());
    for (const p of parts) if (!CHANGE_TYPES.includes(p as ChangeType)) throw invalidRequest(`'${p}' is not a valid changeType.`);
    return [...new Set(parts as ChangeType[])];
  }

  private checkUrl(value: unknown, field: string): string {
    if (typeof value !== 'string' || !value) throw invalidRequest(`The property '${field}' is required.`);
    let u: URL;
    try {
      u = new URL(value);
    } catch {
      throw invalidRequest(`Invalid '${field}': '${value}'.`);
    }
    if (u.protocol !== 'https:' && (this.ctx.settings.requireHttpsNotificationUrl || u.protocol !== 'http:')) {
      throw invalidRequest(`The '${field}' must start with 'https'.`);
    }
    return value;
  }

  /** Expiry rule: at most max minutes ahead (400 otherwise); under the minimum it is raised to the minimum. */
  private expiryFrom(value: unknown, includeResourceData: boolean): number {
    if (typeof value !== 'string') throw invalidRequest("The property 'expirationDateTime' is required.");
    const t = Date.parse(value);
    if (Number.isNaN(t)) throw invalidRequest(`Invalid 'expirationDateTime': '${value}'.`);
    const now = this.ctx.clock.now();
    const s = this.ctx.settings;
    const max = includeResourceData ? s.maxSubscriptionMinutesWithResourceData : s.maxSubscriptionMinutes;
    if (t - now > max * 60_000) throw new GraphError(400, 'ExtensionError', `Subscription expiration can only be ${max} minutes in the future.`);
    return Math.max(t, now + s.minSubscriptionMinutes * 60_000);
  }

  private visible(sub: SubscriptionRecord, p: Principal): boolean {
    if (sub.tenantId !== p.tenantId || sub.appId !== p.appId) return false;
    return p.kind === 'app' ? true : sub.ownerUserId === p.userId;
  }

  private require(p: Principal, id: string): SubscriptionRecord {
    this.sweep();
    const sub = this.subscriptions.get(id);
    if (!sub || !this.visible(sub, p)) throw new GraphError(404, 'ResourceNotFound', `The object was not found.`);
    return sub;
  }

  async handshake(url: string, subscriptionIds: string[] = []): Promise<void> {
    const r = await this.ctx.notifier.validate(url, subscriptionIds);
    if (r.ok) return;
    if (r.timedOut) throw new GraphError(400, 'InvalidRequest', 'Subscription validation request timed out.');
    const detail = r.status !== null && r.status !== 200 ? ` HTTP status code is '${r.status}'.` : r.error ? ` (${r.error})` : '';
    throw new GraphError(400, 'ValidationError', `Subscription validation request failed.${detail} Notification endpoint must respond with 200 OK to validation request.`);
  }

  async create(p: Principal, body: Record<string, unknown>, opts: { immutableIds: boolean }): Promise<SubscriptionRecord> {
    this.sweep();
    const changeTypes = this.parseChangeTypes(body.changeType);
    const notificationUrl = this.checkUrl(body.notificationUrl, 'notificationUrl');
    const lifecycleNotificationUrl = body.lifecycleNotificationUrl == null ? null : this.checkUrl(body.lifecycleNotificationUrl, 'lifecycleNotificationUrl');
    if (typeof body.resource !== 'string' || !body.resource) throw invalidRequest("The property 'resource' is required.");
    const { userId, calendarId } = this.resolveResource(body.resource, p);
    const includeResourceData = body.includeResourceData === true;
    if (includeResourceData && (!body.encryptionCertificate || !body.encryptionCertificateId)) {
      throw invalidRequest('A subscription with includeResourceData needs encryptionCertificate and encryptionCertificateId.');
    }
    if (includeResourceData) throw new GraphError(400, 'NotSupported', 'Rich notifications (includeResourceData) are not implemented by the Graph emulator.');
    const expiresAt = this.expiryFrom(body.expirationDateTime, includeResourceData);
    const clientState = body.clientState == null ? null : String(body.clientState);
    if (clientState !== null && clientState.length > 128) throw invalidRequest('The clientState value exceeds the maximum length of 128 characters.');
    // Graph: "same values for changeType and resource as an existing subscription" → 409, whatever the URLs. The
    // resource is compared by what it watches (mailbox + calendar), so /users/{upn}/events = /users/{id}/calendar/events.
    const sameKey = (s: SubscriptionRecord): boolean =>
      s.appId === p.appId && s.userId === userId && s.calendarId === calendarId && [...s.changeTypes].sort().join() === [...changeTypes].sort().join();
    const conflict = (s: SubscriptionRecord): GraphError => new GraphError(409, 'ObjectIdentifierInUse', `Subscription Id ${s.id} already exists for the requested combination`);
    const dup = [...this.subscriptions.values()].find(sameKey);
    if (dup) throw conflict(dup);
    const perMailbox = [...this.subscriptions.values()].filter((s) => s.userId === userId).length;
    if (perMailbox >= this.ctx.settings.maxSubscriptionsPerMailbox) {
      throw new GraphError(403, 'ExtensionError', `Operation: Create; Exception: [Status Code: Forbidden; Reason: The mailbox has reached its quota of ${this.ctx.settings.maxSubscriptionsPerMailbox} subscriptions.]`);
    }
    const id = guid();
    await this.handshake(notificationUrl, [id]);
    if (lifecycleNotificationUrl) await this.handshake(lifecycleNotificationUrl, [id]);
    // A concurrent identical create may have won while we were validating.
    const raced = [...this.subscriptions.values()].find(sameKey);
    if (raced) throw conflict(raced);
    const app = this.ctx.directory.apps.get(p.appId);
    const sub: SubscriptionRecord = {
      id,
      appId: p.appId,
      tenantId: p.tenantId,
      creatorId: p.kind === 'user' ? p.userId! : (app?.servicePrincipalId ?? p.appId),
      ownerUserId: p.kind === 'user' ? p.userId : null,
      userId,
      calendarId,
      resource: body.resource,
      changeTypes,
      notificationUrl,
      lifecycleNotificationUrl,
      clientState,
      expiresAt,
      expirySetAt: this.ctx.clock.now(),
      expiryWarnedFor: null,
      createdAt: this.ctx.clock.now(),
      includeResourceData,
      latestSupportedTlsVersion: typeof body.latestSupportedTlsVersion === 'string' ? body.latestSupportedTlsVersion : 'v1_2',
      immutableIds: opts.immutableIds,
      authorizedUntil: p.expiresAt,
      reauthorizationSent: false,
    };
    this.subscriptions.set(id, sub);
    return sub;
  }

  async update(p: Principal, id: string, body: Record<string, unknown>): Promise<SubscriptionRecord> {
    const sub = this.require(p, id);
    const next = { ...sub };
    if (body.expirationDateTime !== undefined) {
      next.expiresAt = this.expiryFrom(body.expirationDateTime, sub.includeResourceData);
      next.expirySetAt = this.ctx.clock.now();
    }
    if (body.notificationUrl !== undefined && body.notificationUrl !== sub.notificationUrl) {
      next.notificationUrl = this.checkUrl(body.notificationUrl, 'notificationUrl');
      await this.handshake(next.notificationUrl, [id]);
    }
    if (body.lifecycleNotificationUrl !== undefined && body.lifecycleNotificationUrl !== sub.lifecycleNotificationUrl) {
      if (!sub.lifecycleNotificationUrl) {
        throw invalidRequest('lifecycleNotificationUrl can only be set when the subscription is created; delete and recreate the subscription to add one.');
      }
      next.lifecycleNotificationUrl = this.checkUrl(body.lifecycleNotificationUrl, 'lifecycleNotificationUrl');
      await this.handshake(next.lifecycleNotificationUrl, [id]);
    }
    if (body.resource !== undefined && body.resource !== sub.resource) throw invalidRequest("Property 'resource' cannot be updated.");
    if (!this.subscriptions.has(id)) throw new GraphError(404, 'ResourceNotFound', 'The object was not found.');
    next.authorizedUntil = p.expiresAt;
    next.reauthorizationSent = false;
    Object.assign(sub, next);
    return sub;
  }

  reauthorize(p: Principal, id: string): void {
    const sub = this.require(p, id);
    sub.authorizedUntil = p.expiresAt;
    sub.reauthorizationSent = false;
  }

  delete(p: Principal, id: string): void {
    const sub = this.require(p, id);
    this.drop(sub, 'deleted');
  }

  get(p: Principal, id: string): SubscriptionRecord {
    return this.require(p, id);
  }

  list(p: Principal): SubscriptionRecord[] {
    this.sweep();
    return [...this.subscriptions.values()].filter((s) => this.visible(s, p)).sort((a, b) => a.createdAt - b.createdAt);
  }

  /**
   * Removes expired subscriptions (Graph sends nothing when a subscription expires), then sends the
   * reauthorizationRequired that are due. Expiry goes first, so a clock jump past the expiry sends nothing.
   */
  sweep(): void {
    const now = this.ctx.clock.now();
    for (const sub of [...this.subscriptions.values()]) if (sub.expiresAt <= now) this.drop(sub, 'expired');
    const s = this.ctx.settings;
    const tokenNow = s.tokensFollowClock ? now : Date.now();
    for (const sub of this.subscriptions.values()) {
      if (!sub.lifecycleNotificationUrl) continue;
      let due = false;
      if (s.reauthorizeBeforeExpiry && sub.expiryWarnedFor !== sub.expiresAt) {
        const lead = Math.min(s.reauthorizeBeforeExpiryMaxMinutes * 60_000, s.reauthorizeBeforeExpiryFraction * (sub.expiresAt - sub.expirySetAt));
        if (sub.expiresAt - now <= lead) {
          sub.expiryWarnedFor = sub.expiresAt;
          due = true;
        }
      }
      const tokenLead = s.autoReauthorizationMinutes;
      if (tokenLead !== null && !sub.reauthorizationSent && (sub.expiresAt - now <= tokenLead * 60_000 || sub.authorizedUntil - tokenNow <= tokenLead * 60_000)) {
        sub.reauthorizationSent = true;
        due = true;
      }
      // Both reasons at once still make one notification.
      if (due) this.sendLifecycle(sub, 'reauthorizationRequired');
    }
  }

  drop(sub: SubscriptionRecord, reason: RemovedSubscription['reason']): void {
    if (!this.subscriptions.delete(sub.id)) return;
    this.removed.push({ subscription: { ...sub }, reason, at: this.ctx.clock.iso() });
    if (this.removed.length > 10_000) this.removed.splice(0, this.removed.length - 10_000);
  }

  isAlive(id: string): boolean {
    const sub = this.subscriptions.get(id);
    return !!sub && sub.expiresAt > this.ctx.clock.now();
  }

  /** Graph's JSON; clientState is only echoed on the create answer. */
  toGraph(sub: SubscriptionRecord, baseUrl: string, opts: { withClientState: boolean; context?: 'entity' | 'none' }): GraphSubscription {
    return {
      ...(opts.context === 'entity' ? { '@odata.context': `${baseUrl}/v1.0/$metadata#subscriptions/$entity` } : {}),
      id: sub.id,
      resource: sub.resource,
      applicationId: sub.appId,
      changeType: sub.changeTypes.join(','),
      clientState: opts.withClientState ? sub.clientState : null,
      notificationUrl: sub.notificationUrl,
      notificationQueryOptions: null,
      lifecycleNotificationUrl: sub.lifecycleNotificationUrl,
      expirationDateTime: isoSub(sub.expiresAt),
      creatorId: sub.creatorId,
      includeResourceData: sub.includeResourceData ? true : null,
      latestSupportedTlsVersion: sub.latestSupportedTlsVersion,
      encryptionCertificate: null,
      encryptionCertificateId: null,
      notificationUrlAppId: null,
    };
  }

  /** Fans an event change out to matching subscriptions. */
  onEventChange(change: EventChange): void {
    this.sweep();
    const s = this.ctx.settings;
    for (const sub of this.subscriptions.values()) {
      if (sub.userId !== change.userId || sub.calendarId !== change.calendarId) continue;
      if (!sub.changeTypes.includes(change.changeType)) continue;
      const resource = `Users/${change.userId}/Events/${change.eventId}`;
      const item: EventChangeNotification = {
        subscriptionId: sub.id,
        subscriptionExpirationDateTime: isoSub(sub.expiresAt),
        changeType: change.changeType,
        resource,
        resourceData: {
          '@odata.type': '#Microsoft.Graph.Event',
          '@odata.id': resource,
          '@odata.etag': `W/"${change.changeKey}"`,
          id: change.eventId,
        },
        clientState: sub.clientState,
        tenantId: sub.tenantId,
      };
      const copies = change.changeType === 'updated' ? Math.max(1, s.updatesPerChange) : 1;
      for (let i = 0; i < copies; i++) this.ctx.notifier.enqueue(sub.notificationUrl, { ...item });
    }
  }

  /** Sends a lifecycle notification; false when the subscription has no lifecycleNotificationUrl. */
  sendLifecycle(sub: SubscriptionRecord, event: LifecycleEventType): boolean {
    if (!sub.lifecycleNotificationUrl) return false;
    const item: LifecycleNotification = {
      subscriptionId: sub.id,
      subscriptionExpirationDateTime: isoSub(sub.expiresAt),
      tenantId: sub.tenantId,
      clientState: sub.clientState,
      lifecycleEvent: event,
    };
    this.ctx.notifier.enqueue(sub.lifecycleNotificationUrl, item);
    return true;
  }

  clear(): void {
    this.subscriptions.clear();
    this.removed.length = 0;
  }
}
