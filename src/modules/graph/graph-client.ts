/**
 * The one Microsoft Graph client: tokens through @azure/msal-node (app-only per tenant, delegated per member with a
 * sealed per-connection token cache), calls through @microsoft/microsoft-graph-client, retries that honour
 * Retry-After with exponential back-off on 429/503/504, a fresh token once on 401, at most 4 concurrent requests per
 * mailbox, and typed errors instead of raw HTTP.
 */
import { ConfidentialClientApplication, type ICachePlugin, type TokenCacheContext } from '@azure/msal-node';
import { AuthenticationHandler, Client, GraphError as SdkGraphError, HTTPMessageHandler } from '@microsoft/microsoft-graph-client';
import { GraphAuthError, GraphError, GraphThrottledError, graphErrorFor, parseRetryAfter } from './graph-errors.js';
import { certificateProblem, describeTokenFailure, probeCertificate } from './token-failures.js';
import { MailboxLimiter } from './mailbox-limiter.js';

export interface GraphEndpoints {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** e.g. https://login.microsoftonline.com */
  authorityHost: string;
  /** e.g. https://graph.microsoft.com */
  graphBaseUrl: string;
}

/** Where a delegated connection keeps its MSAL token cache (sealed at rest by the caller). */
export interface TokenCacheStore {
  load(): Promise<string | null>;
  save(serialized: string): Promise<void>;
}

export type GraphAuth =
  | { kind: 'app'; mailbox: string }
  | { kind: 'delegated'; mailbox: string; connectionKey: string; cache: TokenCacheStore };

export interface RetryPolicy {
  maxAttempts: number;
  /** Back-off without Retry-After: base × 2^(attempt-1). */
  baseDelayMs: number;
  /** A Retry-After longer than this is not waited for in-process: the error goes up and the job queue retries later. */
  maxWaitMs: number;
}

export const APP_SCOPES = ['https://graph.microsoft.com/.default'];
export const DELEGATED_SCOPES = ['Calendars.ReadWrite', 'offline_access'];

interface Logger {
  warn(obj: object, msg?: string): void;
}

const MICROSOFT_HOSTS = new Set(['login.microsoftonline.com', 'graph.microsoft.com']);

/** The last refusal of calbridge's own app credentials (or TLS trust) this client saw; null once a token came again. */
export interface CredentialsProblem {
  /** Short and free of tenant details: what /readyz shows. */
  summary: string;
  /** The whole explanation (the connections' LastError carries it too). */
  message: string;
}

export class GraphClient {
  readonly limiter: MailboxLimiter;
  private readonly app: ConfidentialClientApplication;
  private readonly delegatedApps = new Map<string, ConfidentialClientApplication>();
  private readonly customHosts: Set<string>;
  private readonly retry: RetryPolicy;
  private problem: CredentialsProblem | null = null;

  constructor(
    private readonly endpoints: GraphEndpoints,
    private readonly log: Logger,
    options: { retry?: Partial<RetryPolicy>; perMailbox?: number; sleep?: (ms: number) => Promise<void> } = {},
  ) {
    this.limiter = new MailboxLimiter(options.perMailbox ?? 4);
    this.retry = { maxAttempts: 6, baseDelayMs: 500, maxWaitMs: 30_000, ...options.retry };
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    const graphHost = new URL(endpoints.graphBaseUrl).hostname;
    this.customHosts = new Set(MICROSOFT_HOSTS.has(graphHost) ? [] : [graphHost]);
    this.app = this.newMsalApp();
  }

  private readonly sleep: (ms: number) => Promise<void>;

  /** What /readyz reports: Microsoft refused the app's own credentials, or its certificate is not trusted. */
  get credentialsProblem(): CredentialsProblem | null {
    return this.problem;
  }

  private noteProblem(err: GraphError, summary: string): void {
    if (this.problem?.message !== err.message) this.log.warn({ problem: summary }, err.message);
    this.problem = { summary, message: err.message };
  }

  /** A Graph call for a mailbox. `path` is relative to /v1.0 (e.g. "/subscriptions") or a full nextLink/deltaLink URL. */
  async call<T = unknown>(auth: GraphAuth, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    return this.limiter.run(auth.mailbox.toLowerCase(), async () => {
      let refreshed = false;
      for (let attempt = 1; ; attempt++) {
        const token = await this.accessToken(auth, refreshed);
        try {
          return (await this.send(token, method, path, body, headers)) as T;
        } catch (raw) {
          const err = await this.toGraphError(raw);
          if (err instanceof GraphAuthError && err.status === 401 && !refreshed) {
            refreshed = true; // a cached token the server no longer takes (expired or revoked): one fresh try
            continue;
          }
          if (err instanceof GraphAuthError && err.status === 401 && auth.kind === 'app') {
            // A fresh app-only token refused by Graph: the app's credentials, not a member's sign-in. It is retried (a
            // clock jump between a token's issue and its use looks the same, and passes), and /readyz shows it meanwhile.
            const refused = new GraphError(`Microsoft Graph refused a fresh app-only token of calbridge (${err.message}); if it lasts, check the app registration's application permissions and admin consent`, 401, err.code);
            this.noteProblem(refused, `Graph refuses the app's token (${err.code ?? '401'})`);
            throw refused;
          }
          if (err instanceof GraphThrottledError && attempt < this.retry.maxAttempts) {
            const wait = err.retryAfterMs ?? this.retry.baseDelayMs * 2 ** (attempt - 1);
            if (wait <= this.retry.maxWaitMs) {
              this.log.warn({ mailbox: auth.mailbox, status: err.status, waitMs: wait, attempt }, 'Graph throttled; retrying');
              await this.sleep(wait);
              continue;
            }
          }
          throw err;
        }
      }
    });
  }

  /** Exchanges an authorization code (member sign-in) and stores the member's token cache. Returns the account's UPN. */
  async redeemCode(connectionKey: string, cache: TokenCacheStore, code: string, redirectUri: string, codeVerifier?: string): Promise<string> {
    const cca = this.delegatedApp(connectionKey, cache);
    try {
      const result = await cca.acquireTokenByCode({ code, redirectUri, scopes: DELEGATED_SCOPES, codeVerifier });
      return result.account?.username ?? '';
    } catch (err) {
      const failure = await describeTokenFailure(err, { kind: 'delegated', mailbox: '', authorityHost: this.endpoints.authorityHost });
      if (failure.actionBy === 'operator') this.noteProblem(failure, failure.summary);
      throw new GraphAuthError(`sign-in code refused: ${failure.message}`, 400, failure.code, failure.actionBy ?? 'member');
    }
  }

  /** The sign-in URL a member is sent to. */
  async authCodeUrl(o: { redirectUri: string; state: string; loginHint?: string; prompt?: 'none' | 'login' | 'select_account'; codeChallenge?: string }): Promise<string> {
    return this.app.getAuthCodeUrl({
      scopes: DELEGATED_SCOPES, redirectUri: o.redirectUri, state: o.state, loginHint: o.loginHint, prompt: o.prompt,
      ...(o.codeChallenge ? { codeChallenge: o.codeChallenge, codeChallengeMethod: 'S256' } : {}),
    });
  }

  private async send(token: string, method: string, path: string, body: unknown, headers: Record<string, string>): Promise<unknown> {
    const auth = new AuthenticationHandler({ getAccessToken: async () => token });
    auth.setNext(new HTTPMessageHandler());
    const client = Client.initWithMiddleware({ baseUrl: `${this.endpoints.graphBaseUrl}/`, customHosts: this.customHosts, middleware: auth });
    const request = client.api(path).headers(headers);
    switch (method) {
      case 'GET': return request.get();
      case 'POST': return request.post(body ?? {});
      case 'PATCH': return request.patch(body ?? {});
      case 'DELETE': return request.delete();
      default: throw new Error(`unsupported method ${method}`);
    }
  }

  private async toGraphError(raw: unknown): Promise<GraphError> {
    if (raw instanceof GraphError) return raw;
    // The SDK reports a failed fetch as status -1 without its cause: one probe tells an untrusted certificate apart.
    const unreachable = !(raw instanceof SdkGraphError) || raw.statusCode <= 0;
    const cert = unreachable ? certificateProblem(raw) ?? (await probeCertificate(this.endpoints.graphBaseUrl)) : undefined;
    if (raw instanceof SdkGraphError && !cert) {
      const headers = (raw as unknown as { headers?: Headers }).headers;
      const retryAfter = parseRetryAfter(headers?.get?.('retry-after'));
      return graphErrorFor(raw.statusCode, { error: { code: raw.code ?? undefined, message: raw.message } }, retryAfter);
    }
    if (cert) {
      const err = new GraphError(`operator: the TLS certificate of ${new URL(this.endpoints.graphBaseUrl).host} is not trusted (${cert}): a TLS-inspecting proxy or a missing CA? Add its CA with NODE_EXTRA_CA_CERTS and restart`, 0, cert, 'operator');
      this.noteProblem(err, `the TLS certificate of Graph is not trusted (${cert})`);
      return err;
    }
    return new GraphError(`Graph request failed: ${(raw as Error)?.message ?? String(raw)}`, 0, undefined);
  }

  private async accessToken(auth: GraphAuth, forceRefresh: boolean): Promise<string> {
    try {
      if (auth.kind === 'app') {
        const r = await this.app.acquireTokenByClientCredential({ scopes: APP_SCOPES, skipCache: forceRefresh });
        if (!r?.accessToken) throw new Error('no access token');
        if (!r.fromCache) this.problem = null; // Microsoft took the app's credentials just now
        return r.accessToken;
      }
      const cca = this.delegatedApp(auth.connectionKey, auth.cache);
      const [account] = await cca.getTokenCache().getAllAccounts();
      if (!account) throw new GraphAuthError(`member: no sign-in is stored for ${auth.mailbox}: the member must sign in again`, 401, 'no_account', 'member');
      const r = await cca.acquireTokenSilent({ account, scopes: DELEGATED_SCOPES, forceRefresh });
      if (!r.fromCache) this.problem = null; // a refresh also presents the app's credentials
      return r.accessToken;
    } catch (err) {
      if (err instanceof GraphError) throw err;
      const failure = await describeTokenFailure(err, { kind: auth.kind, mailbox: auth.mailbox, authorityHost: this.endpoints.authorityHost });
      if (failure.actionBy === 'operator') this.noteProblem(failure, failure.summary);
      throw failure;
    }
  }

  private newMsalApp(cachePlugin?: ICachePlugin): ConfidentialClientApplication {
    const { tenantId, clientId, clientSecret, authorityHost } = this.endpoints;
    const host = new URL(authorityHost).host;
    return new ConfidentialClientApplication({
      auth: {
        clientId,
        clientSecret,
        authority: `${authorityHost}/${tenantId}`,
        // A non-Microsoft authority (the emulator, a sovereign cloud proxy) must be declared, or MSAL asks
        // login.microsoftonline.com for instance discovery.
        ...(MICROSOFT_HOSTS.has(new URL(authorityHost).hostname) ? {} : { knownAuthorities: [host] }),
      },
      ...(cachePlugin ? { cache: { cachePlugin } } : {}),
    });
  }

  private delegatedApp(connectionKey: string, store: TokenCacheStore): ConfidentialClientApplication {
    let cca = this.delegatedApps.get(connectionKey);
    if (!cca) {
      const plugin: ICachePlugin = {
        async beforeCacheAccess(ctx: TokenCacheContext) {
          const saved = await store.load();
          if (saved) ctx.tokenCache.deserialize(saved);
        },
        async afterCacheAccess(ctx: TokenCacheContext) {
          if (ctx.cacheHasChanged) await store.save(ctx.tokenCache.serialize());
        },
      };
      cca = this.newMsalApp(plugin);
      if (this.delegatedApps.size > 1000) this.delegatedApps.clear();
      this.delegatedApps.set(connectionKey, cca);
    }
    return cca;
  }

  /** Forgets a member's in-memory MSAL instance (disconnect, reconnect). */
  forget(connectionKey: string): void {
    this.delegatedApps.delete(connectionKey);
  }
}
