/** Resource (a bookable room or desk): Name, and the optional mailbox address of its calendar. */
import { Type, type Static } from 'typebox';
import { NullableString, UpdateBodyId, OptionalString, RequiredString, recordMetaProperties, entityListSpec } from '../schema-parts.js';

export const ENTITY = 'Resource';

const writable = {
  Name: RequiredString(200, 'Display name of the room or desk.'),
  CalendarEmail: Type.Optional(Type.Union([Type.String({ format: 'email', maxLength: 320 }), Type.Literal(''), Type.Null()], {
    description: "The room's or desk's mailbox, for matching events that invite it.",
  })),
  SystemId: OptionalString(500, 'External system identifier (API only).'),
};

export const CreateResourceBody = Type.Object(writable, { required: ['Name'], additionalProperties: true });
export const UpdateResourceBody = Type.Object({ Id: UpdateBodyId(), ...writable }, {
  required: ['Name'],
  additionalProperties: true,
});

export const ResourceSchema = Type.Object({
  Name: Type.String(),
  CalendarEmail: NullableString(),
  ...recordMetaProperties,
});
export type Resource = Static<typeof ResourceSchema>;

export interface ResourceValues {
  Name: string;
  CalendarEmail: string | null;
  SystemId: string | null;
}

export const resourceListSpec = entityListSpec(ENTITY, [
  { name: 'Name', type: 'string' },
  { name: 'CalendarEmail', type: 'string' },
], [
  { field: 'Name', match: 'contains' },
  { field: 'CalendarEmail', match: 'contains' },
]);
