/** CoworkerMsOfficeCalendar: the wire contract (CONTRACT §2) as TypeBox schemas, plus its list spec. */
import { Type, type Static } from 'typebox';
import { NullableInteger, NullableString, IsoDate, LenientInteger, UpdateBodyId, LenientOptionalId, OptionalString, RequiredString, recordMetaProperties, entityListSpec } from '../schema-parts.js';

export const ENTITY = 'CoworkerMsOfficeCalendar';

const writable = {
  ResourceId: LenientInteger('The bookable resource (room or desk) this connection books.'),
  CoworkerId: LenientOptionalId('The member who connected the calendar; 0 or null for none.'),
  Name: RequiredString(200, 'Display name of the connected calendar.'),
  SubscriptionId: RequiredString(500, 'Microsoft Graph change-notification subscription id.'),
  CalendarId: RequiredString(500, 'Microsoft Graph calendar id.'),
  SubscriptionExpireDate: IsoDate('When the Graph subscription expires (ISO 8601; no zone means UTC).'),
  SystemId: OptionalString(500, 'External system identifier (API only).'),
};

export const CreateCoworkerMsOfficeCalendarBody = Type.Object(writable, {
  required: ['ResourceId', 'Name', 'SubscriptionId', 'CalendarId', 'SubscriptionExpireDate'],
  additionalProperties: true,
});

export const UpdateCoworkerMsOfficeCalendarBody = Type.Object(
  { Id: UpdateBodyId(), ...writable },
  { required: ['ResourceId', 'Name', 'SubscriptionId', 'CalendarId', 'SubscriptionExpireDate'], additionalProperties: true },
);

export const CoworkerMsOfficeCalendarSchema = Type.Object({
  ResourceId: Type.Integer(),
  CoworkerId: NullableInteger(),
  CoworkerFullName: NullableString(),
  Name: Type.String(),
  SubscriptionId: Type.String(),
  CalendarId: Type.String(),
  SubscriptionExpireDate: Type.String({ format: 'date-time' }),
  ...recordMetaProperties,
});

export type CoworkerMsOfficeCalendar = Static<typeof CoworkerMsOfficeCalendarSchema>;
export type CreateCoworkerMsOfficeCalendarInput = Static<typeof CreateCoworkerMsOfficeCalendarBody>;

/** Normalised writable values, after lenient parsing. */
export interface CoworkerMsOfficeCalendarValues {
  ResourceId: number;
  CoworkerId: number | null;
  Name: string;
  SubscriptionId: string;
  CalendarId: string;
  SubscriptionExpireDate: string;
  SystemId: string | null;
}

export const coworkerMsOfficeCalendarListSpec = entityListSpec(ENTITY, [
  { name: 'ResourceId', type: 'int' },
  { name: 'CoworkerId', type: 'int' },
  { name: 'CoworkerFullName', type: 'string' },
  { name: 'Name', type: 'string' },
  { name: 'SubscriptionId', type: 'string' },
  { name: 'CalendarId', type: 'string' },
  { name: 'SubscriptionExpireDate', type: 'date' },
  // The Graph connection's state (active, renewing, reauth_required, credentials_missing, failed); see /{id}/status.
  { name: 'State', type: 'string' },
], [
  { field: 'State', match: 'exact' },
  { field: 'ResourceId', param: 'Resource', match: 'exact' },
  { field: 'CoworkerId', param: 'Coworker', match: 'exact' },
  { field: 'CoworkerFullName', param: 'Coworker_FullName', match: 'contains' },
  { field: 'Name', match: 'contains' },
  { field: 'SubscriptionId', match: 'exact' },
  { field: 'CalendarId', match: 'exact' },
  { field: 'SubscriptionExpireDate', match: 'date' },
], ['SubscriptionExpireDate']);
