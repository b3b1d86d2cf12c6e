/** SQL for Resource records. */
import type { Storage } from '../../storage/database.js';
import type { Executor } from '../../storage/unit-of-work.js';
import { RecordRepository } from '../records/record-repository.js';
import { resourceEntity, type Resource } from './resource-schema.js';

export class ResourceRepository extends RecordRepository<typeof resourceEntity, Resource> {
  constructor(storage: Storage) {
    super(storage, resourceEntity);
  }

  /** Ids of calendar records that book this resource. */
  async calendarHolders(id: number, db: Executor = this.db): Promise<number[]> {
    const rows = await db.selectFrom('coworker_ms_office_calendars').select('id').where('resource_id', '=', id).orderBy('id').limit(11).execute();
    return rows.map((r) => r.id);
  }

  /** Resource ids by lower-case CalendarEmail (what an event's invitations are matched against). */
  async idsByCalendarEmail(db: Executor = this.db): Promise<Map<string, number>> {
    const rows = await db.selectFrom('resources').select(['id', 'calendar_email']).where('calendar_email', 'is not', null).execute();
    return new Map(rows.filter((r) => r.calendar_email).map((r) => [String(r.calendar_email).trim().toLowerCase(), r.id]));
  }

  /** Ids of bookings of this resource, cancelled ones included (they keep its history). */
  async bookingHolders(id: number, db: Executor = this.db): Promise<number[]> {
    const rows = await db.selectFrom('bookings').select('id').where('resource_id', '=', id).orderBy('id').limit(11).execute();
    return rows.map((r) => r.id);
  }
}
