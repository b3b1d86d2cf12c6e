/**
 * An entity's fields, declared once. Each field says how it is written (its body schema and lenient parsing), how it
 * is answered (its record schema), where it lives (its column, or a joined table's) and how lists filter it; the
 * create and update bodies, the record schema (and so OpenAPI), the list spec, the column map, the SELECT list, the
 * row → record mapper and the values → columns mapper are all derived here. Adding a field touches its declaration,
 * its migration and its tests.
 */
import { Type, type Static, type TObject, type TSchema } from 'typebox';
import type { SelectQueryBuilder } from 'kysely';
import { parseIsoDate, toIso } from '../../core/dates.js';
import { MAX_INT, type FieldType, type ListFilter, type ListSpec } from '../../core/list-query.js';
import { AppError, type FieldError } from '../../core/errors.js';
import type { ColumnMap } from './list-sql.js';
import {
  IsoDate, LenientBoolean, LenientInteger, LenientOptionalId, NullableInteger, NullableString, OptionalString, RequiredString,
  UpdateBodyId, entityListSpec, recordMetaProperties, toBool, toInt, toOptionalId,
} from './schema-parts.js';

type AnySelect = SelectQueryBuilder<any, any, any>;

export interface FieldSpec<Out extends TSchema | undefined = TSchema | undefined, Value = unknown> {
  /** The field in answers; undefined: a list-only field (filterable, not part of the record). */
  out: Out;
  /** The field in request bodies; undefined: read-only. */
  in?: TSchema;
  /** Required in bodies: on create and update, or on create only (passwords). */
  required?: boolean | 'create';
  type: FieldType;
  /** The stored column (default: the name in snake_case); ignored for joined fields. */
  column?: string;
  /** Read from a joined table: the join's name and the qualified column ("w.full_name"). */
  joined?: { join: string; column: string };
  /** A validated body value → the stored value. */
  parse?: (raw: unknown) => Value;
  /** The stored value → the answer's value (default: as stored). */
  read?: (stored: any) => unknown;
  /** The stored value → the column's value (default: as is). */
  write?: (value: any) => unknown;
  filter?: { match: ListFilter['match']; param?: string; values?: readonly string[] };
  /** Takes from_/to_ range parameters (dates). */
  range?: boolean;
}

type Extra = Partial<Pick<FieldSpec, 'column' | 'filter' | 'range'>>;
const nullable = (v: unknown) => (v === undefined || v === '' ? null : v);

/** Field kinds: each fixes its body schema, its answer schema and its lenient parsing. */
export const field = {
  integer: (description: string, extra: Extra = {}): FieldSpec<ReturnType<typeof Type.Integer>, number> =>
    ({ in: LenientInteger(description), out: Type.Integer(), required: true, type: 'int', parse: toInt, ...extra }),
  reference: (description: string, extra: Extra = {}): FieldSpec<ReturnType<typeof NullableInteger>, number | null> =>
    ({ in: LenientOptionalId(description), out: NullableInteger(), type: 'int', parse: toOptionalId, ...extra }),
  requiredText: (maxLength: number, description: string, extra: Extra = {}): FieldSpec<ReturnType<typeof Type.String>, string> =>
    ({ in: RequiredString(maxLength, description), out: Type.String(), required: true, type: 'string', parse: (v) => v as string, ...extra }),
  text: (maxLength: number, description: string, extra: Extra = {}): FieldSpec<ReturnType<typeof NullableString>, string | null> =>
    ({ in: OptionalString(maxLength, description), out: NullableString(), type: 'string', parse: (v) => (v as string | null | undefined) ?? null, ...extra }),
  email: (description: string, extra: Extra = {}): FieldSpec<ReturnType<typeof Type.String>, string> =>
    ({ in: Type.String({ format: 'email', maxLength: 320, description }), out: Type.String(), required: true, type: 'string', parse: (v) => String(v).trim(), ...extra }),
  /** An optional mailbox address; "" means none. */
  optionalEmail: (description: string, extra: Extra = {}): FieldSpec<ReturnType<typeof NullableString>, string | null> => ({
    in: Type.Optional(Type.Union([Type.String({ format: 'email', maxLength: 320 }), Type.Literal(''), Type.Null()], { description })),
    out: NullableString(), type: 'string', parse: (v) => nullable(v) as string | null, ...extra,
  }),
  date: (description: string, extra: Extra = {}): FieldSpec<ReturnType<typeof Type.String>, string> => ({
    in: IsoDate(description), out: Type.String({ format: 'date-time' }), required: true, type: 'date',
    // The schema's format check already parsed it once; this cannot fail.
    parse: (v) => toIso(parseIsoDate(v as string)!.ms), ...extra,
  }),
  boolean: (description: string, extra: Extra = {}): FieldSpec<ReturnType<typeof Type.Boolean>, boolean> => ({
    in: Type.Optional(LenientBoolean(description)), out: Type.Boolean(), type: 'bool',
    parse: (v) => (v === undefined || v === null ? false : toBool(v)), write: (b) => (b ? 1 : 0), read: (v) => v === 1 || v === true, ...extra,
  }),
  /** A read-only value from a joined table. */
  joined: <Out extends TSchema>(out: Out, type: FieldType, join: string, column: string, extra: Extra = {}): FieldSpec<Out, never> =>
    ({ out, type, joined: { join, column }, ...extra }),
  /** Filterable through a join, not part of the record. */
  listOnly: (type: FieldType, join: string, column: string, extra: Extra = {}): FieldSpec<undefined, never> =>
    ({ out: undefined, type, joined: { join, column }, ...extra }),
};

type Fields = Record<string, FieldSpec<TSchema | undefined, any>>;
type OutProps<F extends Fields> = { [K in keyof F as F[K]['out'] extends TSchema ? K : never]: Exclude<F[K]['out'], undefined> };
/** A field's parsed value: what its parse returns (read-only fields have none). */
type ValueOf<S> = S extends { parse?: (raw: unknown) => infer V } ? V : never;
type Writable<F extends Fields> = { [K in keyof F as [ValueOf<F[K]>] extends [never] ? never : K]: F[K] };

export type RecordOf<F extends Fields> = Static<TObject<OutProps<F> & typeof recordMetaProperties>>;
/** Normalised writable values: every writable field parsed, plus SystemId. */
export type ValuesOf<F extends Fields> = { [K in keyof Writable<F>]: ValueOf<F[K]> } & { SystemId: string | null };

export interface EntityDefinition<F extends Fields> {
  entity: string;
  table: string;
  alias: string;
  /** The field whose value is the record's ToStringText. */
  toString: keyof F & string;
  fields: F;
  /** Named joins that fields' `joined` refer to. */
  joins?: Record<string, (qb: AnySelect) => AnySelect>;
  /** Joins every row needs (its answer includes a joined field). */
  rowJoins?: string[];
  /** Which rows of the table are this entity's (two entities over one table: active and cancelled bookings). */
  scope?: (qb: AnySelect) => AnySelect;
}

export interface Entity<F extends Fields> {
  readonly entity: string;
  readonly table: string;
  readonly alias: string;
  readonly fields: F;
  readonly record: TObject<OutProps<F> & typeof recordMetaProperties>;
  readonly createBody: TObject;
  readonly updateBody: TObject;
  readonly listSpec: ListSpec;
  readonly columns: ColumnMap;
  readonly joins: Record<string, (qb: AnySelect) => AnySelect>;
  readonly rowJoins: string[];
  /** Restricts a query FROM `{table} as {alias}` to this entity's rows. */
  readonly scope: (qb: AnySelect) => AnySelect;
  /** Adds the record's joins and SELECT list to a query FROM `{table} as {alias}`. */
  selectRecord(qb: AnySelect): AnySelect;
  toRecord(row: Record<string, unknown>): RecordOf<F>;
  /** A schema-valid body → typed values (lenient integers, dates to ISO, "" → null). */
  parseBody(body: Record<string, unknown>): ValuesOf<F>;
  /** Values → columns (only the ones given). */
  toColumns(values: Partial<ValuesOf<F>>): Record<string, unknown>;
}

const META_COLUMNS = ['id', 'unique_id', 'created_on', 'updated_on', 'updated_by', 'is_new', 'system_id'] as const;
const snake = (name: string) => name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/([A-Z])([A-Z][a-z])/g, '$1_$2').toLowerCase();

export function defineEntity<F extends Fields>(def: EntityDefinition<F>): Entity<F> {
  const { entity, alias } = def;
  const entries = Object.entries(def.fields);
  const columnOf = (name: string, f: FieldSpec) => f.column ?? snake(name);
  const writable = entries.filter(([, f]) => f.in);
  const readColumns = entries.filter(([, f]) => f.out && !f.joined);
  const writeColumns = entries.filter(([, f]) => f.in && !f.joined);
  const joined = entries.filter(([, f]) => f.joined && f.out);

  const bodyProps: Record<string, TSchema> = Object.fromEntries(writable.map(([n, f]) => [n, f.in!]));
  bodyProps.SystemId = OptionalString(500, 'External system identifier (API only).');
  const requiredOnUpdate = writable.filter(([, f]) => f.required === true).map(([n]) => n);
  const requiredOnCreate = writable.filter(([, f]) => f.required).map(([n]) => n);
  const record = Type.Object({
    ...Object.fromEntries(entries.filter(([, f]) => f.out).map(([n, f]) => [n, f.out!])),
    ...recordMetaProperties,
  }) as Entity<F>['record'];

  const toStringSpec = def.fields[def.toString]!;
  const columns: ColumnMap = {
    Id: { column: `${alias}.id`, type: 'int' },
    CreatedOn: { column: `${alias}.created_on`, type: 'date' },
    UpdatedOn: { column: `${alias}.updated_on`, type: 'date' },
    UpdatedBy: { column: `${alias}.updated_by`, type: 'string' },
    UniqueId: { column: `${alias}.unique_id`, type: 'string' },
    IsNew: { column: `${alias}.is_new`, type: 'bool' },
    SystemId: { column: `${alias}.system_id`, type: 'string' },
    ToStringText: { column: `${alias}.${columnOf(def.toString, toStringSpec)}`, type: 'string' },
  };
  // Write-only fields (a password) are neither answered, nor sorted or filtered on.
  const listed = entries.filter(([, f]) => f.out || f.joined);
  for (const [name, f] of listed) {
    columns[name] = f.joined ? { column: f.joined.column, type: f.type, join: f.joined.join } : { column: `${alias}.${columnOf(name, f)}`, type: f.type };
  }

  const listSpec = entityListSpec(
    entity,
    listed.map(([name, f]) => ({ name, type: f.type })),
    listed.filter(([, f]) => f.filter).map(([name, f]) => ({
      field: name, match: f.filter!.match, ...(f.filter!.param ? { param: f.filter!.param } : {}), ...(f.filter!.values ? { values: f.filter!.values } : {}),
    })),
    listed.filter(([, f]) => f.range).map(([name]) => name),
  );

  // Joined answers are selected under the field's snake_case name, so every row key is snake(name) or a meta column.
  const selectList = [
    ...META_COLUMNS.map((c) => `${alias}.${c}`),
    ...readColumns.map(([n, f]) => `${alias}.${columnOf(n, f)}${columnOf(n, f) === snake(n) ? '' : ` as ${snake(n)}`}`),
    ...joined.map(([n, f]) => `${f.joined!.column} as ${snake(n)}`),
  ];
  const joins = def.joins ?? {};
  const rowJoins = def.rowJoins ?? [...new Set(joined.map(([, f]) => f.joined!.join))];
  const scope = def.scope ?? ((qb: AnySelect) => qb);
  const outFields = entries.filter(([, f]) => f.out).map(([n, f]) => [n, snake(n), f.read] as const);
  const toStringKey = snake(def.toString);
  // Column names worked out once, not per write.
  const columnWriters = writeColumns.map(([n, f]) => [n, columnOf(n, f), f.write] as const);

  return {
    entity, table: def.table, alias, fields: def.fields, record, listSpec, columns, joins, rowJoins, scope,
    createBody: Type.Object(bodyProps, { required: requiredOnCreate, additionalProperties: true }),
    updateBody: Type.Object({ Id: UpdateBodyId(), ...bodyProps }, { required: requiredOnUpdate, additionalProperties: true }),
    selectRecord(qb) {
      let out = scope(qb);
      for (const j of rowJoins) out = joins[j]!(out);
      return out.select(selectList as never);
    },
    toRecord(row) {
      const rec: Record<string, unknown> = {};
      for (const [name, key, read] of outFields) rec[name] = read ? read(row[key]) : row[key];
      // The read-only tail every Nexudus record carries, in Nexudus' key order.
      rec.Id = row.id;
      rec.UpdatedOn = row.updated_on;
      rec.CreatedOn = row.created_on;
      rec.UniqueId = row.unique_id;
      rec.UpdatedBy = row.updated_by;
      rec.IsNew = row.is_new === 1 || row.is_new === true;
      rec.SystemId = row.system_id;
      rec.ToStringText = row[toStringKey];
      rec.LocalizationDetails = null;
      rec.CustomFields = null;
      return rec as RecordOf<F>;
    },
    parseBody(body) {
      const values: Record<string, unknown> = {};
      const errors: FieldError[] = [];
      for (const [name, f] of writable) {
        const v = f.parse ? f.parse(body[name]) : body[name];
        // Digits that passed the schema can still exceed the database's 32-bit integers.
        if (f.type === 'int' && typeof v === 'number') {
          if (v > MAX_INT) errors.push({ AttemptedValue: body[name], Message: `must be at most ${MAX_INT}`, PropertyName: name });
          else if (v < -MAX_INT - 1) errors.push({ AttemptedValue: body[name], Message: `must be at least ${-MAX_INT - 1}`, PropertyName: name });
        }
        values[name] = v;
      }
      if (errors.length) throw AppError.validation(errors);
      values.SystemId = (body.SystemId as string | null | undefined) ?? null;
      return values as ValuesOf<F>;
    },
    toColumns(values) {
      const out: Record<string, unknown> = {};
      for (const [name, column, write] of columnWriters) {
        if (!(name in values)) continue;
        const v = (values as Record<string, unknown>)[name];
        out[column] = write ? write(v) : v;
      }
      if ('SystemId' in values) out.system_id = values.SystemId;
      return out;
    },
  };
}
