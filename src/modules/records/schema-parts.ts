/**
 * Schema pieces every entity shares: lenient integers, required non-empty strings, ISO dates, and the read-only
 * fields every Nexudus record carries. TypeBox schemas are the one source of validation, types and OpenAPI.
 */
import { Type, type TSchema } from 'typebox';
import { MAX_INT, type ListField, type ListFilter, type ListSpec } from '../../core/list-query.js';

/** An integer, or a string of digits (form-encoded bodies can only send strings). */
export const LenientInteger = (description?: string) =>
  Type.Union([Type.Integer({ minimum: -MAX_INT - 1, maximum: MAX_INT }), Type.String({ pattern: '^\\s*-?\\d{1,10}\\s*$' })], { description });

/** Optional reference: an integer, digits, or null / 0 / "" for "none". */
export const LenientOptionalId = (description?: string) =>
  Type.Optional(Type.Union([Type.Integer({ minimum: -MAX_INT - 1, maximum: MAX_INT }), Type.String({ pattern: '^\\s*(-?\\d{1,10})?\\s*$' }), Type.Null()], { description }));

/**
 * The Id in an update body: optional, since PUT /{id} takes it from the path; null or "" count as absent there
 * (as the update route already treats them), and on the collection path they are answered "is a required field".
 */
export const UpdateBodyId = () =>
  LenientOptionalId('The record to update (required on PUT to the collection; optional on PUT /{id}, where it must match).');

/**
 * Text never holds a NUL character: PostgreSQL cannot store one in text (SQLite would), so both databases refuse it
 * the same way, as a 400 on the field. Linear patterns: a lookahead that scans once, no nested repetition.
 */
export const TEXT_PATTERN = '^[^\\u0000]*$';
/** Non-empty after trimming, and no NUL. */
export const REQUIRED_TEXT_PATTERN = '^(?![\\s\\S]*\\u0000)\\s*\\S';

/** A string that must be non-empty after trimming. */
export const RequiredString = (maxLength: number, description?: string) =>
  Type.String({ pattern: REQUIRED_TEXT_PATTERN, maxLength, description });

export const OptionalString = (maxLength: number, description?: string) =>
  Type.Optional(Type.Union([Type.String({ maxLength, pattern: TEXT_PATTERN }), Type.Null()], { description }));

export const IsoDate = (description?: string) => Type.String({ format: 'nexudus-date', description });

export const LenientBoolean = (description?: string) =>
  Type.Union([Type.Boolean(), Type.String({ pattern: '^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|1|0)$' })], { description });

/** Nullable scalars for answers, as type arrays: the serializer handles these without trying each branch. */
export const NullableString = () => Type.Unsafe<string | null>({ type: ['string', 'null'] });
export const NullableInteger = () => Type.Unsafe<number | null>({ type: ['integer', 'null'] });

/** Read-only fields of every record, in the order Nexudus prints them, after the entity's own fields. */
export const recordMetaProperties = {
  Id: Type.Integer(),
  UpdatedOn: Type.String({ format: 'date-time' }),
  CreatedOn: Type.String({ format: 'date-time' }),
  UniqueId: Type.String({ format: 'uuid' }),
  UpdatedBy: NullableString(),
  IsNew: Type.Boolean(),
  SystemId: NullableString(),
  ToStringText: Type.String(),
  LocalizationDetails: Type.Null(),
  CustomFields: Type.Null(),
};

export function toInt(value: unknown): number {
  return typeof value === 'number' ? value : Number(String(value).trim());
}

/** null for "no reference": null, undefined, 0 or an empty string. */
export function toOptionalId(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' && value.trim() === '') return null;
  const n = toInt(value);
  return n === 0 ? null : n;
}

export function toBool(value: unknown): boolean {
  return typeof value === 'boolean' ? value : ['true', '1'].includes(String(value).toLowerCase());
}

export type AnySchema = TSchema;

/**
 * A list spec with what every entity shares: the read-only fields, the `{Entity}_Id` filter and the CreatedOn /
 * UpdatedOn ranges. `filters` are given as field → match, named `{Entity}_{param}` (param defaults to the field).
 */
export function entityListSpec(
  entity: string,
  fields: ListField[],
  filters: Array<{ field: string; match: ListFilter['match']; param?: string; values?: readonly string[] }>,
  ranges: string[] = [],
): ListSpec {
  const meta: ListField[] = [
    { name: 'Id', type: 'int' },
    { name: 'CreatedOn', type: 'date' },
    { name: 'UpdatedOn', type: 'date' },
    { name: 'UpdatedBy', type: 'string' },
    { name: 'UniqueId', type: 'string' },
    { name: 'IsNew', type: 'bool' },
    { name: 'SystemId', type: 'string' },
    { name: 'ToStringText', type: 'string' },
  ];
  return {
    entity,
    fields: [...meta, ...fields],
    // Every record's UniqueId and SystemId filter exactly, as Nexudus documents (`{Entity}_UniqueId`, `{Entity}_SystemId`).
    filters: [{ field: 'Id', match: 'exact' as const }, { field: 'UniqueId', match: 'exact' as const }, { field: 'SystemId', match: 'exact' as const }, ...filters].map((f) => ({ param: `${entity}_${('param' in f && f.param) || f.field}`, field: f.field, match: f.match, ...('values' in f && f.values ? { values: f.values } : {}) })),
    ranges: [...ranges, 'CreatedOn', 'UpdatedOn'],
  };
}
