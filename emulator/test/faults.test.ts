import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { graph, startEnv, type Env } from './helpers.js';

describe('fault injection on the emulator endpoints and the request log', () => {
  let env: Env;
  const g = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => graph(env.emu, env.appToken, method, path, body, headers);

  before(async () => {
    env = await startEnv();
  });
  beforeEach(() => env.emu.control.clearFaults());
  after(() => env.emu.close());

  it('answers N × 429 with Retry-After on matching paths only, then recovers', async () => {
    const rule = env.emu.control.addFault({ method: 'GET', path: '/calendarView', status: 429, retryAfter: 7, times: 2 });
    const url = `/users/${env.adele.id}/calendarView?startDateTime=2030-01-01T00:00:00Z&endDateTime=2030-01-02T00:00:00Z`;
    for (let i = 0; i < 2; i++) {
      const r = await g('GET', url);
      assert.equal(r.status, 429);
      assert.equal(r.headers.get('retry-after'), '7');
      assert.equal(r.json.error.code, 'TooManyRequests');
      assert.ok(r.json.error.innerError['request-id']);
    }
    assert.equal((await g('GET', `/users/${env.adele.id}/calendars`)).status, 200, 'other paths are not affected');
    assert.equal((await g('GET', url)).status, 200);
    assert.equal(env.emu.control.listFaults().find((f) => f.id === rule.id)?.hits, 2);
  });

  it('injects 503 (also on the token endpoint) and unlimited faults until removed', async () => {
    env.emu.control.addFault({ path: '/oauth2/v2.0/token', status: 503, times: 1 });
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: env.seed.app.clientId, client_secret: env.seed.app.clientSecret, scope: 'https://graph.microsoft.com/.default' });
    const tokenUrl = `${env.emu.url}/${env.seed.tenant.id}/oauth2/v2.0/token`;
    assert.equal((await fetch(tokenUrl, { method: 'POST', body })).status, 503);
    assert.equal((await fetch(tokenUrl, { method: 'POST', body })).status, 200);

    const forever = env.emu.control.addFault({ pathRegex: '/users/[^/]+$', status: 503, times: 0, code: 'ServiceUnavailable', message: 'maintenance' });
    for (let i = 0; i < 3; i++) {
      const r = await g('GET', `/users/${env.alex.id}`);
      assert.equal(r.status, 503);
      assert.equal(r.json.error.message, 'maintenance');
    }
    assert.ok(env.emu.control.removeFault(forever.id));
    assert.equal((await g('GET', `/users/${env.alex.id}`)).status, 200);
  });

  it('slows down matching answers by delayMs', async () => {
    env.emu.control.addFault({ method: 'GET', path: '/subscriptions', delayMs: 800, times: 1 });
    let t = Date.now();
    assert.equal((await g('GET', '/subscriptions')).status, 200);
    assert.ok(Date.now() - t >= 780, 'the first call was slow');
    t = Date.now();
    await g('GET', '/subscriptions');
    assert.ok(Date.now() - t < 600, 'the second one was not');
  });

  it('keeps a request log with status, redacted bearer token and fault id', async () => {
    env.emu.control.clearRequests();
    const fault = env.emu.control.addFault({ method: 'PATCH', path: '/events/', status: 429, retryAfter: 1 });
    await g('GET', `/users/${env.adele.id}/calendar`, undefined, { 'client-request-id': 'abc-123', Prefer: 'IdType="ImmutableId"' });
    await g('PATCH', `/users/${env.adele.id}/events/whatever`, { subject: 'x' });
    const log = env.emu.control.requests();
    assert.deepEqual(log.map((r) => [r.method, r.status]), [['GET', 200], ['PATCH', 429]]);
    assert.equal(log[0]!.headers['client-request-id'], 'abc-123');
    assert.equal(log[0]!.headers.prefer, 'IdType="ImmutableId"');
    assert.ok(log[0]!.headers.authorization!.startsWith('Bearer ') && !log[0]!.headers.authorization!.includes(env.appToken));
    assert.equal(log[1]!.faultId, fault.id);
    assert.deepEqual(log[1]!.body, { subject: 'x' });
    assert.deepEqual(env.emu.control.requests({ method: 'patch' }).map((r) => r.id), [log[1]!.id]);
  });
});
