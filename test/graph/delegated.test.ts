/**
 * A member's own (delegated) connection: sign-in through the emulator's authorize endpoint, the code redeemed into the
 * record's sealed token cache, a subscription on me/calendars/{id}/events and syncs with the member's token. When the
 * member's tokens are revoked, the next renewal puts the record in reauth_required and nothing more is tried.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { graphEnv, type GraphEnv } from '../helpers/graph-env.js';

const ADELE = 'adelev@contoso.onmicrosoft.com';
const ALEX = 'alexw@contoso.onmicrosoft.com';

/** The member signs in (prompt=none with a login hint: the emulator redirects at once) and the code is redeemed. */
async function signIn(env: GraphEnv, recordId: number, upn: string): Promise<string> {
  const redirectUri = `${env.url}/connect/callback`;
  const state = `record-${recordId}`;
  const url = await env.engine.graph.authCodeUrl({ redirectUri, state, loginHint: upn, prompt: 'none' });
  const res = await fetch(url, { redirect: 'manual' });
  assert.equal(res.status, 302, await res.text());
  const location = new URL(res.headers.get('location')!);
  assert.equal(`${location.origin}${location.pathname}`, redirectUri);
  assert.equal(location.searchParams.get('state'), state);
  const code = location.searchParams.get('code');
  assert.ok(code, `a code in ${location}`);
  return env.engine.connectDelegated(recordId, code, redirectUri);
}

async function createRecord(env: GraphEnv, calendarId: string, coworkerId?: number) {
  const resource = await env.request('POST', '/api/spaces/resources', { Name: `Desk ${calendarId.slice(-6)}` });
  const res = await env.request('POST', '/api/spaces/coworkermsofficecalendars', {
    ResourceId: resource.body.Value.Id, CoworkerId: coworkerId ?? null, Name: 'My calendar', SubscriptionId: 'pending', CalendarId: calendarId, SubscriptionExpireDate: '2030-01-01T00:00:00Z',
  });
  assert.equal(res.status, 200, res.text);
  return res.body.Value.Id as number;
}

const status = async (env: GraphEnv, id: number) => (await env.request('GET', `/api/spaces/coworkermsofficecalendars/${id}/status`)).body;
const record = async (env: GraphEnv, id: number) => (await env.request('GET', `/api/spaces/coworkermsofficecalendars/${id}`)).body;

test('delegated connection: sign-in, me/calendars subscription, sync with the member token; revoked tokens → reauth_required', async (t) => {
  const env = await graphEnv(t, { redirectUris: [] });
  const adele = env.emu.control.user(ADELE);
  const calendar = env.emu.control.createCalendar(ADELE, 'Desk bookings');
  const recordId = await createRecord(env, calendar.id);
  assert.equal((await status(env, recordId)).State, 'credentials_missing', 'no coworker: nothing to subscribe with yet');
  let subscriptionId = '';

  await t.test('the member signs in and the subscription is made with their token', async () => {
    const mailbox = await signIn(env, recordId, ADELE);
    assert.equal(mailbox.toLowerCase(), ADELE);
    const conn = await env.untilState(recordId, 'active');
    assert.equal(conn.auth_mode, 'delegated');
    assert.ok(conn.refresh_token_sealed, 'the token cache is stored');
    // Sealed: base64url ciphertext, so neither the JSON of MSAL's cache (quotes, its keys) nor a JWT's dots.
    assert.match(conn.refresh_token_sealed!, /^v1\.[\w-]+\.[\w-]+\.[\w-]+$/, 'sealed');
    assert.doesNotMatch(conn.refresh_token_sealed!, /"|RefreshToken|AccessToken|home_account_id/, 'not readable');
    const rec = await record(env, recordId);
    subscriptionId = rec.SubscriptionId;
    const sub = env.emu.control.getSubscription(subscriptionId);
    assert.equal(sub.resource, `me/calendars/${encodeURIComponent(calendar.id)}/events`);
    assert.equal(sub.creatorId, adele.id, 'created by the member, not by the app');
    assert.equal(sub.calendarId, calendar.id);
    assert.equal(Date.parse(rec.SubscriptionExpireDate), Date.parse(sub.expirationDateTime));
    const s = await status(env, recordId);
    assert.equal(s.AuthMode, 'delegated');
    assert.equal(s.Mailbox.toLowerCase(), ADELE);
    assert.equal(env.emu.control.requests({ path: '/oauth2/v2.0/token' }).filter((r) => r.status === 200).length >= 1, true);

    // A change in the calendar is read with the member's token (/me/...).
    await env.settled();
    const rounds = env.sink.rounds.length;
    const start = new Date(env.clock.now() + 3 * 86_400_000).toISOString().slice(0, 19);
    const end = new Date(env.clock.now() + 3 * 86_400_000 + 3600_000).toISOString().slice(0, 19);
    env.emu.control.createEvent(ADELE, { subject: 'Member event', start: { dateTime: start, timeZone: 'UTC' }, end: { dateTime: end, timeZone: 'UTC' } }, { calendarId: calendar.id });
    await env.until('a sync round with the event', async () => env.sink.rounds.slice(rounds).some((r) => r.recordId === recordId && r.items >= 1));
    const deltas = env.emu.control.requests({ path: '/calendarView/delta' });
    assert.ok(deltas.length >= 1 && deltas.every((r) => r.path.startsWith('/v1.0/me/')), 'delta through /me');
  });

  await t.test('revoked member tokens: the renewal ends in reauth_required and nothing more is tried', async () => {
    await env.settled();
    assert.ok(env.emu.control.revokeUser(ADELE) >= 1, 'tokens revoked');
    const since = env.emu.control.requests().at(-1)!.id;
    assert.equal((await env.request('POST', '/api/spaces/coworkermsofficecalendars/runcommand', { Key: 'RENEW_SUBSCRIPTION', Ids: [recordId] })).status, 200);
    const s = await env.until('reauth_required on the status endpoint', async () => {
      const st = await status(env, recordId);
      return st.State === 'reauth_required' ? st : undefined;
    });
    assert.ok(s.LastError, 'LastError says why');
    assert.match(s.LastError, /token|grant|revoked|401/i);
    assert.equal(s.ActionBy, 'member', 'the member must sign in again, not the operator');
    assert.match(s.LastError, /^member: /);
    // What was tried: the PATCH (401 with the revoked access token), one refresh (refused), no second PATCH.
    const tried = env.emu.control.requests({ sinceId: since });
    assert.deepEqual(tried.filter((r) => r.method === 'PATCH').map((r) => r.status), [401]);
    assert.equal(tried.filter((r) => r.path.includes('/oauth2/v2.0/token')).every((r) => r.status === 400), true);
    // The failed job's retry ran and stopped without calling Graph.
    await env.until('the renewal job to finish', async () => {
      const job = await env.storage.db.selectFrom('jobs').select(['state']).where('dedupe_key', '=', `graph.renew-now:${recordId}`).orderBy('id', 'desc').executeTakeFirst();
      return job?.state === 'done' || job?.state === 'dead';
    });
    const afterFailure = env.emu.control.requests().at(-1)!.id;

    // Nothing brings Graph calls back for this record: a notification, a resync, the scheduled renewal, the sweep.
    const conn = (await env.connection(recordId))!;
    const notify = await fetch(`${env.url}/graph/notifications`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ value: [{ subscriptionId, changeType: 'updated', resource: `Users/${adele.id}/Events/x`, clientState: env.emu.control.getSubscription(subscriptionId).clientState, tenantId: env.seed.tenant.id }] }),
    });
    assert.equal(notify.status, 202);
    assert.equal((await env.request('POST', '/api/spaces/coworkermsofficecalendars/runcommand', { Key: 'RESYNC', Ids: [recordId] })).status, 200);
    await env.settled();
    env.advance(7 * 86_400_000);
    await env.settled();
    assert.deepEqual(env.emu.control.requests({ sinceId: afterFailure }).map((r) => `${r.method} ${r.path}`), [], 'no Graph call after reauth_required');
    assert.equal((await status(env, recordId)).State, 'reauth_required');
    const listed = (await env.request('GET', '/api/spaces/coworkermsofficecalendars?CoworkerMsOfficeCalendar_State=reauth_required')).body;
    assert.deepEqual(listed.Records.map((r: { Id: number }) => r.Id), [recordId]);
  });

  await t.test('signing in again brings it back', async () => {
    await signIn(env, recordId, ADELE);
    await env.untilState(recordId, 'active');
    assert.equal((await status(env, recordId)).ActionBy, null);
    const rec = await record(env, recordId);
    assert.equal(env.emu.control.getSubscription(rec.SubscriptionId).status, 'active');
    assert.equal(env.emu.control.listSubscriptions().filter((s) => s.calendarId === calendar.id).length, 1, 'one live subscription for the calendar');
  });
});

test('a record on app-only credentials switched to the member’s own sign-in', async (ctx) => {
  const env = await graphEnv(ctx);
  const { recordId, calendarId } = await env.connectMailbox(ALEX);
  await env.untilState(recordId, 'active');
  await env.settled();
  const appSubscription: string = (await record(env, recordId)).SubscriptionId;
  assert.equal(env.emu.control.getSubscription(appSubscription).resource.startsWith('users/'), true);

  await signIn(env, recordId, ALEX);
  const fresh = await env.until('the delegated subscription', async () => {
    const rec = await record(env, recordId);
    const st = await status(env, recordId);
    return rec.SubscriptionId !== appSubscription && st.State === 'active' ? rec : undefined;
  });
  const sub = env.emu.control.getSubscription(fresh.SubscriptionId);
  assert.equal(sub.resource, `me/calendars/${encodeURIComponent(calendarId)}/events`);
  assert.equal((await status(env, recordId)).AuthMode, 'delegated');
  assert.notEqual(env.emu.control.getSubscription(appSubscription).status, 'active', 'the app-only subscription is gone');
  assert.equal(env.emu.control.listSubscriptions().length, 1, 'one live subscription');
});
