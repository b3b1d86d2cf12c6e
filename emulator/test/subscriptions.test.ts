import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { graph, inMinutes, startEnv, WebhookReceiver, type Env } from './helpers.js';

describe('subscriptions: validation handshake and Outlook rules', () => {
  let env: Env;
  let hook: WebhookReceiver;
  const g = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => graph(env.emu, env.appToken, method, path, body, headers);
  const sub = (over: Record<string, unknown> = {}) => ({
    changeType: 'created,updated,deleted',
    notificationUrl: hook.url('/notify?tenant=contoso'),
    resource: `users/${env.adele.id}/events`,
    expirationDateTime: inMinutes(env.emu, 3 * 24 * 60),
    clientState: 'secret-123',
    ...over,
  });

  before(async () => {
    env = await startEnv();
    hook = await WebhookReceiver.start();
  });
  beforeEach(() => {
    hook.behaviour = () => undefined;
    env.appToken = env.emu.control.issueAppToken(env.seed.app.clientId);
    for (const s of env.emu.control.listSubscriptions()) env.emu.control.expireSubscription(s.id);
  });
  after(async () => {
    await env.emu.close();
    await hook.close();
  });

  it('validates notificationUrl and lifecycleNotificationUrl with an empty text/plain POST, then answers 201', async () => {
    const res = await g('POST', '/subscriptions', sub({ lifecycleNotificationUrl: hook.url('/lifecycle') }), { Prefer: 'IdType="ImmutableId"' });
    assert.equal(res.status, 201, res.text);
    const s = res.json;
    assert.equal(s['@odata.context'], `${env.emu.url}/v1.0/$metadata#subscriptions/$entity`);
    assert.equal(s.resource, `users/${env.adele.id}/events`);
    assert.equal(s.changeType, 'created,updated,deleted');
    assert.equal(s.clientState, 'secret-123');
    assert.equal(s.applicationId, env.seed.app.clientId);
    assert.equal(s.creatorId, env.seed.app.servicePrincipalId);
    assert.equal(s.lifecycleNotificationUrl, hook.url('/lifecycle'));
    assert.equal(s.latestSupportedTlsVersion, 'v1_2');
    assert.match(s.expirationDateTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/);

    const [notify, lifecycle] = [hook.handshakes('/notify'), hook.handshakes('/lifecycle')];
    assert.equal(notify.length, 1);
    assert.equal(lifecycle.length, 1);
    const h = notify[0]!;
    assert.equal(h.method, 'POST');
    assert.equal(h.body, '');
    assert.match(String(h.headers['content-type']), /^text\/plain/);
    assert.equal(h.query.get('tenant'), 'contoso', 'the query string of notificationUrl is kept');
    const token = h.query.get('validationToken')!;
    assert.ok(token.includes(' ') && /[+&=%/?#]/.test(token), `token has spaces and odd characters: ${token}`);
    assert.notEqual(token, lifecycle[0]!.query.get('validationToken'), 'each handshake has its own token');
    assert.ok(env.emu.control.getSubscription(s.id).immutableIds);

    const same = await g('POST', '/subscriptions', sub({ changeType: 'updated', notificationUrl: hook.url('/both'), lifecycleNotificationUrl: hook.url('/both') }));
    assert.equal(same.status, 201);
    assert.equal(hook.handshakes('/both').length, 2, 'two handshakes when both URLs are the same');
  });

  it('fails with 400 ValidationError when the endpoint does not echo the decoded token as 200 text/plain', async () => {
    const cases: [string, (q: URLSearchParams) => { status: number; body: string; contentType?: string }][] = [
      ['500', () => ({ status: 500, body: 'boom' })],
      ['encoded token', (q) => ({ status: 200, body: encodeURIComponent(q.get('validationToken')!), contentType: 'text/plain' })],
      ['201', (q) => ({ status: 201, body: q.get('validationToken')!, contentType: 'text/plain' })],
      ['json', (q) => ({ status: 200, body: JSON.stringify(q.get('validationToken')), contentType: 'application/json' })],
    ];
    for (const [name, answer] of cases) {
      hook.behaviour = (r) => (r.query.has('validationToken') ? answer(r.query) : undefined);
      const res = await g('POST', '/subscriptions', sub({ notificationUrl: hook.url(`/bad-${name.replace(' ', '-')}`) }));
      assert.equal(res.status, 400, name);
      assert.equal(res.json.error.code, 'ValidationError', name);
      assert.match(res.json.error.message, /Subscription validation request failed/);
    }
    hook.behaviour = (r) => (r.path === '/lc-bad' ? { status: 404, body: '' } : undefined);
    const lc = await g('POST', '/subscriptions', sub({ notificationUrl: hook.url('/ok-but'), lifecycleNotificationUrl: hook.url('/lc-bad') }));
    assert.equal(lc.status, 400, 'the lifecycle URL is validated too');
    assert.equal(env.emu.control.listSubscriptions().length, 0, 'nothing was created');
    assert.equal((await g('POST', '/subscriptions', sub({ notificationUrl: 'http://127.0.0.1:1/closed' }))).status, 400);
  });

  it('gives up on a slow handshake after the (configurable) 10 s limit with "timed out"', async () => {
    hook.behaviour = (r) => (r.query.has('validationToken') ? { status: 200, body: r.query.get('validationToken')!, contentType: 'text/plain', delayMs: 1_600 } : undefined);
    const started = Date.now();
    const res = await g('POST', '/subscriptions', sub({ notificationUrl: hook.url('/slow') }));
    const took = Date.now() - started;
    assert.equal(res.status, 400);
    assert.match(res.json.error.message, /Subscription validation request timed out/);
    assert.ok(took >= 950, `answered only after the 1 s test limit (${took} ms); a 201 would mean the slow answer was waited for`);
  });

  it('enforces lifetime: over 10,080 minutes is 400, under 45 minutes is raised to 45', async () => {
    const tooLong = await g('POST', '/subscriptions', sub({ expirationDateTime: inMinutes(env.emu, 10_081) }));
    assert.equal(tooLong.status, 400);
    assert.equal(tooLong.json.error.code, 'ExtensionError');
    assert.match(tooLong.json.error.message, /10080 minutes/);
    const max = await g('POST', '/subscriptions', sub({ expirationDateTime: inMinutes(env.emu, 10_079) }));
    assert.equal(max.status, 201);
    const short = await g('POST', '/subscriptions', sub({ changeType: 'created', expirationDateTime: inMinutes(env.emu, 5) }));
    assert.equal(short.status, 201);
    const minutes = (Date.parse(short.json.expirationDateTime) - Date.parse(env.emu.control.now())) / 60_000;
    assert.ok(minutes > 44.9 && minutes <= 45.01, `raised to 45 minutes (${minutes})`);
    const past = await g('POST', '/subscriptions', sub({ changeType: 'deleted', expirationDateTime: inMinutes(env.emu, -60) }));
    assert.equal(past.status, 201, 'a past expiry is raised to the minimum too');
    assert.equal((await g('POST', '/subscriptions', sub({ changeType: 'updated', clientState: 'x'.repeat(129) }))).status, 400, 'clientState over 128 chars');
    assert.equal((await g('POST', '/subscriptions', sub({ changeType: 'updated', clientState: 'x'.repeat(128) }))).status, 201);
  });

  it('409 for a duplicate, 404 for unknown ids; PATCH renews, DELETE removes, reauthorize answers 204', async () => {
    const first = await g('POST', '/subscriptions', sub());
    assert.equal(first.status, 201);
    const dup = await g('POST', '/subscriptions', sub({ clientState: 'other', expirationDateTime: inMinutes(env.emu, 100) }));
    assert.equal(dup.status, 409);
    assert.equal(dup.json.error.code, 'ObjectIdentifierInUse');
    assert.equal(dup.json.error.message, `Subscription Id ${first.json.id} already exists for the requested combination`);
    assert.equal((await g('POST', '/subscriptions', sub({ changeType: 'deleted' }))).status, 201, 'another changeType is another subscription');
    const handshakes = hook.handshakes().length;
    for (const [what, over] of [
      ['another notificationUrl', { notificationUrl: hook.url('/notify?tenant=other') }],
      ['another lifecycleNotificationUrl', { notificationUrl: hook.url('/elsewhere'), lifecycleNotificationUrl: hook.url('/elsewhere-lc') }],
      ['the change types in another order', { changeType: 'deleted,created,updated', notificationUrl: hook.url('/reordered') }],
      ['the mailbox by its UPN', { resource: `/Users/${env.adele.userPrincipalName}/events`, notificationUrl: hook.url('/by-upn') }],
    ] as const) {
      const r = await g('POST', '/subscriptions', sub(over));
      assert.equal(r.status, 409, `same changeType and resource, ${what}`);
      assert.match(r.json.error.message, new RegExp(first.json.id));
    }
    assert.equal(hook.handshakes().length, handshakes, 'a duplicate is refused before any handshake');
    const otherApp = env.emu.control.issueAppToken(env.emu.control.createApp({ tenantId: env.seed.tenant.id }).clientId);
    const byOtherApp = await graph(env.emu, otherApp, 'POST', '/subscriptions', sub());
    assert.equal(byOtherApp.status, 201, 'another app may watch the same resource');
    env.emu.control.expireSubscription(byOtherApp.json.id);

    const id = first.json.id;
    const got = await g('GET', `/subscriptions/${id}`);
    assert.equal(got.status, 200);
    assert.equal(got.json.clientState, null, 'GET never returns clientState');
    const renewed = await g('PATCH', `/subscriptions/${id}`, { expirationDateTime: inMinutes(env.emu, 10_000) });
    assert.equal(renewed.status, 200);
    assert.ok(Date.parse(renewed.json.expirationDateTime) > Date.parse(first.json.expirationDateTime));
    assert.equal((await g('PATCH', `/subscriptions/${id}`, { expirationDateTime: inMinutes(env.emu, 20_000) })).status, 400);
    assert.equal((await g('PATCH', `/subscriptions/${id}`, { lifecycleNotificationUrl: hook.url('/late') })).status, 400, 'a lifecycle URL cannot be added later');
    assert.equal((await g('POST', `/subscriptions/${id}/reauthorize`)).status, 204);
    const list = await g('GET', '/subscriptions');
    assert.equal(list.json.value.length, 2);

    assert.equal((await g('DELETE', `/subscriptions/${id}`)).status, 204);
    for (const [m, body] of [['GET'], ['PATCH', { expirationDateTime: inMinutes(env.emu, 100) }], ['DELETE']] as const) {
      const r = await g(m, `/subscriptions/${id}`, body);
      assert.equal(r.status, 404, m);
    }
    assert.equal((await g('GET', '/subscriptions/00000000-0000-0000-0000-000000000000')).status, 404);

    // another app of the tenant sees none of them
    const other = env.emu.control.createApp({ tenantId: env.seed.tenant.id });
    const otherToken = env.emu.control.issueAppToken(other.clientId);
    assert.equal((await graph(env.emu, otherToken, 'GET', '/subscriptions')).json.value.length, 0);
    assert.equal((await graph(env.emu, otherToken, 'GET', `/subscriptions/${list.json.value[0].id}`)).status, 404);
  });

  it('removes expired subscriptions as the clock passes their expiry', async () => {
    const s = (await g('POST', '/subscriptions', sub({ expirationDateTime: inMinutes(env.emu, 60) }))).json;
    env.emu.control.advanceClock({ minutes: 59 });
    assert.equal((await g('GET', `/subscriptions/${s.id}`)).status, 200);
    env.emu.control.advanceClock({ minutes: 2 });
    env.appToken = env.emu.control.issueAppToken(env.seed.app.clientId);
    assert.equal((await g('GET', `/subscriptions/${s.id}`)).status, 404);
    assert.equal(env.emu.control.getSubscription(s.id).status, 'expired');
    assert.equal((await g('PATCH', `/subscriptions/${s.id}`, { expirationDateTime: inMinutes(env.emu, 100) })).status, 404, 'renewing too late is a 404');
  });

  it('accepts calendar resources and refuses single events, other mailboxes for delegated tokens, and /me app-only', async () => {
    const cal = env.emu.control.createCalendar(env.adele.id, 'Room bookings');
    for (const [resource, changeType] of [[`/users/${env.adele.userPrincipalName}/calendars/${cal.id}/events`, 'created'], [`users/${env.adele.id}/calendar/events`, 'created'], [`Users/${env.adele.id}/Events`, 'updated']] as const) {
      const r = await g('POST', '/subscriptions', sub({ resource, changeType, notificationUrl: hook.url(`/r${resource.length}`) }));
      assert.equal(r.status, 201, resource);
    }
    const sameCalendar = await g('POST', '/subscriptions', sub({ resource: `users/${env.adele.id}/events`, changeType: 'created', notificationUrl: hook.url('/r-same') }));
    assert.equal(sameCalendar.status, 409, '…/events and …/calendar/events both watch the default calendar');
    const ev = env.emu.control.createEvent(env.adele.id, { subject: 'x', start: { dateTime: '2032-01-01T10:00:00', timeZone: 'UTC' }, end: { dateTime: '2032-01-01T11:00:00', timeZone: 'UTC' } });
    const single = await g('POST', '/subscriptions', sub({ resource: `users/${env.adele.id}/events/${ev.id}` }));
    assert.equal(single.status, 400);
    assert.match(single.json.error.message, /of parameter 'Resource' is not supported/);
    assert.equal((await g('POST', '/subscriptions', sub({ resource: 'me/events' }))).status, 400);
    assert.equal((await g('POST', '/subscriptions', sub({ resource: 'users/nobody@nowhere.test/events' }))).status, 404);

    const { accessToken } = env.emu.control.issueUserToken(env.seed.app.clientId, env.alex.id, ['Calendars.Read']);
    const mine = await graph(env.emu, accessToken, 'POST', '/subscriptions', sub({ resource: 'me/events', notificationUrl: hook.url('/alex') }));
    assert.equal(mine.status, 201);
    assert.equal(mine.json.creatorId, env.alex.id);
    const room = await graph(env.emu, accessToken, 'POST', '/subscriptions', sub({ resource: `users/${env.room.userPrincipalName}/events`, notificationUrl: hook.url('/alex') }));
    assert.equal(room.status, 403);
    assert.equal(room.json.error.code, 'ExtensionError');
    assert.deepEqual((await graph(env.emu, accessToken, 'GET', '/subscriptions')).json.value.map((s: { id: string }) => s.id), [mine.json.id]);
  });
});
