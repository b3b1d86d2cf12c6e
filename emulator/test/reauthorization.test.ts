import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { graph, inMinutes, startEnv, WebhookReceiver, type Env } from './helpers.js';

describe('reauthorizationRequired ahead of a subscription\'s expiry (on by default)', () => {
  let env: Env;
  let hook: WebhookReceiver;
  let n = 0;
  const g = (method: string, path: string, body?: unknown) => graph(env.emu, env.appToken, method, path, body);

  async function subscribe(minutes: number, withLifecycle = true): Promise<{ id: string; lifecyclePath: string }> {
    n++;
    const cal = env.emu.control.createCalendar(env.adele.id, `Reauth ${n}`);
    const res = await g('POST', '/subscriptions', {
      changeType: 'created,updated,deleted',
      notificationUrl: hook.url(`/n${n}`),
      ...(withLifecycle ? { lifecycleNotificationUrl: hook.url(`/lc${n}`) } : {}),
      resource: `users/${env.adele.id}/calendars/${cal.id}/events`,
      expirationDateTime: inMinutes(env.emu, minutes),
      clientState: `state-${n}`,
    });
    assert.equal(res.status, 201, res.text);
    return { id: res.json.id, lifecyclePath: `/lc${n}` };
  }

  /** Moves the emulator clock, then waits until what that triggered has been delivered. */
  async function advance(minutes: number): Promise<void> {
    env.emu.control.advanceClock({ minutes });
    await env.emu.control.waitForIdle();
  }

  const lifecycleEvents = (path: string) => hook.items(path).map((i) => i.lifecycleEvent);

  before(async () => {
    env = await startEnv();
    hook = await WebhookReceiver.start();
  });
  beforeEach(() => {
    env.appToken = env.emu.control.issueAppToken(env.seed.app.clientId);
    // The expiry-driven ones alone (the token-driven ones, also on by default, are notifications.test.ts's).
    env.emu.control.updateSettings({ reauthorizeBeforeExpiry: true, autoReauthorizationMinutes: null });
    for (const s of env.emu.control.listSubscriptions()) env.emu.control.expireSubscription(s.id);
  });
  after(async () => {
    await env.emu.close();
    await hook.close();
  });

  it('sends one when less than min(1 h, 10 % of the lifetime) is left, and again near the expiry a renewal set', async () => {
    const s = await subscribe(3 * 24 * 60); // 3 days: the lead is 1 hour
    await advance(3 * 24 * 60 - 61);
    assert.deepEqual(lifecycleEvents(s.lifecyclePath), [], '61 minutes left: nothing yet');
    await advance(2);
    assert.deepEqual(lifecycleEvents(s.lifecyclePath), ['reauthorizationRequired'], '59 minutes left');
    const [item] = hook.items(s.lifecyclePath);
    assert.deepEqual(item, {
      subscriptionId: s.id,
      subscriptionExpirationDateTime: item!.subscriptionExpirationDateTime,
      tenantId: env.seed.tenant.id,
      clientState: `state-${n}`,
      lifecycleEvent: 'reauthorizationRequired',
    });
    assert.equal(Date.parse(item!.subscriptionExpirationDateTime), Date.parse(env.emu.control.getSubscription(s.id).expirationDateTime));
    for (let i = 0; i < 5; i++) await advance(10);
    assert.equal(lifecycleEvents(s.lifecyclePath).length, 1, 'once per expiry, however often the clock moves');

    // A renewal moves the expiry: one more before the new one.
    env.appToken = env.emu.control.issueAppToken(env.seed.app.clientId);
    assert.equal((await g('PATCH', `/subscriptions/${s.id}`, { expirationDateTime: inMinutes(env.emu, 24 * 60) })).status, 200);
    await advance(22 * 60);
    assert.equal(lifecycleEvents(s.lifecyclePath).length, 1);
    await advance(61);
    assert.deepEqual(lifecycleEvents(s.lifecyclePath), ['reauthorizationRequired', 'reauthorizationRequired']);
    await advance(60);
    assert.equal(lifecycleEvents(s.lifecyclePath).length, 2);
    assert.equal(env.emu.control.getSubscription(s.id).status, 'expired', 'not renewed: it expired, with nothing more sent');
  });

  it('uses 10 % of the lifetime for short subscriptions; nothing without a lifecycle URL, or when switched off', async () => {
    const short = await subscribe(100); // lead 10 minutes
    const silent = await subscribe(100, false);
    await advance(89);
    assert.deepEqual(lifecycleEvents(short.lifecyclePath), []);
    await advance(2);
    assert.deepEqual(lifecycleEvents(short.lifecyclePath), ['reauthorizationRequired']);
    assert.equal(env.emu.control.deliveries({ subscriptionId: silent.id, kind: 'notification' }).length, 0);

    env.emu.control.updateSettings({ reauthorizeBeforeExpiry: false });
    env.appToken = env.emu.control.issueAppToken(env.seed.app.clientId);
    const off = await subscribe(100);
    await advance(95);
    assert.deepEqual(lifecycleEvents(off.lifecyclePath), []);
  });

  it('a jump past the expiry sends nothing: the subscription is gone first', async () => {
    const s = await subscribe(120);
    await advance(121);
    assert.deepEqual(lifecycleEvents(s.lifecyclePath), []);
    assert.equal(env.emu.control.getSubscription(s.id).status, 'expired');
  });
});
