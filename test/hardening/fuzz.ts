/**
 * The request fuzzer shared by the suite test (fuzz.test.ts) and the long-campaign command line (fuzz-cli.ts).
 *
 * Requests are generated with fast-check from the OpenAPI document the app serves (every route and method, its path
 * parameters, query parameters, filters and ranges named in the route description, and body schemas), then made
 * hostile: wrong types, huge and negative numbers, unicode and NUL, deep nesting, long strings, repeated and odd query
 * parameters, bad dates, bad content types, truncated bodies, odd path ids, and no or bad credentials. Besides the
 * documented routes it sends the hidden ones (PUT /{id}, the misspelt alias), the Graph webhooks, the token endpoint
 * and unknown routes. Each request goes through app.inject() against a real app on SQLite or PostgreSQL, seeded with a
 * few records of every entity, and is checked:
 *   1. no 5xx, ever;
 *   2. a 4xx under /api (and an unknown route's 404) is the Nexudus failure envelope; /api/token's are
 *      {error, error_description} (409 and the cross-site 403 are envelopes);
 *   3. a refused request (4xx) changes nothing: the row count and a hash of the rows of every table in SNAPSHOT_TABLES,
 *      before and after (the one refusal that changes tokens by design, a replayed refresh token revoking its family,
 *      is let through).
 * 2xx answers are not judged; the snapshot just moves on. Requests run one at a time, so the snapshot taken after the
 * previous request is the "before" of the next. Ids in generated requests are mostly stand-ins for "the n-th record that
 * exists now", resolved when the request is sent, so requests keep hitting real records as the campaign creates and
 * deletes them; reports show requests as sent. A campaign runs in epochs (a fresh app and data set each), every epoch
 * reproducible from the seed.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import fc from 'fast-check';
import pino from 'pino';
import { sql } from 'kysely';
import { rewriteApiUrl } from '../../src/web/nexudus/paths.js';
import { OffsetClock } from '../../src/core/clock.js';
import type { Services } from '../../src/composition-root.js';
import type { Storage } from '../../src/storage/database.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, basic, createTestApp } from '../helpers/app.js';
import { testDatabaseUrl } from '../helpers/database.js';
import { digestSecret } from '../../src/core/secret-box.js';
import { REQUIRED_TEXT_PATTERN } from '../../src/modules/records/schema-parts.js';

// ───────────────────────────────────────────── the app under test ─────────────────────────────────────────────

export interface FuzzApp {
  app: FastifyInstance;
  container: Services;
  storage: Storage;
  clock: OffsetClock;
  database: 'sqlite' | 'postgres';
  /** Log lines (pino JSON) at level error and above since the last take(). */
  takeLogs(): string[];
  close(): Promise<void>;
}

/** The real app (test/helpers/app.ts) with its log captured, so a 500 can be told by its cause. */
export async function createFuzzApp(): Promise<FuzzApp> {
  let logs: string[] = [];
  const logger = pino({ level: 'error' }, { write: (line: string) => void logs.push(line) });
  const t = await createTestApp({ config: { logLevel: 'error', logRequests: false }, logger: logger as unknown as FastifyBaseLogger });
  return {
    app: t.app, container: t.container, storage: t.storage, clock: t.clock, database: testDatabaseUrl ? 'postgres' : 'sqlite',
    takeLogs() {
      const taken = logs;
      logs = [];
      return taken;
    },
    close: () => t.close(),
  };
}

// ───────────────────────────────────────────── seed data ─────────────────────────────────────────────

export interface Seeds {
  adminId: number;
  resources: number[];
  coworkers: number[];
  calendars: number[];
  bookings: number[];
  cancelled: number[];
  users: number[];
  jobs: number[];
  conflicts: number[];
  emails: string[];
  /** A bearer token of the full administrator (renewed when a fuzzed request revokes it). */
  adminBearer: string;
  /** A refresh token of the administrator (single use: the first fuzzed refresh grant that uses it spends it). */
  refreshToken: string;
  /** A bearer token of a user who holds only Coworker-List: 403 everywhere else. */
  limitedBearer: string;
  limitedEmail: string;
  limitedPassword: string;
  /** A Graph subscription the webhooks know (its clientState below), so notification items get past the check. */
  subscriptionId: string;
  clientState: string;
}

const LIMITED_PASSWORD = 'limited-password-123';

/** Stand-ins the generator writes and the fuzzer replaces when it sends (credentials that change during a campaign). */
export const ADMIN_BEARER = '@adminBearer';
export const LIVE_REFRESH = 'LIVEREFRESHTOKEN';
/** A refresh token that was already used once (its replay must revoke its family: a refusal that changes tokens by design). */
export const SPENT_REFRESH = 'SPENTREFRESHTOKEN';

async function inject(app: FastifyInstance, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: Record<string, unknown> | string, headers: Record<string, string> = {}) {
  const res = await app.inject({ method, url, headers: { authorization: basic(ADMIN_EMAIL, ADMIN_PASSWORD), ...headers }, ...(payload === undefined ? {} : { payload }) });
  if (res.statusCode !== 200) throw new Error(`seeding: ${method} ${url} answered ${res.statusCode}: ${res.body}`);
  return res.json() as Record<string, any>;
}

async function grant(app: FastifyInstance, username: string, password: string) {
  const res = await app.inject({
    method: 'POST', url: '/api/token', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ grant_type: 'password', username, password }).toString(),
  });
  if (res.statusCode !== 200) throw new Error(`seeding: token for ${username} answered ${res.statusCode}: ${res.body}`);
  return res.json() as { access_token: string; refresh_token: string };
}

/** A few records of every entity, through the API (bookings too), plus what only SQL can make (a known subscription, a conflict, a dead job). */
export async function seedData(fa: FuzzApp): Promise<Seeds> {
  const { app } = fa;
  const resources: number[] = [];
  for (let i = 1; i <= 4; i++) {
    resources.push((await inject(app, 'POST', '/api/spaces/resources', { Name: `Room ${i}`, ...(i <= 2 ? { CalendarEmail: `room${i}@space.test` } : {}) })).Value.Id);
  }
  const coworkers: number[] = [];
  const emails: string[] = [];
  for (let i = 1; i <= 4; i++) {
    const email = `member${i}@mail.test`;
    emails.push(email);
    coworkers.push((await inject(app, 'POST', '/api/spaces/coworkers', { FullName: `Member ${i}`, Email: email })).Value.Id);
  }
  const calendars: number[] = [];
  for (let i = 1; i <= 4; i++) {
    calendars.push((await inject(app, 'POST', '/api/spaces/coworkermsofficecalendars', {
      ResourceId: resources[i % resources.length], ...(i <= 2 ? { CoworkerId: coworkers[i - 1] } : {}), Name: `Calendar ${i}`,
      SubscriptionId: `sub-${i}`, CalendarId: `AAMkAD-${i}`, SubscriptionExpireDate: `2030-01-0${i}T10:30:00Z`,
    })).Value.Id);
  }
  const bookings: number[] = [];
  for (let i = 0; i < 6; i++) {
    bookings.push((await inject(app, 'POST', '/api/spaces/bookings', {
      ResourceId: resources[i % 3], ...(i % 2 ? { CoworkerId: coworkers[i % coworkers.length] } : {}),
      FromTime: `2030-03-${String(10 + i).padStart(2, '0')}T09:00:00Z`, ToTime: `2030-03-${String(10 + i).padStart(2, '0')}T10:00:00Z`,
      ...(i === 1 ? { Notes: 'Planning', Tentative: true } : {}),
    })).Value.Id);
  }
  const cancelledId = bookings.pop()!;
  await inject(app, 'DELETE', `/api/spaces/bookings/${cancelledId}`);
  const limitedEmail = 'limited@test.local';
  const users = [(await inject(app, 'POST', '/api/sys/users', { Email: limitedEmail, Password: LIMITED_PASSWORD, Roles: ['Coworker-List'] })).Value.Id as number];
  users.push((await inject(app, 'POST', '/api/sys/users', { Email: 'second@test.local', Password: 'second-password-1', FullName: 'Second', CoworkerId: coworkers[3] })).Value.Id);
  const adminId = (await fa.container.users.findIdByEmail(ADMIN_EMAIL))!;
  users.unshift(adminId);

  const db = fa.storage.db;
  const subscriptionId = 'fuzz-subscription-1';
  const clientState = 'fuzz-client-state';
  await sql`UPDATE graph_connections SET subscription_id = ${subscriptionId}, client_state = ${digestSecret(clientState)}, state = 'active' WHERE calendar_record_id = ${calendars[0]}`.execute(db);
  await sql`INSERT INTO booking_conflicts (coworker_ms_office_calendar_id, event_key, resource_id, coworker_id, from_time, to_time, tentative, subject, blocking_booking_id, detected_on, marked)
    VALUES (${calendars[0]}, 'event-1', ${resources[0]}, ${coworkers[0]}, '2030-03-10T09:30:00.000Z', '2030-03-10T10:30:00.000Z', 0, 'Wanted', ${bookings[0]}, '2026-01-01T00:00:00.000Z', 0)`.execute(db);
  const jobRows = await sql<{ id: number | string }>`SELECT id FROM jobs ORDER BY id`.execute(db);
  const jobs = jobRows.rows.map((r) => Number(r.id));
  if (jobs.length) await sql`UPDATE jobs SET state = 'dead', attempts = max_attempts, last_error = 'fuzz seed' WHERE id = ${jobs[0]}`.execute(db);
  const conflictRows = await sql<{ id: number | string }>`SELECT id FROM booking_conflicts`.execute(db);

  const admin = await grant(app, ADMIN_EMAIL, ADMIN_PASSWORD);
  const limited = await grant(app, limitedEmail, LIMITED_PASSWORD);
  return {
    adminId, resources, coworkers, calendars, bookings, cancelled: [cancelledId], users, jobs, conflicts: conflictRows.rows.map((r) => Number(r.id)), emails,
    adminBearer: `Bearer ${admin.access_token}`, refreshToken: admin.refresh_token, limitedBearer: `Bearer ${limited.access_token}`, limitedEmail,
    limitedPassword: LIMITED_PASSWORD, subscriptionId, clientState,
  };
}

// ───────────────────────────────────────────── data snapshots ─────────────────────────────────────────────

/** Tables whose rows a refused request must leave alone, with the key they are ordered by. */
export const SNAPSHOT_TABLES: Array<[table: string, key: string]> = [
  ['coworkers', 'id'], ['resources', 'id'], ['coworker_ms_office_calendars', 'id'], ['bookings', 'id'], ['users', 'id'],
  ['graph_connections', 'calendar_record_id'], ['jobs', 'id'], ['booking_conflicts', 'id'],
  // Beyond the issue's list: what webhooks and the token endpoint write.
  ['graph_notifications', 'id'], ['access_tokens', 'token_hash'], ['refresh_tokens', 'token_hash'],
];

export interface Snapshot {
  tables: Map<string, { rows: number; hash: string }>;
  /** The records that exist now, per entity (what the generator's live-id stand-ins resolve to). */
  ids: Record<EntityKey, number[]>;
}

export async function snapshot(storage: Storage): Promise<Snapshot> {
  const tables: Snapshot['tables'] = new Map();
  const results = await Promise.all(SNAPSHOT_TABLES.map(([table, key]) => sql<Record<string, unknown>>`SELECT * FROM ${sql.table(table)} ORDER BY ${sql.ref(key)}`.execute(storage.db)));
  const rowsOf = (table: string) => results[SNAPSHOT_TABLES.findIndex(([t]) => t === table)]!.rows;
  SNAPSHOT_TABLES.forEach(([table], i) => {
    const rows = results[i]!.rows;
    tables.set(table, { rows: rows.length, hash: createHash('sha1').update(JSON.stringify(rows, (_k, v) => (typeof v === 'bigint' ? String(v) : v))).digest('hex').slice(0, 16) });
  });
  const ids = (table: string, keep: (r: Record<string, unknown>) => boolean = () => true) => rowsOf(table).filter(keep).map((r) => Number(r.id));
  const bookingRows = (cancelled: boolean) => (r: Record<string, unknown>) => (r.cancelled_on !== null) === cancelled;
  return {
    tables,
    ids: {
      resources: ids('resources'), coworkers: ids('coworkers'), calendars: ids('coworker_ms_office_calendars'), bookings: ids('bookings', bookingRows(false)),
      cancelled: ids('bookings', bookingRows(true)), users: ids('users'), conflicts: ids('booking_conflicts'),
      jobs: [...ids('jobs', (r) => r.state === 'dead'), ...ids('jobs', (r) => r.state !== 'dead')],
    },
  };
}

/** The tables that differ, as "table rows a→b" (or "table changed" when only contents changed). */
export function diffSnapshots(a: Snapshot, b: Snapshot): string[] {
  const out: string[] = [];
  for (const [table, before] of a.tables) {
    const after = b.tables.get(table)!;
    if (before.hash !== after.hash) out.push(before.rows === after.rows ? `${table} rows changed` : `${table} rows ${before.rows}→${after.rows}`);
  }
  return out;
}

// ───────────────────────────────────────────── the model, from OpenAPI ─────────────────────────────────────────────

type Schema = Record<string, any>;

export interface Operation {
  method: string;
  /** With {id}-style path parameters, as in the document (the hidden PUT /{id} and the alias are added). */
  path: string;
  /** "Bookings"-like entity key of the collection, for picking real ids. */
  entity?: EntityKey;
  pathParams: string[];
  queryParams: string[];
  filters: string[];
  ranges: string[];
  /** Record fields, for orderBy. */
  fields: string[];
  body?: Schema;
  hidden?: boolean;
}

export type EntityKey = 'resources' | 'coworkers' | 'calendars' | 'bookings' | 'cancelled' | 'users' | 'jobs' | 'conflicts';

export interface ApiModel {
  operations: Operation[];
}

function entityOf(p: string): EntityKey | undefined {
  if (/coworkermsof+(ic|)e?calendars/.test(p)) return 'calendars';
  if (p.includes('/cancelledbookings')) return 'cancelled';
  if (p.includes('/bookingconflicts')) return 'conflicts';
  if (p.includes('/bookings')) return 'bookings';
  if (p.includes('/coworkers')) return 'coworkers';
  if (p.includes('/resources')) return 'resources';
  if (p.includes('/sys/users')) return 'users';
  if (p.includes('/sys/jobs')) return 'jobs';
  return undefined;
}

function deref(doc: Schema, s: Schema | undefined): Schema | undefined {
  let cur = s;
  for (let i = 0; cur && typeof cur.$ref === 'string' && i < 10; i++) {
    cur = cur.$ref.replace(/^#\//, '').split('/').reduce((o: any, k: string) => o?.[k], doc);
  }
  return cur;
}

/** Every operation of the OpenAPI document, plus the routes it leaves out on purpose (PUT /{id}, the alias). */
export function modelFromOpenApi(doc: Schema): ApiModel {
  const operations: Operation[] = [];
  for (const [p, item] of Object.entries<Schema>(doc.paths ?? {})) {
    for (const [method, op] of Object.entries<Schema>(item)) {
      if (!['get', 'post', 'put', 'delete', 'patch'].includes(method)) continue;
      const params: Schema[] = (op.parameters ?? []).map((x: Schema) => deref(doc, x));
      const description = String(op.description ?? '');
      const list = (label: string) => (new RegExp(`${label}: ([^.]*)\\.`).exec(description)?.[1] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      const ranges = list('Ranges');
      const ok = deref(doc, op.responses?.['200']?.content?.['application/json']?.schema);
      const recordSchema = deref(doc, ok?.properties?.Records?.items) ?? (ok?.type === 'object' && !ok.properties?.Status ? ok : undefined);
      operations.push({
        method: method.toUpperCase(),
        path: p,
        entity: entityOf(p),
        pathParams: params.filter((x) => x.in === 'path').map((x) => x.name),
        queryParams: params.filter((x) => x.in === 'query').map((x) => x.name),
        filters: list('Filters'),
        ranges,
        fields: Object.keys(recordSchema?.properties ?? {}),
        body: deref(doc, op.requestBody?.content?.['application/json']?.schema),
      });
    }
  }
  const extra: Operation[] = [];
  for (const op of operations) {
    // PUT /{id} is served but hidden from the document.
    if (op.method === 'PUT' && op.pathParams.length === 0 && !operations.some((o) => o.method === 'PUT' && o.path === `${op.path}/{id}`)) {
      extra.push({ ...op, path: `${op.path}/{id}`, pathParams: ['id'], hidden: true });
    }
  }
  // The misspelt alias serves every calendar operation.
  for (const op of [...operations, ...extra]) {
    if (op.path.startsWith('/api/spaces/coworkermsofficecalendars') && !op.path.includes('/commands') && !op.path.includes('/runcommand') && !op.path.endsWith('/status')) {
      extra.push({ ...op, path: op.path.replace('coworkermsofficecalendars', 'coworkermsoffecalendars'), hidden: true });
    }
  }
  return { operations: [...operations, ...extra] };
}

// ───────────────────────────────────────────── requests ─────────────────────────────────────────────

export interface FuzzRequest {
  /** What was meant: the operation ("PUT /api/spaces/bookings/{id}"), "token", "webhook ..." or "unknown route". */
  op: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  /** The body as text; sent as UTF-8 unless `latin1` (each char one byte: invalid UTF-8 on purpose). */
  body?: string;
  latin1?: boolean;
  remoteAddress?: string;
}

/** A raw JSON token in a generated value (1e400, -0, a 30-digit integer) that JSON.stringify cannot write. */
class Raw {
  constructor(readonly text: string) {}
  toJSON() {
    return `__RAW__${this.text}__RAW__`;
  }
}

function toJsonText(value: unknown): string {
  const text = JSON.stringify(value) ?? 'null';
  return text.replace(/"__RAW__(.*?)__RAW__"/g, (_m, t: string) => t);
}

function toFormText(value: unknown): string {
  const text = (x: unknown) => (x instanceof Raw ? x.text : typeof x === 'object' && x !== null ? toJsonText(x) : String(x));
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Raw) return pct(text(value));
  const parts: string[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const add = (x: unknown) => parts.push(`${pct(k)}=${pct(text(x))}`);
    if (Array.isArray(v)) v.forEach(add);
    else add(v);
  }
  return parts.join('&');
}

// ── hostile values ──

const LONG_DIGITS = '9'.repeat(400);
const HOSTILE_STRINGS = [
  '', ' ', '  \t ', 'x', 'null', 'undefined', 'true', 'false', 'NaN', 'Infinity', '-Infinity', '-0', '0', '1', '-1', '1.5', '1e3', '1e20', '0x1F', '+1',
  ' 42 ', '42abc', '4 2', '00000000042', '2147483647', '2147483648', '-2147483648', '-2147483649', '4294967296', '9007199254740993', '99999999999999999999',
  LONG_DIGITS, '\u0000', 'a\u0000b', '\u0000\u0000\u0000', '\u0001\u001f\u007f', '\r\n', '\n', '\t', '\uFEFF', '\u200B', '\u202Eevil', 'Ω≈ç√∫', '😀', '👨‍👩‍👧‍👦',
  'é', 'e\u0301', '\uD800', '\uDFFF', 'a\uD800b', '\uFFFF', '\uFFFE', '١٢٣', '１２３', 'ǅ', 'ß', 'İ', 'ﬃ', "' OR '1'='1", "'; DROP TABLE users; --", '%', '_', '%_%', '\\',
  '\\u0000', '"', "'", '`', '<script>alert(1)</script>', '${jndi:ldap://x}', '{{7*7}}', '../../etc/passwd', '/', '[]', '{}', '[1,2]', '{"a":1}', 'a,b', ';',
  '&', '=', '?', '#', '+', '*', '.*', '(?:', '\\x00', 'NULL', 'None', '0000-00-00', 'admin@test.local', 'ADMIN@TEST.LOCAL', 'a@b', '@', 'a@', '@b', 'a@b@c',
  'x'.repeat(201), 'x'.repeat(321), 'x'.repeat(501), 'x'.repeat(1025), 'x'.repeat(2001),
  // full-text and LIKE syntax (names filter through a trigram index)
  'a"b', '"abc"', 'abc*', '*', 'NEAR(abc def)', 'abc AND def', 'abc OR', 'NOT abc', '^abc', 'name:abc', '{name}: abc', '(abc', 'abc)', '-abc', '+abc', 'ab\\', '\\%', '%%%', '_%_',
  '[a-z]', '*?[', 'abc\u0000def', 'ab', 'a', '"', '""', "''", 'a\'b', 'SELECT', 'rowid', 'Room 1', 'ROOM', 'member', 'Ω≈çΩ≈ç', '😀😀😀',
];

const DATES = [
  '2030-01-01', '2030-01-01T10:30', '2030-01-01T10:30:00Z', '2030-01-01T10:30:00.123Z', '2030-01-01T10:30:00.123456789Z', '2030-01-01T10:30:00,5Z',
  '2030-01-01 10:30', '2030-01-01t10:30z', '2030-01-01T10:30:00+05:30', '2030-01-01T10:30:00-0800', '2030-01-01T10:30:00+23', '2030-01-01T10:30:00+24:00',
  '2030-01-01T10:30:00+05:60', '2030-02-29', '2028-02-29', '2030-02-31', '2030-13-01', '2030-00-10', '2030-01-00', '2030-01-32', '2030-01-01T24:00',
  '2030-01-01T23:60', '2030-01-01T23:59:60', '2030-1-1', '20300101', '2030/01/01', '01/02/2030', '2030-01-01T', 'T10:30', '10:30', '2030', '2030-01',
  '0000-01-01', '0001-01-01', '0001-01-01T00:00:00+01:00', '0001-01-01T00:00:00-14:00', '0050-06-15', '0099-12-31T23:59:59Z', '1000-01-01', '1899-12-31',
  '1969-12-31T23:59:59.999Z', '1970-01-01T00:00:00Z', '2038-01-19T03:14:08Z', '9999-12-31', '9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999-01:00',
  '9999-12-31T23:59:59-14:00', '10000-01-01', '+275760-09-13T00:00:00Z', '-000001-01-01T00:00:00Z', '2030-01-01T10:30:00Z\u0000', ' 2030-01-01 ', 'now', 'today',
  'bad-date', '2030-01-01T10:30:00.Z', '2030-01-01T10:30:00.1234567890Z', '2030-W01-1', '2030-001', 'Tue, 01 Jan 2030 10:30:00 GMT', '1e12', '1893456000000',
];

const NUMBERS: unknown[] = [
  0, -0, 1, -1, 2, 1.5, -1.5, 0.1, 2147483647, 2147483648, -2147483648, -2147483649, 4294967296, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e20, -1e20, 1e308, -1e308,
  Number.MAX_VALUE, Number.MIN_VALUE, 5e-324, 123456.789,
  new Raw('1e400'), new Raw('-1e400'), new Raw('-0'), new Raw('1.0'), new Raw('1E2'), new Raw('123456789012345678901234567890'), new Raw('0.0000000000000000000001'),
  new Raw('1.00000000000000000000001'), new Raw('-2147483648.0'),
];

/** Strings from ~1 KB to ~100 KB, made by repeating a short piece (cheap to make, easy to shrink). */
const longString = fc.tuple(fc.constantFrom('x', 'é', '😀', '\u0000', 'ab ', '9', '%', '\\"', '<'), fc.integer({ min: 1000, max: 100_000 }))
  .map(([piece, n]) => piece.repeat(Math.ceil(n / piece.length)).slice(0, n));

/** n characters that do not compress (PostgreSQL compresses long values, so a repeated piece hides size limits). */
function randomText(seed: number, n: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~ éßΩ😀';
  const chars = [...alphabet];
  let x = seed >>> 0 || 1;
  let out = '';
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out += chars[x % chars.length];
  }
  return out;
}

const randomLongString = fc.tuple(fc.integer(), fc.oneof(fc.integer({ min: 700, max: 5000 }), fc.integer({ min: 5000, max: 100_000 }))).map(([seed, n]) => randomText(seed, n));

const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 4, arbitrary: fc.constantFrom(...DATES) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: longString },
  { weight: 1, arbitrary: randomLongString },
);

function nested(depth: number, leaf: unknown, kind: 'array' | 'object' | 'mixed'): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = kind === 'array' || (kind === 'mixed' && i % 2) ? [v] : { n: v };
  return v;
}

const deepValue = fc.tuple(fc.constantFrom(5, 20, 40, 63, 64, 65, 100, 300), fc.constantFrom<'array' | 'object' | 'mixed'>('array', 'object', 'mixed'))
  .map(([d, kind]) => nested(d, 'leaf', kind));

const hostileValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 8, arbitrary: hostileString },
    { weight: 5, arbitrary: fc.constantFrom(...NUMBERS) },
    { weight: 2, arbitrary: fc.integer() },
    { weight: 2, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
    { weight: 2, arbitrary: fc.constantFrom(true, false, null) },
    { weight: 2, arbitrary: fc.array(tie('value'), { maxLength: 4 }) },
    { weight: 2, arbitrary: fc.dictionary(fc.constantFrom('a', 'Id', 'Name', '', '__proto__', 'constructor', '0', 'é'), tie('value'), { maxKeys: 3 }) },
    { weight: 1, arbitrary: deepValue },
  ),
})).value;

// ── valid-ish values, from a schema ──

interface GenContext {
  seeds: Seeds;
  /** The entity of the operation (for Id). */
  entity?: EntityKey;
}

const ENTITY_KEYS: EntityKey[] = ['resources', 'coworkers', 'calendars', 'bookings', 'cancelled', 'users', 'jobs', 'conflicts'];

/**
 * A stand-in for "the n-th record of this entity that exists when the request is sent" (the fuzzer resolves it), so
 * requests keep hitting real records while the campaign creates and deletes them. Made of URL- and form-safe characters.
 */
export function liveId(key: EntityKey, n: number): string {
  return `ZZ${key}_${n}ZZ`;
}
const LIVE_ID = /ZZ([a-z]+)_(\d+)ZZ/gi;
const QUOTED_LIVE_ID = /"ZZ([a-z]+)_(\d+)ZZ"/gi;
/** What a stand-in resolves to when no record of its entity exists. */
const NO_RECORD = 987654321;

function idArb(ctx: GenContext, key: EntityKey | undefined): fc.Arbitrary<number | string> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.nat({ max: 7 }).map((n) => liveId(key ?? ctx.entity ?? 'resources', n)) },
    { weight: 1, arbitrary: fc.constantFrom(0, -1, 999, 2147483647, -2147483648) },
  );
}

function entityForProperty(name: string, ctx: GenContext): EntityKey | undefined {
  if (name === 'ResourceId') return 'resources';
  if (name === 'CoworkerId') return 'coworkers';
  if (name === 'CoworkerMsOfficeCalendarId') return 'calendars';
  if (name === 'Id' || name === 'Ids') return ctx.entity;
  return undefined;
}

const COMMAND_KEYS = ['RENEW_SUBSCRIPTION', 'RESYNC', 'DISCONNECT', 'MARK_DEDICATED', 'UNMARK_DEDICATED'];

function validFor(schema: Schema | undefined, name: string, ctx: GenContext, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 6) return fc.constant(null);
  if (Array.isArray(schema.anyOf)) return fc.oneof(...schema.anyOf.map((s: Schema) => validFor(s, name, ctx, depth + 1)));
  if (Array.isArray(schema.enum)) return fc.constantFrom(...schema.enum);
  if (name === 'Key') return fc.constantFrom(...COMMAND_KEYS, 'resync', ' Resync ', 'UNKNOWN');
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'integer': {
      const key = entityForProperty(name, ctx);
      return key ? idArb(ctx, key) : fc.integer({ min: Math.max(schema.minimum ?? -1000, -1000), max: Math.min(schema.maximum ?? 1000, 1000) });
    }
    case 'number':
      return fc.double({ noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const item = validFor(schema.items, name, ctx, depth + 1);
      return fc.oneof(
        { weight: 8, arbitrary: fc.array(item, { maxLength: Math.min(schema.maxItems ?? 5, 5), minLength: Math.min(schema.minItems ?? 0, 5) }) },
        // one odd item among good ones, or just past maxItems
        { weight: 1, arbitrary: fc.tuple(fc.array(item, { maxLength: 3 }), fc.oneof(fc.constantFrom(...NUMBERS), hostileValue)).map(([a, odd]) => [...a, odd]) },
        { weight: 1, arbitrary: fc.constant(schema.maxItems ?? 1000).chain((max: number) => fc.constantFrom(max, max + 1)).chain((n) => item.map((v) => Array.from({ length: n }, () => v))) },
      );
    }
    case 'string': {
      const max = Math.min(schema.maxLength ?? 60, 60);
      if (schema.format === 'email') return fc.oneof(fc.emailAddress().filter((e) => e.length <= (schema.maxLength ?? 320)), fc.constantFrom(...ctx.seeds.emails, ADMIN_EMAIL, ctx.seeds.limitedEmail, 'fresh@mail.test'));
      if (schema.format === 'nexudus-date' || /Time$|Date$/.test(name)) return fc.oneof({ weight: 4, arbitrary: fc.date({ min: new Date('2026-01-01'), max: new Date('2031-01-01'), noInvalidDate: true }).map((d) => d.toISOString()) }, { weight: 1, arbitrary: fc.constantFrom(...DATES) });
      if (typeof schema.pattern === 'string' && schema.pattern.includes('\\d{1,10}')) {
        const key = entityForProperty(name, ctx);
        return fc.tuple(idArb(ctx, key), fc.constantFrom('', ' ', '  ')).map(([n, pad]) => `${pad}${n}${pad}`);
      }
      if (typeof schema.pattern === 'string' && schema.pattern.includes('[Tt][Rr]')) return fc.constantFrom('true', 'False', 'TRUE', '1', '0');
      // Required text (REQUIRED_TEXT_PATTERN) is non-empty after trimming.
      const required = schema.pattern === REQUIRED_TEXT_PATTERN;
      const min = Math.max(schema.minLength ?? 0, required ? 1 : 0);
      return fc.string({ minLength: Math.min(min, max), maxLength: Math.max(max, min) }).map((s) => (required && !/\S/.test(s) ? `x${s}`.slice(0, Math.max(max, 1)) : s));
    }
    case 'object': {
      if (schema.nullable && Array.isArray(schema.enum)) return fc.constant(null);
      const props = Object.entries<Schema>(schema.properties ?? {});
      const required = new Set<string>(schema.required ?? []);
      if (!props.length) return fc.constant({});
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, s] of props) model[k] = validFor(s, k, ctx, depth + 1);
      return fc.record(model, { requiredKeys: [...required].filter((k) => k in model) });
    }
    default:
      return fc.constant(null);
  }
}

/** A body: valid-ish from the schema with some properties replaced, dropped or added, or something that is no object at all. */
function bodyValue(schema: Schema | undefined, ctx: GenContext): fc.Arbitrary<unknown> {
  const props = Object.keys(schema?.properties ?? {});
  // Bookings: most of the time ToTime comes 15 minutes to 10 hours after FromTime, so some writes get through.
  const base = fc.tuple(validFor(schema ?? { type: 'object', properties: {} }, '', ctx), fc.integer({ min: -3, max: 40 })).map(([b, quarters]) => {
    if (!b || typeof b !== 'object' || Array.isArray(b) || quarters < 1) return b;
    const o = b as Record<string, unknown>;
    const from = typeof o.FromTime === 'string' ? Date.parse(o.FromTime) : NaN;
    const to = new Date(from + quarters * 15 * 60_000);
    return Number.isFinite(to.getTime()) && 'ToTime' in o ? { ...o, ToTime: to.toISOString() } : b;
  });
  const mutated = fc.tuple(
    base,
    fc.array(fc.tuple(fc.oneof(fc.constantFrom(...(props.length ? props : ['Id'])), fc.constantFrom('__proto__', 'constructor', 'Id', '', 'name', 'RESOURCEID', 'é', 'Unknown', 'x'.repeat(300))), hostileValue), { maxLength: 2 }),
    fc.array(fc.constantFrom(...(props.length ? props : ['Id'])), { maxLength: 1 }),
  ).map(([b, sets, drops]) => {
    if (b === null || typeof b !== 'object' || Array.isArray(b)) return b;
    const out: Record<string, unknown> = { ...(b as Record<string, unknown>) };
    for (const d of drops) delete out[d];
    for (const [k, v] of sets) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    return out;
  });
  return fc.oneof(
    { weight: 10, arbitrary: base },
    { weight: 10, arbitrary: mutated },
    { weight: 1, arbitrary: fc.constantFrom(null, [], [{}], 0, 1, -1, 'string', true, {}, '') },
    { weight: 1, arbitrary: fc.array(base, { maxLength: 3 }) },
    { weight: 1, arbitrary: hostileValue },
    { weight: 1, arbitrary: deepValue },
  );
}

// ── bodies as sent: text and content type ──

interface SentBody {
  text?: string;
  contentType?: string;
  latin1?: boolean;
  extraHeaders?: Record<string, string>;
}

const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json;charset=latin1', 'application/json; charset=utf-16'];
const ODD_TYPES = [
  'text/plain', 'text/plain; charset=utf-8', 'multipart/form-data; boundary=----x', 'multipart/form-data', 'application/xml', 'text/html', '*/*', 'application/octet-stream',
  'application/jsonx', 'application/json-patch+json', 'application/vnd.api+json', 'json', 'application/', '/', ';', 'application/json, text/plain', 'application/x-www-form-urlencoded;charset=latin1',
];

function sentBody(value: fc.Arbitrary<unknown>): fc.Arbitrary<SentBody> {
  const json = value.map(toJsonText);
  // A rare case gets weight 1 against a total of ~300.
  return fc.oneof(
    { weight: 140, arbitrary: fc.tuple(json, fc.constantFrom(...JSON_TYPES)).map(([text, contentType]) => ({ text, contentType })) },
    { weight: 30, arbitrary: json.map((text) => ({ text })) }, // no Content-Type: read as JSON
    { weight: 30, arbitrary: value.map((v) => ({ text: toFormText(v), contentType: 'application/x-www-form-urlencoded' })) },
    { weight: 20, arbitrary: fc.tuple(json, fc.constantFrom(...ODD_TYPES)).map(([text, contentType]) => ({ text, contentType })) },
    // truncated JSON
    { weight: 20, arbitrary: fc.tuple(json, fc.nat()).map(([text, cut]) => ({ text: text.slice(0, text.length > 1 ? cut % text.length : 0), contentType: 'application/json' })) },
    // a duplicate key, trailing garbage, a BOM, comments
    {
      weight: 20,
      arbitrary: fc.tuple(json, fc.constantFrom('dup', 'trailing', 'bom', 'comment', 'single-quotes', 'nan'), hostileValue).map(([text, how, v]) => {
        const extra = toJsonText(v);
        switch (how) {
          case 'dup': return { text: text.endsWith('}') && text.length > 2 ? `${text.slice(0, -1)},"Id":${extra},"Name":${extra}}` : `{"a":1,"a":${extra}}`, contentType: 'application/json' };
          case 'trailing': return { text: `${text}${extra}`, contentType: 'application/json' };
          case 'bom': return { text: `\uFEFF${text}`, contentType: 'application/json' };
          case 'comment': return { text: `/* c */${text}`, contentType: 'application/json' };
          case 'single-quotes': return { text: text.replace(/"/g, "'"), contentType: 'application/json' };
          default: return { text: text.replace(/:(\s*)("[^"]*"|-?\d[\d.eE+-]*)/, ':NaN'), contentType: 'application/json' };
        }
      }),
    },
    // invalid UTF-8 (each char sent as one byte)
    { weight: 10, arbitrary: fc.tuple(json, fc.constantFrom(...JSON_TYPES, undefined)).map(([text, contentType]) => ({ text: `${text.slice(0, -1)}\u00e9\u00ff\u00c0${text.slice(-1)}`, latin1: true, ...(contentType ? { contentType } : {}) })) },
    { weight: 10, arbitrary: fc.constantFrom<SentBody>({ text: '', contentType: 'application/json' }, { text: '   ', contentType: 'application/json' }, { text: '\n', contentType: undefined }, { text: undefined, contentType: 'application/json' }, { text: 'null', contentType: 'application/json' }) },
    // JSON nested ~100 levels (refused early) or just under the limit
    { weight: 10, arbitrary: fc.constantFrom(63, 64, 65, 100, 5000).map((d) => ({ text: `${'['.repeat(d)}${']'.repeat(d)}`, contentType: 'application/json' })) },
    // over the 1 MB body limit (rare: big)
    { weight: 1, arbitrary: fc.constantFrom(1_048_577, 1_200_000).map((n) => ({ text: `{"Name":"${'x'.repeat(n)}"}`, contentType: 'application/json' })) },
    // a Content-Length that does not match
    { weight: 2, arbitrary: json.map((text) => ({ text, contentType: 'application/json', extraHeaders: { 'content-length': String(Buffer.byteLength(text) + 5) } })) },
  );
}

// ── credentials ──

interface Credentials {
  authorization?: string;
  remoteAddress?: string;
  label: string;
}

function credentials(seeds: Seeds): fc.Arbitrary<Credentials> {
  const admin = basic(ADMIN_EMAIL, ADMIN_PASSWORD);
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  const badIp = fc.integer({ min: 1, max: 250 }).map((n) => `10.9.0.${n}`);
  return fc.oneof(
    { weight: 60, arbitrary: fc.constant<Credentials>({ authorization: admin, label: 'admin (Basic)' }) },
    { weight: 12, arbitrary: fc.constant<Credentials>({ authorization: ADMIN_BEARER, label: 'admin (Bearer)' }) },
    { weight: 4, arbitrary: fc.constant<Credentials>({ label: 'none' }) },
    { weight: 3, arbitrary: fc.constant<Credentials>({ authorization: seeds.limitedBearer, label: 'Coworker-List only' }) },
    {
      weight: 8,
      arbitrary: fc.tuple(fc.constantFrom(
        'Basic', 'Basic ', 'Bearer', 'Bearer ', 'Digest x', 'basic', 'Token abc', ' ', 'Basic ====', 'Basic !!!', 'Basic ADoA', `Basic ${b64(':')}`, `Basic ${b64('a')}`,
        `Basic ${b64(`${ADMIN_EMAIL}:wrong-password`)}`, `Basic ${b64(`${ADMIN_EMAIL}:`)}`, `Basic ${b64(`:${ADMIN_PASSWORD}`)}`, `Basic ${b64(`${ADMIN_EMAIL}\u0000:${ADMIN_PASSWORD}`)}`,
        `Basic ${b64(`é😀@x:${'p'.repeat(2000)}`)}`, `Basic ${b64(`${'a'.repeat(5000)}@x.test:pw`)}`, `Bearer ${'x'.repeat(5000)}`, 'Bearer \u0001', `Bearer ${seeds.refreshToken}`,
        `Basic ${admin.slice(6)} extra`, `Bearer ${admin}`, `BASIC ${admin.slice(6)}`, `Basic ${b64(`ADMIN@TEST.LOCAL:${ADMIN_PASSWORD}`)}`, `Basic ${b64(` ${ADMIN_EMAIL} :${ADMIN_PASSWORD}`)}`,
        `Basic ${b64(`${seeds.limitedEmail}:${seeds.limitedPassword}`)}`, 'Bearer null', 'Bearer undefined', 'Bearer %00',
      ), badIp).map(([authorization, remoteAddress]) => ({ authorization, remoteAddress, label: 'bad credentials' })),
    },
  );
}

// ── URLs ──

const EDGE_IDS = [
  '0', '-1', '1.5', '%00', '%20', '1e3', '01', '+1', '%2B1', '1%20', '%201', '2147483647', '2147483648', '4294967296', '9007199254740993', '99999999999999999999',
  '1e20', 'NaN', 'Infinity', '-0', '0x1', 'abc', '%C3%A9', '%F0%9F%98%80', '%E2%80%AE', '%', '%zz', '%ff', '%C0%80', '.', '%2e%2e', '%2F', 'a'.repeat(5000), '9'.repeat(5000),
  '%D9%A1', '%EF%BC%91', 'null', 'undefined', '[1]', '1,2', '1;2', 'status', 'commands', 'runcommand', '%0A', '1%00', '%u0031', '%3F', '%23',
];

function pathIdArb(ctx: GenContext, entity: EntityKey | undefined): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 10, arbitrary: fc.nat({ max: 7 }).map((n) => liveId(entity ?? ctx.entity ?? 'resources', n)) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...ENTITY_KEYS), fc.nat({ max: 7 })).map(([k, n]) => liveId(k, n)) },
    { weight: 5, arbitrary: fc.constantFrom(...EDGE_IDS) },
    { weight: 1, arbitrary: fc.integer().map(String) },
    { weight: 1, arbitrary: hostileString.map((s) => pct(s).slice(0, 6000)) },
  );
}

/** Query parameters as [name, value] pairs (repeated names allowed), and how they are written. */
type Pairs = Array<[string, string]>;

function queryValueFor(name: string, op: Operation, ctx: GenContext): fc.Arbitrary<string> {
  const lower = name.toLowerCase();
  const valid = (): fc.Arbitrary<string> => {
    if (lower === 'page') return fc.constantFrom('1', '2', '100', '2147483647', '2147483648', '9007199254740991', '4611686018427387', '99999999999', ' 1 ');
    if (lower === 'size') return fc.constantFrom('1', '5', '25', '1000', '1001', '100000');
    if (lower === 'orderby') return fc.constantFrom(...(op.fields.length ? op.fields : ['Id']), 'id', 'NAME', ' Name ');
    if (lower === 'dir') return fc.constantFrom('0', '1', '-1', 'asc', 'desc', 'ASCENDING', 'descending');
    if (lower === 'id') {
      const one = fc.nat({ max: 7 }).map((n) => liveId(op.entity ?? 'resources', n));
      return fc.oneof(
        one,
        fc.array(fc.oneof({ weight: 4, arbitrary: one }, { weight: 1, arbitrary: fc.constantFrom('0', '99', '2147483648') }), { maxLength: 5 }).map((a) => `[${a.join(',')}]`),
        fc.constantFrom('[]', '[,]', '[1,,2]', '[a]', '[-1]', '[1.5]', '[99999999999999999999]', ' [1] ', '1,2', '[' + Array.from({ length: 101 }, (_, i) => i + 1).join(',') + ']', '[' + '1,'.repeat(5000) + '1]', '[1', '1]', '[[1]]', '["1"]'),
      );
    }
    if (lower === 'state') return fc.constantFrom('pending', 'running', 'dead', 'done', 'DEAD', 'x');
    if (lower === 'validationtoken') return fc.constantFrom('abc', 'Validation: Testing client application reachability');
    if (lower.startsWith('from_') || lower.startsWith('to_')) return fc.constantFrom(...DATES);
    const field = lower.split('_').slice(1).join('_');
    if (/resource|coworker|calendar$|^id$|coworkermsofficecalendar/.test(field)) {
      const key = field.includes('resource') ? 'resources' : field.includes('calendar') ? 'calendars' : field.includes('coworker') ? 'coworkers' : op.entity;
      return fc.oneof(idArb(ctx, key).map(String), fc.constantFrom('2147483648', '-1', '1.5', 'x', ''));
    }
    if (/date|time|createdon|updatedon/.test(field)) return fc.constantFrom(...DATES);
    if (/state/.test(field)) return fc.constantFrom('active', 'renewing', 'reauth_required', 'credentials_missing', 'failed', 'x');
    if (/source/.test(field)) return fc.constantFrom('api', 'outlook', 'x');
    if (/fulladministrator|isnew|tentative/.test(field)) return fc.constantFrom('true', 'false', '1', '0', 'yes');
    return fc.oneof(fc.constantFrom('a', 'Room', 'member', 'adele', 'vance', 'sub-1', 'AAMkAD-1', 'ab', 'ROOM 1', 'x@y'), fc.string({ maxLength: 12 }));
  };
  return fc.oneof({ weight: 5, arbitrary: valid() }, { weight: 3, arbitrary: hostileString });
}

function queryPairs(op: Operation, ctx: GenContext): fc.Arbitrary<Pairs> {
  const listy = op.method === 'GET' && (op.queryParams.includes('page') || op.filters.length > 0);
  const rangeParams = op.ranges.filter((r) => /^(from|to)_/.test(r));
  const known = [...op.queryParams, ...op.filters, ...rangeParams];
  const entityPrefix = op.filters[0]?.split('_')[0] ?? 'X';
  const odd = [
    'orderBy[]', 'page[]', 'page[a]', 'size[0]', 'ID', 'Id', 'iD', 'PAGE', 'OrderBy', 'DIR', '', ' ', 'page ', '%00', 'from_X_Y', 'to_X_Y', `from_${entityPrefix}_Name`,
    `${entityPrefix}_Unknown`, `${entityPrefix}_`, `${entityPrefix}_Name_Extra`, '__proto__', 'constructor', 'hasOwnProperty', 'toString', 'a'.repeat(3000), 'é', '😀',
    'validationToken', 'callback', 'fields', 'filter', '$top', 'q',
  ];
  const name = fc.oneof(
    { weight: known.length ? 8 : 0, arbitrary: known.length ? fc.constantFrom(...known) : fc.constant('page') },
    { weight: 3, arbitrary: fc.constantFrom(...odd) },
    { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
  );
  const pair = name.chain((n) => queryValueFor(n, op, ctx).map((v): [string, string] => [n, v]));
  return fc.oneof(
    { weight: listy ? 2 : 4, arbitrary: fc.constant<Pairs>([]) },
    { weight: listy ? 10 : 3, arbitrary: fc.array(pair, { minLength: 1, maxLength: 6 }) },
    // the same parameter twice, once good and once bad
    {
      weight: listy ? 2 : 1,
      arbitrary: fc.tuple(fc.constantFrom(...(known.length ? known : ['page'])), fc.constantFrom('1', 'Id', '0', '2030-01-01'), hostileString)
        .map(([n, good, bad]): Pairs => [[n, good], [n, bad]]),
    },
  );
}

const RAW_QUERIES = ['?', '?&', '?&&', '?=', '?=x', '?page', '?page=', '?page=%', '?page=%zz', '?page=%00', '?page=1%00', '?a=%C0%80', '?%=1', '?page=1&page=x', '?orderBy[]=a', '?dir=+', '?id=%5B1%2C2%5D', '?id=[1,2]', '?page=1;size=2', '?page=1#frag'];

/** encodeURIComponent that also writes lone surrogates (as their WTF-8 bytes: invalid UTF-8 once decoded). */
export function pct(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    let out = '';
    for (const ch of s) {
      const c = ch.codePointAt(0)!;
      if (c >= 0xd800 && c <= 0xdfff) out += `%${(0xe0 | (c >> 12)).toString(16).toUpperCase()}%${(0x80 | ((c >> 6) & 0x3f)).toString(16).toUpperCase()}%${(0x80 | (c & 0x3f)).toString(16).toUpperCase()}`;
      else out += encodeURIComponent(ch);
    }
    return out;
  }
}

function writeQuery(pairs: Pairs, raw: boolean): string {
  if (!pairs.length) return '';
  const enc = (s: string) => (raw ? s.replace(/[#&=?\s]/g, encodeURIComponent) : pct(s));
  return `?${pairs.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&')}`;
}

/** The path, sometimes spelt the way clients misspell it (case, trailing slash); sometimes with doubled or encoded pieces. */
const pathSpelling = fc.constantFrom<'as-is' | 'upper' | 'trailing' | 'mixed' | 'double-slash' | 'dot' | 'encoded'>(
  'as-is', 'as-is', 'as-is', 'as-is', 'as-is', 'as-is', 'as-is', 'as-is', 'upper', 'trailing', 'mixed', 'double-slash', 'dot', 'encoded',
);

function spell(p: string, how: string): string {
  switch (how) {
    case 'upper': return p.toUpperCase();
    case 'trailing': return `${p}/`;
    case 'mixed': return p.replace(/[a-z]/g, (c, i: number) => (i % 3 ? c : c.toUpperCase()));
    case 'double-slash': return p.replace('/spaces/', '//spaces/').replace('/sys/', '/sys//');
    case 'dot': return p.replace('/api/', '/api/./');
    case 'encoded': return p.replace('/api/', '/%61pi/').replace('spaces', 'sp%61ces');
    default: return p;
  }
}

// ── the request arbitraries ──

function operationRequest(op: Operation, ctx: GenContext): fc.Arbitrary<FuzzRequest> {
  const params = fc.tuple(...op.pathParams.map(() => pathIdArb(ctx, op.entity))) as fc.Arbitrary<string[]>;
  const hasBody = op.body !== undefined;
  const body: fc.Arbitrary<SentBody | undefined> = hasBody
    ? sentBody(bodyValue(op.body, { ...ctx, entity: op.entity }))
    : fc.oneof({ weight: 12, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: sentBody(hostileValue) });
  return fc.tuple(params, queryPairs(op, ctx), fc.boolean(), fc.constantFrom(...RAW_QUERIES), fc.nat({ max: 30 }), body, credentials(ctx.seeds), pathSpelling, crossSite)
    .map(([ids, pairs, rawEncode, rawQuery, rawPick, b, cred, how, cross]) => {
      let p = op.path;
      op.pathParams.forEach((name, i) => (p = p.replace(`{${name}}`, ids[i] ?? '1')));
      const query = rawPick === 0 ? rawQuery : writeQuery(pairs, rawEncode && rawPick < 6);
      return buildRequest(`${op.method} ${op.path}`, op.method, spell(p, how) + query, b, cred, cross);
    });
}

const crossSite = fc.oneof(
  { weight: 40, arbitrary: fc.constant<Record<string, string>>({}) },
  { weight: 1, arbitrary: fc.constantFrom<Record<string, string>>({ origin: 'https://evil.example' }, { 'sec-fetch-site': 'cross-site' }, { origin: 'null' }, { origin: 'http://localhost:80', host: 'localhost:80', 'sec-fetch-site': 'same-origin' }) },
  { weight: 1, arbitrary: fc.constantFrom<Record<string, string>>({ accept: 'text/html' }, { 'content-encoding': 'gzip' }, { 'x-http-method-override': 'DELETE' }, { expect: '100-continue' }, { 'accept-charset': 'latin1' }, { 'transfer-encoding': 'chunked' }) },
);

function buildRequest(op: string, method: string, url: string, b: SentBody | undefined, cred: Credentials, extra: Record<string, string> = {}): FuzzRequest {
  const headers: Record<string, string> = { ...extra };
  if (cred.authorization) headers.authorization = cred.authorization;
  if (b?.contentType !== undefined) headers['content-type'] = b.contentType;
  Object.assign(headers, b?.extraHeaders ?? {});
  return {
    op, method, url, headers,
    ...(b?.text !== undefined ? { body: b.text } : {}),
    ...(b?.latin1 ? { latin1: true } : {}),
    ...(cred.remoteAddress ? { remoteAddress: cred.remoteAddress } : {}),
  };
}

function tokenRequest(seeds: Seeds): fc.Arbitrary<FuzzRequest> {
  const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 4 });
  // Half the time a grant that could work (right credentials or a live refresh token), then bent a little.
  const coherent = fc.oneof(
    fc.record({
      grant_type: fc.constant('password'),
      username: fc.constantFrom(ADMIN_EMAIL, 'Admin@Test.Local', ` ${ADMIN_EMAIL} `, seeds.limitedEmail),
      password: fc.constantFrom(ADMIN_PASSWORD, seeds.limitedPassword),
      client_id: fc.option(fc.oneof(fc.constantFrom('nexudus', 'app-1', '', 'a\u0000b', '\uD800'), hostileString), { nil: undefined, freq: 2 }),
    }),
    fc.record({
      grant_type: fc.constant('refresh_token'),
      refresh_token: fc.constantFrom(LIVE_REFRESH, LIVE_REFRESH, LIVE_REFRESH, SPENT_REFRESH, ` ${LIVE_REFRESH} `, LIVE_REFRESH.toLowerCase()),
      client_id: fc.option(fc.oneof(fc.constantFrom('nexudus', 'app-1', ADMIN_EMAIL, ''), hostileString), { nil: undefined, freq: 2 }),
    }),
  ).map((r) => r as Record<string, string | undefined>);
  const field = fc.record({
    grant_type: opt(fc.oneof({ weight: 6, arbitrary: fc.constantFrom('password', 'refresh_token') }, { weight: 2, arbitrary: fc.constantFrom('client_credentials', 'authorization_code', '', 'PASSWORD', ' password', 'password\u0000', 'refresh_token ') }, { weight: 1, arbitrary: hostileString })),
    username: opt(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(ADMIN_EMAIL, 'ADMIN@TEST.LOCAL', ` ${ADMIN_EMAIL} `, seeds.limitedEmail, 'nobody@x.test', '\u0000', `${ADMIN_EMAIL}\u0000`) }, { weight: 2, arbitrary: hostileString })),
    password: opt(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(ADMIN_PASSWORD, seeds.limitedPassword, 'wrong-password', '', ' ', `${ADMIN_PASSWORD}\u0000`) }, { weight: 2, arbitrary: hostileString })),
    refresh_token: opt(fc.oneof({ weight: 3, arbitrary: fc.constantFrom(seeds.refreshToken, seeds.adminBearer.slice(7), 'x', '') }, { weight: 2, arbitrary: hostileString })),
    client_id: opt(fc.oneof({ weight: 3, arbitrary: fc.constantFrom('nexudus', 'app-1', '', ' ') }, { weight: 2, arbitrary: hostileString })),
  }) as fc.Arbitrary<Record<string, string | undefined>>;
  const fields = fc.oneof(coherent, field);
  const headerClient = fc.option(fc.oneof(fc.constantFrom('nexudus', 'header-client', '', ' ', 'x'.repeat(3000), 'a;b', '%00', 'caf\u00e9'), fc.tuple(fc.integer(), fc.integer({ min: 100, max: 8000 })).map(([seed, n]) => randomText(seed, n).replace(/[^\x20-\x7e]/g, 'x'))), { nil: undefined, freq: 5 });
  const repeated = fc.option(fc.tuple(fc.constantFrom('grant_type', 'username', 'password', 'refresh_token', 'client_id'), hostileString), { nil: undefined, freq: 1 });
  const contentType = fc.oneof(
    { weight: 12, arbitrary: fc.constant<string | undefined>('application/x-www-form-urlencoded') },
    { weight: 1, arbitrary: fc.constantFrom<string | undefined>(undefined, 'application/json', 'text/plain', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded; charset=latin1', 'APPLICATION/X-WWW-FORM-URLENCODED', 'application/x-www-form-urlencoded;', '') },
  );
  const encoding = fc.constantFrom<'form' | 'json' | 'raw-percent' | 'truncated'>('form', 'form', 'form', 'form', 'form', 'form', 'json', 'raw-percent', 'truncated');
  const ip = fc.integer({ min: 1, max: 60 }).map((n) => `10.7.0.${n}`);
  return fc.tuple(fields, headerClient, repeated, contentType, encoding, ip, fc.nat(), pathSpelling, crossSite).map(([f, hc, rep, ct, enc, remoteAddress, cut, how, cross]) => {
    const entries = Object.entries(f).filter((e): e is [string, string] => e[1] !== undefined);
    if (rep) entries.push(rep);
    let text: string;
    if (enc === 'json') text = JSON.stringify(Object.fromEntries(entries));
    else if (enc === 'raw-percent') text = entries.map(([k, v]) => `${k}=${v.replace(/[&]/g, '%26')}%zz%`).join('&');
    else text = entries.map(([k, v]) => `${pct(k)}=${pct(v)}`).join('&');
    if (enc === 'truncated' && text.length > 1) text = text.slice(0, cut % text.length);
    const headers: Record<string, string> = { ...cross };
    if (ct !== undefined) headers['content-type'] = ct;
    if (hc !== undefined) headers.client_id = /^[\x20-\x7e]*$/.test(hc) ? hc : pct(hc);
    return { op: 'POST /api/token', method: 'POST', url: spell('/api/token', how === 'encoded' ? 'as-is' : how), headers, body: text, remoteAddress };
  });
}

function webhookRequest(seeds: Seeds): fc.Arbitrary<FuzzRequest> {
  const item = fc.record({
    subscriptionId: fc.oneof({ weight: 6, arbitrary: fc.constant<unknown>(seeds.subscriptionId) }, { weight: 1, arbitrary: fc.constantFrom<unknown>('unknown-sub', '', null, 42) }, { weight: 2, arbitrary: hostileValue }),
    clientState: fc.oneof({ weight: 6, arbitrary: fc.constant<unknown>(seeds.clientState) }, { weight: 1, arbitrary: fc.constantFrom<unknown>('wrong', '', null) }, { weight: 2, arbitrary: hostileValue }),
    changeType: fc.oneof({ weight: 5, arbitrary: fc.constantFrom<unknown>('created', 'updated', 'deleted', 'exploded', 'created,updated') }, { weight: 1, arbitrary: hostileValue }),
    lifecycleEvent: fc.oneof({ weight: 5, arbitrary: fc.constantFrom<unknown>('reauthorizationRequired', 'subscriptionRemoved', 'missed', 'other') }, { weight: 1, arbitrary: hostileValue }),
    resource: fc.oneof({ weight: 4, arbitrary: fc.constantFrom<unknown>('Users/x/Events/AAMk=', 'me/events/1') }, { weight: 2, arbitrary: hostileValue }, { weight: 1, arbitrary: longString }),
    resourceData: fc.oneof(fc.constant<unknown>({ '@odata.type': '#Microsoft.Graph.Event', id: 'AAMk=' }), hostileValue),
    subscriptionExpirationDateTime: fc.constantFrom<unknown>(...DATES),
    tenantId: hostileValue,
  }, { requiredKeys: [] });
  const payload = fc.oneof(
    { weight: 100, arbitrary: fc.array(fc.oneof({ weight: 8, arbitrary: item as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: hostileValue }), { maxLength: 4 }).map((value) => toJsonText({ value })) },
    { weight: 2, arbitrary: fc.constantFrom(1001, 3000).map((n) => toJsonText({ value: Array.from({ length: n }, () => ({ subscriptionId: seeds.subscriptionId, clientState: seeds.clientState, changeType: 'updated', resource: 'r' })) })) },
    { weight: 20, arbitrary: hostileValue.map((value) => toJsonText({ value })) },
    { weight: 20, arbitrary: hostileValue.map(toJsonText) },
    { weight: 20, arbitrary: fc.constantFrom('', ' ', 'hello', '{', '{"value":[', '{"value":[{}]', '[]', 'null', '{"value":null}', '{"value":{}}', '\uFEFF{"value":[]}', '{"value":[]}garbage', `${'['.repeat(100)}${']'.repeat(100)}`, `{"value":${'['.repeat(100)}${']'.repeat(100)}}`) },
    { weight: 1, arbitrary: fc.constant(4_300_000).map((n) => `{"value":[{"resource":"${'x'.repeat(n)}"}]}`) },
  );
  const query = fc.oneof(
    { weight: 8, arbitrary: fc.constant('') },
    { weight: 2, arbitrary: hostileString.map((s) => `?validationToken=${pct(s)}`) },
    { weight: 1, arbitrary: fc.constantFrom('?validationToken=', '?validationToken', '?validationToken=a&validationToken=b', '?validationToken=%zz', '?validationToken=%00', '?validationtoken=lower', '?validationToken[]=x', '?x=1') },
  );
  const contentType = fc.constantFrom<string | undefined>('application/json', 'application/json', 'application/json', 'text/plain', 'text/plain; charset=utf-8', undefined, 'application/json;charset=latin1', 'multipart/form-data', 'application/x-www-form-urlencoded', '');
  return fc.tuple(fc.constantFrom('/graph/notifications', '/graph/lifecycle'), query, payload, contentType, fc.nat({ max: 9 }).map((n) => n === 0), crossSite, fc.constantFrom<string | undefined>(undefined, undefined, undefined, 'Basic ADoA', 'Bearer x'), fc.constantFrom('POST', 'POST', 'POST', 'POST', 'POST', 'GET', 'PUT'))
    .map(([url, q, body, ct, latin1, cross, auth, method]) => {
      const headers: Record<string, string> = { ...cross };
      if (ct !== undefined) headers['content-type'] = ct;
      if (auth) headers.authorization = auth;
      // Now and then invalid UTF-8: the text sent as latin1 bytes, with bytes no UTF-8 text has.
      const bad = latin1 && body.length < 10_000 && ct !== 'text/plain';
      return { op: `${method} ${url}`, method, url: url + q, headers, body: bad ? `${body}\u00ff\u00c0` : body, ...(bad ? { latin1: true } : {}) };
    });
}

const UNKNOWN_PATHS = [
  '/api', '/api/', '/api/spaces', '/api/spaces/', '/api/sys', '/api/spaces/nothing', '/api/spaces/coworkers/1/extra', '/api/spaces/coworkermsofficecalendars/1/status/x',
  '/api/spaces/coworkermsofficecalendars/commands/1', '/api/spaces/coworkers//1', '/api/spaces/coworkers/%2e%2e/users', '/api/spaces/coworkers/1/../../sys/users',
  '/api/sys/jobs/1', '/api/sys/jobs/retry/1', '/api/sys/users/1/roles', '/api/spaces/bookingconflicts/1', '/api/token/x', '/api/openapi.json', '/API/OPENAPI.JSON',
  '/graph', '/graph/x', '/graph/notifications/x', '/', '/docs', '/docs/', '/docs/json', '/docs/static/index.html', '/docs/static/nothing.js', '/healthz', '/readyz',
  '/favicon.ico', '/api/spaces/%00', '/api/spaces/%zz', '/api/sp%00aces/coworkers', '/api/spaces/coworkers%00', '/api/spaces/coworkers;jsessionid=1', '/api/spaces/ü',
  '/api/spaces/' + 'x'.repeat(4000), '/api/spaces/coworkermsoffecalendars/commands', '/api/spaces/coworkermsoffecalendars/1/status', '//api/spaces/coworkers',
];

function unknownRouteRequest(seeds: Seeds): fc.Arbitrary<FuzzRequest> {
  return fc.tuple(
    fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'),
    fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...UNKNOWN_PATHS) }, { weight: 1, arbitrary: fc.tuple(fc.constantFrom('/api/spaces/', '/api/sys/', '/graph/', '/'), fc.string({ unit: 'grapheme-ascii', maxLength: 20 })).map(([a, b]) => a + pct(b)) }),
    fc.option(sentBody(hostileValue), { nil: undefined, freq: 3 }),
    credentials(seeds),
  ).map(([method, p, b, cred]) => buildRequest('unknown route', method, p, method === 'GET' || method === 'HEAD' ? undefined : b, cred));
}

/** The documented operations with other methods than their own (PATCH a collection, DELETE it, POST to /{id}, ...). */
function wrongMethodRequest(model: ApiModel, ctx: GenContext): fc.Arbitrary<FuzzRequest> {
  return fc.tuple(fc.constantFrom(...model.operations), fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'), credentials(ctx.seeds), fc.option(sentBody(hostileValue), { nil: undefined, freq: 2 }), pathIdArb(ctx, undefined))
    .map(([op, method, cred, b, id]) => buildRequest(`${method} ${op.path} (other method)`, method, op.path.replace(/\{[^}]+\}/g, id), method === 'GET' || method === 'HEAD' ? undefined : b, cred));
}

/** Every request the fuzzer sends: the documented and hidden operations (most), the token endpoint, webhooks, unknown routes. */
export function requestArbitrary(model: ApiModel, seeds: Seeds): fc.Arbitrary<FuzzRequest> {
  const ctx: GenContext = { seeds };
  const ops = model.operations.filter((o) => !o.path.startsWith('/graph/') && o.path !== '/api/token');
  const weightOf = (o: Operation) => (o.path === '/healthz' || o.path === '/readyz' ? 1 : Math.round((o.method === 'GET' ? 10 : 15) / (o.hidden ? 2 : 1)));
  return fc.oneof(
    ...ops.map((o) => ({ weight: weightOf(o), arbitrary: operationRequest(o, ctx) })),
    { weight: 40, arbitrary: tokenRequest(seeds) },
    { weight: 40, arbitrary: webhookRequest(seeds) },
    { weight: 15, arbitrary: unknownRouteRequest(seeds) },
    { weight: 15, arbitrary: wrongMethodRequest(model, ctx) },
  );
}

// ───────────────────────────────────────────── checks ─────────────────────────────────────────────

export const ENVELOPE_KEYS = ['Status', 'Message', 'Value', 'OpenInDialog', 'OpenInWindow', 'RedirectURL', 'JavaScript', 'UpdatedOn', 'UpdatedBy', 'Errors', 'WasSuccessful'];

/** What is wrong with a failure envelope (empty when it is one). */
export function envelopeProblems(status: number, raw: string, contentType: string): string[] {
  let body: any;
  try {
    body = JSON.parse(raw);
  } catch {
    return [`not JSON (${contentType || 'no content type'}): ${raw.slice(0, 120)}`];
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) return [`not an object: ${raw.slice(0, 120)}`];
  const problems: string[] = [];
  const keys = Object.keys(body);
  if (keys.join() !== ENVELOPE_KEYS.join()) problems.push(`keys ${JSON.stringify(keys)}`);
  if (body.Status !== status) problems.push(`Status ${JSON.stringify(body.Status)} ≠ HTTP ${status}`);
  if (body.WasSuccessful !== false) problems.push(`WasSuccessful ${JSON.stringify(body.WasSuccessful)}`);
  if (typeof body.Message !== 'string' || !body.Message) problems.push('no Message');
  for (const k of ['Value', 'RedirectURL', 'JavaScript', 'UpdatedOn', 'UpdatedBy']) if (k in body && body[k] !== null) problems.push(`${k} not null`);
  for (const k of ['OpenInDialog', 'OpenInWindow']) if (k in body && body[k] !== false) problems.push(`${k} not false`);
  if (status === 400) {
    if (!Array.isArray(body.Errors) || !body.Errors.length) problems.push('400 without Errors entries');
    else if (body.Errors.some((e: any) => !e || typeof e !== 'object' || Object.keys(e).sort().join() !== 'AttemptedValue,Message,PropertyName')) problems.push('malformed Errors entry');
  } else if ('Errors' in body && body.Errors !== null) problems.push('Errors not null');
  if (!/^application\/json/.test(contentType)) problems.push(`content-type ${contentType || 'none'}`);
  return problems;
}

function tokenErrorProblems(status: number, raw: string): string[] {
  let body: any;
  try {
    body = JSON.parse(raw);
  } catch {
    return [`not JSON: ${raw.slice(0, 120)}`];
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) return ['not an object'];
  const keys = Object.keys(body).sort().join();
  if (keys !== 'error,error_description') return [`${status} keys ${JSON.stringify(Object.keys(body))} (expected {error, error_description})`];
  if (typeof body.error !== 'string' || !body.error || typeof body.error_description !== 'string' || !body.error_description) return ['empty error or error_description'];
  return [];
}

/** The path as the router sees it (dot segments resolved as inject() and HTTP clients do, then the /api rewrite), without the query. */
export function routedPath(url: string): string {
  let path = url.split('?')[0]!;
  try {
    path = new URL(path, 'http://localhost').pathname;
  } catch {
    /* left as sent */
  }
  return rewriteApiUrl(path);
}

export type ViolationKind = '5xx' | 'envelope' | 'token-error-shape' | 'changed-on-refusal' | 'no-answer';

export interface Violation {
  kind: ViolationKind;
  /** One line: what is wrong. */
  detail: string;
  /** Groups violations of one cause: kind, the operation, and the error (numbers and quoted values blanked). */
  signature: string;
}

export interface Outcome {
  req: FuzzRequest;
  status: number;
  raw: string;
  contentType: string;
  /** Error-level log lines the request produced (the cause of a 500). */
  logs: string[];
  changed: string[];
  violations: Violation[];
}

/** A cause with its values blanked (quoted text, numbers), keeping the error's type and code, for grouping. */
function normalizeCause(s: string): string {
  const split = s.indexOf(': ');
  const head = split < 0 ? '' : s.slice(0, split + 2);
  const tail = split < 0 ? s : s.slice(split + 2);
  return (head + tail.replace(/"[^"]*"|'[^']*'/g, '"…"').replace(/\d+/g, 'N')).slice(0, 160);
}

/** The cause of a 500 from the log: the error's type, code and first message line. */
export function causeOf(logs: string[]): string {
  for (const line of logs) {
    try {
      const entry = JSON.parse(line) as { err?: { type?: string; code?: string; message?: string }; msg?: string };
      if (entry.err) return `${entry.err.type ?? 'Error'}${entry.err.code ? ` [${entry.err.code}]` : ''}: ${String(entry.err.message ?? '').split('\n')[0]}`;
      if (entry.msg) return entry.msg;
    } catch {
      return line.slice(0, 200);
    }
  }
  return '(nothing logged)';
}

function check(req: FuzzRequest, status: number, raw: string, contentType: string, logs: string[], changed: string[]): Violation[] {
  const out: Violation[] = [];
  const p = routedPath(req.url);
  if (status >= 500) {
    const cause = causeOf(logs);
    out.push({ kind: '5xx', detail: `${status}: ${cause}${changed.length ? ` (and it changed: ${changed.join(', ')})` : ''}`, signature: `5xx ${req.op.replace(' (other method)', '')} :: ${normalizeCause(cause)}` });
  }
  if (status >= 400 && status < 500) {
    // By design: a refresh token replayed after its use revokes every token issued from it (RFC 6819 §5.2.2.3).
    const reuseRevocation = p === '/api/token' && /already used/.test(raw) && changed.every((c) => /^(access|refresh)_tokens /.test(c));
    if (changed.length && !reuseRevocation) out.push({ kind: 'changed-on-refusal', detail: `${status} but changed: ${changed.join(', ')}`, signature: `changed-on-refusal ${req.op.replace(' (other method)', '')} ${status} :: ${changed.map((c) => c.split(' ')[0]).join(',')}` });
    if (req.method !== 'HEAD') {
      if (p === '/api/token' && req.method === 'POST') {
        let envelope: any;
        try {
          envelope = JSON.parse(raw);
        } catch {
          envelope = undefined;
        }
        const isEnvelope = envelope && typeof envelope === 'object' && 'WasSuccessful' in envelope;
        // 409 (failed-login limit) and 403 (the cross-site guard, which runs before any route) are envelopes.
        const problems = isEnvelope
          ? status === 409 || status === 403 ? envelopeProblems(status, raw, contentType) : [`${status} answered as an envelope`]
          : tokenErrorProblems(status, raw);
        if (problems.length) out.push({ kind: 'token-error-shape', detail: `${status}: ${problems.join('; ')}`, signature: `token-error-shape ${status} :: ${normalizeCause(problems[0]!)}` });
      } else if (/^\/api\/(spaces|sys)(\/|$)/.test(p) || (status === 404 && !p.startsWith('/docs'))) {
        const problems = envelopeProblems(status, raw, contentType);
        // Grouped by what answered: Fastify's own error code when its default shape leaked out, else the first problem.
        const code = /"code":"([A-Z_]+)"/.exec(raw)?.[1];
        if (problems.length) out.push({ kind: 'envelope', detail: `${status}: ${problems.join('; ')} — ${raw.slice(0, 160)}`, signature: `envelope ${status} :: ${code ?? `${req.op} ${normalizeCause(problems[0]!)}`}` });
      }
    }
  }
  return out;
}

// ───────────────────────────────────────────── the runner ─────────────────────────────────────────────

export interface CampaignOptions {
  requests: number;
  seed: number;
  /** Requests per app: a fresh app and data set every this many (keeps snapshots cheap; each epoch is reproducible). */
  epochSize?: number;
  /** Shrink each distinct violation to a small reproducer (fast-check replay of its run, then shrinking). */
  minimize?: boolean;
  /** Most shrink attempts per distinct violation. */
  shrinkBudget?: number;
  onProgress?(p: { sent: number; total: number; byClass: Record<string, number>; violations: number; epoch: number }): void;
  /** A per-request timeout (ms): a request that takes longer is a violation (no answer). */
  timeoutMs?: number;
}

export interface Finding {
  signature: string;
  kind: ViolationKind;
  /** How many requests hit it. */
  count: number;
  database: 'sqlite' | 'postgres';
  first: {
    req: FuzzRequest; status: number; detail: string; raw: string; logs: string[]; epoch: number; run: number;
    /** The last requests before it that changed data (a finding may need them: replayed alone it may not show). */
    writesBefore: string[];
  };
  minimal?: { req: FuzzRequest; status: number; detail: string; raw: string; logs: string[] };
}

export interface CampaignReport {
  seed: number;
  database: 'sqlite' | 'postgres';
  sent: number;
  byClass: Record<string, number>;
  byStatus: Record<string, number>;
  /** inject() itself refused these (never reached the app). */
  harnessErrors: Array<{ req: FuzzRequest; error: string }>;
  findings: Finding[];
  seconds: number;
  /** Where the time went: the operations with the most time in all. */
  slowestOps: Array<{ op: string; seconds: number }>;
}

/** Sends requests to one app, one at a time, keeping the data snapshot and the administrator's credentials current. */
export class Fuzzer {
  private before: Snapshot | undefined;
  /** The refresh token the last successful grant issued (the generator's LIVE_REFRESH). */
  private liveRefresh: string;
  private spentRefresh: string | undefined;

  constructor(readonly fa: FuzzApp, readonly seeds: Seeds, readonly timeoutMs = 30_000) {
    this.liveRefresh = seeds.refreshToken;
  }

  async start(): Promise<void> {
    this.before = await snapshot(this.fa.storage);
    this.fa.takeLogs();
  }

  /** One request, sent and checked; `harnessError` when inject() itself refused it (a request no client could send). */
  async execute(generated: FuzzRequest): Promise<Outcome | { harnessError: string }> {
    // The request as sent: stand-ins replaced by the credentials of the moment.
    const headers = { ...generated.headers };
    if (headers.authorization === ADMIN_BEARER) headers.authorization = this.seeds.adminBearer;
    const live = (key: string, n: string) => {
      const ids = this.before!.ids[key.toLowerCase() as EntityKey] ?? [];
      return String(ids.length ? ids[Number(n) % ids.length] : NO_RECORD);
    };
    const body = generated.body?.replaceAll(LIVE_REFRESH, this.liveRefresh).replaceAll(SPENT_REFRESH, this.spentRefresh ?? 'never-issued').replace(QUOTED_LIVE_ID, (_m, k: string, n: string) => live(k, n)).replace(LIVE_ID, (_m, k: string, n: string) => live(k, n));
    const req: FuzzRequest = { ...generated, headers, url: generated.url.replace(LIVE_ID, (_m, k: string, n: string) => live(k, n)), ...(body !== undefined ? { body } : {}) };
    this.fa.takeLogs();
    let res: Awaited<ReturnType<FastifyInstance['inject']>>;
    let timer: NodeJS.Timeout | undefined;
    try {
      res = await Promise.race([
        this.fa.app.inject({
          method: req.method as 'GET',
          url: req.url,
          headers,
          ...(req.body !== undefined ? { payload: req.latin1 ? Buffer.from(req.body, 'latin1') : req.body } : {}),
          ...(req.remoteAddress ? { remoteAddress: req.remoteAddress } : {}),
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${this.timeoutMs} ms`), { timeout: true })), this.timeoutMs);
        }),
      ]);
    } catch (e) {
      if ((e as { timeout?: boolean }).timeout) {
        const logs = this.fa.takeLogs();
        return { req, status: 0, raw: '', contentType: '', logs, changed: [], violations: [{ kind: 'no-answer', detail: (e as Error).message, signature: `no-answer ${req.op}` }] };
      }
      return { harnessError: (e as Error).message };
    } finally {
      clearTimeout(timer);
    }
    const logs = this.fa.takeLogs();
    const after = await snapshot(this.fa.storage);
    const changed = diffSnapshots(this.before!, after);
    this.before = after;
    const contentType = String(res.headers['content-type'] ?? '');
    const violations = check(req, res.statusCode, res.body, contentType, logs, changed);
    if (routedPath(req.url) === '/api/token' && res.statusCode === 200) {
      try {
        const issued = (JSON.parse(res.body) as { refresh_token: string }).refresh_token;
        if (req.body?.includes(this.liveRefresh)) this.spentRefresh = this.liveRefresh;
        this.liveRefresh = issued;
      } catch {
        /* judged elsewhere */
      }
    }
    if (changed.some((c) => c.startsWith('users') || c.startsWith('access_tokens'))) await this.keepAdmin();
    return { req, status: res.statusCode, raw: res.body, contentType, logs, changed, violations };
  }

  /**
   * A fuzzed request may change the administrator (a new password, demoted, deleted once another full administrator
   * exists) or revoke its bearer token: put it back, so the rest of the campaign still gets past authentication.
   */
  private async keepAdmin(): Promise<void> {
    const { container, storage } = this.fa;
    let repaired = false;
    try {
      await container.authenticator.authenticate(basic(ADMIN_EMAIL, ADMIN_PASSWORD), '127.0.0.1').then((p) => {
        if (!p.fullAdministrator) throw new Error('demoted');
      });
    } catch {
      repaired = true;
      const id = await container.users.findIdByEmail(ADMIN_EMAIL);
      if (id === undefined) {
        this.seeds.adminId = (await container.userService.create({ Email: ADMIN_EMAIL, Password: ADMIN_PASSWORD, FullAdministrator: true }, { userId: 0, email: 'fuzz' })).Id;
      } else {
        await container.userService.update(id, { Email: ADMIN_EMAIL, Password: ADMIN_PASSWORD, FullAdministrator: true, Roles: [] }, { userId: 0, email: 'fuzz' });
        this.seeds.adminId = id;
      }
    }
    const bearer = await container.authenticator.authenticate(this.seeds.adminBearer, '127.0.0.1').catch(() => undefined);
    if (!bearer?.fullAdministrator) {
      repaired = true;
      this.seeds.adminBearer = `Bearer ${(await grant(this.fa.app, ADMIN_EMAIL, ADMIN_PASSWORD)).access_token}`;
    }
    if (repaired) this.before = await snapshot(storage);
  }
}

function classOf(status: number): string {
  return status === 0 ? 'none' : `${Math.floor(status / 100)}xx`;
}

/** Runs `requests` fuzzed requests (in epochs of a fresh app each) and collects every distinct violation. */
export async function runCampaign(options: CampaignOptions): Promise<CampaignReport> {
  const started = Date.now();
  const epochSize = options.epochSize ?? 2000;
  const byClass: Record<string, number> = {};
  const byStatus: Record<string, number> = {};
  const harnessErrors: CampaignReport['harnessErrors'] = [];
  const findings = new Map<string, Finding>();
  let sent = 0;
  let database: 'sqlite' | 'postgres' = testDatabaseUrl ? 'postgres' : 'sqlite';
  const timeByOp = new Map<string, number>();
  for (let epoch = 0; sent < options.requests; epoch++) {
    const n = Math.min(epochSize, options.requests - sent);
    const fa = await createFuzzApp();
    database = fa.database;
    try {
      const seeds = await seedData(fa);
      const doc = (await fa.app.inject({ method: 'GET', url: '/api/openapi.json' })).json();
      const model = modelFromOpenApi(doc);
      const arb = requestArbitrary(model, seeds);
      const fuzzer = new Fuzzer(fa, seeds, options.timeoutMs);
      await fuzzer.start();
      const epochSeed = (options.seed + epoch * 7919) | 0;
      const newHere: Finding[] = [];
      const recentWrites: string[] = [];
      let run = 0;
      await fc.assert(fc.asyncProperty(arb, async (req) => {
        const index = run++;
        const t0 = performance.now();
        const outcome = await fuzzer.execute(req);
        const ms = performance.now() - t0;
        sent++;
        timeByOp.set(req.op, (timeByOp.get(req.op) ?? 0) + ms);
        if ('harnessError' in outcome) {
          /* counted below */
        } else if ((outcome.status < 300 && req.method !== 'GET' && req.method !== 'HEAD') || outcome.changed.length) {
          recentWrites.push(`${req.method} ${outcome.req.url.slice(0, 200)} → ${outcome.status}${outcome.req.body ? ` ${outcome.req.body.slice(0, 200)}` : ''}`);
          if (recentWrites.length > 8) recentWrites.shift();
        }
        if ('harnessError' in outcome) {
          byClass.harness = (byClass.harness ?? 0) + 1;
          if (harnessErrors.length < 20) harnessErrors.push({ req, error: outcome.harnessError });
        } else {
          byClass[classOf(outcome.status)] = (byClass[classOf(outcome.status)] ?? 0) + 1;
          byStatus[outcome.status] = (byStatus[outcome.status] ?? 0) + 1;
          for (const v of outcome.violations) {
            const known = findings.get(v.signature);
            if (known) known.count++;
            else {
              const f: Finding = {
                signature: v.signature, kind: v.kind, count: 1, database: fa.database,
                first: { req: outcome.req, status: outcome.status, detail: v.detail, raw: outcome.raw.slice(0, 2000), logs: outcome.logs.slice(0, 3), epoch, run: index, writesBefore: recentWrites.slice(0, -1) },
              };
              findings.set(v.signature, f);
              newHere.push(f);
            }
          }
        }
        if (sent % 100 === 0) options.onProgress?.({ sent, total: options.requests, byClass, violations: findings.size, epoch });
        return true;
      }), { seed: epochSeed, numRuns: n, endOnFailure: true });
      if (options.minimize) {
        for (const f of newHere) await minimize(f, arb, fuzzer, epochSeed, options.shrinkBudget ?? 150);
      }
    } finally {
      await fa.close();
    }
  }
  options.onProgress?.({ sent, total: options.requests, byClass, violations: findings.size, epoch: -1 });
  const slowestOps = [...timeByOp].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([op, ms]) => ({ op, seconds: Math.round(ms / 100) / 10 }));
  return { seed: options.seed, database, sent, byClass, byStatus, harnessErrors, findings: [...findings.values()], seconds: Math.round((Date.now() - started) / 100) / 10, slowestOps };
}

/** Replays the finding's run (same seed, same run index) and lets fast-check shrink it while it still shows the same violation. */
async function minimize(f: Finding, arb: fc.Arbitrary<FuzzRequest>, fuzzer: Fuzzer, seed: number, budget: number): Promise<void> {
  let attempts = 0;
  let smallest: Finding['minimal'];
  const size = (r: FuzzRequest) => r.url.length + (r.body?.length ?? 0) + JSON.stringify(r.headers).length;
  await fc.check(fc.asyncProperty(arb, async (req) => {
    if (attempts++ >= budget) return true;
    const o = await fuzzer.execute(req);
    if ('harnessError' in o) return true;
    const v = o.violations.find((x) => x.signature === f.signature);
    if (!v) return true;
    if (!smallest || size(o.req) <= size(smallest.req)) smallest = { req: o.req, status: o.status, detail: v.detail, raw: o.raw.slice(0, 2000), logs: o.logs.slice(0, 3) };
    return false;
  }), { seed, path: String(f.first.run), numRuns: 1 });
  if (smallest) f.minimal = smallest;
}

// ───────────────────────────────────────────── reporting ─────────────────────────────────────────────

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}… (${s.length} chars in all)` : s;
}

function printable(s: string): string {
  return JSON.stringify(s);
}

/** A request, exactly, in a form one can paste into app.inject() (the body cut to `bodyChars`). */
export function describeRequest(req: FuzzRequest, bodyChars = 400): string {
  const lines = [`${req.method} ${truncate(printable(req.url), 300)}`, `  headers: ${truncate(JSON.stringify(req.headers), 400)}`];
  if (req.remoteAddress) lines.push(`  remoteAddress: ${req.remoteAddress}`);
  if (req.body !== undefined) lines.push(`  body${req.latin1 ? ' (sent as latin1 bytes)' : ''}: ${truncate(printable(req.body), bodyChars)}`);
  return lines.join('\n');
}

export function formatReport(r: CampaignReport): string {
  const lines: string[] = [];
  lines.push(`calbridge fuzz on ${r.database}: seed ${r.seed}, ${r.sent} requests in ${r.seconds} s`);
  lines.push(`  by class: ${Object.entries(r.byClass).sort().map(([k, v]) => `${k} ${v}`).join(', ')}`);
  lines.push(`  by status: ${Object.entries(r.byStatus).sort().map(([k, v]) => `${k}: ${v}`).join(', ')}`);
  const fives = r.findings.filter((f) => f.kind === '5xx' || f.kind === 'no-answer');
  lines.push(`  5xx: ${fives.reduce((n, f) => n + f.count, 0)} (${fives.length} distinct); other violations: ${r.findings.filter((f) => !fives.includes(f)).reduce((n, f) => n + f.count, 0)} (${r.findings.length - fives.length} distinct)`);
  lines.push(`  most time: ${r.slowestOps.map((o) => `${o.op} ${o.seconds} s`).join(', ')}`);
  if (r.harnessErrors.length) lines.push(`  inject() refused ${r.byClass.harness ?? r.harnessErrors.length} generated requests (not sent), e.g. ${r.harnessErrors[0]!.error}`);
  for (const [i, f] of r.findings.entries()) {
    lines.push('');
    lines.push(`#${i + 1} [${f.kind}] ${f.signature}  ×${f.count} (${f.database})`);
    lines.push(`  first (epoch ${f.first.epoch}, run ${f.first.run}): ${f.first.detail}`);
    lines.push(describeRequest(f.first.req).replace(/^/gm, '    '));
    if (f.minimal) {
      lines.push(`  shrunk (replayed on the data left at the end of its epoch): ${f.minimal.detail}`);
      lines.push(describeRequest(f.minimal.req).replace(/^/gm, '    '));
      lines.push(`    answer: ${truncate(f.minimal.raw, 300)}`);
    } else {
      lines.push(`    answer: ${truncate(f.first.raw, 300)}`);
      if (f.kind !== 'envelope' && f.kind !== 'token-error-shape') {
        lines.push('  (replayed alone at the end of its epoch it did not show again: it depends on the data earlier requests left; the last writes before it:)');
        for (const w of f.first.writesBefore) lines.push(`    ${truncate(w, 300)}`);
      }
    }
    const logs = f.minimal?.logs.length ? f.minimal.logs : f.first.logs;
    if (logs.length) {
      try {
        const entry = JSON.parse(logs[0]!) as { err?: { stack?: string } };
        if (entry.err?.stack) {
          const frames = entry.err.stack.split('\n').slice(1).map((l) => l.trim());
          const ours = frames.filter((l) => l.includes('/src/'));
          if (ours.length) lines.push(`    stack: ${[entry.err.stack.split('\n')[0], ...ours.slice(0, 5)].join('\n           ')}`);
        }
      } catch {
        /* not JSON */
      }
    }
  }
  return lines.join('\n');
}
