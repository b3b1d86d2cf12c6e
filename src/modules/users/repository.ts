/** SQL for users. Password hashes are read only by the auth code and never mapped into a record. */
import { sql } from 'kysely';
import { AppError } from '../../core/errors.js';
import type { Storage } from '../../storage/database.js';
import { preparedQuery, type PreparedQuery } from '../../storage/prepared.js';
import type { Executor } from '../../storage/unit-of-work.js';
import { RecordRepository } from '../records/record-repository.js';
import { userEntity, type User } from './schema.js';

export interface Credentials {
  id: number;
  email: string;
  password_hash: string;
  full_administrator: number;
  roles: string;
  coworker_id: number | null;
}

export class UserRepository extends RecordRepository<typeof userEntity, User> {
  private readonly credentialsByEmail: PreparedQuery<Credentials, [string]>;

  constructor(storage: Storage) {
    super(storage, userEntity);
    this.credentialsByEmail = preparedQuery(
      this.db,
      (email: string) =>
        this.db.selectFrom('users').select(['id', 'email', 'password_hash', 'full_administrator', 'roles', 'coworker_id'])
          .where((eb) => eb(eb.fn('lower', ['email']), '=', email)),
      1,
    ) as PreparedQuery<Credentials, [string]>;
  }

  async credentials(email: string, db: Executor = this.db): Promise<Credentials | undefined> {
    return (await this.credentialsByEmail.on(db, email.toLowerCase()))[0];
  }

  async findIdByEmail(email: string, db: Executor = this.db): Promise<number | undefined> {
    return (await this.credentials(email, db))?.id;
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async fullAdministratorIds(db: Executor = this.db): Promise<number[]> {
    const rows = await db.selectFrom('users').select('id').where('full_administrator', '=', 1).execute();
    return rows.map((r) => r.id);
  }

  async setPasswordHash(id: number, hash: string): Promise<boolean> {
    return this.updateById(id, { password_hash: hash });
  }

  /**
   * A demotion is written only while another full administrator remains, checked in the same statement as the
   * write, so two concurrent demotions (or deletions) of the last two administrators cannot both pass.
   */
  override async updateById(id: number, values: Record<string, unknown>, db: Executor = this.db): Promise<boolean> {
    if (values.full_administrator !== 0) return super.updateById(id, values, db);
    const result = await db.updateTable('users').set(values as never).where('id', '=', id).where(this.keepsAnAdministrator(id)).executeTakeFirst();
    await this.invalidateCounts(db);
    if (Number(result.numUpdatedRows) > 0) return true;
    if (await this.exists(id, db)) throw AppError.field('FullAdministrator', 'cannot be removed from the last full administrator', id);
    return false;
  }

  override async deleteById(id: number, db: Executor = this.db): Promise<boolean> {
    const result = await db.deleteFrom('users').where('id', '=', id).where(this.keepsAnAdministrator(id)).executeTakeFirst();
    await this.invalidateCounts(db);
    if (Number(result.numDeletedRows) > 0) return true;
    if (await this.exists(id, db)) throw AppError.field('Id', 'is the last full administrator and cannot be deleted', id);
    return false;
  }

  /** The row is not a full administrator, or another one exists (on PostgreSQL, locked, so concurrent demotions queue). */
  private keepsAnAdministrator(id: number) {
    const others = this.storage.dialect === 'postgres'
      ? sql<boolean>`exists (select 1 from (select id from users where full_administrator = 1 for update) a where a.id <> ${id})`
      : sql<boolean>`exists (select 1 from users a where a.full_administrator = 1 and a.id <> ${id})`;
    return sql<boolean>`(users.full_administrator = 0 or ${others})`;
  }
}
