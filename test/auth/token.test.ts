/** POST /api/token: password and refresh_token grants, client_id rules, revocation, failed-login limit. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_EMAIL, ADMIN_PASSWORD, basic, createTestApp, testApp, type TestApp } from '../helpers/app.js';
import { newToken } from '../../src/modules/users/token-repository.js';
import { THROTTLED, assertFailure, assertGrantError, assertThrottled, assertUnauthorized, send, tokenCall, type Answer } from '../helpers/api.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const PROBE = { method: 'GET' as const, url: '/api/spaces/resources' };

function password(t: TestApp, username: string, pw: string, clientId?: { header?: string; field?: string }) {
  return tokenCall(
    t.app,
    { grant_type: 'password', username, password: pw, ...(clientId?.field ? { client_id: clientId.field } : {}) },
    { ...FORM, ...(clientId?.header ? { client_id: clientId.header } : {}) },
  );
}

function refresh(t: TestApp, token: string, clientId?: { header?: string; field?: string }) {
  return tokenCall(
    t.app,
    { grant_type: 'refresh_token', refresh_token: token, ...(clientId?.field ? { client_id: clientId.field } : {}) },
    { ...FORM, ...(clientId?.header ? { client_id: clientId.header } : {}) },
  );
}

function assertIssued(a: Answer, expiresIn: number): { access: string; refresh: string } {
  assert.equal(a.status, 200, a.raw);
  assert.deepEqual(Object.keys(a.body).sort(), ['access_token', 'expires_in', 'refresh_token', 'token_type']);
  assert.equal(a.body.token_type, 'bearer');
  assert.equal(a.body.expires_in, expiresIn);
  assert.equal(typeof a.body.access_token, 'string');
  assert.equal(typeof a.body.refresh_token, 'string');
  assert.ok(a.body.access_token.length >= 20 && a.body.refresh_token.length >= 20);
  assert.notEqual(a.body.access_token, a.body.refresh_token);
  return { access: a.body.access_token, refresh: a.body.refresh_token };
}

async function apiStatus(t: TestApp, accessToken: string): Promise<number> {
  return (await send(t.app, PROBE, `Bearer ${accessToken}`)).status;
}

describe('POST /api/token', () => {
  let t: TestApp;
  let user: { email: string; password: string; id: number };
  before(async () => {
    t = await createTestApp({ config: { accessTokenTtlSeconds: 1234 } });
    user = await t.userWithRoles(['Resource-List']);
  });
  after(async () => {
    await t?.close();
  });

  describe('password grant', () => {
    it('answers {access_token, token_type "bearer", expires_in = configured, refresh_token}, and the access token works', async () => {
      const issued = assertIssued(await password(t, user.email, user.password), 1234);
      assert.equal(await apiStatus(t, issued.access), 200);
      // The refresh token is not an access token.
      assertUnauthorized(await send(t.app, PROBE, `Bearer ${issued.refresh}`));
    });

    it('accepts a charset on the form content type, and the username in another case', async () => {
      const a = await tokenCall(t.app, { grant_type: 'password', username: user.email.toUpperCase(), password: user.password }, {
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      });
      const issued = assertIssued(a, 1234);
      assert.equal(await apiStatus(t, issued.access), 200);
    });

    it('every grant issues new tokens', async () => {
      const a = assertIssued(await password(t, user.email, user.password, { field: 'c-new-1' }), 1234);
      const b = assertIssued(await password(t, user.email, user.password, { field: 'c-new-2' }), 1234);
      assert.notEqual(a.access, b.access);
      assert.notEqual(a.refresh, b.refresh);
    });

    it('a wrong password → 400 invalid_grant', async () => {
      assertGrantError(await password(t, user.email, 'not-the-password'), 'invalid_grant');
    });

    it('an unknown user → 400 invalid_grant', async () => {
      assertGrantError(await password(t, 'nobody@test.local', 'whatever-password'), 'invalid_grant');
    });

    for (const [label, fields] of [
      ['no username', { grant_type: 'password', password: ADMIN_PASSWORD }],
      ['no password', { grant_type: 'password', username: ADMIN_EMAIL }],
      ['an empty password', { grant_type: 'password', username: ADMIN_EMAIL, password: '' }],
      ['an empty username', { grant_type: 'password', username: '', password: ADMIN_PASSWORD }],
    ] as const) {
      it(`${label} → 400 invalid_grant`, async () => {
        assertGrantError(await tokenCall(t.app, fields), 'invalid_grant');
      });
    }
  });

  describe('unsupported_grant_type', () => {
    const good = { username: ADMIN_EMAIL, password: ADMIN_PASSWORD };
    it('no grant_type → 400 unsupported_grant_type', async () => {
      assertGrantError(await tokenCall(t.app, good), 'unsupported_grant_type');
    });
    it('an empty body → 400 unsupported_grant_type', async () => {
      assertGrantError(await tokenCall(t.app, ''), 'unsupported_grant_type');
    });
    it('an unknown grant_type → 400 unsupported_grant_type', async () => {
      assertGrantError(await tokenCall(t.app, { grant_type: 'client_credentials', ...good }), 'unsupported_grant_type');
    });
    it('a JSON body, even with good credentials → 400 unsupported_grant_type', async () => {
      const a = await tokenCall(t.app, JSON.stringify({ grant_type: 'password', ...good }), { 'content-type': 'application/json' });
      assertGrantError(a, 'unsupported_grant_type');
    });
    it('a form body without a content type → 400 unsupported_grant_type', async () => {
      const a = await tokenCall(t.app, new URLSearchParams({ grant_type: 'password', ...good }).toString(), {});
      assertGrantError(a, 'unsupported_grant_type');
    });
    it('a text/plain body → 400 unsupported_grant_type', async () => {
      const a = await tokenCall(t.app, new URLSearchParams({ grant_type: 'password', ...good }).toString(), { 'content-type': 'text/plain' });
      assertGrantError(a, 'unsupported_grant_type');
    });
  });

  describe('refresh grant', () => {
    it('rotates: the new tokens work, the old refresh token → invalid_grant', async () => {
      const first = assertIssued(await password(t, user.email, user.password, { field: 'rotate' }), 1234);
      const second = assertIssued(await refresh(t, first.refresh), 1234);
      assert.notEqual(second.refresh, first.refresh);
      assert.notEqual(second.access, first.access);
      assert.equal(await apiStatus(t, second.access), 200);
      assertGrantError(await refresh(t, first.refresh), 'invalid_grant');
      // The replay of a used token revoked its chain: the successor is dead too (reuse detection).
      assertGrantError(await refresh(t, second.refresh), 'invalid_grant');
    });

    it('every refreshed-away token stays dead down the chain, and replaying one kills the newest too', async () => {
      const a = assertIssued(await password(t, user.email, user.password, { field: 'chain' }), 1234);
      const b = assertIssued(await refresh(t, a.refresh), 1234);
      const c = assertIssued(await refresh(t, b.refresh), 1234);
      assertGrantError(await refresh(t, a.refresh), 'invalid_grant');
      assertGrantError(await refresh(t, b.refresh), 'invalid_grant');
      assertGrantError(await refresh(t, c.refresh), 'invalid_grant');
    });

    it('an unknown, missing or expired refresh token → invalid_grant', async () => {
      assertGrantError(await refresh(t, 'not-a-refresh-token'), 'invalid_grant');
      assertGrantError(await tokenCall(t.app, { grant_type: 'refresh_token' }), 'invalid_grant');
      assertGrantError(await tokenCall(t.app, { grant_type: 'refresh_token', refresh_token: '' }), 'invalid_grant');
      const expired = newToken();
      await t.container.tokens.insertRefresh(user.id, user.email, expired, Date.now() - 1000);
      assertGrantError(await refresh(t, expired), 'invalid_grant');
    });

    it('an access token is not a refresh token', async () => {
      const a = assertIssued(await password(t, user.email, user.password, { field: 'not-refresh' }), 1234);
      assertGrantError(await refresh(t, a.access), 'invalid_grant');
    });

    it('a different client_id → invalid_grant, and the token is not used up', async () => {
      const a = assertIssued(await password(t, user.email, user.password, { field: 'app-one' }), 1234);
      assertGrantError(await refresh(t, a.refresh, { field: 'app-two' }), 'invalid_grant');
      assertGrantError(await refresh(t, a.refresh, { header: 'app-two' }), 'invalid_grant');
      const b = assertIssued(await refresh(t, a.refresh, { field: 'app-one' }), 1234);
      // The rotated token keeps its client, and without client_id the token's own client is used.
      assertGrantError(await refresh(t, b.refresh, { header: 'app-two' }), 'invalid_grant');
      assertIssued(await refresh(t, b.refresh), 1234);
    });

    it('two concurrent refreshes of one token: exactly one succeeds', async () => {
      for (let round = 0; round < 5; round++) {
        const a = assertIssued(await password(t, user.email, user.password, { field: `race-${round}` }), 1234);
        const answers = await Promise.all([refresh(t, a.refresh), refresh(t, a.refresh), refresh(t, a.refresh)]);
        const ok = answers.filter((x) => x.status === 200);
        assert.equal(ok.length, 1, `round ${round}: ${answers.map((x) => x.raw).join(' | ')}`);
        for (const x of answers.filter((y) => y.status !== 200)) assertGrantError(x, 'invalid_grant');
      }
    });
  });

  describe('client_id', () => {
    it('defaults to the username on a password grant', async () => {
      const a = assertIssued(await password(t, user.email, user.password), 1234);
      assertGrantError(await refresh(t, a.refresh, { field: 'some-app' }), 'invalid_grant');
      assertIssued(await refresh(t, a.refresh, { field: user.email }), 1234);
    });

    it('as a field', async () => {
      const a = assertIssued(await password(t, user.email, user.password, { field: 'field-app' }), 1234);
      assertGrantError(await refresh(t, a.refresh, { field: user.email }), 'invalid_grant');
      assertIssued(await refresh(t, a.refresh, { field: 'field-app' }), 1234);
    });

    it('as a header', async () => {
      const a = assertIssued(await password(t, user.email, user.password, { header: 'header-app' }), 1234);
      assertGrantError(await refresh(t, a.refresh, { header: user.email }), 'invalid_grant');
      assertIssued(await refresh(t, a.refresh, { header: 'header-app' }), 1234);
    });

    it('the header wins over the field on a password grant', async () => {
      const a = assertIssued(await password(t, user.email, user.password, { header: 'from-header', field: 'from-field' }), 1234);
      assertGrantError(await refresh(t, a.refresh, { field: 'from-field' }), 'invalid_grant');
      assertIssued(await refresh(t, a.refresh, { field: 'from-header' }), 1234);
    });

    it('the header wins over the field on a refresh grant', async () => {
      const a = assertIssued(await password(t, user.email, user.password, { field: 'refresh-app' }), 1234);
      assertGrantError(await refresh(t, a.refresh, { header: 'other-app', field: 'refresh-app' }), 'invalid_grant');
      assertIssued(await refresh(t, a.refresh, { header: 'refresh-app', field: 'other-app' }), 1234);
    });

    it("a new password grant revokes that client's earlier refresh tokens, not another client's", async () => {
      const one = assertIssued(await password(t, user.email, user.password, { field: 'client-one' }), 1234);
      const two = assertIssued(await password(t, user.email, user.password, { field: 'client-two' }), 1234);
      const oneAgain = assertIssued(await password(t, user.email, user.password, { header: 'client-one' }), 1234);
      assertGrantError(await refresh(t, one.refresh), 'invalid_grant');
      assertIssued(await refresh(t, two.refresh), 1234);
      assertIssued(await refresh(t, oneAgain.refresh), 1234);
      // Another user's grant with the same client_id does not touch this user's tokens.
      const other = await t.userWithRoles([]);
      const mine = assertIssued(await password(t, user.email, user.password, { field: 'shared-client' }), 1234);
      assertIssued(await password(t, other.email, other.password, { field: 'shared-client' }), 1234);
      assertIssued(await refresh(t, mine.refresh), 1234);
    });
  });

  describe('revocation on password change', () => {
    it('PUT /api/sys/users with a new Password revokes every token of that user; the new password works', async () => {
      const u = await t.userWithRoles(['Resource-List']);
      const a = assertIssued(await password(t, u.email, u.password, { field: 'pw-one' }), 1234);
      const b = assertIssued(await password(t, u.email, u.password, { field: 'pw-two' }), 1234);
      const bystander = assertIssued(await password(t, user.email, user.password, { field: 'pw-bystander' }), 1234);
      assert.equal(await apiStatus(t, a.access), 200);
      assert.equal((await send(t.app, PROBE, basic(u.email, u.password))).status, 200, 'Basic works before the change');

      const put = await send(t.app, { method: 'PUT', url: '/api/sys/users', payload: { Id: u.id, Email: u.email, Password: 'a-brand-new-password', Roles: ['Resource-List'] } }, t.admin);
      assert.equal(put.status, 200, put.raw);

      assertUnauthorized(await send(t.app, PROBE, `Bearer ${a.access}`));
      assertUnauthorized(await send(t.app, PROBE, `Bearer ${b.access}`));
      assertUnauthorized(await send(t.app, PROBE, u.auth));
      assertGrantError(await refresh(t, a.refresh), 'invalid_grant');
      assertGrantError(await refresh(t, b.refresh), 'invalid_grant');
      assertUnauthorized(await send(t.app, PROBE, basic(u.email, u.password)));
      assertGrantError(await password(t, u.email, u.password), 'invalid_grant');
      // Other users keep theirs; the new password works everywhere.
      assert.equal(await apiStatus(t, bystander.access), 200);
      const fresh = assertIssued(await password(t, u.email, 'a-brand-new-password'), 1234);
      assert.equal(await apiStatus(t, fresh.access), 200);
      assert.equal((await send(t.app, PROBE, basic(u.email, 'a-brand-new-password'))).status, 200);
    });

    it('PUT /api/sys/users without Password keeps the password and the tokens', async () => {
      const u = await t.userWithRoles(['Resource-List']);
      const a = assertIssued(await password(t, u.email, u.password, { field: 'keep' }), 1234);
      const put = await send(t.app, { method: 'PUT', url: `/api/sys/users/${u.id}`, payload: { Email: u.email, FullName: 'Renamed', Roles: ['Resource-List'] } }, t.admin);
      assert.equal(put.status, 200, put.raw);
      assert.equal(await apiStatus(t, a.access), 200);
      assertIssued(await refresh(t, a.refresh), 1234);
      assertIssued(await password(t, u.email, u.password), 1234);
    });

    it('userService.setPassword revokes every token of that user', async () => {
      const u = await t.userWithRoles(['Resource-List']);
      const a = assertIssued(await password(t, u.email, u.password, { field: 'set-pw' }), 1234);
      await t.container.userService.setPassword(u.id, 'set-by-the-command-line');
      assertUnauthorized(await send(t.app, PROBE, `Bearer ${a.access}`));
      assertGrantError(await refresh(t, a.refresh), 'invalid_grant');
      assertUnauthorized(await send(t.app, PROBE, basic(u.email, u.password)));
      assertIssued(await password(t, u.email, 'set-by-the-command-line'), 1234);
    });

    it('deleting a user kills their tokens', async () => {
      const u = await t.userWithRoles(['Resource-List']);
      const a = assertIssued(await password(t, u.email, u.password, { field: 'doomed' }), 1234);
      const del = await send(t.app, { method: 'DELETE', url: `/api/sys/users/${u.id}` }, t.admin);
      assert.equal(del.status, 200, del.raw);
      assertUnauthorized(await send(t.app, PROBE, `Bearer ${a.access}`));
      assertGrantError(await refresh(t, a.refresh), 'invalid_grant');
      assertUnauthorized(await send(t.app, PROBE, basic(u.email, u.password)));
    });
  });
});

describe('access token lifetime', () => {
  it('an access token dies after expires_in; its refresh token still gets a new one', async (ctx) => {
    const t = await testApp(ctx, { config: { accessTokenTtlSeconds: 2 } });
    const a = assertIssued(await password(t, ADMIN_EMAIL, ADMIN_PASSWORD), 2);
    assert.equal(await apiStatus(t, a.access), 200);
    t.clock.advance(2100);
    assertUnauthorized(await send(t.app, PROBE, `Bearer ${a.access}`));
    const b = assertIssued(await refresh(t, a.refresh), 2);
    assert.equal(await apiStatus(t, b.access), 200);
  });
});

describe('failed-login limit', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ config: { loginFailureLimit: 3, loginFailureWindowSeconds: 300 } });
  });
  after(async () => {
    await t?.close();
  });

  it('after 3 failed grants for one username the next grant → 409 with Retry-After, even with the right password', async () => {
    const u = await t.userWithRoles([]);
    for (let i = 0; i < 3; i++) assertGrantError(await password(t, u.email, `wrong-password-${i}`), 'invalid_grant');
    const blocked = await password(t, u.email, u.password);
    assertFailure(blocked, 409, THROTTLED);
    assertThrottled(blocked, 300);
    assertThrottled(await password(t, u.email, 'wrong-password-again'), 300);
    // The username counts case-insensitively.
    assertThrottled(await password(t, u.email.toUpperCase(), u.password), 300);
  });

  it('a burst of concurrent guesses gets no more than the limit evaluated', async () => {
    const u = await t.userWithRoles([]);
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => password(t, u.email, `concurrent-guess-${i}`)));
    const evaluated = answers.filter((a) => a.status === 400);
    const refused = answers.filter((a) => a.status === 409);
    assert.equal(evaluated.length + refused.length, answers.length, answers.map((a) => a.raw).join(' | '));
    assert.equal(evaluated.length, 3, `only 3 guesses may be checked: ${answers.map((a) => a.status).join(',')}`);
    for (const a of evaluated) assertGrantError(a, 'invalid_grant');
    for (const a of refused) assertThrottled(a, 300);
    assertThrottled(await password(t, u.email, u.password), 300);
  });

  it('other usernames are not affected, and the blocked user can still use tokens and Basic', async () => {
    const victim = await t.userWithRoles(['Resource-List']);
    for (let i = 0; i < 3; i++) assertGrantError(await password(t, victim.email, `wrong-password-${i}`), 'invalid_grant');
    assertThrottled(await password(t, victim.email, victim.password), 300);
    assertIssued(await password(t, ADMIN_EMAIL, ADMIN_PASSWORD), 3600);
    assert.equal((await send(t.app, PROBE, victim.auth)).status, 200);
  });

  it('unknown usernames are limited too', async () => {
    for (let i = 0; i < 3; i++) assertGrantError(await password(t, 'ghost@test.local', `guess-${i}-password`), 'invalid_grant');
    assertThrottled(await password(t, 'ghost@test.local', 'guess-x-password'), 300);
  });

  it('a successful grant before the limit starts the count again', async () => {
    const u = await t.userWithRoles([]);
    for (let i = 0; i < 2; i++) assertGrantError(await password(t, u.email, `wrong-password-${i}`), 'invalid_grant');
    assertIssued(await password(t, u.email, u.password), 3600);
    for (let i = 0; i < 2; i++) assertGrantError(await password(t, u.email, `wrong-password-${i}`), 'invalid_grant');
    assertIssued(await password(t, u.email, u.password), 3600);
  });

  it('the limit is per username and IP: the same username from another IP still gets a token', async () => {
    const u = await t.userWithRoles([]);
    for (let i = 0; i < 3; i++) assertGrantError(await password(t, u.email, `wrong-password-${i}`), 'invalid_grant');
    assertThrottled(await password(t, u.email, u.password), 300);
    const elsewhere = await tokenCall(t.app, { grant_type: 'password', username: u.email, password: u.password }, FORM, { remoteAddress: '10.9.8.7' });
    assertIssued(elsewhere, 3600);
  });

  it('the limit does not block refresh grants', async () => {
    const u = await t.userWithRoles([]);
    const a = assertIssued(await password(t, u.email, u.password, { field: 'before-lock' }), 3600);
    for (let i = 0; i < 3; i++) assertGrantError(await password(t, u.email, `wrong-password-${i}`), 'invalid_grant');
    assertThrottled(await password(t, u.email, u.password), 300);
    assertIssued(await refresh(t, a.refresh), 3600);
  });
});
