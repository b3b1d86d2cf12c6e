/**
 * Why no Microsoft token could be had, and whose it is to fix. MSAL reports the identity platform's refusals with an
 * OAuth error code (invalid_client, invalid_grant, ...) and an AADSTS number in the description; network failures
 * lose their cause, so an untrusted certificate is found by one probe of the authority.
 *
 *   operator  calbridge's app credentials or setup: wrong or expired client secret, unknown app or tenant, a disabled
 *             app, an untrusted TLS certificate toward Microsoft. No member sign-in fixes these.
 *   member    the member's own sign-in was refused (revoked, expired, password changed, MFA or consent needed).
 *   null      passing (Microsoft unavailable, network): retried.
 */
import { GraphAuthError, GraphError, type ActionBy } from './graph-errors.js';

/** What an operator does about the AADSTS errors that are theirs (Microsoft's error code reference). */
const OPERATOR_HINTS: Record<string, string> = {
  '7000215': "GRAPH_CLIENT_SECRET is not a valid secret of the app: set it to the secret's Value (not its Secret ID) and restart calbridge",
  '7000222': 'the client secret has expired: create a new one (Entra admin center, App registrations, Certificates & secrets), set GRAPH_CLIENT_SECRET and restart calbridge',
  '7000218': 'no client secret was sent: set GRAPH_CLIENT_SECRET',
  '700016': 'GRAPH_CLIENT_ID is not an application of the tenant GRAPH_TENANT_ID (a wrong id or tenant, or the app was never consented to there)',
  '7000112': 'the application is disabled in the tenant: an administrator must enable it',
  '90002': 'GRAPH_TENANT_ID names no tenant (or the wrong cloud: GRAPH_AUTHORITY_HOST)',
  '50194': 'the app registration is single-tenant but the tenant is another: make it multi-tenant, or set GRAPH_TENANT_ID to the members\u2019 tenant',
};

/** OAuth error codes that say the client (calbridge's app) or its request is wrong. */
const OPERATOR_CODES = new Set(['invalid_client', 'unauthorized_client', 'invalid_tenant', 'invalid_scope', 'unsupported_grant_type', 'invalid_request']);
/** Codes that say the member's grant is refused or needs the member (MSAL's own included). */
const MEMBER_CODES = new Set([
  'invalid_grant', 'interaction_required', 'consent_required', 'login_required', 'no_tokens_found', 'no_account_in_silent_request',
  'refresh_token_expired', 'bad_token', 'native_account_unavailable',
]);
const PASSING_CODES = new Set(['temporarily_unavailable', 'server_error']);
const NETWORK_CODES = new Set(['network_error', 'endpoints_resolution_error', 'openid_config_error', 'untrusted_authority']);

const CERTIFICATE_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE', 'CERT_REVOKED', 'ERR_SSL_WRONG_VERSION_NUMBER',
]);

/** The TLS certificate error code in an error's cause chain (fetch wraps it: TypeError "fetch failed" → cause). */
export function certificateProblem(raw: unknown): string | undefined {
  let e = raw as { code?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; e && depth < 5; depth++) {
    if (typeof e.code === 'string' && CERTIFICATE_CODES.has(e.code)) return e.code;
    e = e.cause as typeof e;
  }
  return undefined;
}

export type TokenFailure = GraphError & { summary: string };

export interface TokenContext {
  kind: 'app' | 'delegated';
  mailbox: string;
  authorityHost: string;
}

/** Microsoft's description without its trace and correlation ids and timestamps. */
function description(e: { errorMessage?: string; message?: string }): string {
  const text = (e.errorMessage || e.message || '').replace(/\s+/g, ' ');
  return text.replace(/\s*Trace ID:.*$/i, '').replace(/,?\s*additionalErrorInfo:.*$/i, '').trim().slice(0, 500);
}

function failure(err: GraphError, summary: string): TokenFailure {
  return Object.assign(err, { summary });
}

/** Classifies an MSAL failure into a GraphError that says whose it is (see the file's comment). */
export async function describeTokenFailure(raw: unknown, ctx: TokenContext): Promise<TokenFailure> {
  const e = (raw ?? {}) as { errorCode?: string; errorMessage?: string; message?: string; name?: string; status?: number; subError?: string };
  const code = e.errorCode || undefined;
  const said = description(e);
  const aadsts = /AADSTS(\d+)/.exec(said)?.[1];
  const codes = [code, aadsts && `AADSTS${aadsts}`].filter(Boolean).join(', ');

  if (e.name === 'NetworkError' || (code && NETWORK_CODES.has(code)) || certificateProblem(raw)) {
    const cert = certificateProblem(raw) ?? (await probeCertificate(ctx.authorityHost));
    const host = safeHost(ctx.authorityHost);
    if (cert) {
      return failure(new GraphAuthError(`operator: the TLS certificate of ${host} is not trusted (${cert}): a TLS-inspecting proxy or a missing CA? Add its CA with NODE_EXTRA_CA_CERTS and restart calbridge`, 0, cert, 'operator'),
        `the TLS certificate of the sign-in host is not trusted (${cert})`);
    }
    return failure(new GraphError(`no Microsoft token for ${ctx.mailbox || 'the app'}: ${host} could not be reached (${said || code || 'network error'})`, 0, code), 'network');
  }
  const status = typeof e.status === 'number' ? e.status : undefined;
  if ((code && PASSING_CODES.has(code)) || (status !== undefined && status >= 500)) {
    return failure(new GraphError(`no Microsoft token for ${ctx.mailbox || 'the app'}: Microsoft is unavailable (${codes}: ${said})`, status ?? 0, code), 'unavailable');
  }
  const hint = aadsts ? OPERATOR_HINTS[aadsts] : undefined;
  const operator = Boolean(hint) || (code !== undefined && OPERATOR_CODES.has(code));
  const member = !operator && ((code !== undefined && MEMBER_CODES.has(code)) || (e.subError !== undefined && MEMBER_CODES.has(e.subError)));
  // Anything else the identity platform refused: on the app's own token it is the app's, on a member's the member's.
  const actionBy: ActionBy = operator ? 'operator' : member ? 'member' : ctx.kind === 'app' ? 'operator' : 'member';
  if (actionBy === 'operator') {
    return failure(new GraphAuthError(
      `operator: Microsoft refused calbridge's app credentials (${codes || 'no code'}): ${hint ?? 'check GRAPH_TENANT_ID, GRAPH_CLIENT_ID, GRAPH_CLIENT_SECRET and the app registration'}; then run RENEW_SUBSCRIPTION on the failed records. Microsoft said: ${said}`,
      401, code, 'operator'), `the app's credentials are refused (${codes || 'no code'})`);
  }
  return failure(new GraphAuthError(
    `member: Microsoft refused the sign-in of ${ctx.mailbox || 'the member'} (${codes || 'no code'}): the member must sign in again. Microsoft said: ${said}`,
    401, code, 'member'), 'member sign-in refused');
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** One request to a host that could not be reached: answers the certificate error code when TLS is what fails. */
export async function probeCertificate(authorityHost: string): Promise<string | undefined> {
  try {
    await fetch(authorityHost, { method: 'HEAD', signal: AbortSignal.timeout(5_000) });
    return undefined;
  } catch (err) {
    return certificateProblem(err);
  }
}
