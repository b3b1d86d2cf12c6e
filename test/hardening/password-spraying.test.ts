/** Password spraying and guessing storms: limits per address across usernames, and a ceiling on concurrent scrypt. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testApp, ADMIN_EMAIL, ADMIN_PASSWORD } from '../helpers/app.js';
import { assertThrottled, tokenCall } from '../helpers/api.js';

test('one address guessing one password for many usernames is stopped after LOGIN_FAILURE_LIMIT_PER_IP failures', async (ctx) => {
  const t = await testApp(ctx, { config: { loginFailureLimitPerIp: 20 } });
  const from = { remoteAddress: '198.51.100.9' };
  for (let i = 0; i < 20; i++) {
    const a = await tokenCall(t.app, { grant_type: 'password', username: `user${i}@spray.test`, password: 'Winter2026!' }, undefined, from);
    assert.equal(a.status, 400, a.raw);
  }
  const blocked = await tokenCall(t.app, { grant_type: 'password', username: ADMIN_EMAIL, password: ADMIN_PASSWORD }, undefined, from);
  const wait = assertThrottled(blocked, 300);
  assert.ok(wait > 0);
  // Another address is not affected; and the window ends with the clock.
  assert.equal((await tokenCall(t.app, { grant_type: 'password', username: ADMIN_EMAIL, password: ADMIN_PASSWORD }, undefined, { remoteAddress: '198.51.100.10' })).status, 200);
  t.clock.advance(wait * 1000);
  assert.equal((await tokenCall(t.app, { grant_type: 'password', username: ADMIN_EMAIL, password: ADMIN_PASSWORD }, undefined, from)).status, 200);
});

test('at most MAX_CONCURRENT_PASSWORD_CHECKS run at once; the rest are told to come back (409, Retry-After)', async (ctx) => {
  const t = await testApp(ctx, { config: { maxConcurrentPasswordChecks: 2, loginFailureLimit: 1000, loginFailureLimitPerIp: 1000 } });
  const answers = await Promise.all(Array.from({ length: 12 }, (_, i) =>
    tokenCall(t.app, { grant_type: 'password', username: `storm${i}@x.test`, password: 'guess-guess-guess' }, undefined, { remoteAddress: `203.0.113.${i + 1}` })));
  const throttled = answers.filter((a) => a.status === 409);
  assert.ok(throttled.length > 0, 'some were refused');
  for (const a of throttled) assertThrottled(a, 1);
  assert.ok(answers.every((a) => a.status === 400 || a.status === 409));
});
