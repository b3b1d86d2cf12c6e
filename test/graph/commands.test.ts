/**
 * The commands over real HTTP: GET /commands, POST /runcommand (keys, unknown ids, roles, "counts as a change"),
 * DISCONNECT and DELETE remove the Graph subscription too (a 404 from Graph counts as done), and the State filter
 * (active, credentials_missing, failed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { graphEnv, type GraphEnv } from '../helpers/graph-env.js';
import { basic } from '../helpers/app.js';

const ADELE = 'adelev@contoso.onmicrosoft.com';
const ALEX = 'alexw@contoso.onmicrosoft.com';
const BASE = '/api/spaces/coworkermsofficecalendars';

let users = 0;
async function userWith(env: GraphEnv, roles: string[]) {
  const email = `cmd-user-${++users}@test.local`;
  const password = `password-${users}-long-enough`;
  await env.container.userService.create({ Email: email, Password: password, Roles: roles, FullAdministrator: false }, { userId: 0, email: 'test' });
  return { email, auth: basic(email, password) };
}

const get = async (env: GraphEnv, id: number) => env.request('GET', `${BASE}/${id}`);
const run = (env: GraphEnv, Key: string, Ids: unknown[], auth?: string) => env.request('POST', `${BASE}/runcommand`, { Key, Ids, Parameters: [] }, auth);
const jobCount = async (env: GraphEnv) => Number((await env.storage.db.selectFrom('jobs').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
const subscriptionOf = async (env: GraphEnv, id: number) => (await get(env, id)).body.SubscriptionId as string;

async function unsubscribeJobs(env: GraphEnv) {
  return env.storage.db.selectFrom('jobs').select(['state', 'last_error', 'payload']).where('type', '=', 'graph.unsubscribe').orderBy('id').execute();
}

test('commands over HTTP: list, keys, unknown ids, roles, changes, DISCONNECT and DELETE', async (t) => {
  const env = await graphEnv(t);
  const a = await env.connectMailbox(ADELE);
  const b = await env.connectMailbox(ALEX);
  await env.untilState(a.recordId, 'active');
  await env.untilState(b.recordId, 'active');
  await env.settled();
  assert.ok(a.recordId < 7 && b.recordId < 7);

  await t.test('GET /commands lists the five commands', async () => {
    const res = await env.request('GET', `${BASE}/commands`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.map((c: { Key: string }) => c.Key), ['RENEW_SUBSCRIPTION', 'RESYNC', 'DISCONNECT', 'MARK_DEDICATED', 'UNMARK_DEDICATED']);
    for (const c of res.body) {
      assert.deepEqual(Object.keys(c).sort(), ['AppliesOnlyToMultipleEntities', 'AppliesOnlyToOneEntity', 'Key', 'Name', 'NeedsEntitiesToRun', 'Order', 'RequiresParameters']);
      assert.equal(typeof c.Name, 'string');
      assert.deepEqual(c.RequiresParameters, []);
    }
    const lister = await userWith(env, ['CoworkerMsOfficeCalendar-List']);
    assert.equal((await env.request('GET', `${BASE}/commands`, undefined, lister.auth)).status, 200);
    const reader = await userWith(env, ['CoworkerMsOfficeCalendar-Read']);
    assert.equal((await env.request('GET', `${BASE}/commands`, undefined, reader.auth)).status, 403);
    assert.equal((await env.request('GET', `${BASE}/commands`, undefined, null)).status, 401);
    assert.equal((await env.request('GET', `${BASE}/commands?id=${a.recordId}`)).status, 200);
    assert.equal((await env.request('GET', `${BASE}/commands?id=999`)).status, 404);
  });

  await t.test('an unknown Key is 400 on Key; unknown Ids are 404 and nothing runs', async () => {
    const unknown = await run(env, 'REBOOT', [a.recordId]);
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.WasSuccessful, false);
    assert.deepEqual(unknown.body.Errors.map((e: { PropertyName: string }) => e.PropertyName), ['Key']);

    const jobs = await jobCount(env);
    const requests = env.emu.control.requests().length;
    const before = (await get(env, a.recordId)).body;
    for (const Key of ['RENEW_SUBSCRIPTION', 'RESYNC', 'DISCONNECT']) {
      const res = await run(env, Key, [a.recordId, 7, 9]);
      assert.equal(res.status, 404, `${Key}: ${res.text}`);
      assert.equal(res.body.Message, 'CoworkerMsOfficeCalendar not found: 7, 9.');
      assert.equal(res.body.WasSuccessful, false);
    }
    await env.settled();
    assert.equal(await jobCount(env), jobs, 'no job was queued');
    assert.equal(env.emu.control.requests().length, requests, 'Graph was not called');
    assert.deepEqual((await get(env, a.recordId)).body, before, 'the known record is untouched (IsNew, UpdatedOn, UpdatedBy)');
  });

  await t.test('RENEW_SUBSCRIPTION and RESYNC need -Edit and count as a change', async () => {
    const deleter = await userWith(env, ['CoworkerMsOfficeCalendar-Delete']);
    const lister = await userWith(env, ['CoworkerMsOfficeCalendar-List', 'CoworkerMsOfficeCalendar-Read']);
    for (const Key of ['RENEW_SUBSCRIPTION', 'RESYNC']) {
      assert.equal((await run(env, Key, [a.recordId], deleter.auth)).status, 403, `${Key} with -Delete only`);
      assert.equal((await run(env, Key, [a.recordId], lister.auth)).status, 403, `${Key} with -List/-Read`);
    }
    assert.equal((await get(env, a.recordId)).body.IsNew, true, 'refused commands change nothing');

    const editor = await userWith(env, ['CoworkerMsOfficeCalendar-Edit']);
    const subscriptionId = await subscriptionOf(env, a.recordId);
    const patches = () => env.emu.control.requests({ method: 'PATCH', path: `/subscriptions/${subscriptionId}` }).filter((r) => r.status === 200).length;

    const before = (await get(env, a.recordId)).body;
    const renew = await run(env, 'RENEW_SUBSCRIPTION', [String(a.recordId)], editor.auth);
    assert.equal(renew.status, 200, renew.text);
    assert.equal(renew.body.Message, 'The command was run correctly.');
    assert.equal(renew.body.Value, null);
    assert.equal(renew.body.Errors, null);
    assert.equal(renew.body.WasSuccessful, true);
    assert.equal(renew.body.UpdatedBy, editor.email);
    await env.until('the renewal', async () => patches() === 1);
    const renewed = (await get(env, a.recordId)).body;
    assert.equal(renewed.IsNew, false);
    assert.equal(renewed.UpdatedBy, editor.email);
    assert.ok(Date.parse(renewed.UpdatedOn) > Date.parse(before.UpdatedOn), 'UpdatedOn moved');
    assert.equal(renewed.UpdatedOn, renew.body.UpdatedOn);

    await env.settled();
    const rounds = env.sink.rounds.length;
    const resync = await run(env, 'resync', [a.recordId, b.recordId], editor.auth);
    assert.equal(resync.status, 200, resync.text);
    await env.until('full rounds for both', async () => [a.recordId, b.recordId].every((id) => env.sink.rounds.slice(rounds).some((r) => r.recordId === id && r.full)));
    for (const id of [a.recordId, b.recordId]) {
      const rec = (await get(env, id)).body;
      assert.equal(rec.IsNew, false);
      assert.equal(rec.UpdatedBy, editor.email);
    }
  });

  await t.test('DISCONNECT needs -Delete and deletes the record and the Graph subscription', async () => {
    const editor = await userWith(env, ['CoworkerMsOfficeCalendar-Edit']);
    assert.equal((await run(env, 'DISCONNECT', [a.recordId], editor.auth)).status, 403);
    assert.equal((await get(env, a.recordId)).status, 200, 'still there');

    const deleter = await userWith(env, ['CoworkerMsOfficeCalendar-Delete']);
    const subscriptionId = await subscriptionOf(env, a.recordId);
    const res = await run(env, 'DISCONNECT', [a.recordId], deleter.auth);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.Message, 'The command was run correctly.');
    assert.equal((await get(env, a.recordId)).status, 404, 'the record is gone');
    await env.until('the subscription deleted in Graph', async () => env.emu.control.getSubscription(subscriptionId).status === 'deleted');
    await env.settled();
    assert.deepEqual((await unsubscribeJobs(env)).map((j) => j.state), ['done']);
    assert.equal(await env.connection(a.recordId), undefined, 'the connection row went with the record');
  });

  await t.test('a subscription Graph already dropped: the 404 counts as done', async () => {
    const c = await env.connectMailbox(ADELE);
    await env.untilState(c.recordId, 'active');
    await env.settled();
    const subscriptionId = await subscriptionOf(env, c.recordId);
    env.emu.control.expireSubscription(subscriptionId);
    assert.equal((await run(env, 'DISCONNECT', [c.recordId])).status, 200);
    await env.until('the DELETE attempt', async () => env.emu.control.requests({ method: 'DELETE', path: `/subscriptions/${subscriptionId}` }).length === 1);
    await env.settled();
    assert.equal(env.emu.control.requests({ method: 'DELETE', path: `/subscriptions/${subscriptionId}` })[0]!.status, 404);
    const jobs = await unsubscribeJobs(env);
    assert.deepEqual(jobs.map((j) => j.state), ['done', 'done'], 'done, not retried or dead');
    assert.equal(env.emu.control.requests({ method: 'DELETE', path: `/subscriptions/${subscriptionId}` }).length, 1, 'tried once');
  });

  await t.test('DELETE of a record deletes its subscription too', async () => {
    const subscriptionId = await subscriptionOf(env, b.recordId);
    const res = await env.request('DELETE', `${BASE}/${b.recordId}`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.Message, 'CoworkerMsOfficeCalendar was successfully deleted.');
    await env.until('the subscription deleted in Graph', async () => env.emu.control.getSubscription(subscriptionId).status === 'deleted');
    assert.equal(env.emu.control.listSubscriptions().length, 0, 'no live subscription is left behind');
  });
});

test('the State filter: active, credentials_missing, failed', async (ctx) => {
  const env = await graphEnv(ctx);
  const live = await env.connectMailbox(ADELE);
  // No coworker: no mailbox to subscribe to.
  const resource = (await env.request('POST', '/api/spaces/resources', { Name: 'Spare desk' })).body.Value.Id;
  const orphan = await env.request('POST', BASE, { ResourceId: resource, Name: 'No coworker', SubscriptionId: 'none', CalendarId: 'cal-x', SubscriptionExpireDate: '2030-01-01T00:00:00Z' });
  assert.equal(orphan.status, 200);
  // A coworker whose e-mail is no mailbox Graph knows: Graph answers 404.
  const stranger = (await env.request('POST', '/api/spaces/coworkers', { FullName: 'Nobody', Email: 'nobody@contoso.onmicrosoft.com' })).body.Value.Id;
  const unknown = await env.request('POST', BASE, { ResourceId: resource, CoworkerId: stranger, Name: 'Unknown mailbox', SubscriptionId: 'none', CalendarId: 'cal-y', SubscriptionExpireDate: '2030-01-01T00:00:00Z' });
  assert.equal(unknown.status, 200);
  const ids = { active: live.recordId, credentials_missing: orphan.body.Value.Id as number, failed: unknown.body.Value.Id as number };

  await env.untilState(ids.active, 'active');
  for (const [state, id] of Object.entries(ids)) {
    // Polled: the failing subscription is retried by the queue, and each attempt is "renewing" for a moment.
    await env.until(`the ${state} filter`, async () => {
      const res = await env.request('GET', `${BASE}?CoworkerMsOfficeCalendar_State=${state}`);
      assert.equal(res.status, 200);
      return res.body.TotalItems === 1 && res.body.Records[0].Id === id;
    });
  }
  const status = (await env.request('GET', `${BASE}/${ids.failed}/status`)).body;
  assert.match(status.LastError ?? '', /404/);
  const missing = (await env.request('GET', `${BASE}/${ids.credentials_missing}/status`)).body;
  assert.equal(missing.State, 'credentials_missing');
  assert.match(missing.LastError, /no coworker/);
  const none = await env.request('GET', `${BASE}?CoworkerMsOfficeCalendar_State=reauth_required`);
  assert.equal(none.body.TotalItems, 0);
  assert.deepEqual(none.body.Records, []);
  const subscribePosts = env.emu.control.requests({ method: 'POST', path: '/subscriptions' });
  assert.ok(subscribePosts.some((r) => r.status === 404 && JSON.stringify(r.body).includes('nobody%40contoso')), 'Graph refused the unknown mailbox');
  assert.equal(subscribePosts.filter((r) => JSON.stringify(r.body).includes('cal-x')).length, 0, 'nothing was tried without a coworker');
});
