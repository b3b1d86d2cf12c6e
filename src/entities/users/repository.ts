/** SQL for users. Password hashes are read only by the auth code and never mapped into a record. */
import { sql, type Kysely } from 'kysely';
import { ApiError } from '../../http/errors.js';
import type { Database as Schema } from '../../storage/schema.js';
import type { Storage } from '../../storage/database.js';
import { preparedQuery } from '../../storage/prepared.js';
import { META_SELECT, RecordRepository, metaColumns, recordMeta, type MetaRow } from '../../storage/record-repository.js';
import type { User } from './schema.js';

interface Row extends MetaRow {
  email: string;
  full_name: string | null;
  full_administrator: number;
  roles: string;
  coworker_id: number | null;
}

export interface Credentials {
  id: number;
  email: string;
  password_hash: string;
  full_administrator: number;
  roles: string;
}

export class UserRepository extends RecordRepository<Row, User> {
  private readonly credentialsByEmail: (email: string) => Promise<Credentials[]>;

  constructor(storage: Storage) {
    super(storage, {
      table: 'users',
      alias: 'u',
      columns: {
        ...metaColumns('u', 'email'),
        Email: { column: 'u.email', type: 'string' },
        FullName: { column: 'u.full_name', type: 'string' },
        FullAdministrator: { column: 'u.full_administrator', type: 'bool' },
        CoworkerId: { column: 'u.coworker_id', type: 'int' },
      },
      selectRows: (db: Kysely<Schema>) =>
        db.selectFrom('users as u').select(META_SELECT.map((c) => `u.${c}` as const))
          .select(['u.email', 'u.full_name', 'u.full_administrator', 'u.roles', 'u.coworker_id']),
      toRecord: (r) => ({
        Email: r.email,
        FullName: r.full_name,
        FullAdministrator: r.full_administrator === 1,
        Roles: JSON.parse(r.roles) as string[],
        CoworkerId: r.coworker_id,
        ...recordMeta(r, r.email),
      }),
    });
    this.credentialsByEmail = preparedQuery(
      this.db,
      (email: string) =>
        this.db.selectFrom('users').select(['id', 'email', 'password_hash', 'full_administrator', 'roles'])
          .where((eb) => eb(eb.fn('lower', ['email']), '=', email)),
      1,
    );
  }

  async credentials(email: string): Promise<Credentials | undefined> {
    return (await this.credentialsByEmail(email.toLowerCase()))[0];
  }

  async findIdByEmail(email: string): Promise<number | undefined> {
    return (await this.credentials(email))?.id;
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async fullAdministratorIds(): Promise<number[]> {
    const rows = await this.db.selectFrom('users').select('id').where('full_administrator', '=', 1).execute();
    return rows.map((r) => r.id);
  }

  async setPasswordHash(id: number, hash: string): Promise<boolean> {
    return this.updateById(id, { password_hash: hash });
  }

  /**
   * A demotion is written only while another full administrator remains, checked in the same statement as the
   * write, so two concurrent demotions (or deletions) of the last two administrators cannot both pass.
   */
  override async updateById(id: number, values: Record<string, unknown>): Promise<boolean> {
    if (values.full_administrator !== 0) return super.updateById(id, values);
    const result = await this.db.updateTable('users').set(values as never).where('id', '=', id).where(this.keepsAnAdministrator(id)).executeTakeFirst();
    this.storage.counts?.invalidate();
    if (Number(result.numUpdatedRows) > 0) return true;
    if (await this.exists(id)) throw ApiError.field('FullAdministrator', 'cannot be removed from the last full administrator', id);
    return false;
  }

  override async deleteById(id: number): Promise<boolean> {
    const result = await this.db.deleteFrom('users').where('id', '=', id).where(this.keepsAnAdministrator(id)).executeTakeFirst();
    this.storage.counts?.invalidate();
    if (Number(result.numDeletedRows) > 0) return true;
    if (await this.exists(id)) throw ApiError.field('Id', 'is the last full administrator and cannot be deleted', id);
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
