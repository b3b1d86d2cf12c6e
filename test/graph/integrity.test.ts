/** Integrity bugs found from the outside (issue 8): each test failed on the code before the fix. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import path from 'node:path';
import { startGraphEnv } from '../helpers/graph-env.js';
import { testConfig } from '../helpers/app.js';
import { postgresUrlFor, testDatabaseUrl } from '../helpers/database.js';
import { composeServices } from '../../src/composition-root.js';
import { openPostgres, openSqlite } from '../../src/storage/database.js';

const CAL = '/api/spaces/coworkermsofficecalendars';
const ADELE = 'adelev@contoso.onmicrosoft.com';

function futureEvent(subject: string) {
  const start = new Date(Date.now() + 86_400_000);
  const end = new Date(start.getTime() + 3600_000);
  return { subject, start: { dateTime: start.toISOString().slice(0, 19), timeZone: 'UTC' }, end: { dateTime: end.toISOString().slice(0, 19), timeZone: 'UTC' } };
}

test('a client writing SubscriptionId cannot break the sync: notifications still match, DELETE removes the real subscription, a new record subscribes', async () => {
  const env = await startGraphEnv();
  try {
    const { recordId, calendarId, userId } = await env.connectMailbox(ADELE);
    await env.untilState(recordId, 'active');
    const graphSub = env.emu.control.listSubscriptions()[0]!;
    const before = (await env.request('GET', `${CAL}/${recordId}`)).body;
    assert.equal(before.SubscriptionId, graphSub.id);

    // Nexudus clients echo the record on PUT; this one also changes SubscriptionId and SubscriptionExpireDate.
    const put = await env.request('PUT', CAL, { ...before, SubscriptionId: 'client-overwrite', SubscriptionExpireDate: '2031-01-01T00:00:00Z', Name: 'Renamed' });
    assert.equal(put.status, 200, put.text);
    const after = (await env.request('GET', `${CAL}/${recordId}`)).body;
    assert.equal(after.Name, 'Renamed', 'the rest of the PUT is stored');
    assert.equal(after.SubscriptionId, graphSub.id, 'the record shows what Graph last said');
    assert.equal(after.SubscriptionExpireDate, before.SubscriptionExpireDate);

    // Notifications for the live subscription are still accepted and lead to a sync.
    const notifications = await env.container.connections.notificationCount(recordId);
    env.emu.control.createEvent(userId, futureEvent('After the overwrite'), { calendarId });
    await env.until('the notification to be accepted', async () => (await env.container.connections.notificationCount(recordId)) > notifications);

    // DELETE removes the subscription calbridge made, whatever the record said.
    assert.equal((await env.request('DELETE', `${CAL}/${recordId}`)).status, 200);
    await env.until('the subscription to be deleted at Graph', async () => !env.emu.control.listSubscriptions().some((s) => s.id === graphSub.id));

    // A new record on the same calendar gets its own subscription (no 409 from a leftover one).
    const again = await env.connectMailbox(ADELE);
    await env.untilState(again.recordId, 'active');
    assert.equal(env.emu.control.listSubscriptions().length, 1);
  } finally {
    await env.close();
  }
});

test('without a live subscription, SubscriptionId and SubscriptionExpireDate are stored as sent', async () => {
  const env = await startGraphEnv();
  try {
    const resource = (await env.request('POST', '/api/spaces/resources', { Name: 'Room' })).body.Value;
    const created = (await env.request('POST', CAL, { ResourceId: resource.Id, Name: 'No coworker', SubscriptionId: 'a', CalendarId: 'b', SubscriptionExpireDate: '2030-01-01T00:00:00Z' })).body.Value;
    const put = await env.request('PUT', CAL, { ...created, SubscriptionId: 'client-value', SubscriptionExpireDate: '2031-02-03T04:05:06Z' });
    assert.equal(put.status, 200, put.text);
    const after = (await env.request('GET', `${CAL}/${created.Id}`)).body;
    assert.equal(after.SubscriptionId, 'client-value');
    assert.equal(after.SubscriptionExpireDate, '2031-02-03T04:05:06.000Z');
    assert.equal((await env.connection(created.Id))?.state, 'credentials_missing');
  } finally {
    await env.close();
  }
});

test('a record created by an API-only process (SYNC_ENGINE=off) is subscribed by the process that runs the engine', async () => {
  const env = await startGraphEnv();
  // A second process on the same database, with no engine and no queue: the REST API alone.
  const storage = testDatabaseUrl ? openPostgres({ url: await postgresUrlFor(env.dir), poolSize: 2 }) : openSqlite({ file: path.join(env.dir, 'calbridge.db') });
  const apiOnly = composeServices(storage, testConfig);
  try {
    const user = env.seed.users.find((u) => u.userPrincipalName === ADELE)!;
    const calendar = env.emu.control.defaultCalendar(user.id);
    const actor = { userId: 0, email: 'api-only@test.local' };
    const coworker = await apiOnly.coworkerService.create({ FullName: 'Adele', Email: ADELE }, actor);
    const resource = await apiOnly.resourceService.create({ Name: 'Room' }, actor);
    const record = await apiOnly.calendarService.create({ ResourceId: resource.Id, CoworkerId: coworker.Id, Name: 'Adele', SubscriptionId: 'pending', CalendarId: calendar.id, SubscriptionExpireDate: '2030-01-01T00:00:00Z' }, actor);
    const jobs = await storage.db.selectFrom('jobs').select(['type', 'state']).where('dedupe_key', '=', `graph.subscribe:${record.Id}`).execute();
    assert.deepEqual(jobs.map((j) => j.type), ['graph.subscribe'], 'the subscribe job commits with the record');
    env.queue.poke();
    await env.untilState(record.Id, 'active');
    assert.equal(env.emu.control.listSubscriptions().length, 1);
  } finally {
    await storage.close();
    await env.close();
  }
});

test('records that have no connection at all (made before, or by hand) get one on the next sweep', async () => {
  const env = await startGraphEnv();
  try {
    const { recordId } = await env.connectMailbox(ADELE);
    await env.untilState(recordId, 'active');
    await env.settled();
    // Simulate a record written by an older version or another tool: no connection row, no job.
    const sub = env.emu.control.listSubscriptions()[0]!;
    env.emu.control.removeSubscription(sub.id, { notify: false });
    await sql`DELETE FROM graph_connections WHERE calendar_record_id = ${recordId}`.execute(env.storage.db);
    env.advance(5 * 60_000 + 1_000); // the sweep's period
    await env.untilState(recordId, 'active', 20_000);
    assert.equal(env.emu.control.listSubscriptions().length, 1);
  } finally {
    await env.close();
  }
});
