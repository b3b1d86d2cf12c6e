/** A refresh token replayed after its rotation revokes its whole chain (OAuth 2.0 security best current practice). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testApp, ADMIN_EMAIL, ADMIN_PASSWORD } from '../helpers/app.js';
import { assertUnauthorized, call, tokenCall } from '../helpers/api.js';

test('replaying a used refresh token revokes its successors and their access tokens; other chains live on', async (ctx) => {
  const t = await testApp(ctx);
  const first = (await tokenCall(t.app, { grant_type: 'password', username: ADMIN_EMAIL, password: ADMIN_PASSWORD, client_id: 'app-a' })).body;
  const other = (await tokenCall(t.app, { grant_type: 'password', username: ADMIN_EMAIL, password: ADMIN_PASSWORD, client_id: 'app-b' })).body;
  const second = await tokenCall(t.app, { grant_type: 'refresh_token', refresh_token: first.refresh_token });
  assert.equal(second.status, 200, second.raw);
  const third = (await tokenCall(t.app, { grant_type: 'refresh_token', refresh_token: second.body.refresh_token })).body;
  assert.equal((await call(t, 'GET', '/api/spaces/coworkers', undefined, { auth: `Bearer ${third.access_token}` })).status, 200);

  // An attacker replays the first refresh token.
  const replay = await tokenCall(t.app, { grant_type: 'refresh_token', refresh_token: first.refresh_token });
  assert.equal(replay.status, 400);
  assert.equal(replay.body.error, 'invalid_grant');
  assert.match(replay.body.error_description, /already used/);
  // The whole chain is gone: the newest refresh token and the access tokens issued with it.
  assert.equal((await tokenCall(t.app, { grant_type: 'refresh_token', refresh_token: third.refresh_token })).body.error, 'invalid_grant');
  assertUnauthorized(await call(t, 'GET', '/api/spaces/coworkers', undefined, { auth: `Bearer ${third.access_token}` }));
  assertUnauthorized(await call(t, 'GET', '/api/spaces/coworkers', undefined, { auth: `Bearer ${second.body.access_token}` }));
  // Another client's chain is untouched.
  assert.equal((await call(t, 'GET', '/api/spaces/coworkers', undefined, { auth: `Bearer ${other.access_token}` })).status, 200);
  assert.equal((await tokenCall(t.app, { grant_type: 'refresh_token', refresh_token: other.refresh_token })).status, 200);
});
