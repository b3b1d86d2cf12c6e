/** Coworker (a member): only what calbridge needs, FullName and Email. */
import { Type, type Static } from 'typebox';
import { UpdateBodyId, OptionalString, RequiredString, recordMetaProperties, entityListSpec } from '../schema-parts.js';

export const ENTITY = 'Coworker';

const writable = {
  FullName: RequiredString(200, "The member's full name."),
  Email: Type.String({ format: 'email', maxLength: 320, description: 'Unique e-mail address.' }),
  SystemId: OptionalString(500, 'External system identifier (API only).'),
};

export const CreateCoworkerBody = Type.Object(writable, { required: ['FullName', 'Email'], additionalProperties: true });
export const UpdateCoworkerBody = Type.Object({ Id: UpdateBodyId(), ...writable }, {
  required: ['FullName', 'Email'],
  additionalProperties: true,
});

export const CoworkerSchema = Type.Object({
  FullName: Type.String(),
  Email: Type.String(),
  ...recordMetaProperties,
});
export type Coworker = Static<typeof CoworkerSchema>;

export interface CoworkerValues {
  FullName: string;
  Email: string;
  SystemId: string | null;
}

export const coworkerListSpec = entityListSpec(ENTITY, [
  { name: 'FullName', type: 'string' },
  { name: 'Email', type: 'string' },
], [
  { field: 'FullName', match: 'contains' },
  { field: 'Email', match: 'contains' },
]);
