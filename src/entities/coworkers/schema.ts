/** Coworker (a member): only what calbridge needs, FullName and Email. */
import { Type, type Static } from 'typebox';
import type { ListSpec } from '../../http/list-query.js';
import { UpdateBodyId, OptionalString, RequiredString, recordMetaProperties } from '../schema-parts.js';

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

export const coworkerListSpec: ListSpec = {
  entity: ENTITY,
  fields: [
    { name: 'Id', type: 'int' },
    { name: 'FullName', type: 'string' },
    { name: 'Email', type: 'string' },
    { name: 'CreatedOn', type: 'date' },
    { name: 'UpdatedOn', type: 'date' },
    { name: 'UpdatedBy', type: 'string' },
    { name: 'UniqueId', type: 'string' },
    { name: 'IsNew', type: 'bool' },
    { name: 'SystemId', type: 'string' },
    { name: 'ToStringText', type: 'string' },
  ],
  filters: [
    { param: `${ENTITY}_Id`, field: 'Id', match: 'exact' },
    { param: `${ENTITY}_FullName`, field: 'FullName', match: 'contains' },
    { param: `${ENTITY}_Email`, field: 'Email', match: 'contains' },
  ],
  ranges: ['CreatedOn', 'UpdatedOn'],
};
