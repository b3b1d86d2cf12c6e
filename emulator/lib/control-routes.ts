/** /_control/*: JSON, unauthenticated; every route maps to one EmulatorControl method (see README). */
import type { LifecycleEventType } from '@microsoft/microsoft-graph-types';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ClockAdvance, EmulatorControl } from './control.js';
import type { NewApp, NewTenant, NewUser } from './directory.js';
import { GraphError } from './errors.js';
import type { FaultSpec } from './faults.js';
import type { GraphEvent } from './graph-types.js';
import type { DeliveryFilter, NotificationFaultSpec } from './notifier.js';
import type { EmulatorSettings } from './settings.js';

type Q = Record<string, string | undefined>;
type P = Record<string, string>;

const body = (req: FastifyRequest): Record<string, unknown> => (req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>) : {});
const bool = (v: string | undefined): boolean | undefined => (v === undefined ? undefined : v === '1' || v === 'true');
const num = (v: string | undefined): number | undefined => (v === undefined || v === '' ? undefined : Number(v));

function deliveryFilter(q: Q): DeliveryFilter {
  return {
    kind: q.kind as DeliveryFilter['kind'],
    subscriptionId: q.subscriptionId,
    url: q.url,
    ok: bool(q.ok),
    lifecycleEvent: q.lifecycleEvent,
    sinceId: num(q.since),
  };
}

export function registerControlRoutes(app: FastifyInstance, control: EmulatorControl): void {
  const r = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, handler: (req: FastifyRequest) => unknown): void => {
    app.route({ method, url: `/_control${url}`, handler: async (req, reply) => {
      const out = await handler(req);
      if (out === undefined) return reply.code(204).send();
      return out;
    } });
  };

  r('GET', '', () => ({
    description: 'Microsoft Graph emulator control API (see emulator/README.md).',
    routes: app.printRoutes({ commonPrefix: false }).split('\n').filter((l) => l.includes('_control')).length,
  }));
  r('GET', '/state', () => control.state());
  r('POST', '/reset', () => control.reset());
  r('POST', '/seed', (req) => control.seed(body(req) as Parameters<EmulatorControl['seed']>[0]));
  r('GET', '/ca.pem', () => control.caCertificate());

  r('GET', '/tenants', () => control.listTenants());
  r('POST', '/tenants', (req) => control.createTenant(body(req) as NewTenant));
  r('GET', '/apps', () => control.listApps());
  r('POST', '/apps', (req) => control.createApp(body(req) as unknown as NewApp));
  r('GET', '/users', (req) => control.listUsers((req.query as Q).tenantId));
  r('POST', '/users', (req) => control.createUser(body(req) as unknown as NewUser));
  r('GET', '/users/:user/calendars', (req) => control.listCalendars((req.params as P).user!));
  r('POST', '/users/:user/calendars', (req) => control.createCalendar((req.params as P).user!, String(body(req).name ?? 'Calendar')));
  r('GET', '/users/:user/events', (req) => control.listEvents((req.params as P).user!, { calendarId: (req.query as Q).calendarId, tz: (req.query as Q).tz }));
  r('POST', '/users/:user/events', (req) => {
    const { calendarId, ...event } = body(req) as GraphEvent & { calendarId?: string };
    return control.createEvent((req.params as P).user!, event, { calendarId });
  });
  r('GET', '/users/:user/events/:id', (req) => control.getEvent((req.params as P).user!, (req.params as P).id!));
  r('PATCH', '/users/:user/events/:id', (req) => control.updateEvent((req.params as P).user!, (req.params as P).id!, body(req) as GraphEvent));
  r('DELETE', '/users/:user/events/:id', (req) => control.deleteEvent((req.params as P).user!, (req.params as P).id!));

  r('POST', '/tokens', (req) => {
    const b = body(req) as { clientId?: string; user?: string; scopes?: string[] };
    if (!b.clientId) throw new GraphError(400, 'BadRequest', 'clientId is required.');
    if (!b.user) return { access_token: control.issueAppToken(b.clientId) };
    const t = control.issueUserToken(b.clientId, b.user, b.scopes);
    return { access_token: t.accessToken, refresh_token: t.refreshToken };
  });
  r('POST', '/tokens/revoke', (req) => {
    const b = body(req) as { accessToken?: string; refreshToken?: string; user?: string; clientId?: string };
    if (b.accessToken) return { revoked: control.revokeAccessToken(b.accessToken) ? 1 : 0 };
    if (b.refreshToken) return { revoked: control.revokeRefreshToken(b.refreshToken) ? 1 : 0 };
    if (b.user) return { revoked: control.revokeUser(b.user, b.clientId) };
    if (b.clientId) return { revoked: control.revokeApp(b.clientId) };
    throw new GraphError(400, 'BadRequest', 'Give accessToken, refreshToken, user (+clientId) or clientId.');
  });

  r('POST', '/apps/:clientId/sign-in-failure', (req) => {
    const b = body(req) as { error?: unknown; error_description?: unknown; times?: unknown };
    if (typeof b.error !== 'string' || (b.error_description !== undefined && typeof b.error_description !== 'string')) throw new GraphError(400, 'BadRequest', 'Give error (and error_description) as strings.');
    if (b.times !== undefined && !(Number.isSafeInteger(b.times) && (b.times as number) >= 0 && (b.times as number) <= 1000)) throw new GraphError(400, 'BadRequest', 'times must be an integer from 0 to 1000.');
    return control.failSignIns((req.params as P).clientId!, { error: b.error, description: (b.error_description as string | undefined) ?? '', times: b.times as number | undefined });
  });

  r('POST', '/apps/:clientId/secret', (req) => {
    const b = body(req) as { secret?: unknown; expired?: unknown };
    if (b.secret !== undefined && typeof b.secret !== 'string') throw new GraphError(400, 'BadRequest', 'secret must be a string.');
    if (b.expired !== undefined && typeof b.expired !== 'boolean') throw new GraphError(400, 'BadRequest', 'expired must be true or false.');
    return control.setClientSecret((req.params as P).clientId!, { secret: b.secret as string | undefined, expired: b.expired as boolean | undefined });
  });

  r('GET', '/clock', () => ({ now: control.now() }));
  r('POST', '/clock/advance', (req) => ({ now: control.advanceClock(body(req) as ClockAdvance) }));
  r('POST', '/clock/set', (req) => ({ now: control.setClock(String(body(req).now)) }));

  r('GET', '/subscriptions', (req) => control.listSubscriptions({ includeRemoved: bool((req.query as Q).includeRemoved) }));
  r('GET', '/subscriptions/:id', (req) => control.getSubscription((req.params as P).id!));
  r('POST', '/subscriptions/:id/expire', (req) => control.expireSubscription((req.params as P).id!));
  r('POST', '/subscriptions/:id/remove', (req) => control.removeSubscription((req.params as P).id!, { notify: body(req).notify !== false }));
  r('POST', '/subscriptions/:id/lifecycle', (req) => ({
    sent: control.sendLifecycle((req.params as P).id!, String(body(req).lifecycleEvent ?? body(req).event) as LifecycleEventType),
  }));

  r('GET', '/faults', () => control.listFaults());
  r('POST', '/faults', (req) => control.addFault(body(req) as FaultSpec));
  r('DELETE', '/faults', () => control.clearFaults());
  r('DELETE', '/faults/:id', (req) => ({ removed: control.removeFault(Number((req.params as P).id)) }));
  r('POST', '/notification-faults', (req) => {
    const b = body(req) as unknown as NotificationFaultSpec;
    if (b.action === 'drop') control.dropNotifications(b.count ?? 1, { subscriptionId: b.subscriptionId, kinds: b.kinds });
    else if (b.action === 'duplicate') control.duplicateNotifications(b.count ?? 1, { subscriptionId: b.subscriptionId, kinds: b.kinds });
    else throw new GraphError(400, 'BadRequest', "action must be 'drop' or 'duplicate'.");
    return { ok: true };
  });

  r('GET', '/deliveries', (req) => control.deliveries(deliveryFilter(req.query as Q)));
  r('DELETE', '/deliveries', () => control.clearDeliveries());
  r('POST', '/deliveries/wait', async (req) => {
    const b = body(req) as DeliveryFilter & { timeoutMs?: number };
    try {
      return await control.waitForDelivery(b, b.timeoutMs ?? 5_000);
    } catch (e) {
      throw new GraphError(408, 'Timeout', (e as Error).message);
    }
  });
  r('POST', '/idle', async (req) => {
    try {
      await control.waitForIdle(Number(body(req).timeoutMs ?? 10_000));
      return { idle: true };
    } catch (e) {
      throw new GraphError(408, 'Timeout', (e as Error).message);
    }
  });
  r('GET', '/requests', (req) => {
    const q = req.query as Q;
    return control.requests({ method: q.method, path: q.path, status: num(q.status), sinceId: num(q.since) });
  });
  r('DELETE', '/requests', () => control.clearRequests());
  r('POST', '/delta/invalidate', (req) => ({ invalidated: control.invalidateDeltaTokens(body(req).user as string | undefined) }));
  r('GET', '/throttling', () => control.throttling());
  r('DELETE', '/throttling', () => control.resetThrottling());
  r('GET', '/settings', () => control.settings());
  r('PATCH', '/settings', (req) => control.updateSettings(body(req) as Partial<EmulatorSettings>));
}
