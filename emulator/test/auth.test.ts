import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConfidentialClientApplication, CryptoProvider } from '@azure/msal-node';
import { graph, startEnv, type Env } from './helpers.js';

const REDIRECT = 'http://localhost:3999/auth/callback';

describe('identity platform endpoints with the real @azure/msal-node', () => {
  let env: Env;
  const msal = (secret?: string): ConfidentialClientApplication =>
    new ConfidentialClientApplication({
      auth: {
        clientId: env.seed.app.clientId,
        clientSecret: secret ?? env.seed.app.clientSecret,
        authority: `${env.emu.url}/${env.seed.tenant.id}`,
        knownAuthorities: [env.emu.authorityHost],
      },
    });

  /** Drives the sign-in page like a browser: GET the page, submit the form for one user, read the redirect. */
  async function signIn(authUrl: string, upn: string): Promise<URL> {
    const page = await fetch(authUrl);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, new RegExp(upn.replace('.', '\\.')));
    const form = new URLSearchParams();
    for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) form.set(m[1]!, decodeHtml(m[2]!));
    const userId = new RegExp(`value="([^"]+)" data-upn="${upn.replace('.', '\\.')}"`).exec(html)?.[1];
    assert.ok(userId, 'user button on the sign-in page');
    form.set('user_id', userId);
    const res = await fetch(authUrl.split('?')[0]!, { method: 'POST', body: form, redirect: 'manual' });
    assert.equal(res.status, 302);
    return new URL(res.headers.get('location')!);
  }

  before(async () => {
    env = await startEnv();
  });
  after(() => env.emu.close());

  it('serves OpenID discovery for the tenant (id or domain) and its keys', async () => {
    for (const seg of [env.seed.tenant.id, env.seed.tenant.domain]) {
      const res = await fetch(`${env.emu.url}/${seg}/v2.0/.well-known/openid-configuration`);
      assert.equal(res.status, 200);
      const cfg = (await res.json()) as Record<string, string>;
      assert.equal(cfg.token_endpoint, `${env.emu.url}/${env.seed.tenant.id}/oauth2/v2.0/token`);
      assert.equal(cfg.issuer, `${env.emu.url}/${env.seed.tenant.id}/v2.0`);
    }
    const keys = (await (await fetch(`${env.emu.url}/${env.seed.tenant.id}/discovery/v2.0/keys`)).json()) as { keys: { kty: string }[] };
    assert.equal(keys.keys[0]!.kty, 'RSA');
    const unknown = await fetch(`${env.emu.url}/00000000-0000-0000-0000-000000000000/v2.0/.well-known/openid-configuration`);
    assert.equal(unknown.status, 400);
    assert.equal(((await unknown.json()) as { error: string }).error, 'invalid_tenant');
  });

  it('client credentials: MSAL gets an app-only token that Graph accepts', async () => {
    const r = await msal().acquireTokenByClientCredential({ scopes: ['https://graph.microsoft.com/.default'] });
    assert.ok(r?.accessToken);
    assert.equal(r.tokenType, 'Bearer');
    const cals = await graph(env.emu, r.accessToken, 'GET', `/users/${env.adele.userPrincipalName}/calendars`);
    assert.equal(cals.status, 200);
    assert.equal(cals.json.value[0].name, 'Calendar');
    const me = await graph(env.emu, r.accessToken, 'GET', '/me');
    assert.equal(me.status, 400);
    assert.match(me.json.error.message, /delegated authentication flow/);
  });

  it('client credentials: a wrong secret is invalid_client, a scope without /.default is invalid_scope', async () => {
    await assert.rejects(msal('not-the-secret').acquireTokenByClientCredential({ scopes: ['https://graph.microsoft.com/.default'] }), (e: Error & { errorCode?: string }) => {
      assert.equal(e.errorCode, 'invalid_client');
      assert.match(e.message, /AADSTS7000215/);
      return true;
    });
    const res = await fetch(`${env.emu.url}/${env.seed.tenant.id}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: env.seed.app.clientId, client_secret: env.seed.app.clientSecret, scope: 'Calendars.Read' }),
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: string; error_codes: number[] };
    assert.equal(body.error, 'invalid_scope');
    assert.deepEqual(body.error_codes, [1002012]);
  });

  it('authorization code + refresh: sign-in page, code, MSAL account, silent refresh that rotates the refresh token', async () => {
    const cca = msal();
    const authUrl = await cca.getAuthCodeUrl({ scopes: ['Calendars.ReadWrite', 'offline_access'], redirectUri: REDIRECT, state: 'st&ate 1' });
    assert.ok(authUrl.startsWith(`${env.emu.url}/${env.seed.tenant.id}/oauth2/v2.0/authorize?`));
    const back = await signIn(authUrl, env.adele.userPrincipalName);
    assert.equal(`${back.origin}${back.pathname}`, REDIRECT);
    assert.equal(back.searchParams.get('state'), 'st&ate 1');
    const code = back.searchParams.get('code');
    assert.ok(code);

    const first = await cca.acquireTokenByCode({ code, scopes: ['Calendars.ReadWrite'], redirectUri: REDIRECT });
    assert.equal(first.account?.username, env.adele.userPrincipalName);
    assert.equal(first.account?.homeAccountId, `${env.adele.id}.${env.seed.tenant.id}`);
    const me = await graph(env.emu, first.accessToken, 'GET', '/me');
    assert.equal(me.status, 200);
    assert.equal(me.json.id, env.adele.id);
    const rtBefore = refreshTokenIn(cca);
    assert.ok(rtBefore, 'offline_access gave a refresh token');

    const silent = await cca.acquireTokenSilent({ account: first.account!, scopes: ['Calendars.ReadWrite'], forceRefresh: true });
    assert.notEqual(silent.accessToken, first.accessToken);
    assert.equal((await graph(env.emu, silent.accessToken, 'GET', '/me/calendar')).status, 200);
    const rtAfter = refreshTokenIn(cca);
    assert.ok(rtAfter && rtAfter !== rtBefore, 'refresh grant issued a new refresh token');
    assert.ok(env.emu.control.requests({ path: '/oauth2/v2.0/token' }).length >= 2);

    // Entra ID keeps an already-used refresh token valid; revoking it ends it.
    const reuse = await tokenRequest({ grant_type: 'refresh_token', refresh_token: rtBefore!, scope: 'Calendars.ReadWrite offline_access' });
    assert.equal(reuse.status, 200);
    assert.ok(env.emu.control.revokeRefreshToken(rtAfter!));
    await assert.rejects(cca.acquireTokenByRefreshToken({ refreshToken: rtAfter!, scopes: ['Calendars.ReadWrite'] }), (e: Error & { errorCode?: string }) => {
      assert.equal(e.errorCode, 'invalid_grant');
      assert.match(e.message, /AADSTS50173/);
      return true;
    });
  });

  it('a delegated token reaches only its own mailbox; without offline_access there is no refresh token', async () => {
    const cca = msal();
    const authUrl = await cca.getAuthCodeUrl({ scopes: ['Calendars.Read'], redirectUri: REDIRECT, prompt: 'none', loginHint: env.alex.userPrincipalName });
    const res = await fetch(authUrl, { redirect: 'manual' });
    assert.equal(res.status, 302);
    const code = new URL(res.headers.get('location')!).searchParams.get('code')!;
    const raw = await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, scope: 'Calendars.Read openid profile' });
    assert.equal(raw.status, 200);
    assert.equal(raw.json.refresh_token, undefined);
    assert.ok(raw.json.id_token);
    const token = raw.json.access_token as string;
    assert.equal((await graph(env.emu, token, 'GET', `/users/${env.alex.id}/calendars`)).status, 200);
    const other = await graph(env.emu, token, 'GET', `/users/${env.adele.id}/calendars`);
    assert.equal(other.status, 403);
    assert.equal(other.json.error.code, 'ErrorAccessDenied');
    // read-only scope cannot write
    const write = await graph(env.emu, token, 'POST', '/me/events', { subject: 'x', start: { dateTime: '2030-01-01T10:00:00', timeZone: 'UTC' }, end: { dateTime: '2030-01-01T11:00:00', timeZone: 'UTC' } });
    assert.equal(write.status, 403);
    // the code is single-use
    const again = await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, scope: 'Calendars.Read' });
    assert.equal(again.status, 400);
    assert.equal(again.json.error, 'invalid_grant');
    assert.deepEqual(again.json.error_codes, [54005]);
  });

  it('PKCE: the code_verifier must match the code_challenge', async () => {
    const crypto = new CryptoProvider();
    const pkce = await crypto.generatePkceCodes();
    const cca = msal();
    const codeFor = async (): Promise<string> => {
      const url = await cca.getAuthCodeUrl({ scopes: ['Calendars.Read'], redirectUri: REDIRECT, prompt: 'none', loginHint: env.adele.userPrincipalName, codeChallenge: pkce.challenge, codeChallengeMethod: 'S256' });
      const res = await fetch(url, { redirect: 'manual' });
      return new URL(res.headers.get('location')!).searchParams.get('code')!;
    };
    await assert.rejects(cca.acquireTokenByCode({ code: await codeFor(), scopes: ['Calendars.Read'], redirectUri: REDIRECT, codeVerifier: 'wrong-verifier-wrong-verifier-wrong-verifier-123' }), /AADSTS501481/);
    const ok = await cca.acquireTokenByCode({ code: await codeFor(), scopes: ['Calendars.Read'], redirectUri: REDIRECT, codeVerifier: pkce.verifier });
    assert.ok(ok.accessToken);
  });

  it('cancelling on the sign-in page redirects back with access_denied', async () => {
    const url = await msal().getAuthCodeUrl({ scopes: ['Calendars.Read'], redirectUri: REDIRECT, state: 's1' });
    const form = new URLSearchParams(new URL(url).searchParams);
    form.set('action', 'cancel');
    const res = await fetch(url.split('?')[0]!, { method: 'POST', body: form, redirect: 'manual' });
    const loc = new URL(res.headers.get('location')!);
    assert.equal(loc.searchParams.get('error'), 'access_denied');
    assert.equal(loc.searchParams.get('state'), 's1');
  });

  it('Graph answers 401 InvalidAuthenticationToken for missing, malformed, revoked and expired tokens', async () => {
    const missing = await graph(env.emu, null, 'GET', `/users/${env.adele.id}`);
    assert.equal(missing.status, 401);
    assert.equal(missing.json.error.code, 'InvalidAuthenticationToken');
    assert.match(missing.headers.get('www-authenticate') ?? '', /^Bearer /);
    assert.equal((await graph(env.emu, 'not-a-token', 'GET', `/users/${env.adele.id}`)).status, 401);
    // a token signed by another emulator instance is rejected too
    const forged = env.appToken.split('.').slice(0, 2).join('.') + '.AAAA';
    assert.equal((await graph(env.emu, forged, 'GET', `/users/${env.adele.id}`)).status, 401);

    const revoked = env.emu.control.issueAppToken(env.seed.app.clientId);
    assert.equal((await graph(env.emu, revoked, 'GET', `/users/${env.adele.id}`)).status, 200);
    assert.ok(env.emu.control.revokeAccessToken(revoked));
    const r = await graph(env.emu, revoked, 'GET', `/users/${env.adele.id}`);
    assert.equal(r.status, 401);
    assert.match(r.json.error.message, /revoked/);

    const expiring = env.emu.control.issueAppToken(env.seed.app.clientId);
    env.emu.control.advanceClock({ minutes: 61 });
    const e = await graph(env.emu, expiring, 'GET', `/users/${env.adele.id}`);
    assert.equal(e.status, 401);
    assert.match(e.json.error.message, /Lifetime validation failed/);
  });

  async function tokenRequest(params: Record<string, string>): Promise<{ status: number; json: any }> {
    const res = await fetch(`${env.emu.url}/${env.seed.tenant.id}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({ client_id: env.seed.app.clientId, client_secret: env.seed.app.clientSecret, ...params }),
    });
    return { status: res.status, json: await res.json() };
  }
});

function refreshTokenIn(cca: ConfidentialClientApplication): string | undefined {
  const cache = JSON.parse(cca.getTokenCache().serialize()) as { RefreshToken: Record<string, { secret: string }> };
  return Object.values(cache.RefreshToken)[0]?.secret;
}

function decodeHtml(s: string): string {
  return s.replace(/&#(\d+);/g, (_m, n: string) => String.fromCharCode(Number(n)));
}
