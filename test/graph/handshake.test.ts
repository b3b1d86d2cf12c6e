/**
 * Graph's validation handshake on both webhook URLs: POST ?validationToken=… with an empty text/plain body → 200
 * text/plain with the decoded token verbatim. By hand with awkward tokens, through the emulator's real handshake, and
 * a webhook URL that does not answer it (the emulator's 400 lands on the connection).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { graphEnv } from '../helpers/graph-env.js';

const ODD_TOKENS = [
  'simple',
  'with spaces in it',
  'a+b+c',
  'a&b=c&d=e',
  '100% sure %20 %zz',
  'path/to/thing?x=1#fragment',
  `"double" and 'single' quotes`,
  'é à ü ß 日本語 🙂',
  'Validation: Testing client application reachability for subscription Request-Id: 5c3a7e0c-1a2b +&=%/?#"é',
  'The quick brown fox jumps over the lazy dog; '.repeat(60).trim(),
  ' leading and trailing spaces ',
];

test('the validation handshake on both webhook URLs', async (t) => {
  const env = await graphEnv(t);
  await t.test('hand-posted: the decoded token verbatim, as text/plain, for odd tokens', async () => {
    for (const endpoint of ['/graph/notifications', '/graph/lifecycle']) {
      for (const token of ODD_TOKENS) {
        const res = await fetch(`${env.url}${endpoint}?validationToken=${encodeURIComponent(token)}`, {
          method: 'POST', headers: { 'content-type': 'text/plain; charset=utf-8' }, body: '',
        });
        assert.equal(res.status, 200, `${endpoint} ${JSON.stringify(token)}`);
        assert.match(res.headers.get('content-type') ?? '', /^text\/plain/, 'answered as text/plain');
        assert.equal(await res.text(), token, `${endpoint} echoes ${JSON.stringify(token.slice(0, 40))} verbatim`);
      }
      // Graph's handshake has no body at all; a POST without a content type is answered the same way.
      const bare = await fetch(`${env.url}${endpoint}?validationToken=${encodeURIComponent('no body, no type')}`, { method: 'POST' });
      assert.equal(bare.status, 200);
      assert.equal(await bare.text(), 'no body, no type');
      // Other query parameters do not confuse it.
      const extra = await fetch(`${env.url}${endpoint}?foo=bar&validationToken=${encodeURIComponent('x&y')}&z=1`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '' });
      assert.equal(await extra.text(), 'x&y');
    }
  });

  await t.test("through the emulator's real handshake: the subscription is created", async () => {
    const { recordId } = await env.connectMailbox('adelev@contoso.onmicrosoft.com');
    await env.untilState(recordId, 'active');
    const record = (await env.request('GET', `/api/spaces/coworkermsofficecalendars/${recordId}`)).body;
    const handshakes = env.emu.control.deliveries({ kind: 'validation', subscriptionId: record.SubscriptionId });
    assert.deepEqual(handshakes.map((d) => d.url).sort(), [`${env.url}/graph/lifecycle`, `${env.url}/graph/notifications`]);
    for (const d of handshakes) {
      assert.equal(d.ok, true, `${d.url}: ${d.error}`);
      assert.equal(d.status, 200);
      assert.ok(d.validationToken && /[ +&=%/?#"é]/.test(d.validationToken), 'the emulator used an awkward token');
      assert.equal(d.responseBody, d.validationToken);
    }
    assert.equal(env.emu.control.getSubscription(record.SubscriptionId).status, 'active');
  });
});

test("a webhook URL that fails the handshake: Graph's 400 is recorded on the connection", async (ctx) => {
  // calbridge tells Graph a public URL under which nothing answers the handshake (the app answers 404 there).
  const env = await graphEnv(ctx, { publicUrl: (url) => `${url}/not-the-webhook` });
  const { recordId } = await env.connectMailbox('alexw@contoso.onmicrosoft.com');
  const status = await env.until('the failure on the status endpoint', async () => {
    const s = (await env.request('GET', `/api/spaces/coworkermsofficecalendars/${recordId}/status`)).body;
    return s.State === 'failed' && s.LastError ? s : undefined;
  });
  assert.match(status.LastError, /400/);
  assert.match(status.LastError, /validation request failed/i);
  const posts = env.emu.control.requests({ method: 'POST', path: '/subscriptions' });
  assert.ok(posts.length >= 1 && posts.every((r) => r.status === 400), 'every subscription attempt was refused with 400');
  const handshake = env.emu.control.deliveries({ kind: 'validation' })[0]!;
  assert.equal(handshake.url, `${env.url}/not-the-webhook/graph/notifications`);
  assert.equal(handshake.status, 404);
  assert.equal(handshake.ok, false);
  assert.equal(env.emu.control.listSubscriptions().length, 0, 'no subscription exists');
  const record = (await env.request('GET', `/api/spaces/coworkermsofficecalendars/${recordId}`)).body;
  assert.equal(record.SubscriptionId, 'pending', 'the record keeps what it had: Graph gave no subscription');
  // (Polled: the queue retries the job, and each attempt is "renewing" for a moment.)
  await env.until('the record listed as failed', async () => {
    const listed = (await env.request('GET', '/api/spaces/coworkermsofficecalendars?CoworkerMsOfficeCalendar_State=failed')).body;
    return listed.Records.length === 1 && listed.Records[0].Id === recordId;
  });
  const active = (await env.request('GET', '/api/spaces/coworkermsofficecalendars?CoworkerMsOfficeCalendar_State=active')).body;
  assert.equal(active.TotalItems, 0);
});
