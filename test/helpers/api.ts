/**
 * Request and assertion helpers shared by the API and auth tests: requests through app.inject(), and the one check
 * of the Nexudus failure envelope (assertFailure) that every error answer is held to.
 */
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import type { TestApp } from './app.js';

export const CAL = '/api/spaces/coworkermsofficecalendars';
export const CAL_ALIAS = '/api/spaces/coworkermsoffecalendars';
export const COWORKERS = '/api/spaces/coworkers';
export const RESOURCES = '/api/spaces/resources';

/** The Nexudus message of a throttled request (409). */
export const THROTTLED = 'You must wait before accessing this url again.';

/** The write envelope's keys, in the order Nexudus prints them. */
export const ENVELOPE_KEYS = ['Status', 'Message', 'Value', 'OpenInDialog', 'OpenInWindow', 'RedirectURL', 'JavaScript', 'UpdatedOn', 'UpdatedBy', 'Errors', 'WasSuccessful'];

export const CALENDAR_RECORD_KEYS = [
  'ResourceId', 'CoworkerId', 'CoworkerFullName', 'Name', 'SubscriptionId', 'CalendarId', 'SubscriptionExpireDate',
  'Id', 'UpdatedOn', 'CreatedOn', 'UniqueId', 'UpdatedBy', 'IsNew', 'SystemId', 'ToStringText', 'LocalizationDetails', 'CustomFields',
];

export interface Answer {
  status: number;
  body: any;
  headers: Record<string, string | string[] | number | undefined>;
  raw: string;
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface Req {
  method: Method;
  url: string;
  /** An object is sent as JSON; a string as a raw application/json body (for malformed JSON). */
  payload?: Record<string, unknown> | string;
}

/** The answer with its body parsed as JSON when it is JSON (else the text; undefined when empty). */
function answer(res: LightMyRequestResponse): Answer {
  let body: unknown;
  try {
    body = res.body === '' ? undefined : JSON.parse(res.body);
  } catch {
    body = res.body;
  }
  return { status: res.statusCode, body, headers: res.headers, raw: res.body };
}

/**
 * One request through app.inject(), as the administrator unless `auth` says otherwise. An object payload is sent
 * as JSON; a string payload is sent as is (with only the headers given).
 */
export async function call(
  t: TestApp,
  method: Method,
  url: string,
  payload?: unknown,
  opts: { auth?: string | null; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  const auth = opts.auth === undefined ? t.admin : opts.auth;
  if (auth) headers.authorization = auth;
  return answer(await t.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as never }) }));
}

/** Sends a request with this Authorization header (none when null), optionally from another client address. */
export async function send(app: FastifyInstance, req: Req, auth: string | null, extra: { remoteAddress?: string } = {}): Promise<Answer> {
  return answer(await app.inject({
    method: req.method,
    url: req.url,
    headers: { ...(auth ? { authorization: auth } : {}), ...(typeof req.payload === 'string' ? { 'content-type': 'application/json' } : {}) },
    ...(req.payload === undefined ? {} : { payload: req.payload }),
    ...(extra.remoteAddress ? { remoteAddress: extra.remoteAddress } : {}),
  }));
}

/** POST /api/token with a form body (a string payload is sent as given). */
export async function tokenCall(
  app: FastifyInstance,
  fields: Record<string, string> | string,
  headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' },
  extra: { remoteAddress?: string } = {},
): Promise<Answer> {
  const payload = typeof fields === 'string' ? fields : new URLSearchParams(fields).toString();
  return answer(await app.inject({ method: 'POST', url: '/api/token', headers, payload, ...(extra.remoteAddress ? { remoteAddress: extra.remoteAddress } : {}) }));
}

export function form(values: Record<string, string | number>): string {
  return new URLSearchParams(Object.entries(values).map(([k, v]) => [k, String(v)])).toString();
}

export const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** Rows in a table, straight from the database (not through any cache). */
export async function countRows(t: TestApp, table: 'coworker_ms_office_calendars' | 'coworkers' | 'resources' | 'users'): Promise<number> {
  const row = await t.storage.db.selectFrom(table).select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * A failure envelope with this status: exactly the envelope's keys in Nexudus's order, Status = the HTTP status,
 * WasSuccessful false, Value/UpdatedOn/UpdatedBy/RedirectURL/JavaScript null, OpenInDialog/OpenInWindow false,
 * a Message that says what went wrong (equal to `message`, or matching it, when given), and Errors null unless 400.
 */
export function assertFailure(a: Answer, status: number, message?: string | RegExp): void {
  assert.equal(a.status, status, `expected ${status}, got ${a.status}: ${a.raw}`);
  assert.ok(a.body && typeof a.body === 'object' && !Array.isArray(a.body), `expected an envelope: ${a.raw}`);
  assert.deepEqual(Object.keys(a.body), ENVELOPE_KEYS, a.raw);
  assert.equal(a.body.Status, status);
  assert.equal(a.body.WasSuccessful, false);
  assert.equal(a.body.Value, null);
  assert.equal(a.body.UpdatedOn, null);
  assert.equal(a.body.UpdatedBy, null);
  assert.equal(a.body.OpenInDialog, false);
  assert.equal(a.body.OpenInWindow, false);
  assert.equal(a.body.RedirectURL, null);
  assert.equal(a.body.JavaScript, null);
  assert.equal(typeof a.body.Message, 'string');
  assert.ok(a.body.Message.length > 0, 'the envelope Message should say what went wrong');
  if (typeof message === 'string') assert.equal(a.body.Message, message);
  else if (message) assert.match(a.body.Message, message);
  if (status !== 400) assert.equal(a.body.Errors, null);
}

/**
 * A 400 validation envelope whose Errors name exactly these properties (in any order), each entry with
 * AttemptedValue/Message/PropertyName, and whose Message is the entries joined as "Prop: msg; Prop2: msg2".
 * Returns the entries by property name.
 */
export function assertValidation(a: Answer, properties: (string | null)[]): Map<string | null, { AttemptedValue: unknown; Message: string; PropertyName: string | null }> {
  assertFailure(a, 400);
  const errors = a.body.Errors;
  assert.ok(Array.isArray(errors), `Errors should be an array: ${a.raw}`);
  for (const e of errors) assert.deepEqual(Object.keys(e).sort(), ['AttemptedValue', 'Message', 'PropertyName']);
  assert.deepEqual(errors.map((e: any) => e.PropertyName).sort(), [...properties].sort(), `Errors: ${a.raw}`);
  const expectedMessage = errors.map((e: any) => (e.PropertyName ? `${e.PropertyName}: ${e.Message}` : e.Message)).join('; ');
  assert.equal(a.body.Message, expectedMessage);
  return new Map(errors.map((e: any) => [e.PropertyName, e]));
}

/** 401 in the envelope, with a WWW-Authenticate challenge that offers Bearer. */
export function assertUnauthorized(a: Answer): void {
  assertFailure(a, 401);
  const challenge = String(a.headers['www-authenticate'] ?? '');
  assert.match(challenge, /\bBearer\b/, `WWW-Authenticate should offer Bearer, got "${challenge}"`);
}

/** 409 throttled envelope with Retry-After in whole seconds (1..maxSeconds); returns the seconds. */
export function assertThrottled(a: Answer, maxSeconds = Infinity): number {
  assertFailure(a, 409, THROTTLED);
  const retry = String(a.headers['retry-after'] ?? '');
  assert.match(retry, /^\d+$/, `Retry-After should be whole seconds, got "${retry}"`);
  const seconds = Number(retry);
  assert.ok(seconds >= 1 && seconds <= maxSeconds, `Retry-After ${seconds} should be in 1..${maxSeconds}`);
  return seconds;
}

/** A token endpoint error: 400 {error, error_description} and nothing else. */
export function assertGrantError(a: Answer, error: 'invalid_grant' | 'unsupported_grant_type'): void {
  assert.equal(a.status, 400, `expected 400 ${error}, got ${a.status}: ${a.raw}`);
  assert.deepEqual(Object.keys(a.body).sort(), ['error', 'error_description'], a.raw);
  assert.equal(a.body.error, error, a.raw);
  assert.equal(typeof a.body.error_description, 'string');
  assert.ok(a.body.error_description.length > 0);
}
