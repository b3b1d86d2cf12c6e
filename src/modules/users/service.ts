/**
 * Rules for users: unique e-mail, known roles, hashed passwords (a change revokes every token of the user),
 * and there is always at least one full administrator.
 */
import { AppError } from '../../core/errors.js';
import type { Executor } from '../../storage/unit-of-work.js';
import { MIN_PASSWORD_LENGTH, hashPassword } from './passwords.js';
import { KNOWN_ROLES } from './roles.js';
import type { TokenRepository } from './token-repository.js';
import { RecordService, type Actor, type RecordServiceDeps } from '../records/record-service.js';
import { coworkerReference } from '../directory/references.js';
import type { UserRepository } from './repository.js';
import { ENTITY, userEntity, type User, type UserValues } from './schema.js';

export class UserService extends RecordService<User, UserValues> {
  constructor(
    readonly users: UserRepository,
    private readonly tokens: TokenRepository,
    private readonly scryptCost: number,
    deps: RecordServiceDeps,
  ) {
    super(ENTITY, users, deps);
  }

  /** Its writes hash passwords (scrypt, tens of ms): not grouped with others. */
  protected override readonly groupCommit = false;

  protected async normalize(body: Record<string, unknown>, existingId: number | undefined, trx: Executor): Promise<UserValues> {
    const values = userEntity.parseBody(body);
    const owner = await this.users.findIdByEmail(values.Email, trx);
    if (owner !== undefined && owner !== existingId) throw AppError.field('Email', 'is already used by another user', values.Email);
    // Repeated from the schema for callers that don't come through HTTP (the command line).
    const unknownRoles = values.Roles.filter((r) => !KNOWN_ROLES.includes(r));
    if (unknownRoles.length) throw AppError.field('Roles', `unknown role ${unknownRoles.join(', ')}; known roles are {Entity}-List/Read/Create/Edit/Delete`, values.Roles);
    if (values.Password !== undefined && values.Password.length < MIN_PASSWORD_LENGTH) throw AppError.field('Password', `must be at least ${MIN_PASSWORD_LENGTH} characters`);
    if (!/^[^\s@]+@[^\s@]+$/.test(values.Email)) throw AppError.field('Email', 'is not a valid e-mail address', values.Email);
    // Only the hash is stored; no password on PUT keeps the old one.
    if (values.Password) values.Password = await hashPassword(values.Password, this.scryptCost);
    else delete (values as Partial<UserValues>).Password;
    return values;
  }

  protected toColumns(v: UserValues) {
    return userEntity.toColumns(v);
  }

  protected override referenceGuards(v: UserValues) {
    return coworkerReference(v.CoworkerId);
  }

  protected override async afterUpdate(id: number, v: UserValues, trx: Executor): Promise<void> {
    this.tokens.forgetUser(id); // roles or the administrator flag may have changed
    if (v.Password) await this.tokens.revokeAllForUser(id, trx);
  }

  protected override async beforeDelete(id: number, trx: Executor): Promise<void> {
    const admins = await this.users.fullAdministratorIds(trx);
    if (admins.length === 1 && admins[0] === id) throw AppError.field('Id', 'is the last full administrator and cannot be deleted', id);
    this.tokens.forgetUser(id);
  }

  override async create(body: Record<string, unknown>, actor: Actor): Promise<User> {
    if (!body.Password) throw AppError.field('Password', 'is a required field');
    return super.create(body, actor);
  }

  /** Sets a new password and revokes every token of the user. */
  async setPassword(id: number, password: string): Promise<void> {
    if (!(await this.users.setPasswordHash(id, await hashPassword(password, this.scryptCost)))) throw this.notFound();
    await this.tokens.revokeAllForUser(id);
  }
}
