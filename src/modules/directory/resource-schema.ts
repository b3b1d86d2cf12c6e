/** Resource (a bookable room or desk): Name, and the optional mailbox address of its calendar; declared once. */
import type { Static } from 'typebox';
import { defineEntity, field, type ValuesOf } from '../records/entity.js';

export const ENTITY = 'Resource';

export const resourceEntity = defineEntity({
  entity: ENTITY,
  table: 'resources',
  alias: 'r',
  toString: 'Name',
  fields: {
    Name: field.requiredText(200, 'Display name of the room or desk.', { filter: { match: 'contains' } }),
    CalendarEmail: field.optionalEmail("The room's or desk's mailbox, for matching events that invite it.", { filter: { match: 'contains' } }),
  },
});

export type Resource = Static<typeof resourceEntity.record>;
export type ResourceValues = ValuesOf<typeof resourceEntity.fields>;
