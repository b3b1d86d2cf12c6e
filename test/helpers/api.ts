/** Small request and assertion helpers shared by the API tests (test/api/*). */
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import type { TestApp } from './app.js';

export const CAL = '/api/spaces/coworkermsofficecalendars';
export const CAL_ALIAS = '/api/spaces/coworkermsoffecalendars';
export const COWORKERS = '/api/spaces/coworkers';
export const RESOURCES = '/api/spaces/resources';

/** The write envelope's keys, in the order Nexudus prints them. */
export const ENVELOPE_KEYS = ['Status', 'Message', 'Value', 'OpenInDialog', 'OpenInWindow', 'RedirectURL', 'JavaScript', 'UpdatedOn', 'UpdatedBy', 'Errors', 'WasSuccessful'];

export const CALENDAR_RECORD_KEYS = [
  'ResourceId', 'CoworkerId', 'CoworkerFullName', 'Name', 'SubscriptionId', 'CalendarId', 'SubscriptionExpireDate',
  'Id', 'UpdatedOn', 'CreatedOn', 'UniqueId', 'UpdatedBy', 'IsNew', 'SystemId', 'ToStringText', 'LocalizationDetails', 'CustomFields',
];

export interface Answer {
  status: number;
  body: any;
  headers: Record<string, unknown>;
  raw: string;
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

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
  const res = await t.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as never }) });
  let body: unknown;
  try {
    body = res.body === '' ? undefined : JSON.parse(res.body);
  } catch {
    body = res.body;
  }
  return { status: res.statusCode, body, headers: res.headers as Record<string, unknown>, raw: res.body };
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

/** A failure envelope with this status: WasSuccessful false, Value null, UpdatedOn/UpdatedBy null. */
export function assertFailure(a: Answer, status: number, message?: string | RegExp): void {
  assert.equal(a.status, status, `expected ${status}, got ${a.status}: ${a.raw}`);
  assert.deepEqual(Object.keys(a.body), ENVELOPE_KEYS);
  assert.equal(a.body.Status, status);
  assert.equal(a.body.WasSuccessful, false);
  assert.equal(a.body.Value, null);
  assert.equal(a.body.UpdatedOn, null);
  assert.equal(a.body.UpdatedBy, null);
  assert.equal(a.body.OpenInDialog, false);
  assert.equal(a.body.OpenInWindow, false);
  assert.equal(a.body.RedirectURL, null);
  assert.equal(a.body.JavaScript, null);
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

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
