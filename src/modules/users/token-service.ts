/**
 * OAuth2 grants as Nexudus documents them: password and refresh_token, client_id rules, rotating single-use refresh
 * tokens, the failed-login limit. Answers a token set or a grant error; the web layer only parses and serialises.
 */
import type { Clock } from '../../core/clock.js';
import type { PasswordLogin } from './password-login.js';
import { newToken, type TokenRepository } from './token-repository.js';

export interface TokenSet {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
  refresh_token: string;
}

export type GrantResult = { ok: true; tokens: TokenSet } | { ok: false; error: 'invalid_grant'; description: string };

export class TokenService {
  constructor(
    private readonly tokens: TokenRepository,
    private readonly login: PasswordLogin,
    private readonly clock: Clock,
    private readonly ttl: { accessSeconds: number; refreshSeconds: number },
  ) {}

  /** Throws the throttled error when the failed-login limit is reached. */
  async passwordGrant(username: string, password: string, ip: string, clientId: string | undefined): Promise<GrantResult> {
    const user = await this.login.check(username, password, ip);
    if (!user) return invalid('The user name or password is incorrect.');
    const client = clientId ?? user.email;
    // A new password grant replaces the earlier refresh tokens of the same user and client, and starts a family.
    await this.tokens.revokeRefreshForClient(user.id, client);
    return { ok: true, tokens: await this.issue(user.id, client, newToken()) };
  }

  async refreshGrant(token: string | undefined, clientId: string | undefined): Promise<GrantResult> {
    const stored = token ? await this.tokens.findRefresh(token) : undefined;
    if (!token || !stored || Number(stored.expires_at) <= this.clock.now()) return invalid('The refresh token is invalid, expired or already used.');
    if (stored.used_at !== null) {
      // Replayed after it was rotated: someone holds a copy. The whole chain is revoked; its owner signs in again.
      if (stored.family) await this.tokens.revokeFamily(stored.user_id, stored.family);
      return invalid('The refresh token was already used; every token issued from it has been revoked.');
    }
    // A wrong client_id is refused without using the token up.
    if (clientId !== undefined && clientId !== stored.client_id) return invalid('The refresh token was issued to another client_id.');
    if (!(await this.tokens.consumeRefresh(token, this.clock.now()))) return invalid('The refresh token is invalid, expired or already used.');
    return { ok: true, tokens: await this.issue(stored.user_id, stored.client_id, stored.family ?? newToken()) };
  }

  /** A browser signs out: its access token and its refresh token's whole family stop working (copies included). */
  async endSession(tokens: { access?: string; refresh?: string }): Promise<void> {
    const stored = tokens.refresh ? await this.tokens.findRefresh(tokens.refresh) : undefined;
    if (stored?.family) await this.tokens.revokeFamily(stored.user_id, stored.family);
    if (tokens.access) await this.tokens.revokeAccess(tokens.access);
  }

  private async issue(userId: number, clientId: string, family: string): Promise<TokenSet> {
    const access = newToken();
    const refresh = newToken();
    const now = this.clock.now();
    await this.tokens.insertAccess(userId, clientId, access, now + this.ttl.accessSeconds * 1000, family);
    await this.tokens.insertRefresh(userId, clientId, refresh, now + this.ttl.refreshSeconds * 1000, family);
    return { access_token: access, token_type: 'bearer', expires_in: this.ttl.accessSeconds, refresh_token: refresh };
  }
}

function invalid(description: string): GrantResult {
  return { ok: false, error: 'invalid_grant', description };
}
