/** SQL for access and refresh tokens. Only SHA-256 hashes of tokens are stored. */
import { randomBytes } from 'node:crypto';
import { sha256 } from '../../core/secret-box.js';
import type { Kysely } from 'kysely';
import type { Database } from '../../storage/schema.js';
import { preparedQuery } from '../../storage/prepared.js';
import type { Executor } from '../../storage/unit-of-work.js';
import type { Clock } from '../../core/clock.js';

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function tokenHash(token: string): string {
  return sha256(token);
}

export interface TokenUserRow {
  user_id: number;
  expires_at: number | string;
  email: string;
  full_administrator: number;
  roles: string;
  coworker_id: number | null;
}

/**
 * Access tokens are looked up by hash and remembered for a few seconds, so a busy client costs no database round trip
 * per request. Everything that changes what a token grants in this process (revocation, role or password changes,
 * removal) forgets the user's entries at once; other processes (PostgreSQL deployments) see it within the TTL.
 */
export class TokenRepository {
  private readonly accessLookup: (hash: string) => Promise<TokenUserRow[]>;
  private readonly recent = new Map<string, { row: TokenUserRow; until: number }>(); // token hash → its user, for cacheTtlMs

  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
    private readonly cacheTtlMs = 5000,
  ) {
    this.accessLookup = preparedQuery(
      db,
      (hash: string) =>
        db
          .selectFrom('access_tokens as t')
          .innerJoin('users as u', 'u.id', 't.user_id')
          .select(['t.user_id', 't.expires_at', 'u.email', 'u.full_administrator', 'u.roles', 'u.coworker_id'])
          .where('t.token_hash', '=', hash),
      1,
    ) as (hash: string) => Promise<TokenUserRow[]>;
  }

  async findAccess(token: string): Promise<TokenUserRow | undefined> {
    // Remembered by the token's hash, as the database holds it: no usable token stays in memory after its request.
    const now = this.clock.now();
    const hash = tokenHash(token);
    const known = this.recent.get(hash);
    if (known && known.until > now) return known.row;
    const row = (await this.accessLookup(hash))[0];
    if (row && this.cacheTtlMs > 0) {
      if (this.recent.size >= 10_000) this.recent.clear();
      this.recent.set(hash, { row, until: now + this.cacheTtlMs });
    } else {
      this.recent.delete(hash);
    }
    return row;
  }

  /** Drops this process's remembered tokens of a user (their grants changed). */
  forgetUser(userId: number): void {
    for (const [hash, entry] of this.recent) if (entry.row.user_id === userId) this.recent.delete(hash);
  }

  async insertAccess(userId: number, clientId: string, token: string, expiresAt: number, family: string | null = null): Promise<void> {
    await this.db.insertInto('access_tokens').values({ token_hash: tokenHash(token), user_id: userId, client_id: clientId, expires_at: expiresAt, family }).execute();
  }

  async insertRefresh(userId: number, clientId: string, token: string, expiresAt: number, family: string | null = null): Promise<void> {
    await this.db.insertInto('refresh_tokens').values({ token_hash: tokenHash(token), user_id: userId, client_id: clientId, expires_at: expiresAt, family, used_at: null }).execute();
  }

  async findRefresh(token: string) {
    return this.db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', tokenHash(token)).executeTakeFirst();
  }

  /** Uses a refresh token up (marks it used). True only for the one caller that did, so rotation stays single-use. */
  async consumeRefresh(token: string, now: number): Promise<boolean> {
    const r = await this.db.updateTable('refresh_tokens').set({ used_at: now }).where('token_hash', '=', tokenHash(token)).where('used_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** One access token goes (a browser signed out), here at once and in other processes within the cache's TTL. */
  async revokeAccess(token: string): Promise<void> {
    const hash = tokenHash(token);
    this.recent.delete(hash);
    await this.db.deleteFrom('access_tokens').where('token_hash', '=', hash).execute();
  }

  /** A used refresh token came back: every token of its family goes (the thief's and the owner's alike). */
  async revokeFamily(userId: number, family: string): Promise<void> {
    this.forgetUser(userId);
    await this.db.deleteFrom('access_tokens').where('family', '=', family).execute();
    await this.db.deleteFrom('refresh_tokens').where('family', '=', family).execute();
  }

  async revokeRefreshForClient(userId: number, clientId: string): Promise<void> {
    await this.db.deleteFrom('refresh_tokens').where('user_id', '=', userId).where('client_id', '=', clientId).execute();
  }

  /** Every token of a user (password change, removal). */
  async revokeAllForUser(userId: number, db: Executor = this.db): Promise<void> {
    this.forgetUser(userId);
    await db.deleteFrom('access_tokens').where('user_id', '=', userId).execute();
    await db.deleteFrom('refresh_tokens').where('user_id', '=', userId).execute();
  }

  async deleteExpired(now: number): Promise<number> {
    const a = await this.db.deleteFrom('access_tokens').where('expires_at', '<', now).executeTakeFirst();
    const r = await this.db.deleteFrom('refresh_tokens').where('expires_at', '<', now).executeTakeFirst();
    return Number(a.numDeletedRows) + Number(r.numDeletedRows);
  }
}
