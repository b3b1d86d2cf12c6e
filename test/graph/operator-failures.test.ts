/**
 * Whose a failure is to fix. Microsoft refusing calbridge's own app credentials (a wrong or expired client secret) or
 * an untrusted certificate toward Microsoft is the operator's: the connection fails with ActionBy "operator" and a
 * LastError that says what to do, also on a member's (delegated) connection, where reauth_required would send the
 * member to sign in for nothing; /readyz says so (200, "degraded"). Real HTTP against the emulator throughout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { graphEnv, type GraphEnv } from '../helpers/graph-env.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from '../helpers/app.js';
import { startHttpsFront } from '../helpers/https-front.js';
import { GraphClient } from '../../src/modules/graph/graph-client.js';
import { GraphError } from '../../src/modules/graph/graph-errors.js';

const ADELE = 'adelev@contoso.onmicrosoft.com';

const status = async (env: GraphEnv, id: number) => (await env.request('GET', `/api/spaces/coworkermsofficecalendars/${id}/status`)).body;
const readyz = async (env: GraphEnv) => env.request('GET', '/readyz', undefined, null);

/** The dashboard's HTML, as the administrator's browser gets it (a sign-in through the page, then /admin). */
async function dashboard(env: GraphEnv): Promise<string> {
  const login = await fetch(`${env.url}/login`);
  const cookies = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await login.text())![1]!;
  const signedIn = await fetch(`${env.url}/login`, {
    method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookies, origin: env.url },
    body: new URLSearchParams({ _csrf: csrf, email: ADMIN_EMAIL, password: ADMIN_PASSWORD, next: '/admin' }),
  });
  assert.equal(signedIn.status, 303);
  const session = [cookies, ...signedIn.headers.getSetCookie().map((c) => c.split(';')[0])].join('; ');
  return (await fetch(`${env.url}/admin`, { headers: { cookie: session } })).text();
}
const renew = async (env: GraphEnv, id: number) =>
  assert.equal((await env.request('POST', '/api/spaces/coworkermsofficecalendars/runcommand', { Key: 'RENEW_SUBSCRIPTION', Ids: [id] })).status, 200);

test('a wrong client secret: the app-only connection fails for the operator (one attempt), /readyz is degraded; fixed, it recovers', async (ctx) => {
  const env = await graphEnv(ctx);
  const secret = env.seed.app.clientSecret;
  const before = await readyz(env);
  assert.equal(before.status, 200);
  assert.deepEqual([before.body.status, before.body.checks.graph], ['ready', 'ok']);

  // The operator rotated the secret in Entra and calbridge still has the old one (through the control API, over HTTP).
  const rotated = await fetch(`${env.emu.httpUrl}/_control/apps/${env.seed.app.clientId}/secret`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ secret: 'the-new-secret-value' }),
  });
  assert.equal(rotated.status, 200);
  assert.doesNotMatch(await rotated.text(), /the-new-secret-value/, 'the control API does not echo the secret');

  const { recordId } = await env.connectMailbox(ADELE);
  const conn = await env.untilState(recordId, 'failed');
  assert.equal(conn.action_by, 'operator');
  const s = await status(env, recordId);
  assert.equal(s.State, 'failed');
  assert.equal(s.ActionBy, 'operator');
  assert.match(s.LastError, /^operator: Microsoft refused calbridge's app credentials \(invalid_client, AADSTS7000215\)/);
  assert.match(s.LastError, /GRAPH_CLIENT_SECRET .*Value \(not its Secret ID\)/);
  assert.doesNotMatch(JSON.stringify(s), new RegExp(`${secret}|the-new-secret-value`), 'no secret in the status');
  await env.settled();
  const jobs = await env.storage.db.selectFrom('jobs').select(['state', 'attempts']).where('type', '=', 'graph.subscribe').execute();
  assert.deepEqual(jobs, [{ state: 'dead', attempts: 1 }], 'no stream of retries against a refused secret');
  assert.equal(env.emu.control.requests({ path: '/subscriptions' }).length, 0, 'Graph was never called without a token');

  const degraded = await readyz(env);
  assert.equal(degraded.status, 200, 'the API and the webhooks still serve: not taken out of the load balancer');
  assert.equal(degraded.body.status, 'degraded');
  assert.match(degraded.body.checks.graph, /^operator: the app's credentials are refused \(invalid_client, AADSTS7000215\)$/);
  assert.doesNotMatch(degraded.text, new RegExp(`${secret}|${env.seed.app.clientId}|contoso`, 'i'), 'no secrets or tenant details on an open route');
  // The dashboard says it at the top, as /readyz does.
  assert.match(await dashboard(env), /This calbridge process is not well .*graph: operator: the app&#39;s credentials are refused \(invalid_client, AADSTS7000215\)/);

  // Fixed (here: the secret calbridge has is valid again): RENEW_SUBSCRIPTION brings the connection back, /readyz too.
  env.emu.control.setClientSecret(env.seed.app.clientId, { secret });
  await renew(env, recordId);
  await env.untilState(recordId, 'active');
  const fixed = await status(env, recordId);
  assert.deepEqual([fixed.ActionBy, fixed.LastError], [null, null]);
  const ready = await readyz(env);
  assert.deepEqual([ready.status, ready.body.status, ready.body.checks.graph], [200, 'ready', 'ok']);
});

test('an expired client secret on a member\'s delegated connection is the operator\'s (failed), never reauth_required', async (ctx) => {
  const env = await graphEnv(ctx, { redirectUris: [] });
  const calendar = env.emu.control.createCalendar(ADELE, 'Desk bookings');
  const resource = await env.request('POST', '/api/spaces/resources', { Name: 'Desk' });
  const created = await env.request('POST', '/api/spaces/coworkermsofficecalendars', {
    ResourceId: resource.body.Value.Id, Name: 'Mine', SubscriptionId: 'pending', CalendarId: calendar.id, SubscriptionExpireDate: '2030-01-01T00:00:00Z',
  });
  const recordId: number = created.body.Value.Id;
  const redirectUri = `${env.url}/connect/callback`;
  const res = await fetch(await env.engine.graph.authCodeUrl({ redirectUri, state: 's', loginHint: ADELE, prompt: 'none' }), { redirect: 'manual' });
  await env.engine.connectDelegated(recordId, new URL(res.headers.get('location')!).searchParams.get('code')!, redirectUri);
  await env.untilState(recordId, 'active');
  await env.settled();

  // The secret expires; the member's access token too (two hours on): the refresh presents the expired secret.
  env.emu.control.setClientSecret(env.seed.app.clientId, { expired: true });
  env.advance(2 * 3600_000);
  await renew(env, recordId);
  const conn = await env.untilState(recordId, 'failed');
  assert.equal(conn.action_by, 'operator');
  assert.match(conn.last_error ?? '', /^operator: .*AADSTS7000222.*the client secret has expired: create a new one/);
  const tokenCalls = env.emu.control.requests({ path: '/oauth2/v2.0/token' });
  assert.ok(tokenCalls.some((r) => r.status === 401), 'the refresh was refused for the app, not for the member');
  await env.settled();
  assert.equal((await status(env, recordId)).State, 'failed', 'not reauth_required: signing in again would not help');
  assert.equal((await readyz(env)).body.status, 'degraded');

  // A new secret (here: the old one made valid again): the member's sign-in still works, without signing in again.
  env.emu.control.setClientSecret(env.seed.app.clientId, { expired: false });
  await renew(env, recordId);
  await env.untilState(recordId, 'active');
  assert.equal((await status(env, recordId)).ActionBy, null);
  assert.equal((await readyz(env)).body.status, 'ready');
});

test('an untrusted TLS certificate toward the sign-in host or Graph is the operator\'s, and the client reports it', async (ctx) => {
  const env = await graphEnv(ctx);
  // The emulator's certificate names 127.0.0.1 and localhost; served on 127.0.0.2 it does not match the host.
  const front = await startHttpsFront(env.emu.httpUrl, 0, '127.0.0.2');
  ctx.after(() => front.close());
  const endpoints = { tenantId: env.seed.tenant.id, clientId: env.seed.app.clientId, clientSecret: env.seed.app.clientSecret };
  const quiet = { warn() {} };

  const badLogin = new GraphClient({ ...endpoints, authorityHost: front.url, graphBaseUrl: env.emu.url }, quiet);
  const loginErr = await badLogin.call({ kind: 'app', mailbox: ADELE }, 'GET', '/users').then(() => undefined, (e: unknown) => e);
  assert.ok(loginErr instanceof GraphError, String(loginErr));
  assert.equal(loginErr.actionBy, 'operator');
  assert.match(loginErr.message, /^operator: the TLS certificate of 127\.0\.0\.2:\d+ is not trusted \(ERR_TLS_CERT_ALTNAME_INVALID\).*NODE_EXTRA_CA_CERTS/);
  assert.match(badLogin.credentialsProblem?.summary ?? '', /TLS certificate .* not trusted/);

  const badGraph = new GraphClient({ ...endpoints, authorityHost: env.emu.url, graphBaseUrl: front.url }, quiet);
  const graphErr = await badGraph.call({ kind: 'app', mailbox: ADELE }, 'GET', '/users').then(() => undefined, (e: unknown) => e);
  assert.ok(graphErr instanceof GraphError, String(graphErr));
  assert.equal(graphErr.actionBy, 'operator');
  assert.match(graphErr.message, /TLS certificate of 127\.0\.0\.2:\d+ is not trusted/);

  // The same client with both hosts right: a token from Microsoft (not from the cache) clears what it reported.
  const good = new GraphClient({ ...endpoints, authorityHost: env.emu.url, graphBaseUrl: env.emu.url }, quiet);
  assert.equal(good.credentialsProblem, null);
  await good.call({ kind: 'app', mailbox: ADELE }, 'GET', '/users');
  assert.equal(good.credentialsProblem, null);
});
