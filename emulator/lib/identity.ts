/**
 * Microsoft identity platform (Entra ID v2 endpoints) as @azure/msal-node uses them: OpenID discovery, keys,
 * instance discovery, the token endpoint (client credentials, authorization code + PKCE, refresh token) and a
 * minimal sign-in page at /authorize.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { EmulatorContext } from './context.js';
import type { AppRecord, TenantRecord, UserRecord } from './directory.js';
import { OAuthError } from './errors.js';
import { guid } from './ids.js';
import { GRAPH_APP_ID, GRAPH_RESOURCE } from './tokens.js';
import { createHash } from 'node:crypto';

const OIDC_SCOPES = new Set(['openid', 'profile', 'email', 'offline_access']);
const MULTI_TENANT = new Set(['common', 'organizations', 'consumers']);
/** Delegated permissions granted when a client asks for https://graph.microsoft.com/.default. */
const DEFAULT_DELEGATED = ['Calendars.ReadWrite', 'User.Read'];

export const baseUrlOf = (req: FastifyRequest): string => `${req.protocol}://${req.host}`;

const splitScopes = (s: string | undefined): string[] => (s ?? '').split(/\s+/).filter(Boolean);

/** Graph permission names from requested scopes; throws invalid_scope for other resources. */
function graphScopeNames(scopes: string[]): string[] {
  const out = new Set<string>();
  for (const s of scopes) {
    if (OIDC_SCOPES.has(s.toLowerCase())) continue;
    const lower = s.toLowerCase();
    let name = s;
    for (const prefix of [`${GRAPH_RESOURCE}/`, `${GRAPH_APP_ID}/`]) if (lower.startsWith(prefix)) name = s.slice(prefix.length);
    if (name.includes('/') || name.includes(':')) {
      throw new OAuthError(400, 'invalid_scope', 70011, `The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope ${s} is not valid.`);
    }
    if (name === '.default') DEFAULT_DELEGATED.forEach((d) => out.add(d));
    else out.add(name);
  }
  return [...out];
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function sendOAuthError(reply: FastifyReply, err: OAuthError): FastifyReply {
  const now = new Date();
  const trace = guid();
  const correlation = guid();
  return reply
    .code(err.status)
    .header('cache-control', 'no-store, no-cache')
    .header('pragma', 'no-cache')
    .send({
      error: err.error,
      error_description: `AADSTS${err.aadsts}: ${err.description} Trace ID: ${trace} Correlation ID: ${correlation} Timestamp: ${now.toISOString().replace('T', ' ').replace('Z', 'Z')}`,
      error_codes: [err.aadsts],
      timestamp: now.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
      trace_id: trace,
      correlation_id: correlation,
      error_uri: `https://login.microsoftonline.com/error?code=${err.aadsts}`,
    });
}

function openIdConfiguration(base: string, tenantSegment: string, tenant: TenantRecord | undefined): Record<string, unknown> {
  const seg = tenant ? tenant.id : tenantSegment;
  return {
    token_endpoint: `${base}/${seg}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${base}/${seg}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${base}/${tenant ? tenant.id : '{tenantid}'}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${base}/oidc/userinfo`,
    authorization_endpoint: `${base}/${seg}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/${seg}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/${seg}/oauth2/v2.0/logout`,
    claims_supported: ['sub', 'iss', 'cloud_instance_name', 'cloud_instance_host_name', 'cloud_graph_host_name', 'msgraph_host', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'preferred_username', 'name', 'tid', 'ver', 'at_hash', 'c_hash', 'email'],
    kerberos_endpoint: `${base}/${seg}/kerberos`,
    tenant_region_scope: 'EU',
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
    rbac_url: 'https://pas.windows.net',
  };
}

export function registerIdentityRoutes(app: FastifyInstance, ctx: EmulatorContext): void {
  const { directory, tokens, clock, settings } = ctx;
  const tokenNow = (): number => (settings.tokensFollowClock ? clock.now() : Date.now());

  /** Tenant of an authority path segment; undefined for common/organizations; throws for unknown tenants. */
  const tenantOf = (segment: string): TenantRecord | undefined => {
    if (MULTI_TENANT.has(segment.toLowerCase())) return undefined;
    const t = directory.findTenant(segment);
    if (!t) {
      throw new OAuthError(400, 'invalid_tenant', 90002, `Tenant '${segment}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`);
    }
    return t;
  };

  const appIn = (clientId: string | undefined, tenant: TenantRecord | undefined): AppRecord => {
    if (!clientId) throw new OAuthError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'client_id'.");
    const a = directory.apps.get(clientId);
    if (!a || (tenant && a.tenantId !== tenant.id)) {
      throw new OAuthError(400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${tenant?.domain ?? 'common'}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`);
    }
    return a;
  };

  const handle = async (reply: FastifyReply, fn: () => Promise<unknown> | unknown): Promise<unknown> => {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof OAuthError) return sendOAuthError(reply, e);
      throw e;
    }
  };

  for (const path of ['/:tenant/v2.0/.well-known/openid-configuration', '/:tenant/.well-known/openid-configuration']) {
    app.get<{ Params: { tenant: string } }>(path, async (req, reply) =>
      handle(reply, () => reply.send(openIdConfiguration(baseUrlOf(req), req.params.tenant, tenantOf(req.params.tenant)))),
    );
  }
  for (const path of ['/:tenant/discovery/v2.0/keys', '/:tenant/discovery/keys']) app.get(path, async () => tokens.jwks());

  // Instance discovery (MSAL calls Microsoft's own host for it unless knownAuthorities is set; served for other clients).
  app.get<{ Params: { tenant: string } }>('/:tenant/discovery/instance', async (req) => {
    const host = req.host;
    return {
      tenant_discovery_endpoint: `${baseUrlOf(req)}/${req.params.tenant}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    };
  });

  /* ---------------- token endpoint ---------------- */

  app.post<{ Params: { tenant: string } }>('/:tenant/oauth2/v2.0/token', async (req, reply) =>
    handle(reply, () => {
      const body = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, string | undefined>;
      const tenant = tenantOf(req.params.tenant);
      let clientId = body.client_id;
      let secret = body.client_secret;
      const basic = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? '');
      if (basic) {
        const [id, sec] = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':');
        clientId = clientId ?? decodeURIComponent(id ?? '');
        secret = secret ?? decodeURIComponent(sec ?? '');
      }
      const grant = body.grant_type;
      if (!grant) throw new OAuthError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'grant_type'.");
      if (!['client_credentials', 'authorization_code', 'refresh_token'].includes(grant)) {
        throw new OAuthError(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grant}'.`);
      }
      if (grant === 'client_credentials' && !tenant) {
        throw new OAuthError(400, 'invalid_request', 50059, 'No tenant-identifying information found in either the request or implied by any provided credentials.');
      }
      const appRec = appIn(clientId, grant === 'client_credentials' ? tenant : undefined);
      if (!secret) {
        if (body.client_assertion) throw new OAuthError(401, 'invalid_client', 700027, 'Client assertions are not supported by the Graph emulator; use a client secret.');
        throw new OAuthError(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
      }
      if (secret === appRec.clientSecret && appRec.secretExpired) {
        throw new OAuthError(401, 'invalid_client', 7000222, `The provided client secret keys for app '${appRec.clientId}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.`);
      }
      if (secret !== appRec.clientSecret) {
        throw new OAuthError(401, 'invalid_client', 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${appRec.clientId}'.`);
      }
      reply.header('cache-control', 'no-store, no-cache').header('pragma', 'no-cache');
      const lifetime = settings.accessTokenLifetimeSec;

      if (grant === 'client_credentials') {
        const scopes = splitScopes(body.scope).filter((s) => !OIDC_SCOPES.has(s.toLowerCase()));
        const ok = scopes.length === 1 && [`${GRAPH_RESOURCE}/.default`, `${GRAPH_APP_ID}/.default`, 'https://graph.microsoft.com//.default'].includes(scopes[0]!.toLowerCase());
        if (!ok) {
          throw new OAuthError(400, 'invalid_scope', 1002012, `The provided value for scope ${body.scope ?? ''} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`);
        }
        const { token } = tokens.issueAppToken(appRec);
        return reply.send({ token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: token });
      }

      let user: UserRecord;
      let scopes: string[];
      let nonce: string | null = null;
      const requested = splitScopes(body.scope);
      if (grant === 'authorization_code') {
        const rec = body.code ? tokens.codes.get(body.code) : undefined;
        if (!rec || rec.appId !== appRec.clientId) {
          throw new OAuthError(400, 'invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid. The authorization code is unknown.');
        }
        if (rec.redeemed) throw new OAuthError(400, 'invalid_grant', 54005, 'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.');
        if (tokenNow() >= rec.expiresAt) throw new OAuthError(400, 'invalid_grant', 70008, 'The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.');
        if ((body.redirect_uri ?? '') !== rec.redirectUri) {
          throw new OAuthError(400, 'invalid_grant', 50148, 'The redirect_uri of the token request does not match the one used in the authorization request.');
        }
        if (rec.codeChallenge) {
          const verifier = body.code_verifier ?? '';
          const computed = rec.codeChallengeMethod === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier;
          if (!verifier || computed !== rec.codeChallenge) {
            throw new OAuthError(400, 'invalid_grant', 501481, 'The Code_Verifier does not match the code_challenge supplied in the authorization request.');
          }
        }
        rec.redeemed = true;
        const u = directory.users.get(rec.userId);
        if (!u) throw new OAuthError(400, 'invalid_grant', 50034, 'The user account does not exist in the directory.');
        user = u;
        scopes = requested.length ? requested : rec.scopes;
        nonce = rec.nonce;
      } else {
        const rec = body.refresh_token ? tokens.refreshTokens.get(body.refresh_token) : undefined;
        if (!rec || rec.appId !== appRec.clientId) {
          throw new OAuthError(400, 'invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid. The refresh token is unknown.');
        }
        if (rec.revoked) throw new OAuthError(400, 'invalid_grant', 50173, 'The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.');
        if (tokenNow() >= rec.expiresAt) throw new OAuthError(400, 'invalid_grant', 700082, 'The refresh token has expired due to inactivity. The token was issued on ' + new Date(rec.issuedAt).toISOString() + ' and was inactive for 90.00:00:00.');
        if (settings.singleUseRefreshTokens && rec.redeemedAt !== null) {
          throw new OAuthError(400, 'invalid_grant', 70000, 'The provided refresh token was already used (single-use refresh tokens are enabled in the emulator).');
        }
        rec.redeemedAt = tokenNow();
        const u = directory.users.get(rec.userId);
        if (!u) throw new OAuthError(400, 'invalid_grant', 50034, 'The user account does not exist in the directory.');
        user = u;
        scopes = requested.length ? requested : rec.scopes;
      }
      if (tenant && user.tenantId !== tenant.id) {
        throw new OAuthError(400, 'invalid_grant', 50020, `User account '${user.userPrincipalName}' from identity provider does not exist in tenant '${tenant.displayName}'.`);
      }
      const graphNames = graphScopeNames(scopes);
      const { token } = tokens.issueUserToken(appRec, user, graphNames);
      const lower = scopes.map((s) => s.toLowerCase());
      const out: Record<string, unknown> = {
        token_type: 'Bearer',
        scope: scopes.filter((s) => s.toLowerCase() !== 'offline_access').join(' '),
        expires_in: lifetime,
        ext_expires_in: lifetime,
        access_token: token,
      };
      if (lower.includes('offline_access')) out.refresh_token = tokens.issueRefreshToken(appRec, user, scopes).token;
      if (lower.includes('openid')) out.id_token = tokens.idToken(appRec, user, baseUrlOf(req), nonce);
      if (body.client_info === '1') out.client_info = tokens.clientInfo(user);
      return reply.send(out);
    }),
  );

  /* ---------------- sign-in page ---------------- */

  type AuthorizeParams = Record<string, string | undefined>;

  const redirectWith = (reply: FastifyReply, p: AuthorizeParams, values: Record<string, string>): FastifyReply => {
    const redirectUri = p.redirect_uri!;
    const all = { ...values, ...(p.state !== undefined ? { state: p.state } : {}) };
    if (p.response_mode === 'form_post') {
      const inputs = Object.entries(all)
        .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
        .join('');
      return reply
        .type('text/html; charset=utf-8')
        .send(`<!doctype html><html><body onload="document.forms[0].submit()"><form method="post" action="${escapeHtml(redirectUri)}">${inputs}<noscript><button>Continue</button></noscript></form></body></html>`);
    }
    const qs = new URLSearchParams(all).toString();
    const sep = p.response_mode === 'fragment' ? '#' : redirectUri.includes('?') ? '&' : '?';
    return reply.redirect(`${redirectUri}${sep}${qs}`, 302);
  };

  /** Validates client_id/redirect_uri (errors shown on the page, never redirected). */
  const checkClient = (tenantSeg: string, p: AuthorizeParams): { app: AppRecord; tenant: TenantRecord | undefined } => {
    const tenant = tenantOf(tenantSeg);
    const appRec = appIn(p.client_id, undefined);
    if (tenant && appRec.tenantId !== tenant.id) appIn(p.client_id, tenant);
    if (!p.redirect_uri) throw new OAuthError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'redirect_uri'.");
    if (appRec.redirectUris.length && !appRec.redirectUris.includes(p.redirect_uri)) {
      throw new OAuthError(400, 'invalid_request', 50011, `The redirect URI '${p.redirect_uri}' specified in the request does not match the redirect URIs configured for the application '${appRec.clientId}'.`);
    }
    return { app: appRec, tenant };
  };

  const candidates = (appRec: AppRecord, tenant: TenantRecord | undefined): UserRecord[] =>
    tenant ? directory.usersOf(tenant.id) : [...directory.users.values()].filter((u) => u.tenantId === appRec.tenantId || directory.tenants.has(u.tenantId));

  const issueCodeAndRedirect = (reply: FastifyReply, p: AuthorizeParams, appRec: AppRecord, user: UserRecord): FastifyReply => {
    const code = tokens.issueCode({
      appId: appRec.clientId,
      userId: user.id,
      tenantId: user.tenantId,
      redirectUri: p.redirect_uri!,
      scopes: splitScopes(p.scope),
      nonce: p.nonce ?? null,
      codeChallenge: p.code_challenge ?? null,
      codeChallengeMethod: p.code_challenge ? (p.code_challenge_method ?? 'plain') : null,
    });
    const values: Record<string, string> = { code: code.code, session_state: guid() };
    if (p.client_info === '1') values.client_info = tokens.clientInfo(user);
    return redirectWith(reply, p, values);
  };

  const errorPage = (reply: FastifyReply, e: OAuthError): FastifyReply =>
    reply
      .code(e.status)
      .type('text/html; charset=utf-8')
      .send(`<!doctype html><html><head><title>Sign in error</title></head><body><h1>Sorry, but we’re having trouble signing you in.</h1><p>AADSTS${e.aadsts}: ${escapeHtml(e.description)}</p></body></html>`);

  app.get<{ Params: { tenant: string }; Querystring: AuthorizeParams }>('/:tenant/oauth2/v2.0/authorize', async (req, reply) => {
    const p = req.query;
    let checked: { app: AppRecord; tenant: TenantRecord | undefined };
    try {
      checked = checkClient(req.params.tenant, p);
    } catch (e) {
      if (e instanceof OAuthError) return errorPage(reply, e);
      throw e;
    }
    if (p.response_type !== 'code') {
      return redirectWith(reply, p, { error: 'unsupported_response_type', error_description: `AADSTS700054: response_type '${p.response_type ?? ''}' is not enabled for the application.` });
    }
    const users = candidates(checked.app, checked.tenant);
    const hinted = p.login_hint ? users.find((u) => u.userPrincipalName === p.login_hint!.toLowerCase() || u.mail === p.login_hint!.toLowerCase() || u.id === p.login_hint) : undefined;
    if (p.prompt === 'none') {
      if (hinted) return issueCodeAndRedirect(reply, p, checked.app, hinted);
      return redirectWith(reply, p, { error: 'login_required', error_description: 'AADSTS50058: A silent sign-in request was sent but no user is signed in.' });
    }
    const hidden = Object.entries(p)
      .filter(([, v]) => typeof v === 'string')
      .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v!)}">`)
      .join('');
    const rows = users
      .map(
        (u) =>
          `<li><button name="user_id" value="${escapeHtml(u.id)}" data-upn="${escapeHtml(u.userPrincipalName)}"${hinted?.id === u.id ? ' autofocus' : ''}><b>${escapeHtml(u.displayName)}</b><br><small>${escapeHtml(u.userPrincipalName)}</small></button></li>`,
      )
      .join('');
    const scopes = splitScopes(p.scope).map((s) => `<li>${escapeHtml(s)}</li>`).join('');
    return reply.type('text/html; charset=utf-8').send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to your account</title>
<style>body{font-family:Segoe UI,system-ui,sans-serif;background:#f2f2f2;margin:0}main{max-width:440px;margin:48px auto;background:#fff;padding:44px;box-shadow:0 2px 6px rgba(0,0,0,.2)}
ul{list-style:none;padding:0}li{margin:6px 0}button{width:100%;text-align:left;padding:10px;border:1px solid #ccc;background:#fff;cursor:pointer}button:hover{background:#eef}
.note{color:#666;font-size:12px}</style></head>
<body><main><p class="note">Microsoft Graph emulator</p><h1>Pick an account</h1>
<p><b>${escapeHtml(checked.app.displayName)}</b> asks for:</p><ul class="note">${scopes}</ul>
<form method="post">${hidden}<ul id="accounts">${rows || '<li>No users in this tenant. Create one with POST /_control/users.</li>'}</ul>
<p><button name="action" value="cancel" id="cancel">Cancel</button></p></form></main></body></html>`);
  });

  app.post<{ Params: { tenant: string } }>('/:tenant/oauth2/v2.0/authorize', async (req, reply) => {
    const p = (req.body && typeof req.body === 'object' ? req.body : {}) as AuthorizeParams;
    let checked: { app: AppRecord; tenant: TenantRecord | undefined };
    try {
      checked = checkClient(req.params.tenant, p);
    } catch (e) {
      if (e instanceof OAuthError) return errorPage(reply, e);
      throw e;
    }
    if (p.action === 'cancel') {
      return redirectWith(reply, p, { error: 'access_denied', error_description: 'AADSTS65004: User declined to consent to access the app.' });
    }
    const user = p.user_id ? candidates(checked.app, checked.tenant).find((u) => u.id === p.user_id || u.userPrincipalName === p.user_id!.toLowerCase()) : undefined;
    if (!user) return errorPage(reply, new OAuthError(400, 'invalid_request', 50034, 'The user account does not exist in the directory.'));
    const failure = checked.app.signInFailure;
    if (failure && failure.remaining > 0) {
      if (--failure.remaining === 0) checked.app.signInFailure = undefined;
      return redirectWith(reply, p, { error: failure.error, error_description: failure.description });
    }
    return issueCodeAndRedirect(reply, p, checked.app, user);
  });

  app.get<{ Params: { tenant: string }; Querystring: Record<string, string | undefined> }>('/:tenant/oauth2/v2.0/logout', async (req, reply) => {
    const target = req.query.post_logout_redirect_uri;
    if (target) return reply.redirect(target, 302);
    return reply.type('text/html; charset=utf-8').send('<!doctype html><html><body><h1>You signed out of your account</h1></body></html>');
  });
}
