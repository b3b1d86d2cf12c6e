/** SQL for Resource records. */
import type { Kysely } from 'kysely';
import type { Database as Schema } from '../../storage/schema.js';
import type { Storage } from '../../storage/database.js';
import { META_SELECT, RecordRepository, metaColumns, recordMeta, type MetaRow } from '../../storage/record-repository.js';
import type { Resource } from './schema.js';

interface Row extends MetaRow {
  name: string;
  calendar_email: string | null;
}

export class ResourceRepository extends RecordRepository<Row, Resource> {
  constructor(storage: Storage) {
    super(storage, {
      table: 'resources',
      alias: 'r',
      columns: {
        ...metaColumns('r', 'name'),
        Name: { column: 'r.name', type: 'string' },
        CalendarEmail: { column: 'r.calendar_email', type: 'string' },
      },
      selectRows: (db: Kysely<Schema>) =>
        db.selectFrom('resources as r').select(META_SELECT.map((c) => `r.${c}` as const)).select(['r.name', 'r.calendar_email']),
      toRecord: (r) => ({ Name: r.name, CalendarEmail: r.calendar_email, ...recordMeta(r, r.name) }),
    });
  }

  /** Ids of calendar records that book this resource. */
  async calendarHolders(id: number): Promise<number[]> {
    const rows = await this.db.selectFrom('coworker_ms_office_calendars').select('id').where('resource_id', '=', id).orderBy('id').limit(11).execute();
    return rows.map((r) => r.id);
  }
}
