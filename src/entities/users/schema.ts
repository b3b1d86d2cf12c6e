/** Users of the API (/api/sys/users): e-mail, password (write-only), full administrator flag, roles. */
import { Type, type Static } from 'typebox';
import { KNOWN_ROLES } from '../../auth/roles.js';
import { MIN_PASSWORD_LENGTH } from '../../auth/passwords.js';
import { NullableInteger, NullableString, LenientBoolean, UpdateBodyId, LenientOptionalId, recordMetaProperties, entityListSpec } from '../schema-parts.js';

export const ENTITY = 'User';

const Role = Type.String({ enum: [...KNOWN_ROLES] as string[] });

const writable = {
  Email: Type.String({ format: 'email', maxLength: 320, description: 'Unique login e-mail.' }),
  FullName: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
  Password: Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: 1024, description: 'Write-only; at least 10 characters.' }),
  FullAdministrator: Type.Optional(LenientBoolean('Unrestricted access to every endpoint.')),
  Roles: Type.Optional(Type.Union([Type.Array(Role, { maxItems: 100 }), Role], { description: 'Role names such as CoworkerMsOfficeCalendar-List.' })),
  CoworkerId: LenientOptionalId('The coworker this login belongs to (member logins).'),
};

export const CreateUserBody = Type.Object(writable, { required: ['Email', 'Password'], additionalProperties: true });
export const UpdateUserBody = Type.Object(
  { Id: UpdateBodyId(), ...writable, Password: Type.Optional(writable.Password) },
  { required: ['Email'], additionalProperties: true },
);

export const UserSchema = Type.Object({
  Email: Type.String(),
  FullName: NullableString(),
  FullAdministrator: Type.Boolean(),
  Roles: Type.Array(Type.String()),
  CoworkerId: NullableInteger(),
  ...recordMetaProperties,
});
export type User = Static<typeof UserSchema>;

export interface UserValues {
  Email: string;
  FullName: string | null;
  /** Present only when a (new) password was sent. */
  PasswordHash?: string;
  FullAdministrator: boolean;
  Roles: string[];
  CoworkerId: number | null;
}

export const userListSpec = entityListSpec(ENTITY, [
  { name: 'Email', type: 'string' },
  { name: 'FullName', type: 'string' },
  { name: 'FullAdministrator', type: 'bool' },
  { name: 'CoworkerId', type: 'int' },
], [
  { field: 'Email', match: 'contains' },
  { field: 'FullName', match: 'contains' },
  { field: 'FullAdministrator', match: 'exact' },
  { field: 'CoworkerId', param: 'Coworker', match: 'exact' },
]);
