import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { controlCall, graph, startEnv, WebhookReceiver, type Env } from './helpers.js';

describe('control API over HTTP (/_control)', () => {
  let env: Env;
  let hook: WebhookReceiver;
  const c = <T = any>(method: string, path: string, body?: unknown) => controlCall<T>(env.emu, method, path, body);

  before(async () => {
    env = await startEnv();
    hook = await WebhookReceiver.start();
  });
  after(async () => {
    await env.emu.close();
    await hook.close();
  });

  it('builds a directory, mints tokens and writes events that Graph then serves', async () => {
    assert.equal((await c('POST', '/reset')).status, 204);
    assert.equal((await c('GET', '/state')).json.users, 0);
    const tenant = (await c('POST', '/tenants', { displayName: 'Fabrikam' })).json;
    assert.equal(tenant.domain, 'fabrikam.onmicrosoft.com');
    const app = (await c('POST', '/apps', { tenantId: tenant.id, clientSecret: 's3cret' })).json;
    assert.equal(app.clientSecret, 's3cret');
    const user = (await c('POST', '/users', { tenantId: tenant.id, displayName: 'Megan Bowen' })).json;
    assert.equal(user.userPrincipalName, 'megan.bowen@fabrikam.onmicrosoft.com');
    const cal = (await c('POST', `/users/${user.userPrincipalName}/calendars`, { name: 'Desks' })).json;
    const ev = await c('POST', `/users/${user.id}/events`, { calendarId: cal.id, subject: 'Desk 4', start: { dateTime: '2035-01-01T09:00:00', timeZone: 'UTC' }, end: { dateTime: '2035-01-01T17:00:00', timeZone: 'UTC' } });
    assert.equal(ev.status, 200);
    const cancelled = await c('PATCH', `/users/${user.id}/events/${ev.json.id}`, { isCancelled: true });
    assert.equal(cancelled.json.isCancelled, true, 'the control API may set read-only fields');

    const token = (await c('POST', '/tokens', { clientId: app.clientId })).json.access_token;
    const got = await graph(env.emu, token, 'GET', `/users/${user.id}/calendars/${cal.id}/events/${ev.json.id}`);
    assert.equal(got.status, 200);
    assert.equal(got.json.isCancelled, true);
    const delegated = (await c('POST', '/tokens', { clientId: app.clientId, user: user.userPrincipalName })).json;
    assert.ok(delegated.refresh_token);
    assert.equal((await graph(env.emu, delegated.access_token, 'GET', '/me')).json.id, user.id);
    assert.equal((await c('POST', '/tokens/revoke', { user: user.id })).json.revoked, 2);
    assert.equal((await graph(env.emu, delegated.access_token, 'GET', '/me')).status, 401);
    assert.equal((await c('GET', '/users/nobody/calendars')).status, 404);
    assert.match((await (await fetch(`${env.emu.httpUrl}/_control/ca.pem`)).text()), /BEGIN CERTIFICATE/);

    const before = Date.parse((await c('GET', '/clock')).json.now);
    const advanced = Date.parse((await c('POST', '/clock/advance', { hours: 2 })).json.now);
    assert.ok(Math.abs(advanced - before - 7_200_000) < 1_000);
    assert.equal((await graph(env.emu, token, 'GET', `/users/${user.id}`)).status, 401, 'tokens expire with the emulator clock');
  });

  it('inspects and steers subscriptions, faults and deliveries', async () => {
    await c('POST', '/reset');
    const seed = (await c('POST', '/seed', {})).json;
    const token = (await c('POST', '/tokens', { clientId: seed.app.clientId })).json.access_token;
    const adele = seed.users[0];
    const expiration = new Date(Date.parse((await c('GET', '/clock')).json.now) + 86_400_000).toISOString();
    const subRes = await graph(env.emu, token, 'POST', '/subscriptions', { changeType: 'created', notificationUrl: hook.url('/ctl'), lifecycleNotificationUrl: hook.url('/ctl-lc'), resource: `users/${adele.id}/events`, expirationDateTime: expiration, clientState: 'cs' });
    assert.equal(subRes.status, 201);
    const id = subRes.json.id;
    const listed = (await c('GET', '/subscriptions')).json;
    assert.deepEqual(listed.map((s: { id: string; clientState: string; status: string }) => [s.id, s.clientState, s.status]), [[id, 'cs', 'active']]);

    assert.equal((await c('POST', '/faults', { path: '/subscriptions', status: 503, retryAfter: 2 })).status, 200);
    assert.equal((await graph(env.emu, token, 'GET', '/subscriptions')).status, 503);
    assert.equal((await c('DELETE', '/faults')).status, 204);

    await c('POST', '/notification-faults', { action: 'drop', count: 1 });
    await c('POST', `/users/${adele.id}/events`, { subject: 'dropped', start: { dateTime: '2035-02-01T09:00:00', timeZone: 'UTC' }, end: { dateTime: '2035-02-01T10:00:00', timeZone: 'UTC' } });
    await c('POST', `/users/${adele.id}/events`, { subject: 'sent', start: { dateTime: '2035-02-01T09:00:00', timeZone: 'UTC' }, end: { dateTime: '2035-02-01T10:00:00', timeZone: 'UTC' } });
    const waited = await c('POST', '/deliveries/wait', { kind: 'notification', subscriptionId: id, ok: true, timeoutMs: 3_000 });
    assert.equal(waited.status, 200);
    assert.equal(waited.json.status, 202);
    const deliveries = (await c('GET', `/deliveries?subscriptionId=${id}`)).json;
    assert.deepEqual(deliveries.map((d: { kind: string; dropped: boolean; ok: boolean }) => [d.kind, d.dropped, d.ok]), [
      ['validation', false, true],
      ['validation', false, true],
      ['notification', true, false],
      ['notification', false, true],
    ]);

    assert.deepEqual((await c('POST', `/subscriptions/${id}/lifecycle`, { lifecycleEvent: 'reauthorizationRequired' })).json, { sent: true });
    const removed = (await c('POST', `/subscriptions/${id}/remove`, {})).json;
    assert.equal(removed.notified, true);
    assert.equal((await c('POST', '/idle', { timeoutMs: 3_000 })).json.idle, true);
    assert.deepEqual(hook.items('/ctl-lc').map((i) => i.lifecycleEvent), ['reauthorizationRequired', 'subscriptionRemoved']);
    assert.equal((await c('GET', '/subscriptions?includeRemoved=1')).json[0].status, 'removed');
    assert.equal((await c('POST', `/subscriptions/${id}/expire`)).status, 404);
    const reqs = (await c('GET', '/requests?path=/subscriptions')).json;
    assert.ok(reqs.some((r: { status: number }) => r.status === 503));
    const settings = (await c('PATCH', '/settings', { validationTimeoutMs: 2_500 })).json;
    assert.equal(settings.validationTimeoutMs, 2_500);
    assert.equal((await c('PATCH', '/settings', { noSuchSetting: 1 })).status, 400);
  });

  it('runs alone as `npm run graph-emulator` (emulator/main.ts), seeded', async () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', 'emulator/main.ts'], { cwd: root, env: { ...process.env, GRAPH_EMULATOR_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      const summary = await new Promise<Record<string, any>>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no start-up summary: ${out}`)), 15_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const json = out.slice(out.indexOf('{'));
          try {
            const parsed = JSON.parse(json) as Record<string, any>;
            clearTimeout(t);
            resolve(parsed);
          } catch {
            /* wait for more */
          }
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
      });
      assert.match(out, /^Microsoft Graph emulator listening on https:\/\/127\.0\.0\.1:\d+/);
      assert.equal(summary.clientSecret, 'emulator-secret');
      const token = await fetch(`${summary.authority}/oauth2/v2.0/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: summary.clientId, client_secret: summary.clientSecret, scope: 'https://graph.microsoft.com/.default' }),
      });
      assert.equal(token.status, 200);
      const { access_token } = (await token.json()) as { access_token: string };
      const users = await fetch(`${summary.graph}users`, { headers: { authorization: `Bearer ${access_token}` } });
      assert.equal(((await users.json()) as { value: unknown[] }).value.length, 3);
      const state = await fetch(`${summary.control}/state`);
      assert.equal(((await state.json()) as { tenants: number }).tenants, 1);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
