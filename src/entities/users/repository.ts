/** SQL for users. Password hashes are read only by the auth code and never mapped into a record. */
import type { Kysely } from 'kysely';
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
}
