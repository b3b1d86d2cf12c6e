/**
 * Renewal with both clocks moved together: nothing before the renewal time (24 h before expiry), one PATCH after it
 * with SubscriptionExpireDate/NextRenewal following Graph's answer, a simulated month without a gap; and a subscription
 * that is gone on renewal (404) is re-created and the calendar read in full again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { graphEnv, type GraphEnv } from '../helpers/graph-env.js';
import { digestSecret } from '../../src/core/secret-box.js';

const ADELE = 'adelev@contoso.onmicrosoft.com';
const HOUR = 3600_000;
const DAY = 24 * HOUR;

const calendarPath = (id: number) => `/api/spaces/coworkermsofficecalendars/${id}`;

async function recordAndStatus(env: GraphEnv, recordId: number) {
  const record = (await env.request('GET', calendarPath(recordId))).body;
  const status = (await env.request('GET', `${calendarPath(recordId)}/status`)).body;
  return { record, status };
}

function patches(env: GraphEnv, subscriptionId: string) {
  return env.emu.control.requests({ method: 'PATCH', path: `/subscriptions/${subscriptionId}` });
}

/** Successful renewals. (After a jump of days, the cached token is expired in Graph's eyes: one 401, then a fresh token.) */
function renewals(env: GraphEnv, subscriptionId: string) {
  const all = patches(env, subscriptionId);
  const ok = all.filter((r) => r.status === 200);
  assert.ok(all.length - ok.length <= ok.length, `at most one 401 per renewal: ${all.map((r) => r.status).join(',')}`);
  return ok;
}

/** An event one day ahead (calbridge's clock) in the record's calendar: Graph notifies, calbridge syncs. */
async function notifyAndSync(env: GraphEnv, rec: { recordId: number; userId: string; calendarId: string }, subscriptionId: string, label: string) {
  const deliveredBefore = env.emu.control.deliveries({ kind: 'notification', subscriptionId, ok: true }).length;
  const rounds = env.sink.rounds.length;
  const start = env.clock.now() + DAY;
  const iso = (ms: number) => new Date(ms).toISOString().slice(0, 19);
  env.emu.control.createEvent(rec.userId, { subject: label, start: { dateTime: iso(start), timeZone: 'UTC' }, end: { dateTime: iso(start + HOUR), timeZone: 'UTC' } }, { calendarId: rec.calendarId });
  await env.until(`the notification (${label})`, async () => env.emu.control.deliveries({ kind: 'notification', subscriptionId, ok: true }).length > deliveredBefore);
  await env.until(`a sync round that read the event (${label})`, async () => env.sink.rounds.slice(rounds).some((r) => r.recordId === rec.recordId && r.items >= 1));
}

test('renewal: not before 24 h before expiry, then one PATCH; then a simulated month without a gap', async (ctx) => {
  const env = await graphEnv(ctx);
  const rec = await env.connectMailbox(ADELE);
  await env.untilState(rec.recordId, 'active');
  await env.settled();
  const first = await recordAndStatus(env, rec.recordId);
  const subscriptionId: string = first.record.SubscriptionId;
  const expiry0 = Date.parse(first.record.SubscriptionExpireDate);
  const next0 = Date.parse(first.status.NextRenewal);
  assert.equal(next0, expiry0 - DAY, 'the renewal is planned 24 h before expiry');
  assert.ok(expiry0 - env.clock.now() > 6 * DAY + 23 * HOUR, 'Graph granted about 7 days');

  // One hour before the renewal time: no PATCH.
  env.advance(next0 - env.clock.now() - HOUR);
  await env.settled();
  assert.equal(patches(env, subscriptionId).length, 0, 'no renewal before it is due');
  assert.equal((await recordAndStatus(env, rec.recordId)).record.SubscriptionExpireDate, first.record.SubscriptionExpireDate);

  // Two hours later (one past the renewal time): exactly one PATCH, and the record follows Graph's answer.
  env.advance(2 * HOUR);
  await env.until('the renewal PATCH', async () => patches(env, subscriptionId).some((r) => r.status === 200));
  await env.settled();
  const [patch] = renewals(env, subscriptionId);
  assert.equal(renewals(env, subscriptionId).length, 1, 'one renewal');
  const asked = Date.parse((patch!.body as { expirationDateTime: string }).expirationDateTime);
  assert.ok(asked - env.clock.now() <= 10_080 * 60_000, 'asks for no more than Graph allows');
  const graphExpiry = Date.parse(env.emu.control.getSubscription(subscriptionId).expirationDateTime);
  const after = await recordAndStatus(env, rec.recordId);
  assert.equal(Date.parse(after.record.SubscriptionExpireDate), graphExpiry, "SubscriptionExpireDate is Graph's new expiry");
  assert.ok(graphExpiry > expiry0 + DAY, 'the expiry moved forward');
  assert.equal(Date.parse(after.status.NextRenewal), graphExpiry - DAY, 'NextRenewal moved with it');
  assert.equal(after.status.State, 'active');
  assert.ok(Math.abs(Date.parse(after.status.LastRenewal) - env.clock.now()) < 60_000, 'LastRenewal is now');
  assert.equal(after.record.SubscriptionId, subscriptionId, 'renewal keeps the subscription');
  assert.equal(after.record.IsNew, true, 'a renewal by the engine is not a change by a caller');
  await notifyAndSync(env, rec, subscriptionId, 'after the first renewal');

  // A month in steps of six days: renewed each time, never expired, notifications keep arriving.
  for (let step = 1; step <= 5; step++) {
    const before = renewals(env, subscriptionId).length;
    const expiryBefore = Date.parse((await recordAndStatus(env, rec.recordId)).record.SubscriptionExpireDate);
    env.advance(6 * DAY);
    assert.equal(env.emu.control.getSubscription(subscriptionId).status, 'active', `step ${step}: still alive after the clock moved`);
    await env.until(`renewal ${step}`, async () => {
      const { record, status } = await recordAndStatus(env, rec.recordId);
      return Date.parse(record.SubscriptionExpireDate) > expiryBefore && status.State === 'active';
    });
    await env.settled();
    assert.equal(renewals(env, subscriptionId).length, before + 1, `step ${step}: exactly one renewal`);
    const sub = env.emu.control.getSubscription(subscriptionId);
    assert.equal(sub.status, 'active', `step ${step}: active in Graph`);
    const { record, status } = await recordAndStatus(env, rec.recordId);
    assert.equal(record.SubscriptionId, subscriptionId, `step ${step}: same subscription`);
    assert.equal(Date.parse(record.SubscriptionExpireDate), Date.parse(sub.expirationDateTime), `step ${step}: expiry as Graph says`);
    assert.equal(Date.parse(status.NextRenewal), Date.parse(sub.expirationDateTime) - DAY);
    await notifyAndSync(env, rec, subscriptionId, `step ${step}`);
  }
  const history = env.emu.control.listSubscriptions({ includeRemoved: true });
  assert.deepEqual(history.map((s) => [s.id, s.status]), [[subscriptionId, 'active']], 'one subscription the whole month, never expired or removed');
  assert.equal(env.emu.control.requests({ method: 'POST', path: '/subscriptions' }).filter((r) => !r.path.endsWith('/reauthorize')).length, 1, 'never re-created');
});

async function untilRecreated(env: GraphEnv, recordId: number, oldId: string, rounds: number) {
  await env.until('a new subscription on the record', async () => {
    const { record, status } = await recordAndStatus(env, recordId);
    return record.SubscriptionId !== oldId && status.State === 'active';
  });
  // The renewal and the reconciliation sweep can both find the subscription gone, and each queue a re-creation: the
  // second replaces the first one's subscription. What counts is where the queue comes to rest.
  await env.settled();
  const { record, status } = await recordAndStatus(env, recordId);
  assert.equal(status.State, 'active');
  assert.notEqual(record.SubscriptionId, oldId);
  const sub = env.emu.control.getSubscription(record.SubscriptionId);
  assert.equal(sub.status, 'active');
  assert.equal(Date.parse(record.SubscriptionExpireDate), Date.parse(sub.expirationDateTime));
  const conn = await env.connection(recordId);
  assert.equal(digestSecret(sub.clientState!), conn!.client_state, 'the stored digest is of the new subscription\'s clientState');
  await env.until('a full resync round', async () => env.sink.rounds.slice(rounds).some((r) => r.recordId === recordId && r.full));
  return record.SubscriptionId as string;
}

test('a subscription gone on renewal (404) is re-created and the calendar re-read in full', async (t) => {
  const env = await graphEnv(t);
  const rec = await env.connectMailbox(ADELE);
  await env.untilState(rec.recordId, 'active');
  await env.settled();

  let current: string = (await recordAndStatus(env, rec.recordId)).record.SubscriptionId;

  await t.test('RENEW_SUBSCRIPTION through /runcommand', async () => {
    env.emu.control.expireSubscription(current);
    const rounds = env.sink.rounds.length;
    const res = await env.request('POST', '/api/spaces/coworkermsofficecalendars/runcommand', { Key: 'RENEW_SUBSCRIPTION', Ids: [rec.recordId] });
    assert.equal(res.status, 200, res.text);
    const fresh = await untilRecreated(env, rec.recordId, current, rounds);
    const tried = patches(env, current);
    assert.equal(tried.length, 1, 'the renewal was tried');
    assert.equal(tried[0]!.status, 404, 'and Graph answered 404');
    current = fresh;
    await env.settled();
    await notifyAndSync(env, rec, current, 'after re-creation');
  });

  await t.test('the scheduled renewal', async () => {
    env.emu.control.expireSubscription(current);
    const rounds = env.sink.rounds.length;
    const next = Date.parse((await recordAndStatus(env, rec.recordId)).status.NextRenewal);
    env.advance(next - env.clock.now() + 60_000);
    const fresh = await untilRecreated(env, rec.recordId, current, rounds);
    assert.equal(patches(env, current).at(-1)!.status, 404);
    current = fresh;
    await env.settled();
  });

  await t.test('calbridge was down past the expiry: the late renewal re-creates it', async () => {
    await env.queue.stop();
    const expiry = Date.parse((await recordAndStatus(env, rec.recordId)).record.SubscriptionExpireDate);
    env.advance(expiry - env.clock.now() + HOUR);
    assert.equal(env.emu.control.getSubscription(current).status, 'expired', 'Graph let it expire');
    const rounds = env.sink.rounds.length;
    env.queue.start();
    current = await untilRecreated(env, rec.recordId, current, rounds);
    await env.settled();
    await notifyAndSync(env, rec, current, 'after the downtime');
  });

  assert.equal(env.emu.control.listSubscriptions().length, 1, 'one live subscription at the end');
});
