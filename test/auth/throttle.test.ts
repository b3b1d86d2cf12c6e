/** The API throttle: per client (the token's user, else the IP), 409 with Retry-After when over the limit. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_EMAIL, ADMIN_PASSWORD, basic, createTestApp, testApp, passwordGrant, type TestApp } from '../helpers/app.js';
import { assertFailure, assertThrottled, assertUnauthorized, send, tokenCall } from '../helpers/api.js';

const LIST = { method: 'GET' as const, url: '/api/spaces/resources' };

describe('throttling (5 requests per 10 s)', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ config: { throttleLimit: 5, throttleWindowSeconds: 10 } });
  });
  after(async () => {
    await t?.close();
  });

  it("the 6th request of one user → 409 with Retry-After and the Nexudus message; another user is not affected", async () => {
    const a = await t.userWithRoles(['Resource-List']);
    const b = await t.userWithRoles(['Resource-List']);
    for (let i = 1; i <= 5; i++) assert.equal((await send(t.app, LIST, a.auth)).status, 200, `request ${i}`);
    const sixth = await send(t.app, LIST, a.auth);
    assertThrottled(sixth, 10);
    assert.equal(sixth.body.Message, 'You must wait before accessing this url again.');
    assertThrottled(await send(t.app, LIST, a.auth), 10);
    for (let i = 1; i <= 5; i++) assert.equal((await send(t.app, LIST, b.auth)).status, 200, `other user, request ${i}`);
  });

  it('every route counts, writes too, and a throttled write changes nothing', async () => {
    const u = await t.userWithRoles(['Resource-List', 'Resource-Create']);
    for (let i = 1; i <= 5; i++) {
      const r = i % 2 ? await send(t.app, LIST, u.auth) : await send(t.app, { method: 'POST', url: '/api/spaces/resources', payload: { Name: `Room ${i}` } }, u.auth);
      assert.equal(r.status, 200, `request ${i}: ${r.raw}`);
    }
    const before = await t.storage.db.selectFrom('resources').select('id').execute();
    assertThrottled(await send(t.app, { method: 'POST', url: '/api/spaces/resources', payload: { Name: 'Throttled room' } }, u.auth), 10);
    assert.deepEqual(await t.storage.db.selectFrom('resources').select('id').execute(), before);
  });

  it('one user is one client: bearer tokens and HTTP Basic share the count', async () => {
    const u = await t.userWithRoles(['Resource-List']);
    const second = await passwordGrant(t.app, u.email, u.password, 'second-app');
    assert.equal(second.status, 200);
    for (let i = 1; i <= 2; i++) assert.equal((await send(t.app, LIST, u.auth)).status, 200);
    for (let i = 1; i <= 2; i++) assert.equal((await send(t.app, LIST, `Bearer ${second.body.access_token}`)).status, 200);
    assert.equal((await send(t.app, LIST, basic(u.email, u.password))).status, 200);
    assertThrottled(await send(t.app, LIST, basic(u.email, u.password)), 10);
    assertThrottled(await send(t.app, LIST, `Bearer ${second.body.access_token}`), 10);
  });

  it('a user is throttled before being refused for a missing role (409 before 403)', async () => {
    const u = await t.userWithRoles([]);
    for (let i = 1; i <= 5; i++) assertFailure(await send(t.app, LIST, u.auth), 403);
    assertThrottled(await send(t.app, LIST, u.auth), 10);
  });

  it('unauthenticated requests are counted per IP', async () => {
    const ip = '192.0.2.10';
    for (let i = 1; i <= 5; i++) assertUnauthorized(await send(t.app, LIST, null, { remoteAddress: ip }));
    assertThrottled(await send(t.app, LIST, null, { remoteAddress: ip }), 10);
    // Bad credentials from that IP count the same way.
    assertThrottled(await send(t.app, LIST, 'Bearer garbage-token', { remoteAddress: ip }), 10);
    assertThrottled(await send(t.app, LIST, basic(ADMIN_EMAIL, 'wrong-password-1'), { remoteAddress: ip }), 10);
    // Another IP is not affected.
    assertUnauthorized(await send(t.app, LIST, null, { remoteAddress: '192.0.2.11' }));
  });

  it('an authenticated user is counted as the user, not as the IP', async () => {
    const ip = '192.0.2.20';
    for (let i = 1; i <= 5; i++) assertUnauthorized(await send(t.app, LIST, null, { remoteAddress: ip }));
    assertThrottled(await send(t.app, LIST, null, { remoteAddress: ip }), 10);
    const u = await t.userWithRoles(['Resource-List']);
    for (let i = 1; i <= 5; i++) assert.equal((await send(t.app, LIST, u.auth, { remoteAddress: ip })).status, 200, `request ${i}`);
  });

  it('the token endpoint is outside the API throttle', async () => {
    const ip = '192.0.2.30';
    for (let i = 1; i <= 5; i++) assertUnauthorized(await send(t.app, LIST, null, { remoteAddress: ip }));
    assertThrottled(await send(t.app, LIST, null, { remoteAddress: ip }), 10);
    for (let i = 1; i <= 6; i++) {
      const grant = await tokenCall(t.app, { grant_type: 'password', username: ADMIN_EMAIL, password: ADMIN_PASSWORD }, undefined, { remoteAddress: ip });
      assert.equal(grant.status, 200, `grant ${i}: ${grant.raw}`);
    }
  });
});

describe('throttle window', () => {
  it('the count starts again after the window', async (ctx) => {
    const t = await testApp(ctx, { config: { throttleLimit: 2, throttleWindowSeconds: 2 } });
    const u = await t.userWithRoles(['Resource-List']);
    for (let i = 1; i <= 2; i++) assert.equal((await send(t.app, LIST, u.auth)).status, 200);
    assertThrottled(await send(t.app, LIST, u.auth), 2);
    t.clock.advance(2100);
    assert.equal((await send(t.app, LIST, u.auth)).status, 200);
  });

  it('throttleLimit 0 switches throttling off', async (ctx) => {
    const t = await testApp(ctx, { config: { throttleLimit: 0 } });
    for (let i = 1; i <= 30; i++) assert.equal((await send(t.app, LIST, t.admin)).status, 200, `request ${i}`);
  });
});

describe('failed-login limit on HTTP Basic', () => {
  it('wrong Basic passwords count like failed password grants, and then even the right one gets 409', async (ctx) => {
    const t = await testApp(ctx, { config: { loginFailureLimit: 3 } });
    const user = await t.userWithRoles(['Resource-List']);
    const get = (auth: string) => t.app.inject({ method: 'GET', url: '/api/spaces/resources', headers: { authorization: auth } });
    for (let i = 0; i < 3; i++) assert.equal((await get(basic(user.email, `wrong-password-${i}`))).statusCode, 401);
    const blocked = await get(basic(user.email, user.password));
    assert.equal(blocked.statusCode, 409);
    assert.ok(Number(blocked.headers['retry-after']) >= 1);
    assert.equal(blocked.json().Message, 'You must wait before accessing this url again.');
    // The same limit guards the token endpoint for that username.
    const grant = await passwordGrant(t.app, user.email, user.password);
    assert.equal(grant.status, 409);
    // The bearer token minted before the guessing still works: the limit is on passwords, not on the user.
    assert.equal((await get(user.auth)).statusCode, 200);
  });
});
