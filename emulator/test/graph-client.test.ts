import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConfidentialClientApplication } from '@azure/msal-node';
import { Client, type AuthenticationProvider } from '@microsoft/microsoft-graph-client';
import type { Event, Subscription } from '@microsoft/microsoft-graph-types';
import { inMinutes, startEnv, WebhookReceiver, type Env } from './helpers.js';

describe('@microsoft/microsoft-graph-client against the emulator (only the base URL differs)', () => {
  let env: Env;
  let hook: WebhookReceiver;
  let client: Client;

  before(async () => {
    env = await startEnv();
    hook = await WebhookReceiver.start();
    // Production wiring: MSAL client credentials behind the SDK's AuthenticationProvider.
    const cca = new ConfidentialClientApplication({
      auth: { clientId: env.seed.app.clientId, clientSecret: env.seed.app.clientSecret, authority: `${env.emu.url}/${env.seed.tenant.id}`, knownAuthorities: [env.emu.authorityHost] },
    });
    const authProvider: AuthenticationProvider = {
      getAccessToken: async () => (await cca.acquireTokenByClientCredential({ scopes: ['https://graph.microsoft.com/.default'] }))!.accessToken,
    };
    client = Client.initWithMiddleware({ baseUrl: `${env.emu.url}/`, customHosts: new Set([new URL(env.emu.url).hostname]), authProvider });
  });
  after(async () => {
    await env.emu.close();
    await hook.close();
  });

  it('reads calendars, writes events and pages calendarView delta with initWithMiddleware', async () => {
    const mailbox = `/users/${env.adele.userPrincipalName}`;
    const cals = await client.api(`${mailbox}/calendars`).get();
    assert.equal(cals.value[0].name, 'Calendar');
    const created: Event = await client.api(`${mailbox}/events`).post({
      subject: 'From the SDK',
      start: { dateTime: '2034-02-01T10:00:00', timeZone: 'W. Europe Standard Time' },
      end: { dateTime: '2034-02-01T11:00:00', timeZone: 'W. Europe Standard Time' },
      attendees: [{ type: 'resource', emailAddress: { address: env.room.mail, name: 'Room Rainier' } }],
    });
    assert.equal(created.start?.dateTime, '2034-02-01T09:00:00.0000000');
    const updated: Event = await client.api(`${mailbox}/events/${created.id}`).header('Prefer', 'outlook.timezone="W. Europe Standard Time"').update({ subject: 'Renamed' });
    assert.equal(updated.subject, 'Renamed');
    assert.equal(updated.start?.dateTime, '2034-02-01T10:00:00.0000000');
    for (let i = 0; i < 4; i++) {
      await client.api(`${mailbox}/events`).post({ subject: `bulk ${i}`, start: { dateTime: `2034-02-0${i + 2}T10:00:00`, timeZone: 'UTC' }, end: { dateTime: `2034-02-0${i + 2}T11:00:00`, timeZone: 'UTC' } });
    }
    let page = await client.api(`${mailbox}/calendarView/delta`).query({ startDateTime: '2034-02-01T00:00:00Z', endDateTime: '2034-03-01T00:00:00Z' }).header('Prefer', 'odata.maxpagesize=2').get();
    const seen: Event[] = [...page.value];
    while (page['@odata.nextLink']) {
      page = await client.api(page['@odata.nextLink']).header('Prefer', 'odata.maxpagesize=2').get();
      seen.push(...page.value);
    }
    assert.equal(seen.length, 5);
    assert.ok(page['@odata.deltaLink']);
    await client.api(`${mailbox}/events/${created.id}`).delete();
    const next = await client.api(page['@odata.deltaLink']).get();
    assert.deepEqual(next.value, [{ '@odata.type': '#microsoft.graph.event', id: created.id, '@removed': { reason: 'deleted' } }]);
  });

  it('creates, renews and deletes a subscription; errors come back as GraphError with status and code', async () => {
    const sub: Subscription = await client.api('/subscriptions').post({
      changeType: 'created,updated,deleted',
      notificationUrl: hook.url('/sdk'),
      lifecycleNotificationUrl: hook.url('/sdk-lc'),
      resource: `users/${env.adele.id}/events`,
      expirationDateTime: inMinutes(env.emu, 1000),
      clientState: 'sdk-state',
    });
    assert.ok(sub.id);
    assert.equal(hook.handshakes().length, 2);
    const renewed: Subscription = await client.api(`/subscriptions/${sub.id}`).update({ expirationDateTime: inMinutes(env.emu, 10_000) });
    assert.ok(Date.parse(renewed.expirationDateTime!) > Date.parse(sub.expirationDateTime!));
    await client.api(`/subscriptions/${sub.id}/reauthorize`).post({});
    await client.api(`/subscriptions/${sub.id}`).delete();
    await assert.rejects(client.api(`/subscriptions/${sub.id}`).update({ expirationDateTime: inMinutes(env.emu, 100) }), (e: { statusCode?: number; code?: string }) => {
      assert.equal(e.statusCode, 404);
      assert.equal(e.code, 'ResourceNotFound');
      return true;
    });
    await assert.rejects(client.api(`/users/${env.adele.id}/calendarView/delta?$deltatoken=bogus`).get(), (e: { statusCode?: number; code?: string }) => {
      assert.equal(e.statusCode, 410);
      assert.equal(e.code, 'syncStateNotFound');
      return true;
    });
  });

  it("the SDK's RetryHandler honours 429/503 Retry-After from the emulator", async () => {
    const path = `/users/${env.alex.id}/calendar`;
    env.emu.control.addFault({ method: 'GET', path, status: 429, retryAfter: 1, times: 1 });
    env.emu.control.addFault({ method: 'GET', path, status: 503, retryAfter: 1, times: 1 });
    const since = env.emu.control.requests().at(-1)?.id ?? 0;
    const started = Date.now();
    const cal = await client.api(path).get();
    const took = Date.now() - started;
    assert.equal(cal.isDefaultCalendar, true);
    const statuses = env.emu.control.requests({ path, sinceId: since }).map((r) => r.status);
    assert.deepEqual(statuses, [429, 503, 200]);
    assert.ok(took >= 1_900, `waited for Retry-After twice (${took} ms)`);
  });

  it('Client.init with a token callback works too; without customHosts the SDK sends no token (401)', async () => {
    const token = env.emu.control.issueAppToken(env.seed.app.clientId);
    const withHosts = Client.init({ baseUrl: `${env.emu.url}/`, customHosts: new Set(['127.0.0.1']), authProvider: (done) => done(null, token) });
    const user = await withHosts.api(`/users/${env.room.id}`).get();
    assert.equal(user.userPrincipalName, env.room.userPrincipalName);
    const withoutHosts = Client.init({ baseUrl: `${env.emu.url}/`, authProvider: (done) => done(null, token) });
    await assert.rejects(withoutHosts.api(`/users/${env.room.id}`).get(), (e: { statusCode?: number; code?: string }) => {
      assert.equal(e.statusCode, 401);
      assert.equal(e.code, 'InvalidAuthenticationToken');
      return true;
    });
  });
});
