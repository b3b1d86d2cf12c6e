/**
 * Who is calling: a bearer token (looked up by hash) or HTTP Basic (scrypt-verified, then remembered for the
 * same password hash so Basic stays fast). Then what they may do: full administrator, or the named role.
 */
import { AppError, unauthorized } from '../../core/errors.js';
import { sha256 } from '../../core/secret-box.js';
import type { TokenRepository } from './token-repository.js';
import type { UserRepository } from './repository.js';
import type { PasswordLogin } from './password-login.js';
import type { Clock } from '../../core/clock.js';
import { MEMBER_ROLES } from './roles.js';

export interface Principal {
  userId: number;
  email: string;
  fullAdministrator: boolean;
  roles: ReadonlySet<string>;
  /**
   * A member login (a user with a CoworkerId who is not a full administrator): the coworker whose records alone it
   * sees and manages. null for operators.
   */
  memberOf: number | null;
}

export class Authenticator {
  private readonly roleSets = new Map<string, ReadonlySet<string>>();
  private readonly basicVerified = new Map<string, string>();

  constructor(
    private readonly tokens: TokenRepository,
    private readonly users: UserRepository,
    private readonly login: PasswordLogin,
    private readonly clock: Clock,
  ) {}

  async authenticate(header: string | undefined, ip = ''): Promise<Principal> {
    if (!header) throw unauthorized('Authentication is required: send a bearer token from POST /api/token, or HTTP Basic credentials.');
    const space = header.indexOf(' ');
    const scheme = header.slice(0, space).toLowerCase();
    const value = header.slice(space + 1).trim();
    if (scheme === 'bearer' && value) return this.bearer(value);
    if (scheme === 'basic' && value) return this.basic(value, ip);
    throw unauthorized('The Authorization header must be "Bearer <token>" or "Basic <credentials>".');
  }

  private async bearer(token: string): Promise<Principal> {
    const row = await this.tokens.findAccess(token);
    if (!row || Number(row.expires_at) <= this.clock.now()) throw unauthorized('The access token is invalid or has expired.');
    return this.principal(row.user_id, row.email, row.full_administrator, row.roles, row.coworker_id);
  }

  private async basic(encoded: string, ip: string): Promise<Principal> {
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    // A NUL can't be in any stored e-mail (and PostgreSQL refuses it in a query): no such user.
    if (decoded.includes('\u0000')) throw unauthorized('The user name or password is incorrect.');
    const email = colon > 0 ? decoded.slice(0, colon) : '';
    const password = colon > 0 ? decoded.slice(colon + 1) : '';
    const key = sha256(encoded);
    // Credentials verified before, for the same stored hash, skip scrypt (and the failed-login count).
    const known = email ? await this.users.credentials(email) : undefined;
    if (known && this.basicVerified.get(key) === known.password_hash) {
      return this.principal(known.id, known.email, known.full_administrator, known.roles, known.coworker_id);
    }
    const user = await this.login.check(email, password, ip);
    if (!user) throw unauthorized('The user name or password is incorrect.');
    if (this.basicVerified.size > 10_000) this.basicVerified.clear();
    this.basicVerified.set(key, user.password_hash);
    return this.principal(user.id, user.email, user.full_administrator, user.roles, user.coworker_id);
  }

  /** A session cookie's token (the browser pages): the same access tokens as Bearer. */
  async session(token: string): Promise<Principal> {
    return this.bearer(token);
  }

  private principal(userId: number, email: string, admin: number | boolean, roles: string, coworkerId: number | null): Principal {
    const fullAdministrator = admin === 1 || admin === true;
    const memberOf = !fullAdministrator && coworkerId ? Number(coworkerId) : null;
    const key = memberOf ? `member:${roles}` : roles;
    let set = this.roleSets.get(key);
    if (!set) {
      set = new Set([...(JSON.parse(roles) as string[]), ...(memberOf ? MEMBER_ROLES : [])]);
      if (this.roleSets.size > 10_000) this.roleSets.clear();
      this.roleSets.set(key, set);
    }
    return { userId, email, fullAdministrator, roles: set, memberOf };
  }
}

/** 403 unless the principal is a full administrator or holds the role (no role = full administrators only). */
export function authorize(principal: Principal, role: string | null): void {
  if (principal.fullAdministrator) return;
  if (role && principal.roles.has(role)) return;
  throw new AppError('forbidden', role
    ? `You do not have permission to do this: it needs the role ${role} or a full administrator.`
    : 'You do not have permission to do this: it needs a full administrator.');
}
