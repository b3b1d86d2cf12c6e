/**
 * Graph throttling: 429/503 storms with Retry-After are waited out (the renewal still succeeds, attempts spaced by
 * Retry-After), a Retry-After too long to wait in-process is still honoured by the job queue, and at most 4 requests
 * per mailbox are ever in flight.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { graphEnv, type GraphEnv } from '../helpers/graph-env.js';
import type { RequestRecord } from '../../emulator/index.js';

const ADELE = 'adelev@contoso.onmicrosoft.com';

const runCommand = (env: GraphEnv, Key: string, Ids: number[]) => env.request('POST', '/api/spaces/coworkermsofficecalendars/runcommand', { Key, Ids });

function patchesOf(env: GraphEnv, subscriptionId: string, sinceId: number) {
  return env.emu.control.requests({ method: 'PATCH', path: `/subscriptions/${subscriptionId}`, sinceId });
}

const lastRequestId = (env: GraphEnv) => env.emu.control.requests().at(-1)?.id ?? 0;
const startOf = (r: RequestRecord) => Date.parse(r.at) - r.durationMs;

test('429 and 503 storms with Retry-After: the renewal waits them out and succeeds', async (t) => {
  const env = await graphEnv(t);
  const { recordId } = await env.connectMailbox(ADELE);
  await env.untilState(recordId, 'active');
  await env.settled();
  const subscriptionId: string = (await env.request('GET', `/api/spaces/coworkermsofficecalendars/${recordId}`)).body.SubscriptionId;

  for (const [status, times] of [[429, 3], [503, 2]] as const) {
    await t.test(`${times} × ${status} with Retry-After: 1`, async () => {
      const since = lastRequestId(env);
      const renewedBefore = (await env.connection(recordId))!.last_renewed_at;
      const fault = env.emu.control.addFault({ path: '/subscriptions', method: 'PATCH', status, retryAfter: 1, times });
      assert.equal((await runCommand(env, 'RENEW_SUBSCRIPTION', [recordId])).status, 200);
      await env.until('the renewal to succeed', async () => patchesOf(env, subscriptionId, since).some((r) => r.status === 200), 20_000);
      await env.settled();
      const attempts = patchesOf(env, subscriptionId, since);
      assert.deepEqual(attempts.map((r) => r.status), [...Array(times).fill(status), 200], 'the throttled attempts, then success');
      assert.ok(attempts.slice(0, times).every((r) => r.faultId === fault.id));
      for (let i = 1; i < attempts.length; i++) {
        const gap = startOf(attempts[i]!) - Date.parse(attempts[i - 1]!.at);
        assert.ok(gap >= 950, `attempt ${i + 1} came ${gap} ms after the previous answer (Retry-After: 1 s)`);
      }
      const conn = (await env.connection(recordId))!;
      assert.equal(conn.state, 'active');
      assert.equal(conn.last_error, null);
      assert.notEqual(conn.last_renewed_at, renewedBefore, 'renewed');
      const graphExpiry = Date.parse(env.emu.control.getSubscription(subscriptionId).expirationDateTime);
      assert.equal(Date.parse((await env.request('GET', `/api/spaces/coworkermsofficecalendars/${recordId}`)).body.SubscriptionExpireDate), graphExpiry);
    });
  }

  await t.test('a Retry-After too long to wait in-process is still honoured by the retry', async () => {
    // The test engine waits at most 5 s in-process; 60 s goes back to the queue, which must not retry earlier.
    const since = lastRequestId(env);
    env.emu.control.addFault({ path: '/subscriptions', method: 'PATCH', status: 429, retryAfter: 60, times: 1 });
    assert.equal((await runCommand(env, 'RENEW_SUBSCRIPTION', [recordId])).status, 200);
    await env.until('the throttled attempt', async () => patchesOf(env, subscriptionId, since).length === 1);
    // The failed job is back on the queue, due no earlier than Retry-After says.
    const retry = await env.until('the retry on the queue', async () => (await env.storage.db.selectFrom('jobs').select(['run_at', 'attempts'])
      .where('dedupe_key', '=', `graph.renew-now:${recordId}`).where('state', '=', 'pending').where('attempts', '>=', 1).executeTakeFirst()));
    assert.ok(Number(retry.run_at) - env.clock.now() >= 55_000, `retried ${Number(retry.run_at) - env.clock.now()} ms later, not after Retry-After (60 s)`);
    await env.settled();
    assert.deepEqual(patchesOf(env, subscriptionId, since).map((r) => r.status), [429], 'no retry before Retry-After has passed');
    env.advance(61_000);
    await env.until('the retry after Retry-After', async () => patchesOf(env, subscriptionId, since).some((r) => r.status === 200));
    await env.settled();
    assert.equal((await env.connection(recordId))!.state, 'active');
  });
});

test('at most 4 Graph requests in flight per mailbox', async (ctx) => {
  const env = await graphEnv(ctx, { queueConcurrency: 16 });
  // Six calendar records of one mailbox (one subscription per calendar).
  const records: number[] = [];
  for (let i = 0; i < 6; i++) {
    const calendar = env.emu.control.createCalendar(ADELE, `Calendar ${i}`);
    records.push((await env.connectMailbox(ADELE, { calendarId: calendar.id })).recordId);
  }
  for (const id of records) await env.untilState(id, 'active');
  await env.settled();
  assert.equal(env.emu.control.listSubscriptions().length, 6);

  const mailbox = ADELE.toLowerCase();
  let maxActive = 0;
  const sampler = setInterval(() => {
    maxActive = Math.max(maxActive, env.engine.graph.limiter.active(mailbox));
  }, 1);
  const slow = env.emu.control.addFault({ path: '/calendarView/delta', delayMs: 300, times: 0 });
  const rounds = env.sink.rounds.length;
  try {
    // Six full resyncs at once (the queue runs up to 16 jobs), plus direct calls for the same mailbox.
    assert.equal((await runCommand(env, 'RESYNC', records)).status, 200);
    const direct = Array.from({ length: 6 }, () =>
      env.engine.graph.call({ kind: 'app', mailbox: ADELE }, 'GET', `/users/${encodeURIComponent(ADELE)}/calendarView/delta?startDateTime=2030-01-01T00:00:00Z&endDateTime=2030-02-01T00:00:00Z`));
    await Promise.all(direct);
    await env.until('six full resync rounds', async () => records.every((id) => env.sink.rounds.slice(rounds).some((r) => r.recordId === id && r.full)), 20_000);
  } finally {
    clearInterval(sampler);
    env.emu.control.removeFault(slow.id);
  }
  assert.ok(maxActive <= 4, `the limiter let ${maxActive} requests run at once`);
  assert.equal(maxActive, 4, 'the limit was reached (so the test measured something)');

  // What Graph saw: the slowed requests never overlapped more than 4 deep. (The emulator logs a request when its
  // answer has been sent, which may be a moment after the client has it: wait for all twelve.)
  const slowed = await env.until('the twelve slowed requests in the log', async () => {
    const list = env.emu.control.requests({ path: '/calendarView/delta' }).filter((r) => r.faultId === slow.id);
    return list.length >= 12 ? list : undefined;
  });
  assert.equal(slowed.length, 12);
  // The log stamps a request when its answer has been sent, a few ms after the client has it and may start the next
  // one: allow 10 ms of that slack on 300 ms requests.
  const depth = Math.max(...slowed.map((r) => slowed.filter((o) => startOf(o) <= startOf(r) && startOf(r) < Date.parse(o.at) - 10).length));
  assert.ok(depth <= 4, `Graph saw ${depth} concurrent requests for one mailbox`);
  assert.ok(depth >= 3, `requests did run in parallel (depth ${depth})`);
});
