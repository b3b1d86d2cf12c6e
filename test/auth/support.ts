/** Request and assertion helpers shared by the auth tests (test/auth/*). */
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';

export const THROTTLED = 'You must wait before accessing this url again.';

export const ENVELOPE_KEYS = ['Status', 'Message', 'Value', 'OpenInDialog', 'OpenInWindow', 'RedirectURL', 'JavaScript', 'UpdatedOn', 'UpdatedBy', 'Errors', 'WasSuccessful'];

export interface Answer {
  status: number;
  body: any;
  headers: Record<string, string | string[] | number | undefined>;
  raw: string;
}

export interface Req {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  /** An object is sent as JSON; a string as a raw application/json body (for malformed JSON). */
  payload?: Record<string, unknown> | string;
}

/** Sends a request with this Authorization header (none when null). */
export async function send(app: FastifyInstance, req: Req, auth: string | null, extra: { remoteAddress?: string } = {}): Promise<Answer> {
  const res = await app.inject({
    method: req.method,
    url: req.url,
    headers: { ...(auth ? { authorization: auth } : {}), ...(typeof req.payload === 'string' ? { 'content-type': 'application/json' } : {}) },
    ...(req.payload === undefined ? {} : { payload: req.payload }),
    ...(extra.remoteAddress ? { remoteAddress: extra.remoteAddress } : {}),
  });
  let body: unknown;
  try {
    body = res.body === '' ? undefined : JSON.parse(res.body);
  } catch {
    body = res.body;
  }
  return { status: res.statusCode, body, headers: res.headers, raw: res.body };
}

/** POST /api/token with a form body (a string payload is sent as given). */
export async function tokenCall(
  app: FastifyInstance,
  fields: Record<string, string> | string,
  headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' },
  extra: { remoteAddress?: string } = {},
): Promise<Answer> {
  const payload = typeof fields === 'string' ? fields : new URLSearchParams(fields).toString();
  const res = await app.inject({ method: 'POST', url: '/api/token', headers, payload, ...(extra.remoteAddress ? { remoteAddress: extra.remoteAddress } : {}) });
  let body: unknown;
  try {
    body = JSON.parse(res.body);
  } catch {
    body = res.body;
  }
  return { status: res.statusCode, body, headers: res.headers, raw: res.body };
}

/** An error envelope: this status, WasSuccessful false, Value null, Errors null (non-400), the full key set. */
export function assertEnvelope(a: Answer, status: number, message?: string | RegExp): void {
  assert.equal(a.status, status, `expected ${status}, got ${a.status}: ${a.raw}`);
  assert.ok(a.body && typeof a.body === 'object', `expected an envelope: ${a.raw}`);
  assert.deepEqual(Object.keys(a.body).sort(), [...ENVELOPE_KEYS].sort(), a.raw);
  assert.equal(a.body.Status, status);
  assert.equal(a.body.WasSuccessful, false);
  assert.equal(a.body.Value, null);
  assert.equal(a.body.UpdatedOn, null);
  assert.equal(a.body.UpdatedBy, null);
  assert.equal(typeof a.body.Message, 'string');
  assert.ok(a.body.Message.length > 0, 'the envelope Message should say what went wrong');
  if (status !== 400) assert.equal(a.body.Errors, null);
  if (typeof message === 'string') assert.equal(a.body.Message, message);
  else if (message) assert.match(a.body.Message, message);
}

/** 401 in the envelope, with a WWW-Authenticate challenge that offers Bearer. */
export function assertUnauthorized(a: Answer): void {
  assertEnvelope(a, 401);
  const challenge = String(a.headers['www-authenticate'] ?? '');
  assert.match(challenge, /\bBearer\b/, `WWW-Authenticate should offer Bearer, got "${challenge}"`);
}

/** 409 throttled envelope with Retry-After in whole seconds (>= 1); returns the seconds. */
export function assertThrottled(a: Answer, maxSeconds = Infinity): number {
  assertEnvelope(a, 409, THROTTLED);
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

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
