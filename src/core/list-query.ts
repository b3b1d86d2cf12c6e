/**
 * The one list-query parser every entity shares: page/size/orderBy/dir, `{Entity}_{Field}` filters and
 * `from_`/`to_` ranges → one typed ListQuery. Parameter names are case-insensitive; empty values count as absent.
 */
import { AppError, type FieldError } from './errors.js';
import { dateRange, parseIsoDate } from './dates.js';

export type FieldType = 'int' | 'string' | 'date' | 'bool';

export interface ListField {
  /** The record property, as clients name it in orderBy (e.g. "SubscriptionExpireDate"). */
  name: string;
  type: FieldType;
}

export interface ListFilter {
  /** The query parameter, e.g. "CoworkerMsOfficeCalendar_Resource". */
  param: string;
  /** The record property it filters. */
  field: string;
  /** exact: equality; contains: case-insensitive substring; date: the whole unit given (day, minute, ...). */
  match: 'exact' | 'contains' | 'date';
  /**
   * An exact string filter over a closed set of values (Booking_Source: api, outlook): any other value is a 400
   * naming them, not an empty list. Matched case-insensitively; the condition carries the value as listed.
   */
  values?: readonly string[];
}

export interface ListSpec {
  /** Singular entity name: the filter prefix and the word in messages. */
  entity: string;
  fields: ListField[];
  filters: ListFilter[];
  /** Date properties that take `from_{Entity}_{Field}` / `to_{Entity}_{Field}`. */
  ranges: string[];
  maxPageSize?: number;
  /** The order without an orderBy (default Id). */
  defaultOrderBy?: string;
}

export type Condition =
  | { field: string; op: 'eq'; value: number | string | boolean }
  | { field: string; op: 'contains'; value: string }
  | { field: string; op: 'gte' | 'lt'; value: string };

export interface ListQuery {
  page: number;
  size: number;
  orderBy: string;
  descending: boolean;
  conditions: Condition[];
}

export const DEFAULT_PAGE_SIZE = 25;
/** Ids and integer fields are 32-bit in the database: anything larger cannot exist (and must not reach SQL). */
export const MAX_INT = 2_147_483_647;
/** The longest substring a list filter searches for. */
export const MAX_SEARCH_LENGTH = 1000;
export const MAX_PAGE_SIZE = 1000;

type ParamHandler = (value: string, param: string, out: Condition[], errors: FieldError[]) => void;

export interface ListQueryParser {
  parse(query: Record<string, unknown>): ListQuery;
  /** The field types, for repositories that map fields to columns. */
  fieldTypes: Map<string, FieldType>;
}

/** Compiles a spec once (at start-up) into a parser; per request it is one pass over the query. */
export function listQueryParser(spec: ListSpec): ListQueryParser {
  const fieldsByLower = new Map(spec.fields.map((f) => [f.name.toLowerCase(), f]));
  const fieldTypes = new Map(spec.fields.map((f) => [f.name, f.type]));
  const handlers = new Map<string, ParamHandler>();

  const typeOf = (field: string): FieldType => {
    const t = fieldTypes.get(field);
    if (!t) throw new Error(`list spec ${spec.entity}: unknown field ${field}`);
    return t;
  };

  for (const filter of spec.filters) {
    const type = typeOf(filter.field);
    const allowed = filter.values && new Map(filter.values.map((v) => [v.toLowerCase(), v]));
    if (allowed && (filter.match !== 'exact' || type !== 'string')) throw new Error(`list spec ${spec.entity}: values on a filter that is not an exact string`);
    handlers.set(filter.param.toLowerCase(), (raw, param, out, errors) => {
      if (allowed) {
        const value = allowed.get(raw.toLowerCase());
        if (value === undefined) return void errors.push(fieldError(param, raw.slice(0, 100), `must be one of: ${filter.values!.join(', ')}`));
        out.push({ field: filter.field, op: 'eq', value });
      } else if (filter.match === 'contains') {
        // SQLite refuses LIKE patterns near 50,000 bytes; no real search is longer than this.
        if (raw.length > MAX_SEARCH_LENGTH) return void errors.push(fieldError(param, raw.slice(0, 100), `must be at most ${MAX_SEARCH_LENGTH} characters`));
        out.push({ field: filter.field, op: 'contains', value: raw });
      } else if (filter.match === 'date' || type === 'date') {
        const parsed = parseIsoDate(raw);
        if (!parsed) return void errors.push(fieldError(param, raw, 'is not a valid date (use YYYY-MM-DD, YYYY-MM-DDTHH:mm or ISO 8601)'));
        const { from, to } = dateRange(parsed);
        out.push({ field: filter.field, op: 'gte', value: from });
        if (to !== null) out.push({ field: filter.field, op: 'lt', value: to });
      } else {
        const value = parseScalar(type, raw);
        if (value === undefined) return void errors.push(fieldError(param, raw, `must be ${typeWord(type)}`));
        out.push({ field: filter.field, op: 'eq', value });
      }
    });
  }
  // A plain `Id=5` is the Id filter (the batch form `id=[..]` is routed before this parser runs).
  if (!handlers.has('id')) {
    handlers.set('id', (raw, param, out, errors) => {
      const value = parseScalar('int', raw);
      if (value === undefined) return void errors.push(fieldError(param, raw, 'must be an integer'));
      out.push({ field: 'Id', op: 'eq', value });
    });
  }
  for (const field of spec.ranges) {
    if (typeOf(field) !== 'date') throw new Error(`list spec ${spec.entity}: range on non-date ${field}`);
    for (const side of ['from', 'to'] as const) {
      handlers.set(`${side}_${spec.entity}_${field}`.toLowerCase(), (raw, param, out, errors) => {
        const parsed = parseIsoDate(raw);
        if (!parsed) return void errors.push(fieldError(param, raw, 'is not a valid date (use YYYY-MM-DD, YYYY-MM-DDTHH:mm or ISO 8601)'));
        const { from, to } = dateRange(parsed);
        // to_ is inclusive of the whole unit given: everything before the start of the next unit (no bound when that
        // unit ends with year 9999: every stored date is before it).
        if (side === 'from') out.push({ field, op: 'gte', value: from });
        else if (to !== null) out.push({ field, op: 'lt', value: to });
      });
    }
  }

  const maxSize = spec.maxPageSize ?? MAX_PAGE_SIZE;
  const defaultOrderBy = spec.defaultOrderBy ?? 'Id';
  typeOf(defaultOrderBy);

  return {
    fieldTypes,
    parse(query) {
      let page = 1;
      let size = DEFAULT_PAGE_SIZE;
      let orderBy = defaultOrderBy;
      let descending = false;
      const conditions: Condition[] = [];
      const errors: FieldError[] = [];
      for (const param in query) {
        const rawValue = query[param];
        // Repeated parameters: the last one wins, as most servers do.
        const raw = Array.isArray(rawValue) ? rawValue[rawValue.length - 1] : rawValue;
        if (typeof raw !== 'string' || raw === '') continue;
        const key = param.toLowerCase();
        switch (key) {
          case 'page':
          case 'size': {
            const n = /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
            if (!Number.isSafeInteger(n) || n < 1) errors.push(fieldError(param, raw, 'must be a whole number of at least 1'));
            else if (key === 'page') page = n;
            else size = Math.min(n, maxSize);
            break;
          }
          case 'orderby': {
            const field = fieldsByLower.get(raw.trim().toLowerCase());
            if (!field) errors.push(fieldError(param, raw, `is not a field of ${spec.entity}`));
            else orderBy = field.name;
            break;
          }
          case 'dir': {
            const dir = parseDirection(raw);
            if (dir === undefined) errors.push(fieldError(param, raw, 'must be 0, asc or ascending for ascending; 1, -1, desc or descending for descending'));
            else descending = dir;
            break;
          }
          default: {
            const handler = handlers.get(key);
            if (handler) handler(raw, param, conditions, errors);
          }
        }
      }
      if (errors.length) throw AppError.validation(errors);
      return { page, size, orderBy, descending, conditions };
    },
  };
}

function parseDirection(raw: string): boolean | undefined {
  switch (raw.trim().toLowerCase()) {
    case '0': case 'asc': case 'ascending': return false;
    case '1': case '-1': case 'desc': case 'descending': return true;
    default: return undefined;
  }
}

function parseScalar(type: FieldType, raw: string): number | string | boolean | undefined {
  switch (type) {
    case 'int': {
      if (!/^\s*-?\d+\s*$/.test(raw)) return undefined;
      const n = Number(raw);
      return Number.isSafeInteger(n) && Math.abs(n) <= MAX_INT ? n : undefined;
    }
    case 'bool': {
      const v = raw.trim().toLowerCase();
      return v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : undefined;
    }
    default:
      return raw;
  }
}

function typeWord(type: FieldType): string {
  return type === 'int' ? 'an integer' : type === 'bool' ? 'true or false' : type === 'date' ? 'a date' : 'a string';
}

function fieldError(property: string, attempted: unknown, message: string): FieldError {
  return { AttemptedValue: attempted, Message: message, PropertyName: property };
}

/** Batch ids: `[1,2,3]` or `1,2,3`. Returns undefined when the value is a plain single integer (the Id filter). */
export function parseBatchIds(raw: string, param = 'id', maxIds = 100): number[] | undefined {
  const text = raw.trim();
  const bracketed = text.startsWith('[') && text.endsWith(']');
  if (!bracketed && /^-?\d+$/.test(text)) return undefined;
  const inner = bracketed ? text.slice(1, -1).trim() : text;
  if (inner === '') return [];
  const ids: number[] = [];
  const seen = new Set<number>();
  for (const part of inner.split(',')) {
    const p = part.trim();
    const n = /^\d+$/.test(p) ? Number(p) : NaN;
    if (!Number.isSafeInteger(n)) throw AppError.field(param, `"${p}" is not an integer id`, raw);
    if (n > MAX_INT) continue; // cannot exist: left out like any unknown id
    if (!seen.has(n)) {
      seen.add(n);
      ids.push(n);
    }
  }
  if (ids.length > maxIds) throw AppError.field(param, `asks for ${ids.length} distinct ids; at most ${maxIds} are allowed`, raw);
  return ids;
}
