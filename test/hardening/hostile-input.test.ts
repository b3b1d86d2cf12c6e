/** Reproducers of hostile input found from the outside (issue 11): each answered 500 or did harm before. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { testApp } from '../helpers/app.js';
import { createCalendar, createCoworker, createResource } from '../helpers/factories.js';
import { CAL, COWORKERS, FORM, assertFailure, assertUnauthorized, assertValidation, call, countRows, form, tokenCall } from '../helpers/api.js';
import { digestSecret } from '../../src/core/secret-box.js';

test('ids above 2^31−1 in a path, a filter, a batch or a body are 400 or left out, never 500', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  assertValidation(await call(t, 'GET', `${COWORKERS}/2147483648`), ['Id']);
  assertValidation(await call(t, 'GET', `${COWORKERS}/1e20`), ['Id']);
  assertValidation(await call(t, 'DELETE', `${CAL}/99999999999`), ['Id']);
  assertValidation(await call(t, 'GET', `${CAL}?CoworkerMsOfficeCalendar_Resource=2147483648`), ['CoworkerMsOfficeCalendar_Resource']);
  const batch = await call(t, 'GET', `${COWORKERS}?id=[2147483648,1]`);
  assert.equal(batch.status, 200, batch.raw);
  assert.deepEqual(batch.body, [], 'an id that cannot exist is left out like any unknown id');
  const body = { ResourceId: 2147483648, Name: 'x', SubscriptionId: 's', CalendarId: 'c', SubscriptionExpireDate: '2030-01-01' };
  assertValidation(await call(t, 'POST', CAL, body), ['ResourceId']);
  assertValidation(await call(t, 'POST', CAL, { ...body, ResourceId: '9999999999' }), ['ResourceId']);
  assertValidation(await call(t, 'POST', CAL, { ...body, ResourceId: resource.Id, CoworkerId: 2147483648 }), ['CoworkerId']);
  const run = await call(t, 'POST', `${CAL}/runcommand`, { Key: 'RESYNC', Ids: ['2147483648'] });
  assertFailure(run, 404);
  assert.equal(await countRows(t, 'coworker_ms_office_calendars'), 0);
});

test('a NUL character is a 401, a 400 or an ignored item, never 500 (also without credentials)', async (ctx) => {
  const t = await testApp(ctx);
  await createCalendar(t.app, t.admin, (await createResource(t.app, t.admin)).Id, { Name: 'Planning room' });
  for (const url of [CAL, COWORKERS, '/api/sys/users', '/api/spaces/bookings']) {
    assertUnauthorized(await call(t, 'GET', url, undefined, { auth: 'Basic ADoA' }));
  }
  const grant = await tokenCall(t.app, { grant_type: 'password', username: '\u0000', password: 'x' });
  assert.equal(grant.status, 400, grant.raw);
  assert.equal(grant.body.error, 'invalid_grant');
  const hook = await t.app.inject({ method: 'POST', url: '/graph/notifications', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ value: [{ subscriptionId: '\u0000', clientState: 'x', changeType: 'updated' }] }) });
  assert.equal(hook.statusCode, 202);
  for (const term of ['ab%00cd', '%00an', 'Pl%00']) {
    // a NUL anywhere in the term matches nothing (SQLite's LIKE would stop reading the pattern at it)
    const name = await call(t, 'GET', `${CAL}?CoworkerMsOfficeCalendar_Name=${term}`);
    assert.ok(name.status === 200 || name.status === 400, name.raw);
    if (name.status === 200) assert.equal(name.body.TotalItems, 0, term);
  }
  // Text fields refuse a NUL the same way on both databases: a 400 naming the field (PostgreSQL cannot store it).
  const created = await call(t, 'POST', COWORKERS, { FullName: 'Nul\u0000l', Email: 'nul@mail.test' });
  assert.equal(assertValidation(created, ['FullName']).get('FullName')!.Message, 'must not contain a NUL character');
  const whitespace = await call(t, 'POST', COWORKERS, { FullName: ' \u0000 ', Email: 'nul@mail.test' });
  assert.equal(assertValidation(whitespace, ['FullName']).get('FullName')!.Message, 'must not contain a NUL character');
  const user = await call(t, 'POST', '/api/sys/users', { Email: 'nul-user@mail.test', FullName: 'a\u0000', Password: 'a long enough password' });
  assert.equal(assertValidation(user, ['FullName']).get('FullName')!.Message, 'must not contain a NUL character');
  const calendar = await call(t, 'POST', CAL, { ResourceId: 1, Name: 'Room\u0000', SubscriptionId: 'sub', CalendarId: 'cal\u0000', SubscriptionExpireDate: '2030-01-06T10:30:00Z' });
  assertValidation(calendar, ['Name', 'CalendarId']);
  assert.equal(await countRows(t, 'coworkers'), 0);
  assert.equal(await countRows(t, 'users'), 1);
});

test('deep JSON is refused early; a rejected nested value is echoed bounded', async (ctx) => {
  const t = await testApp(ctx);
  const deep = `{"FullName":${'['.repeat(10_000)}${']'.repeat(10_000)},"Email":"a@b.test"}`;
  const a = await call(t, 'POST', COWORKERS, deep, { headers: { 'content-type': 'application/json' } });
  assertFailure(a, 400, /nested more than 64 levels/);
  let nested: unknown = 'leaf';
  for (let i = 0; i < 40; i++) nested = { n: nested };
  const b = await call(t, 'POST', COWORKERS, { FullName: nested, Email: 'a@b.test' });
  const errors = assertValidation(b, ['FullName']);
  assert.ok(JSON.stringify(errors.get('FullName')!.AttemptedValue).length < 200, 'the echo is bounded');
  assert.equal(await countRows(t, 'coworkers'), 0);
});

test('the token endpoint answers a body over 1 MB in its own shape (413), and never lets an answer be cached', async (ctx) => {
  const t = await testApp(ctx);
  const big = await tokenCall(t.app, `grant_type=password&username=a&password=${'x'.repeat(1_100_000)}`);
  assert.equal(big.status, 413, big.raw.slice(0, 200));
  assert.equal(big.body.error, 'invalid_request');
  const bad = await tokenCall(t.app, { grant_type: 'password', username: 'nobody@x.test', password: 'wrong-password' });
  assert.equal(bad.headers['cache-control'], 'no-store');
});

test('/api/sys/jobs?size=1.5 is a 400 like every other list', async (ctx) => {
  const t = await testApp(ctx);
  for (const size of ['1.5', '-1', '0', 'abc', '1e3']) assertValidation(await call(t, 'GET', `/api/sys/jobs?size=${size}`), ['size']);
  assert.equal((await call(t, 'GET', '/api/sys/jobs?size=5')).status, 200);
});

test('a cross-site form cannot act with a browser\'s credentials; API clients and same-origin pages can', async (ctx) => {
  const t = await testApp(ctx);
  const users = await countRows(t, 'users');
  const evil = await call(t, 'POST', '/api/sys/users', form({ Email: 'evil@x.test', Password: 'evil-password-1', FullAdministrator: 'true' }), { headers: { ...FORM, origin: 'https://evil.example' } });
  assertFailure(evil, 403, /Cross-site/);
  const fetchSite = await call(t, 'POST', COWORKERS, { FullName: 'X', Email: 'x@x.test' }, { headers: { 'sec-fetch-site': 'cross-site' } });
  assertFailure(fetchSite, 403);
  const nullOrigin = await call(t, 'POST', COWORKERS, { FullName: 'X', Email: 'x@x.test' }, { headers: { origin: 'null' } });
  assertFailure(nullOrigin, 403);
  const resource = await createResource(t.app, t.admin);
  const record = await createCalendar(t.app, t.admin, resource.Id);
  const disconnect = await call(t, 'POST', `${CAL}/runcommand`, { Key: 'DISCONNECT', Ids: [record.Id] }, { headers: { origin: 'https://evil.example' } });
  assertFailure(disconnect, 403);
  assert.equal((await call(t, 'GET', `${CAL}/${record.Id}`)).status, 200, 'the record is still there');
  assert.equal(await countRows(t, 'users'), users);
  // An API client (no Origin) and the service's own pages (same origin) still work.
  assert.equal((await call(t, 'POST', COWORKERS, { FullName: 'Y', Email: 'y@x.test' })).status, 200);
  assert.equal((await call(t, 'POST', COWORKERS, { FullName: 'Z', Email: 'z@x.test' }, { headers: { origin: 'http://localhost:80', host: 'localhost:80', 'sec-fetch-site': 'same-origin' } })).status, 200);
  // 401s challenge with Bearer only: browsers never prompt for (and cache) Basic credentials.
  const challenge = await call(t, 'GET', COWORKERS, undefined, { auth: null });
  assert.equal(challenge.headers['www-authenticate'], 'Bearer realm="calbridge"');
});

test('security headers on every answer; a CSP on /docs', async (ctx) => {
  const t = await testApp(ctx);
  for (const url of [COWORKERS, `${COWORKERS}/1`, '/API/Spaces/Coworkers/', '/%61pi/spaces/coworkers', '/api/nothing-here', '/healthz']) {
    const a = await call(t, 'GET', url);
    assert.equal(a.headers['x-content-type-options'], 'nosniff', url);
    assert.match(String(a.headers['x-frame-options']), /SAMEORIGIN|DENY/, url);
    assert.equal(a.headers['cross-origin-resource-policy'], 'same-origin', url);
    assert.match(String(a.headers['strict-transport-security']), /max-age=\d+/, url);
    if (url === '/healthz') {
      // Outside the API: helmet's whole set, with the headers that act only on documents.
      assert.equal(a.headers['referrer-policy'], 'no-referrer', url);
      assert.equal(a.headers['cross-origin-opener-policy'], 'same-origin', url);
    } else {
      // The API's JSON answers: never stored by a cache, and none of the document-only headers.
      assert.equal(a.headers['cache-control'], 'no-store', url);
      for (const name of ['referrer-policy', 'cross-origin-opener-policy', 'origin-agent-cluster', 'x-xss-protection']) assert.equal(a.headers[name], undefined, `${url} ${name}`);
    }
  }
  const docs = await t.app.inject({ method: 'GET', url: '/docs/static/index.html' });
  assert.match(String(docs.headers['content-security-policy']), /default-src/);
});

test('each webhook URL takes only its own kind of item, and only known change types', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const coworker = await createCoworker(t.app, t.admin);
  const record = await createCalendar(t.app, t.admin, resource.Id, { CoworkerId: coworker.Id });
  await sql`UPDATE graph_connections SET subscription_id = 'sub-1', client_state = ${digestSecret('secret')} WHERE calendar_record_id = ${record.Id}`.execute(t.storage.db);
  const post = (url: string, item: Record<string, unknown>) => t.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ value: [{ subscriptionId: 'sub-1', clientState: 'secret', ...item }] }) });
  const stored = async () => Number((await sql<{ n: number }>`SELECT count(*) AS n FROM graph_notifications`.execute(t.storage.db)).rows[0]!.n);
  assert.equal((await post('/graph/notifications', { lifecycleEvent: 'subscriptionRemoved' })).statusCode, 202);
  assert.equal((await post('/graph/lifecycle', { changeType: 'updated', resource: 'x' })).statusCode, 202);
  assert.equal((await post('/graph/notifications', { changeType: 'exploded', resource: 'x' })).statusCode, 202);
  assert.equal(await stored(), 0, 'all three were ignored');
  await post('/graph/notifications', { changeType: 'updated', resource: 'x' });
  await post('/graph/lifecycle', { lifecycleEvent: 'missed' });
  assert.equal(await stored(), 2);
});

test('UniqueId and SystemId filter every entity exactly', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const a = await createCalendar(t.app, t.admin, resource.Id, { SystemId: 'ext-1' });
  await createCalendar(t.app, t.admin, resource.Id, { SystemId: 'ext-2' });
  const byUnique = (await call(t, 'GET', `${CAL}?CoworkerMsOfficeCalendar_UniqueId=${a.UniqueId}`)).body;
  assert.deepEqual(byUnique.Records.map((r: any) => r.Id), [a.Id]);
  assert.deepEqual((await call(t, 'GET', `${CAL}?CoworkerMsOfficeCalendar_SystemId=ext-1`)).body.Records.map((r: any) => r.Id), [a.Id]);
  assert.equal((await call(t, 'GET', `/api/spaces/resources?Resource_UniqueId=${resource.UniqueId}`)).body.TotalItems, 1);
  assert.equal((await call(t, 'GET', `/api/spaces/resources?Resource_UniqueId=00000000-0000-0000-0000-000000000000`)).body.TotalItems, 0);
});

test('fuzz findings: cancelled bookings hold their resource and coworker (400, not 500); huge substring filters and odd client_ids are 400', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const coworker = await createCoworker(t.app, t.admin);
  const booking = (await call(t, 'POST', '/api/spaces/bookings', { ResourceId: resource.Id, CoworkerId: coworker.Id, FromTime: '2030-01-01T10:00:00Z', ToTime: '2030-01-01T11:00:00Z' })).body.Value;
  assert.equal((await call(t, 'DELETE', `/api/spaces/bookings/${booking.Id}`)).status, 200);
  assert.match(assertValidation(await call(t, 'DELETE', `/api/spaces/resources/${resource.Id}`), ['Id']).get('Id')!.Message, new RegExp(`Booking ${booking.Id}`));
  assert.match(assertValidation(await call(t, 'DELETE', `${COWORKERS}/${coworker.Id}`), ['Id']).get('Id')!.Message, new RegExp(`Booking ${booking.Id}`));
  assertValidation(await call(t, 'GET', `/api/spaces/resources?Resource_Name=${'x'.repeat(49_999)}`), ['Resource_Name']);
  for (const clientId of ['a\u0000b', 'f'.repeat(6000)]) {
    const a = await tokenCall(t.app, { grant_type: 'password', username: 'admin@test.local', password: 'admin-password-123', client_id: clientId });
    assert.equal(a.status, 400, a.raw.slice(0, 200));
    assert.equal(a.body.error, 'invalid_request');
  }
});
