/**
 * /api/spaces/bookingconflicts as a list: its fields (the conflict record's), filters, default order (by start) and
 * the ORDER BY of a parsed query over `booking_conflicts`. Pure: BookingRepository.listConflicts runs the SQL.
 */
import type { RawBuilder } from 'kysely';
import type { ListQuery, ListSpec } from '../../core/list-query.js';
import { orderSql, type ColumnMap } from '../records/list-sql.js';

/** The conflict record's fields → booking_conflicts' columns (unqualified: the list reads that table alone). */
export const CONFLICT_COLUMNS: ColumnMap = {
  Id: { column: 'id', type: 'int' },
  CoworkerMsOfficeCalendarId: { column: 'coworker_ms_office_calendar_id', type: 'int' },
  ResourceId: { column: 'resource_id', type: 'int' },
  CoworkerId: { column: 'coworker_id', type: 'int' },
  FromTime: { column: 'from_time', type: 'date' },
  ToTime: { column: 'to_time', type: 'date' },
  Subject: { column: 'subject', type: 'string' },
  Office365EventId: { column: 'event_key', type: 'string' },
  BlockingBookingId: { column: 'blocking_booking_id', type: 'int' },
  DetectedOn: { column: 'detected_on', type: 'date' },
  MarkedInOutlook: { column: 'marked', type: 'bool' },
};

export const conflictListSpec: ListSpec = {
  entity: 'BookingConflict',
  fields: Object.entries(CONFLICT_COLUMNS).map(([name, c]) => ({ name, type: c.type })),
  filters: [
    { param: 'BookingConflict_Resource', field: 'ResourceId', match: 'exact' },
    { param: 'BookingConflict_Coworker', field: 'CoworkerId', match: 'exact' },
    { param: 'BookingConflict_CoworkerMsOfficeCalendar', field: 'CoworkerMsOfficeCalendarId', match: 'exact' },
  ],
  ranges: [],
  defaultOrderBy: 'FromTime',
};

/**
 * ORDER BY for a conflicts page, as every list orders: the field (strings case-insensitively; nulls first ascending,
 * last descending), ties by Id ascending. For the default it is `from_time ASC|DESC, id ASC`, as before.
 */
export function conflictOrder(query: Pick<ListQuery, 'orderBy' | 'descending'>): RawBuilder<unknown> {
  return orderSql(query as ListQuery, CONFLICT_COLUMNS, 'id');
}
