/**
 * What the webhook does with notification batches posted by hand: a wrong or missing clientState, or an unknown
 * subscription id, is ignored (202, nothing stored, no job) while the valid items of the same batch count; mixed
 * batches and duplicated items are each persisted, but a record gets one pending sync job; malformed bodies are 400;
 * the clientState never leaves the database (API answers, log lines).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { graphEnv, type GraphEnv } from '../helpers/graph-env.js';

const ADELE = 'adelev@contoso.onmicrosoft.com';
const ALEX = 'alexw@contoso.onmicrosoft.com';

interface Sub {
  recordId: number;
  subscriptionId: string;
  clientState: string;
  userId: string;
}

function changeItem(sub: Pick<Sub, 'subscriptionId' | 'userId'>, clientState: string | undefined, eventId = 'AAMkAD-event-1', changeType = 'updated') {
  const resource = `Users/${sub.userId}/Events/${eventId}`;
  return {
    subscriptionId: sub.subscriptionId,
    subscriptionExpirationDateTime: new Date(Date.now() + 86_400_000).toISOString(),
    changeType,
    resource,
    resourceData: { '@odata.type': '#Microsoft.Graph.Event', '@odata.id': resource, '@odata.etag': 'W/"abc"', id: eventId },
    ...(clientState === undefined ? {} : { clientState }),
    tenantId: 'tenant',
  };
}

async function post(env: GraphEnv, path: string, body: unknown, contentType = 'application/json') {
  const res = await fetch(`${env.url}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, text: await res.text() };
}

async function notificationRows(env: GraphEnv, recordId: number) {
  return env.storage.db.selectFrom('graph_notifications').selectAll().where('calendar_record_id', '=', recordId).orderBy('id').execute();
}

async function pendingJobs(env: GraphEnv, type: string, recordId: number) {
  const rows = await env.storage.db.selectFrom('jobs').select(['id', 'payload', 'dedupe_key']).where('type', '=', type).where('state', '=', 'pending').execute();
  return rows.filter((r) => (JSON.parse(r.payload) as { recordId?: number } | null)?.recordId === recordId);
}

async function connect(env: GraphEnv, upn: string): Promise<Sub> {
  const { recordId, userId } = await env.connectMailbox(upn);
  await env.untilState(recordId, 'active');
  const record = (await env.request('GET', `/api/spaces/coworkermsofficecalendars/${recordId}`)).body;
  // The clientState is only in Graph's subscription: calbridge keeps its digest.
  return { recordId, subscriptionId: record.SubscriptionId, clientState: env.emu.control.getSubscription(record.SubscriptionId).clientState!, userId };
}

test('notification batches: clientState checks, mixed batches, duplicates, one sync job per record, malformed bodies, no leaked secrets', async (t) => {
  const env = await graphEnv(t, { captureLogs: true });
  const a = await connect(env, ADELE);
  const b = await connect(env, ALEX);
  assert.notEqual(a.clientState, b.clientState, 'one clientState per subscription');
  await env.settled(); // the first full sync rounds are done: no sync job is pending
  // With the worker paused, the jobs a POST queued stay visible as pending rows.
  await env.queue.stop();

  await t.test('bad items are ignored, the valid item of the same batch counts', async () => {
    const res = await post(env, '/graph/notifications', {
      value: [
        changeItem(b, `${b.clientState}x`),        // wrong clientState (one character longer)
        changeItem(b, a.clientState),              // another subscription's clientState
        changeItem(b, undefined),                  // no clientState
        changeItem(b, ''),                         // empty clientState
        changeItem({ subscriptionId: '00000000-0000-0000-0000-000000000000', userId: a.userId }, a.clientState), // unknown subscription
        changeItem({ subscriptionId: '', userId: a.userId }, a.clientState),
        { ...changeItem(b, b.clientState), subscriptionId: 42 }, // not a string
        null,
        42,
        'not an item',
        [],
        changeItem(a, a.clientState, 'AAMkAD-valid'), // the one valid item
      ],
    });
    assert.equal(res.status, 202, res.text);
    const rowsA = await notificationRows(env, a.recordId);
    assert.equal(rowsA.length, 1, 'the valid item is stored');
    assert.equal(rowsA[0]!.subscription_id, a.subscriptionId);
    assert.equal(rowsA[0]!.kind, 'change');
    assert.equal(rowsA[0]!.change_type, 'updated');
    assert.equal(rowsA[0]!.resource, `Users/${a.userId}/Events/AAMkAD-valid`);
    assert.equal((await notificationRows(env, b.recordId)).length, 0, 'nothing stored for the bad items');
    assert.equal((await pendingJobs(env, 'graph.sync', a.recordId)).length, 1, 'a sync job for the valid item');
    assert.equal((await pendingJobs(env, 'graph.sync', b.recordId)).length, 0, 'no sync job for the bad items');
    assert.ok((await env.connection(a.recordId))!.last_notification_at, 'the connection saw a notification');
    assert.equal((await env.connection(b.recordId))!.last_notification_at, null);

    const onlyBad = await post(env, '/graph/notifications', { value: [changeItem(b, 'guess'), changeItem(a, b.clientState)] });
    assert.equal(onlyBad.status, 202, 'a batch of bad items is still acknowledged');
    assert.equal((await notificationRows(env, a.recordId)).length, 1);
    assert.equal((await notificationRows(env, b.recordId)).length, 0);
  });

  await t.test('a mixed batch with duplicates: every valid item stored, one pending sync job per record', async () => {
    const beforeA = (await notificationRows(env, a.recordId)).length;
    const dup = changeItem(b, b.clientState, 'AAMkAD-dup');
    const res = await post(env, '/graph/notifications', {
      value: [
        changeItem(a, a.clientState, 'AAMkAD-1', 'created'),
        dup,
        changeItem(a, a.clientState, 'AAMkAD-1', 'updated'),
        dup,
        changeItem(a, a.clientState, 'AAMkAD-2', 'deleted'),
        changeItem(b, 'wrong'),
        dup,
      ],
    });
    assert.equal(res.status, 202);
    const rowsA = (await notificationRows(env, a.recordId)).slice(beforeA);
    const rowsB = await notificationRows(env, b.recordId);
    assert.deepEqual(rowsA.map((r) => r.change_type), ['created', 'updated', 'deleted']);
    assert.equal(rowsB.length, 3, 'duplicated items are each stored');
    assert.ok(rowsB.every((r) => r.resource === `Users/${b.userId}/Events/AAMkAD-dup` && r.subscription_id === b.subscriptionId));
    const jobsA = await pendingJobs(env, 'graph.sync', a.recordId);
    const jobsB = await pendingJobs(env, 'graph.sync', b.recordId);
    assert.equal(jobsA.length, 1, 'one pending sync job for A (deduplicated with the earlier one)');
    assert.equal(jobsB.length, 1, 'one pending sync job for B');
    assert.equal(jobsA[0]!.dedupe_key, `graph.sync:${a.recordId}`);

    // Another burst while they are pending adds no job.
    for (let i = 0; i < 5; i++) {
      assert.equal((await post(env, '/graph/notifications', { value: [changeItem(a, a.clientState, `AAMkAD-burst-${i}`), changeItem(b, b.clientState)] })).status, 202);
    }
    assert.equal((await pendingJobs(env, 'graph.sync', a.recordId)).length, 1);
    assert.equal((await pendingJobs(env, 'graph.sync', b.recordId)).length, 1);
    assert.equal((await notificationRows(env, b.recordId)).length, 8);
  });

  await t.test('lifecycle items: checked the same way, one job per record and event', async () => {
    const lifecycle = (sub: Sub, clientState: string, lifecycleEvent: string) => ({
      subscriptionId: sub.subscriptionId, subscriptionExpirationDateTime: new Date().toISOString(), tenantId: 't', clientState, lifecycleEvent,
    });
    const res = await post(env, '/graph/lifecycle', {
      value: [
        lifecycle(a, a.clientState, 'missed'),
        lifecycle(a, a.clientState, 'missed'),
        lifecycle(b, a.clientState, 'missed'), // wrong clientState
        lifecycle(b, b.clientState, 'somethingElse'), // unknown event
      ],
    });
    assert.equal(res.status, 202);
    const stored = (await notificationRows(env, a.recordId)).filter((r) => r.kind === 'lifecycle');
    assert.deepEqual(stored.map((r) => r.lifecycle_event), ['missed', 'missed']);
    assert.equal((await notificationRows(env, b.recordId)).filter((r) => r.kind === 'lifecycle').length, 0);
    assert.equal((await pendingJobs(env, 'graph.lifecycle', a.recordId)).length, 1);
    assert.equal((await pendingJobs(env, 'graph.lifecycle', b.recordId)).length, 0);
  });

  await t.test('malformed bodies are 400 and store nothing', async () => {
    const before = (await env.storage.db.selectFrom('graph_notifications').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n;
    for (const endpoint of ['/graph/notifications', '/graph/lifecycle']) {
      for (const body of ['{"value": [', 'not json at all', '', '{}', '{"value": "x"}', '[]', 'null']) {
        const res = await post(env, endpoint, body);
        assert.equal(res.status, 400, `${endpoint} ${JSON.stringify(body)} → ${res.status}`);
      }
    }
    const after = (await env.storage.db.selectFrom('graph_notifications').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n;
    assert.equal(Number(after), Number(before));
  });

  await t.test('the queued work runs: one sync round per record', async () => {
    const rounds = env.sink.rounds.length;
    env.queue.start();
    await env.settled();
    const newRounds = env.sink.rounds.slice(rounds);
    assert.equal(newRounds.filter((r) => r.recordId === a.recordId).length >= 1, true, 'A was synced');
    assert.equal(newRounds.filter((r) => r.recordId === b.recordId).length, 1, 'B was synced once for its eight notifications');
  });

  await t.test('the clientState never appears in API answers or log lines', async () => {
    const secrets = [a.clientState, b.clientState];
    const answers: string[] = [];
    for (const p of [
      `/api/spaces/coworkermsofficecalendars/${a.recordId}`,
      `/api/spaces/coworkermsofficecalendars/${a.recordId}/status`,
      `/api/spaces/coworkermsofficecalendars/${b.recordId}/status`,
      '/api/spaces/coworkermsofficecalendars',
      `/api/spaces/coworkermsofficecalendars?id=[${a.recordId},${b.recordId}]`,
      '/api/spaces/coworkermsofficecalendars/commands',
      '/api/sys/jobs?size=1000',
      '/api/sys/jobs?state=done&size=1000',
      '/api/openapi.json',
    ]) {
      const res = await env.request('GET', p);
      assert.equal(res.status, 200, `${p}: ${res.text.slice(0, 200)}`);
      answers.push(res.text);
    }
    const webhookAnswer = await post(env, '/graph/notifications', { value: [changeItem(a, a.clientState)] });
    assert.equal(webhookAnswer.text, '', 'the 202 has no body');
    await env.settled();
    assert.ok(env.logs.length > 20, `logs were captured (${env.logs.length} lines)`);
    assert.ok(env.logs.some((l) => l.includes('/graph/notifications')), 'webhook requests were logged');
    assert.ok(env.logs.some((l) => l.includes('ignored notification items')), 'ignored items were logged');
    for (const secret of secrets) {
      for (const text of answers) assert.ok(!text.includes(secret), 'no clientState in an API answer');
      const line = env.logs.find((l) => l.includes(secret));
      assert.equal(line, undefined, `no clientState in a log line: ${line}`);
    }
  });
});
