/** SQL for Coworker records. */
import type { Storage } from '../../storage/database.js';
import type { Executor } from '../../storage/unit-of-work.js';
import { RecordRepository } from '../records/record-repository.js';
import { coworkerEntity, type Coworker } from './coworker-schema.js';

export class CoworkerRepository extends RecordRepository<typeof coworkerEntity, Coworker> {
  constructor(storage: Storage) {
    super(storage, coworkerEntity);
  }

  async findIdByEmail(email: string, db: Executor = this.db): Promise<number | undefined> {
    const row = await db.selectFrom('coworkers').select('id').where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase())).executeTakeFirst();
    return row?.id;
  }

  /** Ids of calendar records and users that reference this coworker. */
  async holders(id: number, db: Executor = this.db) {
    const [calendars, users, bookings] = await Promise.all([
      db.selectFrom('coworker_ms_office_calendars').select('id').where('coworker_id', '=', id).orderBy('id').limit(11).execute(),
      db.selectFrom('users').select('id').where('coworker_id', '=', id).orderBy('id').limit(11).execute(),
      db.selectFrom('bookings').select('id').where('coworker_id', '=', id).orderBy('id').limit(11).execute(),
    ]);
    return { calendars: calendars.map((r) => r.id), users: users.map((r) => r.id), bookings: bookings.map((r) => r.id) };
  }
}
