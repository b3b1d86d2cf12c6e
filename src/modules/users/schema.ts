/** Users of the API (/api/sys/users): e-mail, password (write-only), full administrator flag, roles; declared once. */
import { Type, type Static } from 'typebox';
import { KNOWN_ROLES } from './roles.js';
import { MIN_PASSWORD_LENGTH } from './passwords.js';
import { defineEntity, field, type ValuesOf } from '../records/entity.js';
import { NullableString, OptionalString } from '../records/schema-parts.js';

export const ENTITY = 'User';

const Role = Type.String({ enum: [...KNOWN_ROLES] as string[] });

export const userEntity = defineEntity({
  entity: ENTITY,
  table: 'users',
  alias: 'u',
  toString: 'Email',
  fields: {
    Email: field.email('Unique login e-mail.', { filter: { match: 'contains' } }),
    FullName: {
      in: OptionalString(200), out: NullableString(), type: 'string',
      parse: (v: unknown) => (v as string | null | undefined) ?? null, filter: { match: 'contains' },
    },
    /** Write-only: the service stores its hash in password_hash; required on create, absent on PUT keeps it. */
    Password: {
      in: Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: 1024, description: 'Write-only; at least 10 characters.' }),
      out: undefined, required: 'create', type: 'string', column: 'password_hash', parse: (v: unknown) => v as string | undefined,
    },
    FullAdministrator: field.boolean('Unrestricted access to every endpoint.', { filter: { match: 'exact' } }),
    Roles: {
      in: Type.Optional(Type.Union([Type.Array(Role, { maxItems: 100 }), Role], { description: 'Role names such as CoworkerMsOfficeCalendar-List.' })),
      out: Type.Array(Type.String()), type: 'string',
      parse: (v: unknown) => [...new Set(v === undefined || v === null ? [] : Array.isArray(v) ? (v as string[]) : [v as string])],
      write: (roles: string[]) => JSON.stringify(roles), read: (stored: string) => JSON.parse(stored) as string[],
    },
    CoworkerId: field.reference('The coworker this login belongs to (member logins).', { filter: { match: 'exact', param: 'Coworker' } }),
  },
});

export type User = Static<typeof userEntity.record>;
export type UserValues = ValuesOf<typeof userEntity.fields>;
