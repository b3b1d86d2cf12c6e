/** Coworker (a member): only what calbridge needs, FullName and Email; declared once. */
import type { Static } from 'typebox';
import { defineEntity, field, type ValuesOf } from '../records/entity.js';

export const ENTITY = 'Coworker';

export const coworkerEntity = defineEntity({
  entity: ENTITY,
  table: 'coworkers',
  alias: 'w',
  toString: 'FullName',
  fields: {
    FullName: field.requiredText(200, "The member's full name.", { filter: { match: 'contains' } }),
    Email: field.email('Unique e-mail address.', { filter: { match: 'contains' } }),
  },
});

export type Coworker = Static<typeof coworkerEntity.record>;
export type CoworkerValues = ValuesOf<typeof coworkerEntity.fields>;
