import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { EventChangeNotification, LifecycleNotification } from '../index.js';
import { graph, inMinutes, startEnv, WebhookReceiver, type Env } from './helpers.js';
import { DEFAULT_SETTINGS } from '../lib/settings.js';

const utc = (dateTime: string): { dateTime: string; timeZone: string } => ({ dateTime, timeZone: 'UTC' });
const anEvent = (subject: string) => ({ subject, start: utc('2033-01-10T10:00:00'), end: utc('2033-01-10T11:00:00') });

describe('change and lifecycle notifications', () => {
  let env: Env;
  let hook: WebhookReceiver;
  let n = 0;
  const g = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => graph(env.emu, env.appToken, method, path, body, headers);

  /** A subscription on a fresh calendar of Adele's, notifying a fresh path of the receiver. */
  async function subscribe(over: Record<string, unknown> = {}): Promise<{ id: string; calendarId: string; path: string; lifecyclePath: string }> {
    n++;
    const cal = env.emu.control.createCalendar(env.adele.id, `Cal ${n}`);
    const path = `/n${n}`;
    const lifecyclePath = `/lc${n}`;
    const res = await g('POST', '/subscriptions', {
      changeType: 'created,updated,deleted',
      notificationUrl: hook.url(`${path}?route=x`),
      lifecycleNotificationUrl: hook.url(lifecyclePath),
      resource: `users/${env.adele.id}/calendars/${cal.id}/events`,
      expirationDateTime: inMinutes(env.emu, 600),
      clientState: `state-${n}`,
      ...over,
    });
    assert.equal(res.status, 201, res.text);
    return { id: res.json.id, calendarId: cal.id, path, lifecyclePath };
  }

  before(async () => {
    env = await startEnv();
    hook = await WebhookReceiver.start();
  });
  beforeEach(() => {
    hook.behaviour = () => undefined;
    env.emu.control.clearFaults();
  });
  after(async () => {
    await env.emu.close();
    await hook.close();
  });

  it('POSTs Graph-shaped items for created, updated and deleted', async () => {
    const s = await subscribe();
    const created = (await g('POST', `/users/${env.adele.id}/calendars/${s.calendarId}/events`, anEvent('Hello'))).json;
    await env.emu.control.waitForIdle();
    const updated = (await g('PATCH', `/users/${env.adele.id}/events/${created.id}`, { subject: 'Hello again' })).json;
    await env.emu.control.waitForIdle();
    await g('DELETE', `/users/${env.adele.id}/events/${created.id}`);
    await env.emu.control.waitForIdle();

    const posts = hook.requests.filter((r) => r.path === s.path);
    assert.equal(posts.length, 4, 'handshake + three notifications');
    const post = posts[1]!;
    assert.match(String(post.headers['content-type']), /^application\/json/);
    assert.equal(post.query.get('route'), 'x');
    assert.equal(post.query.get('validationToken'), null);
    const items = hook.items(s.path) as EventChangeNotification[];
    assert.deepEqual(items.map((i) => i.changeType), ['created', 'updated', 'deleted']);
    const first = items[0]!;
    assert.deepEqual(first, {
      subscriptionId: s.id,
      subscriptionExpirationDateTime: first.subscriptionExpirationDateTime,
      changeType: 'created',
      resource: `Users/${env.adele.id}/Events/${created.id}`,
      resourceData: {
        '@odata.type': '#Microsoft.Graph.Event',
        '@odata.id': `Users/${env.adele.id}/Events/${created.id}`,
        '@odata.etag': `W/"${created.changeKey}"`,
        id: created.id,
      },
      clientState: `state-${n}`,
      tenantId: env.seed.tenant.id,
    });
    assert.equal(Date.parse(first.subscriptionExpirationDateTime), Date.parse(env.emu.control.getSubscription(s.id).expirationDateTime));
    assert.equal(items[1]!.resourceData['@odata.etag'], `W/"${updated.changeKey}"`);
  });

  it('notifies only the changeTypes asked for, and batches items of several subscriptions into one POST', async () => {
    const cal = env.emu.control.createCalendar(env.adele.id, 'Shared target');
    const url = hook.url('/shared');
    const base = { notificationUrl: url, resource: `users/${env.adele.id}/calendars/${cal.id}/events`, expirationDateTime: inMinutes(env.emu, 600) };
    const onlyDeleted = (await g('POST', '/subscriptions', { ...base, changeType: 'deleted', clientState: 'd' })).json;
    const createdUpdated = (await g('POST', '/subscriptions', { ...base, changeType: 'created,updated', clientState: 'cu' })).json;
    const createdOnly = (await g('POST', '/subscriptions', { ...base, changeType: 'created', clientState: 'c' })).json;
    const ev = (await g('POST', `/users/${env.adele.id}/calendars/${cal.id}/events`, anEvent('Batch'))).json;
    await env.emu.control.waitForIdle();
    const batches = hook.collections('/shared');
    assert.equal(batches.length, 1, 'one POST for both subscriptions');
    assert.deepEqual(batches[0]!.value.map((i) => i.subscriptionId).sort(), [createdUpdated.id, createdOnly.id].sort());
    await g('DELETE', `/users/${env.adele.id}/events/${ev.id}`);
    await env.emu.control.waitForIdle();
    const last = hook.collections('/shared').at(-1)!;
    assert.deepEqual(last.value.map((i) => [i.subscriptionId, i.changeType, i.clientState]), [[onlyDeleted.id, 'deleted', 'd']]);
  });

  it('retries non-2xx answers and timeouts with back-off until a 2xx', async () => {
    const s = await subscribe();
    let calls = 0;
    hook.behaviour = (r) => {
      if (r.path !== s.path || r.query.has('validationToken')) return undefined;
      calls++;
      if (calls === 1) return { status: 500, body: 'down' };
      if (calls === 2) return { status: 202, body: '', delayMs: 800 }; // later than the 500 ms test timeout
      return { status: 202, body: '' };
    };
    await g('POST', `/users/${env.adele.id}/calendars/${s.calendarId}/events`, anEvent('Retry me'));
    await env.emu.control.waitForIdle(5_000);
    const attempts = env.emu.control.deliveries({ kind: 'notification', subscriptionId: s.id });
    assert.deepEqual(attempts.map((d) => [d.attempt, d.status, d.ok, d.error]), [
      [1, 500, false, 'HTTP 500'],
      [2, null, false, 'timeout'],
      [3, 202, true, null],
    ]);
    const items = hook.items(s.path);
    assert.equal(items.length, 3, 'the same item was sent three times');
    assert.equal(new Set(items.map((i) => JSON.stringify(i))).size, 1);
  });

  it('gives up after the last retry and sends a missed lifecycle notification', async () => {
    const s = await subscribe();
    hook.behaviour = (r) => (r.path === s.path && !r.query.has('validationToken') ? { status: 503, body: '' } : undefined);
    await g('POST', `/users/${env.adele.id}/calendars/${s.calendarId}/events`, anEvent('Lost'));
    await env.emu.control.waitForIdle(5_000);
    const attempts = env.emu.control.deliveries({ kind: 'notification', subscriptionId: s.id, lifecycleEvent: undefined }).filter((d) => d.url.includes(s.path));
    assert.equal(attempts.length, 3, '1 + 2 retries with the test settings');
    assert.ok(attempts.at(-1)!.gaveUp);
    const missed = hook.items(s.lifecyclePath) as LifecycleNotification[];
    assert.deepEqual(missed.map((i) => [i.subscriptionId, i.lifecycleEvent, i.clientState]), [[s.id, 'missed', `state-${n}`]]);
  });

  it('sends nothing for expired or deleted subscriptions', async () => {
    const expiring = await subscribe({ expirationDateTime: inMinutes(env.emu, 45) });
    const deleted = await subscribe();
    assert.equal((await g('DELETE', `/subscriptions/${deleted.id}`)).status, 204);
    env.emu.control.advanceClock({ minutes: 46 });
    env.appToken = env.emu.control.issueAppToken(env.seed.app.clientId);
    for (const s of [expiring, deleted]) await g('POST', `/users/${env.adele.id}/calendars/${s.calendarId}/events`, anEvent('Nobody listens'));
    await env.emu.control.waitForIdle();
    assert.equal(hook.items(expiring.path).length, 0);
    assert.equal(hook.items(deleted.path).length, 0);
    assert.equal(hook.items(expiring.lifecyclePath).length, 0, 'expiry sends no lifecycle notification either');
  });

  it('sends reauthorizationRequired, missed and subscriptionRemoved lifecycle notifications on demand', async () => {
    const s = await subscribe();
    assert.equal(env.emu.control.sendLifecycle(s.id, 'reauthorizationRequired'), true);
    assert.equal(env.emu.control.sendLifecycle(s.id, 'missed'), true);
    await env.emu.control.waitForIdle();
    const removed = env.emu.control.removeSubscription(s.id);
    assert.equal(removed.notified, true);
    assert.equal(removed.subscription.status, 'removed');
    await env.emu.control.waitForIdle();
    const items = hook.items(s.lifecyclePath) as LifecycleNotification[];
    assert.deepEqual(items.map((i) => i.lifecycleEvent), ['reauthorizationRequired', 'missed', 'subscriptionRemoved']);
    for (const i of items) {
      assert.equal(i.subscriptionId, s.id);
      assert.equal(i.tenantId, env.seed.tenant.id);
      assert.equal(i.clientState, `state-${n}`);
      assert.ok(i.subscriptionExpirationDateTime);
      assert.equal((i as { changeType?: string }).changeType, undefined);
      assert.equal((i as { resource?: string }).resource, undefined);
    }
    assert.equal((await g('GET', `/subscriptions/${s.id}`)).status, 404);
    assert.equal((await g('PATCH', `/subscriptions/${s.id}`, { expirationDateTime: inMinutes(env.emu, 100) })).status, 404);

    const plain = await subscribe({ lifecycleNotificationUrl: undefined });
    assert.equal(env.emu.control.sendLifecycle(plain.id, 'missed'), false, 'no lifecycle URL, nothing to send');
  });

  it('by default sends reauthorizationRequired 15 minutes before the bound token or the subscription expires, once per authorization', async () => {
    assert.equal(DEFAULT_SETTINGS.autoReauthorizationMinutes, 15, 'on by default, as Graph does');
    // No setting here: the emulator as started.
    try {
      const s = await subscribe({ expirationDateTime: inMinutes(env.emu, 600) });
      env.emu.control.advanceClock({ minutes: 40 });
      await env.emu.control.waitForIdle();
      assert.equal(hook.items(s.lifecyclePath).length, 0, 'token still has 20 minutes');
      env.emu.control.advanceClock({ minutes: 6 });
      await env.emu.control.waitForIdle();
      env.emu.control.advanceClock({ minutes: 1 });
      await env.emu.control.waitForIdle();
      assert.deepEqual(hook.items(s.lifecyclePath).map((i) => i.lifecycleEvent), ['reauthorizationRequired'], 'sent once');
      env.appToken = env.emu.control.issueAppToken(env.seed.app.clientId);
      assert.equal((await g('POST', `/subscriptions/${s.id}/reauthorize`)).status, 204);
      env.emu.control.advanceClock({ minutes: 46 });
      await env.emu.control.waitForIdle();
      assert.equal(hook.items(s.lifecyclePath).length, 2, 're-armed by reauthorize');
    } finally {
      env.appToken = env.emu.control.issueAppToken(env.seed.app.clientId);
    }
  });

  it('drops or duplicates the next N notifications on demand, and can repeat updates', async () => {
    const s = await subscribe();
    const path = `/users/${env.adele.id}/calendars/${s.calendarId}/events`;
    env.emu.control.dropNotifications(1, { subscriptionId: s.id });
    await g('POST', path, anEvent('dropped'));
    await env.emu.control.waitForIdle();
    await g('POST', path, anEvent('delivered'));
    await env.emu.control.waitForIdle();
    assert.equal(hook.items(s.path).length, 1);
    assert.equal(env.emu.control.deliveries({ subscriptionId: s.id }).filter((d) => d.dropped).length, 1);

    env.emu.control.duplicateNotifications(1);
    const ev = (await g('POST', path, anEvent('twice'))).json;
    await env.emu.control.waitForIdle();
    const twice = hook.items(s.path).filter((i) => (i as EventChangeNotification).resourceData?.id === ev.id);
    assert.equal(twice.length, 2);

    env.emu.control.updateSettings({ updatesPerChange: 3 });
    await g('PATCH', `/users/${env.adele.id}/events/${ev.id}`, { subject: 'edited once' });
    await env.emu.control.waitForIdle();
    env.emu.control.updateSettings({ updatesPerChange: 1 });
    const updates = hook.items(s.path).filter((i) => (i as EventChangeNotification).changeType === 'updated');
    assert.equal(updates.length, 3, 'one edit, three updated items (as Graph is reported to send)');
  });
});
