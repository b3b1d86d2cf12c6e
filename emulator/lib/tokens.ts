import { createHash, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import type { EmulatorClock } from './clock.js';
import type { AppRecord, Directory, UserRecord } from './directory.js';
import { GraphError } from './errors.js';
import { guid, randomToken } from './ids.js';
import type { EmulatorSettings } from './settings.js';

export const GRAPH_RESOURCE = 'https://graph.microsoft.com';
export const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';

/** Who called Graph, from a verified access token. */
export interface Principal {
  kind: 'app' | 'user';
  tenantId: string;
  appId: string;
  userId: string | null;
  scopes: string[];
  roles: string[];
  tokenId: string;
  expiresAt: number;
}

export interface AccessTokenRecord extends Principal {
  issuedAt: number;
  revoked: boolean;
}

export interface RefreshTokenRecord {
  token: string;
  appId: string;
  userId: string;
  tenantId: string;
  scopes: string[];
  issuedAt: number;
  expiresAt: number;
  revoked: boolean;
  redeemedAt: number | null;
}

export interface AuthCodeRecord {
  code: string;
  appId: string;
  userId: string;
  tenantId: string;
  redirectUri: string;
  scopes: string[];
  nonce: string | null;
  codeChallenge: string | null;
  codeChallengeMethod: string | null;
  expiresAt: number;
  redeemed: boolean;
}

const b64urlJson = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

const unauthorized = (message: string): GraphError => new GraphError(401, 'InvalidAuthenticationToken', message);

/** Issues and verifies JWT-shaped, RS256-signed tokens; keeps every issued token so it can be revoked. */
export class TokenService {
  readonly kid = randomToken(12);
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  readonly accessTokens = new Map<string, AccessTokenRecord>();
  readonly refreshTokens = new Map<string, RefreshTokenRecord>();
  readonly codes = new Map<string, AuthCodeRecord>();

  constructor(
    private readonly settings: EmulatorSettings,
    private readonly clock: EmulatorClock,
    private readonly directory: Directory,
  ) {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKey = pair.privateKey;
    this.publicKey = pair.publicKey;
  }

  private now(): number {
    return this.settings.tokensFollowClock ? this.clock.now() : Date.now();
  }

  jwks(): { keys: Record<string, unknown>[] } {
    const jwk = this.publicKey.export({ format: 'jwk' });
    const x5t = createHash('sha1').update(this.kid).digest('base64url');
    return { keys: [{ kty: 'RSA', use: 'sig', kid: this.kid, x5t, n: jwk.n, e: jwk.e, issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0' }] };
  }

  signJwt(payload: Record<string, unknown>): string {
    const head = b64urlJson({ typ: 'JWT', alg: 'RS256', kid: this.kid, x5t: this.kid });
    const body = b64urlJson(payload);
    const sig = sign('sha256', Buffer.from(`${head}.${body}`), this.privateKey).toString('base64url');
    return `${head}.${body}.${sig}`;
  }

  private decodeVerified(token: string): Record<string, unknown> | null {
    const parts = token.split('.');
    if (parts.length !== 3) return null;
    const [head, body, sig] = parts as [string, string, string];
    let ok = false;
    try {
      ok = verify('sha256', Buffer.from(`${head}.${body}`), this.publicKey, Buffer.from(sig, 'base64url'));
    } catch {
      ok = false;
    }
    if (!ok) return null;
    try {
      return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      return null;
    }
  }

  issueAppToken(app: AppRecord): { token: string; record: AccessTokenRecord } {
    return this.issueAccessToken({ kind: 'app', tenantId: app.tenantId, appId: app.clientId, userId: null, scopes: [], roles: [...app.roles] }, app);
  }

  issueUserToken(app: AppRecord, user: UserRecord, scopes: string[]): { token: string; record: AccessTokenRecord } {
    return this.issueAccessToken({ kind: 'user', tenantId: user.tenantId, appId: app.clientId, userId: user.id, scopes, roles: [] }, app, user);
  }

  private issueAccessToken(p: Omit<Principal, 'tokenId' | 'expiresAt'>, app: AppRecord, user?: UserRecord): { token: string; record: AccessTokenRecord } {
    const now = this.now();
    const iat = Math.floor(now / 1000);
    const record: AccessTokenRecord = { ...p, tokenId: randomToken(16), issuedAt: now, expiresAt: now + this.settings.accessTokenLifetimeSec * 1000, revoked: false };
    const claims: Record<string, unknown> = {
      aud: GRAPH_RESOURCE,
      iss: `https://sts.windows.net/${p.tenantId}/`,
      iat,
      nbf: iat,
      exp: Math.floor(record.expiresAt / 1000),
      app_displayname: app.displayName,
      appid: app.clientId,
      appidacr: '1',
      idtyp: p.kind === 'app' ? 'app' : 'user',
      oid: p.kind === 'app' ? app.servicePrincipalId : user!.id,
      sub: p.kind === 'app' ? app.servicePrincipalId : user!.id,
      tid: p.tenantId,
      uti: record.tokenId,
      ver: '1.0',
      xms_emulator: true,
    };
    if (p.kind === 'app') claims.roles = p.roles;
    else {
      claims.scp = p.scopes.join(' ');
      claims.upn = user!.userPrincipalName;
      claims.unique_name = user!.userPrincipalName;
      claims.name = user!.displayName;
    }
    this.accessTokens.set(record.tokenId, record);
    return { token: this.signJwt(claims), record };
  }

  /** Checks a bearer token on a Graph call: 401 InvalidAuthenticationToken when missing, malformed, expired or revoked. */
  verifyBearer(authorization: string | undefined): Principal {
    if (!authorization || !authorization.trim()) throw unauthorized('Access token is empty.');
    const m = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    if (!m) throw unauthorized('Access token is empty.');
    const claims = this.decodeVerified(m[1]!.trim());
    if (!claims) throw unauthorized('IDX14100: JWT is not well formed, or its signature is not valid.');
    const rec = typeof claims.uti === 'string' ? this.accessTokens.get(claims.uti) : undefined;
    if (!rec) throw unauthorized('Access token validation failure. Invalid audience.');
    if (rec.revoked) throw unauthorized('Access token has been revoked.');
    if (this.now() >= rec.expiresAt) throw unauthorized('Lifetime validation failed, the token is expired.');
    return rec;
  }

  /** The record behind an access token string, if it is one of ours. */
  lookupAccessToken(token: string): AccessTokenRecord | undefined {
    const claims = this.decodeVerified(token);
    return claims && typeof claims.uti === 'string' ? this.accessTokens.get(claims.uti) : undefined;
  }

  issueRefreshToken(app: AppRecord, user: UserRecord, scopes: string[]): RefreshTokenRecord {
    const now = this.now();
    const rec: RefreshTokenRecord = {
      token: `1.AEMU${randomToken(48)}`,
      appId: app.clientId,
      userId: user.id,
      tenantId: user.tenantId,
      scopes,
      issuedAt: now,
      expiresAt: now + this.settings.refreshTokenLifetimeSec * 1000,
      revoked: false,
      redeemedAt: null,
    };
    this.refreshTokens.set(rec.token, rec);
    return rec;
  }

  issueCode(c: Omit<AuthCodeRecord, 'code' | 'expiresAt' | 'redeemed'>): AuthCodeRecord {
    const rec: AuthCodeRecord = { ...c, code: `1.AEMUcode${randomToken(40)}`, expiresAt: this.now() + this.settings.authCodeLifetimeSec * 1000, redeemed: false };
    this.codes.set(rec.code, rec);
    return rec;
  }

  idToken(app: AppRecord, user: UserRecord, issuerBase: string, nonce: string | null): string {
    const now = Math.floor(this.now() / 1000);
    return this.signJwt({
      aud: app.clientId,
      iss: `${issuerBase}/${user.tenantId}/v2.0`,
      iat: now,
      nbf: now,
      exp: now + 3600,
      name: user.displayName,
      oid: user.id,
      preferred_username: user.userPrincipalName,
      email: user.mail,
      sub: createHash('sha256').update(`${app.clientId}|${user.id}`).digest('base64url').slice(0, 43),
      tid: user.tenantId,
      uti: randomToken(16),
      ver: '2.0',
      ...(nonce ? { nonce } : {}),
    });
  }

  clientInfo(user: UserRecord): string {
    return b64urlJson({ uid: user.id, utid: user.tenantId });
  }

  /** Revokes one access token (by its string) — later Graph calls with it answer 401. */
  revokeAccessToken(token: string): boolean {
    const rec = this.lookupAccessToken(token);
    if (!rec) return false;
    rec.revoked = true;
    return true;
  }

  revokeRefreshToken(token: string): boolean {
    const rec = this.refreshTokens.get(token);
    if (!rec) return false;
    rec.revoked = true;
    return true;
  }

  /** Like revokeSignInSessions: every refresh and access token of a user (optionally of one app) stops working. */
  revokeUser(userId: string, appId?: string): number {
    let n = 0;
    for (const r of this.refreshTokens.values()) if (r.userId === userId && (!appId || r.appId === appId) && !r.revoked) (r.revoked = true), n++;
    for (const a of this.accessTokens.values()) if (a.userId === userId && (!appId || a.appId === appId) && !a.revoked) (a.revoked = true), n++;
    return n;
  }

  /** Every access token of an app stops working (e.g. admin revoked consent). */
  revokeApp(appId: string): number {
    let n = 0;
    for (const a of this.accessTokens.values()) if (a.appId === appId && !a.revoked) (a.revoked = true), n++;
    for (const r of this.refreshTokens.values()) if (r.appId === appId && !r.revoked) (r.revoked = true), n++;
    return n;
  }

  clear(): void {
    this.accessTokens.clear();
    this.refreshTokens.clear();
    this.codes.clear();
  }
}

export const newGuid = guid;
