/** SQL for Coworker records. */
import type { Kysely } from 'kysely';
import type { Database as Schema } from '../../storage/schema.js';
import type { Storage } from '../../storage/database.js';
import { META_SELECT, RecordRepository, metaColumns, recordMeta, type MetaRow } from '../../storage/record-repository.js';
import type { Coworker } from './schema.js';

interface Row extends MetaRow {
  full_name: string;
  email: string;
}

export class CoworkerRepository extends RecordRepository<Row, Coworker> {
  constructor(storage: Storage) {
    super(storage, {
      table: 'coworkers',
      alias: 'w',
      columns: {
        ...metaColumns('w', 'full_name'),
        FullName: { column: 'w.full_name', type: 'string' },
        Email: { column: 'w.email', type: 'string' },
      },
      selectRows: (db: Kysely<Schema>) =>
        db.selectFrom('coworkers as w').select(META_SELECT.map((c) => `w.${c}` as const)).select(['w.full_name', 'w.email']),
      toRecord: (r) => ({ FullName: r.full_name, Email: r.email, ...recordMeta(r, r.full_name) }),
    });
  }

  async findIdByEmail(email: string): Promise<number | undefined> {
    const row = await this.db.selectFrom('coworkers').select('id').where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase())).executeTakeFirst();
    return row?.id;
  }

  /** Ids of calendar records and users that reference this coworker. */
  async holders(id: number) {
    const [calendars, users] = await Promise.all([
      this.db.selectFrom('coworker_ms_office_calendars').select('id').where('coworker_id', '=', id).orderBy('id').limit(11).execute(),
      this.db.selectFrom('users').select('id').where('coworker_id', '=', id).orderBy('id').limit(11).execute(),
    ]);
    return { calendars: calendars.map((r) => r.id), users: users.map((r) => r.id) };
  }
}
