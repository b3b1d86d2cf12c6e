/**
 * Schema errors (Ajv, from the TypeBox schemas) → Nexudus `Errors` entries: one per failing property, with the
 * messages a Nexudus client expects ("is a required field").
 */
import type { FieldError } from '../../core/errors.js';
import { MAX_INT } from '../../core/list-query.js';
import { REQUIRED_TEXT_PATTERN, TEXT_PATTERN } from '../../modules/records/schema-parts.js';

interface AjvError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

/** Write-only fields: a rejected value is never echoed back as AttemptedValue (passwords never appear in answers). */
const WRITE_ONLY = new Set(['Password']);

const PRIORITY = ['required', 'format', 'maxLength', 'minLength', 'pattern', 'enum', 'maxItems', 'anyOf', 'type'];

export function fieldErrorsFromSchema(errors: AjvError[], body: unknown): FieldError[] {
  const byProperty = new Map<string | null, AjvError[]>();
  for (const e of errors) {
    let property: string | null;
    if (e.keyword === 'required' && !e.instancePath) property = String(e.params.missingProperty);
    else {
      const segment = e.instancePath.split('/')[1];
      property = segment === undefined ? null : segment.replace(/~1/g, '/').replace(/~0/g, '~');
    }
    if (!byProperty.has(property)) byProperty.set(property, []);
    byProperty.get(property)!.push(e);
  }
  const source = body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  const out: FieldError[] = [];
  for (const [property, list] of byProperty) {
    if (property === null) {
      out.push({ AttemptedValue: null, Message: 'The request body must be a JSON object (or a form-encoded body).', PropertyName: null });
      continue;
    }
    const attempted = source[property] ?? null;
    out.push({ AttemptedValue: WRITE_ONLY.has(property) ? null : bounded(attempted), Message: messageFor(list, attempted), PropertyName: property });
  }
  return out;
}

/** What is echoed back of a rejected value: small enough to always serialize (long strings cut, deep values dropped). */
export function bounded(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.length > 500 ? `${value.slice(0, 500)}…` : value;
  if (value === null || typeof value !== 'object') return value;
  if (depth >= 3) return null;
  if (Array.isArray(value)) return value.slice(0, 20).map((v) => bounded(v, depth + 1));
  return Object.fromEntries(Object.entries(value).slice(0, 20).map(([k, v]) => [k.slice(0, 100), bounded(v, depth + 1)]));
}

function messageFor(list: AjvError[], attempted: unknown): string {
  const sorted = [...list].sort((a, b) => rank(a.keyword) - rank(b.keyword));
  const top = sorted[0]!;
  if (top.keyword === 'required' || attempted === null) return 'is a required field';
  const range = rangeMessage(list, attempted);
  if (range) return range;
  switch (top.keyword) {
    case 'format':
      return top.params.format === 'email'
        ? 'is not a valid e-mail address'
        : 'is not a valid date (ISO 8601, for example 2025-01-15T10:30:00Z)';
    case 'maxLength':
      return `must be at most ${top.params.limit} characters`;
    case 'minLength':
      return `must be at least ${top.params.limit} characters`;
    case 'pattern':
      // Text refuses NUL (TEXT_PATTERN); required text is also non-empty after trimming; lenient numbers and booleans
      // carry patterns of their own (their type word says what they take).
      if (typeof attempted === 'string' && (top.params.pattern === TEXT_PATTERN || top.params.pattern === REQUIRED_TEXT_PATTERN)) {
        return attempted.includes('\u0000') ? 'must not contain a NUL character' : 'is a required field';
      }
      return typeWord(list);
    case 'enum':
      return `must be one of: ${(top.params.allowedValues as unknown[]).join(', ')}`;
    case 'maxItems':
      return `must have at most ${top.params.limit} items`;
    default:
      return typeWord(list);
  }
}

/**
 * A whole number outside the 32-bit range the database stores: a JSON number over a lenient integer's maximum (or
 * under its minimum), or digits too many for its string branch. Said as the body parser says it for digits within
 * the pattern ("must be at most 2147483647"), not as the branch that happened to fail last ("must be a string").
 */
function rangeMessage(list: AjvError[], attempted: unknown): string | undefined {
  if (list.some((e) => e.keyword === 'type' && String(e.params.type).split(',')[0] === 'integer')) {
    // Not a whole number at all (1.5, "abc", true) unless it is a string of digits (the string branch's pattern failed).
    if (typeof attempted !== 'string' || !/^\s*-?\d+\s*$/.test(attempted)) return undefined;
    const n = Number(attempted);
    return n > MAX_INT ? `must be at most ${MAX_INT}` : n < -MAX_INT - 1 ? `must be at least ${-MAX_INT - 1}` : undefined;
  }
  const bound = list.find((e) => e.keyword === 'maximum' || e.keyword === 'minimum');
  if (!bound) return undefined;
  return bound.keyword === 'maximum' ? `must be at most ${bound.params.limit}` : `must be at least ${bound.params.limit}`;
}

/** "must be an integer" from the first type the schema allowed (the first branch of a lenient union). */
function typeWord(list: AjvError[]): string {
  const typeError = list.find((e) => e.keyword === 'type');
  const type = String(typeError?.params.type ?? '').split(',')[0];
  switch (type) {
    case 'integer': return 'must be an integer';
    case 'number': return 'must be a number';
    case 'boolean': return 'must be true or false';
    case 'array': return 'must be a list';
    case 'object': return 'must be an object';
    case 'string': return 'must be a string';
    default: return list[0]?.message ?? 'is not valid';
  }
}

function rank(keyword: string): number {
  const i = PRIORITY.indexOf(keyword);
  return i < 0 ? PRIORITY.length : i;
}
