/** CoworkerMsOfficeCalendar: the wire contract (CONTRACT §2), declared once; bodies, record and list spec derive from it. */
import type { Static } from 'typebox';
import { defineEntity, field, type ValuesOf } from '../records/entity.js';
import { NullableString } from '../records/schema-parts.js';

export const ENTITY = 'CoworkerMsOfficeCalendar';

/**
 * The states of a record's Graph connection, as its State and /status show them. Declared here with the wire
 * contract (the list filter accepts only these); modules/graph/connection-states.ts says how they follow each other.
 */
export const CONNECTION_STATES = ['active', 'renewing', 'reauth_required', 'credentials_missing', 'failed'] as const;

export const calendarEntity = defineEntity({
  entity: ENTITY,
  table: 'coworker_ms_office_calendars',
  alias: 'c',
  toString: 'Name',
  fields: {
    ResourceId: field.integer('The bookable resource (room or desk) this connection books.', { filter: { match: 'exact', param: 'Resource' } }),
    CoworkerId: field.reference('The member who connected the calendar; 0 or null for none.', { filter: { match: 'exact', param: 'Coworker' } }),
    CoworkerFullName: field.joined(NullableString(), 'string', 'coworker', 'w.full_name', { filter: { match: 'contains', param: 'Coworker_FullName' } }),
    Name: field.requiredText(200, 'Display name of the connected calendar.', { filter: { match: 'contains' } }),
    SubscriptionId: field.requiredText(500, 'Microsoft Graph change-notification subscription id.', { filter: { match: 'exact' } }),
    CalendarId: field.requiredText(500, 'Microsoft Graph calendar id.', { filter: { match: 'exact' } }),
    SubscriptionExpireDate: field.date('When the Graph subscription expires (ISO 8601; no zone means UTC).', { filter: { match: 'date' }, range: true }),
    // The Graph connection's state; see /{id}/status.
    State: field.listOnly('string', 'connection', 'g.state', { filter: { match: 'exact', values: CONNECTION_STATES } }),
  },
  joins: {
    coworker: (qb) => qb.leftJoin('coworkers as w', 'w.id', 'c.coworker_id'),
    connection: (qb) => qb.leftJoin('graph_connections as g', 'g.calendar_record_id', 'c.id'),
  },
});

export type CoworkerMsOfficeCalendar = Static<typeof calendarEntity.record>;
export type CoworkerMsOfficeCalendarValues = ValuesOf<typeof calendarEntity.fields>;
