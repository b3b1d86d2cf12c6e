/**
 * Rules for users: unique e-mail, known roles, hashed passwords (a change revokes every token of the user),
 * and there is always at least one full administrator.
 */
import { ApiError, type FieldError } from '../../http/errors.js';
import { MIN_PASSWORD_LENGTH, hashPassword } from '../../auth/passwords.js';
import { KNOWN_ROLES } from '../../auth/roles.js';
import type { TokenRepository } from '../../auth/token-repository.js';
import { RecordService, type Actor } from '../record-service.js';
import { toBool, toOptionalId } from '../schema-parts.js';
import type { RecordRepository } from '../../storage/record-repository.js';
import { UserRepository } from './repository.js';
import { ENTITY, type User, type UserValues } from './schema.js';

export class UserService extends RecordService<User, UserValues> {
  constructor(
    readonly users: UserRepository,
    private readonly tokens: TokenRepository,
    private readonly coworkers: RecordRepository<any, unknown>,
    private readonly scryptCost: number,
  ) {
    super(ENTITY, users);
  }

  protected async normalize(body: Record<string, unknown>, existingId?: number): Promise<UserValues> {
    const email = (body.Email as string).trim();
    const owner = await this.users.findIdByEmail(email);
    if (owner !== undefined && owner !== existingId) throw ApiError.field('Email', 'is already used by another user', email);
    const roles = body.Roles === undefined || body.Roles === null ? [] : Array.isArray(body.Roles) ? body.Roles : [body.Roles];
    const password = body.Password as string | undefined;
    // Repeated from the schema for callers that don't come through HTTP (the command line).
    const unknownRoles = (roles as string[]).filter((r) => !KNOWN_ROLES.includes(r));
    if (unknownRoles.length) throw ApiError.field('Roles', `unknown role ${unknownRoles.join(', ')}; known roles are {Entity}-List/Read/Create/Edit/Delete`, roles);
    if (password !== undefined && password.length < MIN_PASSWORD_LENGTH) throw ApiError.field('Password', `must be at least ${MIN_PASSWORD_LENGTH} characters`);
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw ApiError.field('Email', 'is not a valid e-mail address', email);
    return {
      Email: email,
      FullName: (body.FullName as string | null | undefined) ?? null,
      FullAdministrator: body.FullAdministrator === undefined ? false : toBool(body.FullAdministrator),
      Roles: [...new Set(roles as string[])],
      CoworkerId: toOptionalId(body.CoworkerId),
      ...(password ? { PasswordHash: await hashPassword(password, this.scryptCost) } : {}),
    };
  }

  protected toColumns(v: UserValues) {
    return {
      email: v.Email,
      full_name: v.FullName,
      full_administrator: v.FullAdministrator ? 1 : 0,
      roles: JSON.stringify(v.Roles),
      coworker_id: v.CoworkerId,
      ...(v.PasswordHash ? { password_hash: v.PasswordHash } : {}),
    };
  }

  protected override async checkReferences(v: UserValues): Promise<FieldError[]> {
    if (v.CoworkerId !== null && !(await this.coworkers.exists(v.CoworkerId))) {
      return [{ AttemptedValue: v.CoworkerId, Message: `there is no Coworker with Id ${v.CoworkerId}`, PropertyName: 'CoworkerId' }];
    }
    return [];
  }

  protected override async beforeUpdate(id: number, v: UserValues): Promise<void> {
    if (!v.FullAdministrator) await this.keepOneAdministrator(id, 'FullAdministrator', 'cannot be removed from the last full administrator');
  }

  protected override async afterUpdate(id: number, v: UserValues): Promise<void> {
    this.tokens.forgetUser(id); // roles or the administrator flag may have changed
    if (v.PasswordHash) await this.tokens.revokeAllForUser(id);
  }

  protected override async beforeDelete(id: number): Promise<void> {
    await this.keepOneAdministrator(id, 'Id', 'is the last full administrator and cannot be deleted');
    this.tokens.forgetUser(id);
  }

  override async create(body: Record<string, unknown>, actor: Actor): Promise<User> {
    if (!body.Password) throw ApiError.field('Password', 'is a required field');
    return super.create(body, actor);
  }

  /** Sets a new password and revokes every token of the user. */
  async setPassword(id: number, password: string): Promise<void> {
    if (!(await this.users.setPasswordHash(id, await hashPassword(password, this.scryptCost)))) throw this.notFound();
    await this.tokens.revokeAllForUser(id);
  }

  private async keepOneAdministrator(id: number, property: string, message: string): Promise<void> {
    const admins = await this.users.fullAdministratorIds();
    if (admins.length === 1 && admins[0] === id) throw ApiError.field(property, message, id);
  }
}
