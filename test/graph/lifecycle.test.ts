/**
 * Lifecycle notifications sent by the emulator to /graph/lifecycle: reauthorizationRequired → PATCH (unless a renewal
 * happened in the last 10 minutes), subscriptionRemoved → re-created + full resync, missed → a sync round that picks
 * up what was missed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { graphEnv, type GraphEnv } from '../helpers/graph-env.js';
import { digestSecret } from '../../src/core/secret-box.js';

const ADELE = 'adelev@contoso.onmicrosoft.com';
const MINUTE = 60_000;

async function record(env: GraphEnv, recordId: number) {
  return (await env.request('GET', `/api/spaces/coworkermsofficecalendars/${recordId}`)).body;
}

async function status(env: GraphEnv, recordId: number) {
  return (await env.request('GET', `/api/spaces/coworkermsofficecalendars/${recordId}/status`)).body;
}

/** Sends a lifecycle event and waits until calbridge acknowledged it and the work it queued is done. */
async function lifecycle(env: GraphEnv, subscriptionId: string, event: 'reauthorizationRequired' | 'subscriptionRemoved' | 'missed', remove = false) {
  const since = env.emu.control.deliveries().at(-1)?.id ?? 0;
  if (remove) assert.equal(env.emu.control.removeSubscription(subscriptionId, { notify: true }).notified, true);
  else assert.equal(env.emu.control.sendLifecycle(subscriptionId, event), true);
  const delivery = await env.emu.control.waitForDelivery({ kind: 'notification', lifecycleEvent: event, subscriptionId, sinceId: since }, 5_000);
  assert.equal(delivery.status, 202, `${event} acknowledged`);
  assert.ok(delivery.url.endsWith('/graph/lifecycle'));
}

const renewalPatches = (env: GraphEnv, subscriptionId: string) =>
  env.emu.control.requests({ method: 'PATCH', path: `/subscriptions/${subscriptionId}` }).filter((r) => r.status === 200).length;

test('lifecycle notifications', async (t) => {
  const env = await graphEnv(t);
  const rec = await env.connectMailbox(ADELE);
  await env.untilState(rec.recordId, 'active');
  await env.settled();
  let subscriptionId: string = (await record(env, rec.recordId)).SubscriptionId;

  await t.test('reauthorizationRequired → POST /reauthorize (renewal not due) or PATCH (due), except within 10 minutes of either', async () => {
    // A renewal now (the command): the reference point of the 10-minute rule.
    assert.equal((await env.request('POST', '/api/spaces/coworkermsofficecalendars/runcommand', { Key: 'RENEW_SUBSCRIPTION', Ids: [rec.recordId] })).status, 200);
    await env.until('the commanded renewal', async () => renewalPatches(env, subscriptionId) === 1);
    await env.settled();
    const renewedAt = Date.parse((await status(env, rec.recordId)).LastRenewal);

    // 9 minutes later: the renewal just reauthorized it, so nothing is sent.
    env.advance(9 * MINUTE);
    await lifecycle(env, subscriptionId, 'reauthorizationRequired');
    await env.settled();
    assert.equal(renewalPatches(env, subscriptionId), 1, 'no PATCH within 10 minutes of a renewal');
    assert.equal(env.emu.control.requests({ path: '/reauthorize' }).length, 0);
    assert.equal(Date.parse((await status(env, rec.recordId)).LastRenewal), renewedAt);

    // 11 minutes after the renewal, the renewal not due for days (Graph asks ahead of its access token's expiry):
    // the lighter POST /reauthorize, no PATCH.
    env.advance(2 * MINUTE);
    const reauthorizations = () => env.emu.control.requests({ method: 'POST', path: `/subscriptions/${subscriptionId}/reauthorize` }).filter((r) => r.status === 204).length;
    await lifecycle(env, subscriptionId, 'reauthorizationRequired');
    await env.until('the reauthorize', async () => reauthorizations() === 1);
    await env.settled();
    assert.equal(renewalPatches(env, subscriptionId), 1, 'no PATCH when the renewal is not due');
    assert.equal((await status(env, rec.recordId)).State, 'active');

    // Right after that, another reauthorizationRequired is a no-op.
    await lifecycle(env, subscriptionId, 'reauthorizationRequired');
    await env.settled();
    assert.equal(reauthorizations(), 1);
    const work = await env.container.commandRunner.history(rec.recordId, 50);
    assert.deepEqual(work.filter((w) => w.Kind === 'reauthorize').map((w) => w.State), ['done'], 'the sync history names the reauthorization');

    // Near the expiry, the scheduled renewal (a PATCH) reauthorizes it as it moves the expiry.
    const expiry = Date.parse((await record(env, rec.recordId)).SubscriptionExpireDate);
    env.advance(expiry - env.clock.now() - 20 * 3600_000);
    await env.until('the renewal due by then', async () => renewalPatches(env, subscriptionId) === 2);
    await env.settled();
    const after = await status(env, rec.recordId);
    assert.equal(after.State, 'active');
    assert.ok(Date.parse(after.LastRenewal) >= renewedAt + 11 * MINUTE, 'LastRenewal moved');
    const sub = env.emu.control.getSubscription(subscriptionId);
    assert.equal(Date.parse((await record(env, rec.recordId)).SubscriptionExpireDate), Date.parse(sub.expirationDateTime));
  });

  await t.test('missed → a sync round that reads what was missed', async () => {
    await env.settled();
    // A change whose notification Graph never delivers...
    env.emu.control.dropNotifications(1, { subscriptionId });
    const start = env.clock.now() + 2 * 86_400_000;
    const iso = (ms: number) => new Date(ms).toISOString().slice(0, 19);
    env.emu.control.createEvent(rec.userId, { subject: 'Missed one', start: { dateTime: iso(start), timeZone: 'UTC' }, end: { dateTime: iso(start + 3600_000), timeZone: 'UTC' } }, { calendarId: rec.calendarId });
    await env.until('the dropped delivery', async () => env.emu.control.deliveries({ subscriptionId }).some((d) => d.dropped));
    await env.settled();
    const rounds = env.sink.rounds.length;
    // ...then Graph says it missed some.
    await lifecycle(env, subscriptionId, 'missed');
    await env.until('a sync round after missed', async () => env.sink.rounds.slice(rounds).some((r) => r.recordId === rec.recordId && r.items >= 1));
    assert.equal((await record(env, rec.recordId)).SubscriptionId, subscriptionId, 'missed does not touch the subscription');
  });

  await t.test('subscriptionRemoved → re-created and the calendar re-read in full', async () => {
    await env.settled();
    const rounds = env.sink.rounds.length;
    const posts = env.emu.control.requests({ method: 'POST', path: '/subscriptions' }).length;
    await lifecycle(env, subscriptionId, 'subscriptionRemoved', true);
    const fresh = await env.until('a new subscription', async () => {
      const r = await record(env, rec.recordId);
      const s = await status(env, rec.recordId);
      return r.SubscriptionId !== subscriptionId && s.State === 'active' ? r : undefined;
    });
    assert.equal(env.emu.control.getSubscription(subscriptionId).status, 'removed');
    const sub = env.emu.control.getSubscription(fresh.SubscriptionId);
    assert.equal(sub.status, 'active');
    assert.equal(digestSecret(sub.clientState!), (await env.connection(rec.recordId))!.client_state);
    assert.equal(env.emu.control.requests({ method: 'POST', path: '/subscriptions' }).length, posts + 1, 'one new subscription');
    await env.until('a full resync round', async () => env.sink.rounds.slice(rounds).some((r) => r.recordId === rec.recordId && r.full));
    subscriptionId = fresh.SubscriptionId;
    // The old subscription's clientState is no longer accepted; the new one works.
    await env.settled();
    const seen = (await env.connection(rec.recordId))!.last_notification_at;
    const at = new Date(env.clock.now() + 86_400_000).toISOString().slice(0, 19);
    const until = new Date(env.clock.now() + 86_400_000 + 3600_000).toISOString().slice(0, 19);
    env.emu.control.createEvent(rec.userId, { subject: 'After re-creation', start: { dateTime: at, timeZone: 'UTC' }, end: { dateTime: until, timeZone: 'UTC' } }, { calendarId: rec.calendarId });
    await env.until('a notification on the new subscription', async () => (await env.connection(rec.recordId))!.last_notification_at !== seen);
    assert.equal(env.emu.control.listSubscriptions().length, 1);
  });
});

test('a reauthorizationRequired that arrives while the scheduled renewal is due: one PATCH, not two', async (t) => {
  const env = await graphEnv(t);
  const rec = await env.connectMailbox(ADELE);
  await env.untilState(rec.recordId, 'active');
  await env.settled();
  const subscriptionId: string = (await record(env, rec.recordId)).SubscriptionId;
  const nextRenewal = Date.parse((await status(env, rec.recordId)).NextRenewal);
  // Hold the workers, so the scheduled renewal and the lifecycle job are both waiting when they start again and run
  // side by side (as on PostgreSQL with several workers after a jump of the clock).
  await env.queue.stop();
  env.advance(nextRenewal - env.clock.now() + MINUTE);
  await lifecycle(env, subscriptionId, 'reauthorizationRequired');
  env.queue.start();
  await env.until('the renewal', async () => renewalPatches(env, subscriptionId) >= 1);
  await env.settled();
  assert.equal(renewalPatches(env, subscriptionId), 1, 'the lifecycle event folds into the due renewal');
  assert.equal(env.emu.control.requests({ path: `/subscriptions/${subscriptionId}/reauthorize` }).length, 0, 'no POST /reauthorize either: the PATCH does it');
  assert.equal((await status(env, rec.recordId)).State, 'active');
});
