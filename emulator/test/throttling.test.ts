import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { controlCall, graph, startEnv, type Env, type GraphResponse } from './helpers.js';

const WINDOW = 'startDateTime=2030-01-01T00:00:00Z&endDateTime=2030-01-02T00:00:00Z';

describe("Outlook's limits per app and mailbox: 4 concurrent requests, 10,000 per 10 minutes", () => {
  let env: Env;
  const g = (method: string, path: string, token = env.appToken) => graph(env.emu, token, method, path);
  const view = (user: string, token?: string) => g('GET', `/users/${user}/calendarView?${WINDOW}`, token);
  const statuses = (rs: GraphResponse[]) => rs.map((r) => r.status).sort();

  before(async () => {
    env = await startEnv();
  });
  beforeEach(() => {
    env.emu.control.clearFaults();
    env.emu.control.updateSettings({ mailboxConcurrencyLimit: 4, mailboxRequestLimit: 10_000 });
    env.emu.control.resetThrottling();
    env.appToken = env.emu.control.issueAppToken(env.seed.app.clientId);
  });
  after(() => env.emu.close());

  it('answers 429 ApplicationThrottled (MailboxConcurrency) with Retry-After to the 5th concurrent request of an app on a mailbox', async () => {
    env.emu.control.addFault({ path: '/calendarView', delayMs: 300, times: 0 });
    env.emu.control.addFault({ path: '/subscriptions', delayMs: 300, times: 0 });
    const other = env.emu.control.issueAppToken(env.emu.control.createApp({ tenantId: env.seed.tenant.id }).clientId);
    const [adele, alex, otherApp, subs] = await Promise.all([
      Promise.all(Array.from({ length: 6 }, () => view(env.adele.id))),
      Promise.all(Array.from({ length: 3 }, () => view(env.alex.userPrincipalName))),
      Promise.all(Array.from({ length: 3 }, () => view(env.adele.id, other))),
      Promise.all(Array.from({ length: 6 }, () => g('GET', '/subscriptions'))),
    ]);
    assert.deepEqual(statuses(adele), [200, 200, 200, 200, 429, 429]);
    assert.deepEqual(statuses(alex), [200, 200, 200], 'another mailbox has its own limit');
    assert.deepEqual(statuses(otherApp), [200, 200, 200], 'another app has its own limit');
    assert.deepEqual(statuses(subs), [200, 200, 200, 200, 200, 200], '/subscriptions is not a mailbox resource');
    const throttled = adele.find((r) => r.status === 429)!;
    assert.equal(throttled.headers.get('retry-after'), '1');
    assert.deepEqual(throttled.json.error.code, 'ApplicationThrottled');
    assert.equal(throttled.json.error.message, 'Application is over its MailboxConcurrency limit.');
    assert.ok(throttled.json.error.innerError['request-id'], 'Graph error JSON with innerError');

    const stats = env.emu.control.throttling();
    assert.equal(stats.throttled, 2);
    assert.equal(stats.throttledConcurrency, 2);
    assert.equal(stats.throttledRate, 0);
    const row = (appId: string, userId: string) => stats.mailboxes.find((m) => m.appId === appId && m.userId === userId)!;
    assert.deepEqual(
      { ...row(env.seed.app.clientId, env.adele.id), appId: undefined, userId: undefined },
      { appId: undefined, userId: undefined, userPrincipalName: env.adele.userPrincipalName, requests: 6, inFlight: 0, maxConcurrency: 4, throttledConcurrency: 2, throttledRate: 0 },
    );
    assert.equal(row(env.seed.app.clientId, env.alex.id).maxConcurrency, 3, 'Alex, addressed by UPN, is counted under his id');
    assert.equal(stats.maxConcurrency, 4);

    // After the burst the mailbox answers again.
    env.emu.control.clearFaults();
    assert.equal((await view(env.adele.id)).status, 200);
  });

  it('answers 429 ApplicationThrottled with Retry-After once an app used up its requests on a mailbox within the window', async () => {
    env.emu.control.updateSettings({ mailboxRequestLimit: 5 });
    const { accessToken } = env.emu.control.issueUserToken(env.seed.app.clientId, env.adele.id);
    // /me, the id and the UPN are the same mailbox.
    const answers = [
      await view(env.adele.id),
      await g('GET', '/me/calendars', accessToken),
      await g('GET', `/users/${env.adele.userPrincipalName}/events`),
      await view(env.adele.id),
      await view(env.adele.id),
    ];
    assert.deepEqual(answers.map((r) => r.status), [200, 200, 200, 200, 200]);
    assert.equal((await g('GET', `/users/${env.adele.id}`)).status, 200, 'the user object is not an Outlook resource');
    const over = await view(env.adele.id);
    assert.equal(over.status, 429);
    assert.equal(over.json.error.code, 'ApplicationThrottled');
    const retryAfter = Number(over.headers.get('retry-after'));
    assert.ok(retryAfter > 590 && retryAfter <= 600, `Retry-After until the oldest request leaves the 10-minute window (${retryAfter})`);
    assert.equal((await view(env.alex.id)).status, 200, 'other mailboxes are not affected');

    env.emu.control.advanceClock({ minutes: 10 });
    env.appToken = env.emu.control.issueAppToken(env.seed.app.clientId);
    assert.equal((await view(env.adele.id)).status, 200, 'the window follows the emulator clock');
    const stats = env.emu.control.throttling();
    assert.equal(stats.throttledRate, 1);
    assert.equal(stats.throttled, 1);
  });

  it('can be switched off (limit 0) and is inspected and reset over HTTP', async () => {
    env.emu.control.updateSettings({ mailboxRequestLimit: 1 });
    assert.equal((await view(env.adele.id)).status, 200);
    assert.equal((await view(env.adele.id)).status, 429);
    const http = await controlCall(env.emu, 'GET', '/throttling');
    assert.equal(http.status, 200);
    assert.equal(http.json.throttledRate, 1);
    assert.equal((await controlCall(env.emu, 'DELETE', '/throttling')).status, 204);
    assert.equal((await controlCall(env.emu, 'GET', '/throttling')).json.throttled, 0);
    assert.equal((await view(env.adele.id)).status, 200, 'the reset also empties the windows');
    assert.equal((await controlCall(env.emu, 'PATCH', '/settings', { mailboxRequestLimit: 0, mailboxConcurrencyLimit: 0 })).status, 200);
    env.emu.control.addFault({ path: '/calendarView', delayMs: 200, times: 0 });
    const burst = await Promise.all(Array.from({ length: 8 }, () => view(env.adele.id)));
    assert.deepEqual(burst.map((r) => r.status), Array(8).fill(200));
    assert.equal(env.emu.control.throttling().throttled, 0);
  });
});
