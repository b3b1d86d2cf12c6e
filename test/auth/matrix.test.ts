/**
 * The shared auth matrix: every API endpoint × every credential case. One table says, per endpoint, the method,
 * the path, the role that grants it (null: full administrators only) and how to build a valid request from the
 * records made in `before`; every endpoint then runs the same cases. A refused request must change nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_EMAIL, ADMIN_PASSWORD, basic, createTestApp, passwordGrant, type TestApp } from '../helpers/app.js';
import { calendarBody, createCalendar, createCoworker, createResource } from '../helpers/factories.js';
import { KNOWN_ROLES } from '../../src/modules/users/roles.js';
import { newToken } from '../../src/modules/users/token-repository.js';
import { assertFailure, assertUnauthorized, send, type Answer, type Req } from '../helpers/api.js';

type Action = 'List' | 'Read' | 'Create' | 'Edit' | 'Delete';
type Table = 'coworker_ms_office_calendars' | 'coworkers' | 'resources' | 'users' | 'jobs' | 'bookings';

interface Endpoint {
  /** "GET /api/spaces/coworkers/{id}" */
  name: string;
  method: Req['method'];
  /** OpenAPI-style template, for the completeness check. */
  template: string;
  action: Action;
  /** The role that grants it; null: full administrators only. */
  role: string | null;
  /** A role unrelated to this endpoint. */
  unrelatedRole: string;
  table: Table;
  /** A valid request; deletes get a record of their own on every call. */
  request(): Promise<Req>;
  /** What a 2xx answer must show. */
  check(a: Answer, req: Req): Promise<void>;
  /** A broken request (bad JSON, bad id, unknown id) and what an entitled caller gets for it. */
  broken(): { req: Req; status: 400 | 404 };
}

let t: TestApp;
/** Records made in `before`, read by the request builders. */
const fx = { resourceId: 0, coworkerId: 0, calendarId: 0, userId: 0, userEmail: '', adminId: 0, bookingId: 0, cancelledId: 0, seq: 0 };

interface EntityDef {
  entity: string;
  path: string;
  table: Table;
  /** null: full administrators only. */
  roles: boolean;
  unrelatedEntity: string;
  fixtureId(): number;
  createBody(): Record<string, unknown>;
  updateBody(): Record<string, unknown>;
  fresh(): Promise<number>;
  /** Whether a deleted record is gone (bookings are cancelled, not removed). */
  gone?(id: number): Promise<boolean>;
}

/** A booking an hour long, on its own day, so matrix bookings never collide. */
function bookingBody(extra: Record<string, unknown> = {}) {
  const day = new Date(Date.UTC(2031, 0, 1) + next() * 86_400_000).toISOString().slice(0, 10);
  return { ResourceId: fx.resourceId, CoworkerId: fx.coworkerId, FromTime: `${day}T10:00:00Z`, ToTime: `${day}T11:00:00Z`, ...extra };
}

const next = () => ++fx.seq;

const ENTITIES: EntityDef[] = [
  {
    entity: 'CoworkerMsOfficeCalendar',
    path: '/api/spaces/coworkermsofficecalendars',
    table: 'coworker_ms_office_calendars',
    roles: true,
    unrelatedEntity: 'Coworker',
    fixtureId: () => fx.calendarId,
    createBody: () => calendarBody(fx.resourceId, { CoworkerId: fx.coworkerId }),
    updateBody: () => calendarBody(fx.resourceId, { Name: `Matrix calendar ${next()}` }),
    fresh: async () => (await createCalendar(t.app, t.admin, fx.resourceId)).Id,
  },
  {
    entity: 'Coworker',
    path: '/api/spaces/coworkers',
    table: 'coworkers',
    roles: true,
    unrelatedEntity: 'Resource',
    fixtureId: () => fx.coworkerId,
    createBody: () => ({ FullName: `Matrix member ${next()}`, Email: `matrix-member-${fx.seq}@mail.test` }),
    updateBody: () => ({ FullName: `Renamed member ${next()}`, Email: 'matrix-fixture-member@mail.test' }),
    fresh: async () => (await createCoworker(t.app, t.admin)).Id,
  },
  {
    entity: 'Resource',
    path: '/api/spaces/resources',
    table: 'resources',
    roles: true,
    unrelatedEntity: 'Coworker',
    fixtureId: () => fx.resourceId,
    createBody: () => ({ Name: `Matrix room ${next()}` }),
    updateBody: () => ({ Name: `Renamed room ${next()}` }),
    fresh: async () => (await createResource(t.app, t.admin)).Id,
  },
  {
    entity: 'Booking',
    path: '/api/spaces/bookings',
    table: 'bookings',
    roles: true,
    unrelatedEntity: 'Resource',
    fixtureId: () => fx.bookingId,
    createBody: () => bookingBody(),
    updateBody: () => ({ ResourceId: fx.resourceId, FromTime: '2030-12-31T10:00:00Z', ToTime: `2030-12-31T${String(11 + (next() % 8)).padStart(2, '0')}:00:00Z` }),
    fresh: async () => (await t.container.bookingService.create(bookingBody(), { userId: 0, email: 'test' })).Id,
    gone: async (id) => (await t.storage.db.selectFrom('bookings').select('cancelled_on').where('id', '=', id).executeTakeFirst())?.cancelled_on != null,
  },
  {
    entity: 'User',
    path: '/api/sys/users',
    table: 'users',
    roles: false,
    unrelatedEntity: 'CoworkerMsOfficeCalendar',
    fixtureId: () => fx.userId,
    createBody: () => ({ Email: `matrix-user-${next()}@test.local`, Password: 'matrix-password-1', Roles: ['Resource-List'] }),
    updateBody: () => ({ Email: fx.userEmail, FullName: `Renamed user ${next()}`, Roles: ['Coworker-Read'] }),
    fresh: async () =>
      (await t.container.userService.create({ Email: `matrix-doomed-${next()}@test.local`, Password: 'matrix-password-2' }, { userId: 0, email: 'test' })).Id,
  },
];

/** The misspelt alias serves every calendar route too. */
const ALIAS = { ...ENTITIES[0]!, path: '/api/spaces/coworkermsoffecalendars' };

function endpointsOf(def: EntityDef, alias = false): Endpoint[] {
  const role = (action: Action) => (def.roles ? `${def.entity}-${action}` : null);
  const base = (action: Action, method: Req['method'], template: string, label: string) => ({
    name: `${method} ${template}${label ? ` (${label})` : ''}${alias ? ' [alias]' : ''}`,
    method,
    template,
    action,
    role: role(action),
    unrelatedRole: `${def.unrelatedEntity}-${action}`,
    table: def.table,
  });
  return [
    {
      ...base('List', 'GET', def.path, 'list'),
      request: async () => ({ method: 'GET', url: def.path }),
      broken: () => ({ req: { method: 'GET', url: `${def.path}?page=0` }, status: 400 }),
      async check(a) {
        assert.equal(a.status, 200, a.raw);
        assert.ok(Array.isArray(a.body.Records), a.raw);
        assert.ok(a.body.Records.some((r: { Id: number }) => r.Id === def.fixtureId()), 'the list shows the fixture record');
      },
    },
    {
      ...base('Read', 'GET', def.path, 'batch ?id=[..]'),
      request: async () => ({ method: 'GET', url: `${def.path}?id=[${def.fixtureId()},999999]` }),
      broken: () => ({ req: { method: 'GET', url: `${def.path}?id=[${def.fixtureId()},x]` }, status: 400 }),
      async check(a) {
        assert.equal(a.status, 200, a.raw);
        assert.ok(Array.isArray(a.body), `a bare array: ${a.raw}`);
        assert.deepEqual(a.body.map((r: { Id: number }) => r.Id), [def.fixtureId()]);
      },
    },
    {
      ...base('Read', 'GET', `${def.path}/{id}`, 'get one'),
      request: async () => ({ method: 'GET', url: `${def.path}/${def.fixtureId()}` }),
      broken: () => ({ req: { method: 'GET', url: `${def.path}/999999` }, status: 404 }),
      async check(a) {
        assert.equal(a.status, 200, a.raw);
        assert.equal(a.body.Id, def.fixtureId());
      },
    },
    {
      ...base('Create', 'POST', def.path, 'create'),
      request: async () => ({ method: 'POST', url: def.path, payload: def.createBody() }),
      broken: () => ({ req: { method: 'POST', url: def.path, payload: '{"Name": ' }, status: 400 }),
      async check(a, req) {
        assert.equal(a.status, 200, a.raw);
        assert.equal(a.body.WasSuccessful, true, a.raw);
        assert.equal(a.body.Errors, null);
        const id = a.body.Value.Id;
        assert.ok(Number.isInteger(id) && id > 0, a.raw);
        const stored = await t.storage.db.selectFrom(def.table).select('id').where('id', '=', id).executeTakeFirst();
        assert.ok(stored, 'the created record is stored');
        assert.notEqual(req.payload, undefined);
      },
    },
    {
      ...base('Edit', 'PUT', def.path, 'update, Id in the body'),
      request: async () => ({ method: 'PUT', url: def.path, payload: { Id: def.fixtureId(), ...def.updateBody() } }),
      broken: () => ({ req: { method: 'PUT', url: def.path, payload: { Id: def.fixtureId() } }, status: 400 }),
      async check(a) {
        assert.equal(a.status, 200, a.raw);
        assert.equal(a.body.WasSuccessful, true, a.raw);
        assert.deepEqual(a.body.Value, { Id: def.fixtureId() });
      },
    },
    {
      ...base('Edit', 'PUT', `${def.path}/{id}`, 'update by path'),
      request: async () => ({ method: 'PUT', url: `${def.path}/${def.fixtureId()}`, payload: def.updateBody() }),
      broken: () => ({ req: { method: 'PUT', url: `${def.path}/abc`, payload: def.updateBody() }, status: 400 }),
      async check(a) {
        assert.equal(a.status, 200, a.raw);
        assert.equal(a.body.WasSuccessful, true, a.raw);
        assert.deepEqual(a.body.Value, { Id: def.fixtureId() });
      },
    },
    {
      ...base('Delete', 'DELETE', `${def.path}/{id}`, 'delete'),
      request: async () => ({ method: 'DELETE', url: `${def.path}/${await def.fresh()}` }),
      broken: () => ({ req: { method: 'DELETE', url: `${def.path}/999999` }, status: 404 }),
      async check(a, req) {
        assert.equal(a.status, 200, a.raw);
        assert.equal(a.body.WasSuccessful, true, a.raw);
        const id = Number(req.url.split('/').pop());
        assert.deepEqual(a.body.Value, { Id: id });
        if (def.gone) assert.ok(await def.gone(id), 'the record is gone');
        else assert.equal(await t.storage.db.selectFrom(def.table).select('id').where('id', '=', id).executeTakeFirst(), undefined, 'the record is gone');
      },
    },
  ];
}

/** Operator routes: full administrators only. */
const OPERATIONS: Endpoint[] = [
  {
    name: 'GET /api/sys/jobs',
    method: 'GET',
    template: '/api/sys/jobs',
    action: 'List',
    role: null,
    unrelatedRole: 'Resource-List',
    table: 'jobs',
    request: async () => ({ method: 'GET', url: '/api/sys/jobs?state=dead' }),
    broken: () => ({ req: { method: 'GET', url: '/api/sys/jobs?state=sleeping' }, status: 400 }),
    async check(a) {
      assert.equal(a.status, 200, a.raw);
      assert.equal(typeof a.body.Counts.dead, 'number', a.raw);
      assert.ok(Array.isArray(a.body.Records), a.raw);
    },
  },
  {
    name: 'POST /api/sys/jobs/retry',
    method: 'POST',
    template: '/api/sys/jobs/retry',
    action: 'Edit',
    role: null,
    unrelatedRole: 'Resource-Edit',
    table: 'jobs',
    request: async () => ({ method: 'POST', url: '/api/sys/jobs/retry', payload: { Ids: [999999] } }),
    broken: () => ({ req: { method: 'POST', url: '/api/sys/jobs/retry', payload: { Ids: 'all' } }, status: 400 }),
    async check(a) {
      assert.equal(a.status, 200, a.raw);
      assert.deepEqual(a.body.Value, { Retried: 0 });
    },
  },
];

/** CoworkerMsOfficeCalendar commands and the connection status. */
const CALENDAR_EXTRAS: Endpoint[] = [
  {
    name: 'GET /api/spaces/coworkermsofficecalendars/commands',
    method: 'GET',
    template: '/api/spaces/coworkermsofficecalendars/commands',
    action: 'List',
    role: 'CoworkerMsOfficeCalendar-List',
    unrelatedRole: 'Coworker-List',
    table: 'coworker_ms_office_calendars',
    request: async () => ({ method: 'GET', url: '/api/spaces/coworkermsofficecalendars/commands' }),
    broken: () => ({ req: { method: 'GET', url: '/api/spaces/coworkermsofficecalendars/commands?id=999999' }, status: 404 }),
    async check(a) {
      assert.equal(a.status, 200, a.raw);
      assert.deepEqual(a.body.map((c: { Key: string }) => c.Key), ['RENEW_SUBSCRIPTION', 'RESYNC', 'DISCONNECT', 'MARK_DEDICATED', 'UNMARK_DEDICATED']);
    },
  },
  {
    name: 'POST /api/spaces/coworkermsofficecalendars/runcommand (RESYNC)',
    method: 'POST',
    template: '/api/spaces/coworkermsofficecalendars/runcommand',
    action: 'Edit',
    role: 'CoworkerMsOfficeCalendar-Edit',
    unrelatedRole: 'Coworker-Edit',
    table: 'coworker_ms_office_calendars',
    request: async () => ({ method: 'POST', url: '/api/spaces/coworkermsofficecalendars/runcommand', payload: { Key: 'RESYNC', Ids: [fx.calendarId] } }),
    broken: () => ({ req: { method: 'POST', url: '/api/spaces/coworkermsofficecalendars/runcommand', payload: { Key: 'RESYNC', Ids: [999999] } }, status: 404 }),
    async check(a) {
      assert.equal(a.status, 200, a.raw);
      assert.equal(a.body.Message, 'The command was run correctly.');
    },
  },
  {
    name: 'GET /api/spaces/coworkermsofficecalendars/{id}/status',
    method: 'GET',
    template: '/api/spaces/coworkermsofficecalendars/{id}/status',
    action: 'Read',
    role: 'CoworkerMsOfficeCalendar-Read',
    unrelatedRole: 'Coworker-Read',
    table: 'coworker_ms_office_calendars',
    request: async () => ({ method: 'GET', url: `/api/spaces/coworkermsofficecalendars/${fx.calendarId}/status` }),
    broken: () => ({ req: { method: 'GET', url: '/api/spaces/coworkermsofficecalendars/999999/status' }, status: 404 }),
    async check(a) {
      assert.equal(a.status, 200, a.raw);
      assert.equal(a.body.Id, fx.calendarId);
      assert.equal(typeof a.body.State, 'string');
      assert.equal(a.body.clientState ?? a.body.ClientState, undefined, 'no secret in the status');
    },
  },
];

/** Cancelled bookings (read-only, Booking-List/-Read) and booking conflicts (Booking-List). */
const BOOKING_EXTRAS: Endpoint[] = [
  ...endpointsOf({
    entity: 'Booking', path: '/api/spaces/cancelledbookings', table: 'bookings', roles: true, unrelatedEntity: 'Resource',
    fixtureId: () => fx.cancelledId, createBody: () => ({}), updateBody: () => ({}), fresh: async () => 0,
  }).filter((e) => e.method === 'GET'),
  {
    name: 'GET /api/spaces/bookingconflicts',
    method: 'GET',
    template: '/api/spaces/bookingconflicts',
    action: 'List',
    role: 'Booking-List',
    unrelatedRole: 'Resource-List',
    table: 'bookings',
    request: async () => ({ method: 'GET', url: `/api/spaces/bookingconflicts?BookingConflict_Resource=${fx.resourceId}` }),
    broken: () => ({ req: { method: 'GET', url: '/api/spaces/bookingconflicts?BookingConflict_Resource=x' }, status: 400 }),
    async check(a) {
      assert.equal(a.status, 200, a.raw);
      assert.ok(Array.isArray(a.body.Records), a.raw);
    },
  },
];

/** Routes that are open by design: the token endpoint, the health checks and Graph's webhooks. */
const UNAUTHENTICATED = new Set(['/api/token', '/healthz', '/readyz', '/graph/notifications', '/graph/lifecycle']);

const MATRIX: Endpoint[] = [...ENTITIES.flatMap((d) => endpointsOf(d)), ...endpointsOf(ALIAS, true), ...OPERATIONS, ...CALENDAR_EXTRAS, ...BOOKING_EXTRAS];

/** Users minted once per role set. */
const minted = new Map<string, Promise<string>>();
function bearerWithRoles(roles: string[]): Promise<string> {
  const key = JSON.stringify([...roles].sort());
  if (!minted.has(key)) minted.set(key, t.userWithRoles(roles).then((u) => u.auth));
  return minted.get(key)!;
}

let adminBearer = '';
let expiredAdminBearer = '';

interface Case {
  name: string;
  auth(ep: Endpoint): Promise<string | null> | string | null;
  expect: 401 | 403 | 200;
}

function casesFor(ep: Endpoint): Case[] {
  const cases: Case[] = [
    { name: 'no credentials → 401', auth: () => null, expect: 401 },
    { name: 'a garbage bearer token → 401', auth: () => 'Bearer this-is-not-a-token', expect: 401 },
    { name: "an expired access token (a full administrator's) → 401", auth: () => expiredAdminBearer, expect: 401 },
    { name: 'HTTP Basic with a wrong password → 401', auth: () => basic(ADMIN_EMAIL, 'wrong-password-123'), expect: 401 },
    { name: `a user holding only an unrelated role (${ep.unrelatedRole}) → 403`, auth: () => bearerWithRoles([ep.unrelatedRole]), expect: 403 },
    {
      name: 'a user holding every known role but the needed one → 403',
      auth: () => bearerWithRoles(KNOWN_ROLES.filter((r) => r !== ep.role)),
      expect: 403,
    },
    ep.role
      ? { name: `a user holding exactly ${ep.role} → 2xx`, auth: () => bearerWithRoles([ep.role!]), expect: 200 }
      : { name: 'no role grants it: a user holding every known role → 403', auth: () => bearerWithRoles([...KNOWN_ROLES]), expect: 403 },
    { name: 'a full administrator with a bearer token → 2xx', auth: () => adminBearer, expect: 200 },
    { name: 'a full administrator with HTTP Basic → 2xx', auth: () => basic(ADMIN_EMAIL, ADMIN_PASSWORD), expect: 200 },
  ];
  return cases;
}

async function snapshot(table: Table): Promise<unknown[]> {
  return t.storage.db.selectFrom(table).selectAll().orderBy('id').execute();
}

describe('auth matrix', () => {
  before(async () => {
    // The matrix sends hundreds of wrong Basic passwords on purpose: lift the failed-login limit here.
    t = await createTestApp({ config: { loginFailureLimit: 1_000_000, loginFailureLimitPerIp: 1_000_000 } });
    fx.resourceId = (await createResource(t.app, t.admin)).Id;
    fx.coworkerId = (await createCoworker(t.app, t.admin, { Email: 'matrix-fixture-member@mail.test' })).Id;
    fx.calendarId = (await createCalendar(t.app, t.admin, fx.resourceId, { CoworkerId: fx.coworkerId })).Id;
    fx.userEmail = 'matrix-fixture-user@test.local';
    fx.userId = (await t.container.userService.create({ Email: fx.userEmail, Password: 'matrix-password-0' }, { userId: 0, email: 'test' })).Id;
    fx.adminId = (await t.container.users.findIdByEmail(ADMIN_EMAIL))!;
    fx.bookingId = (await t.container.bookingService.create(bookingBody(), { userId: 0, email: 'test' })).Id;
    fx.cancelledId = (await t.container.bookingService.create(bookingBody(), { userId: 0, email: 'test' })).Id;
    await t.container.bookingService.remove(fx.cancelledId, { userId: 0, email: 'test' });

    const grant = await passwordGrant(t.app, ADMIN_EMAIL, ADMIN_PASSWORD);
    assert.equal(grant.status, 200);
    adminBearer = `Bearer ${grant.body.access_token}`;
    const expired = newToken();
    await t.container.tokens.insertAccess(fx.adminId, 'matrix', expired, t.clock.now() - 1000);
    expiredAdminBearer = `Bearer ${expired}`;
  });
  after(async () => {
    await t?.close();
  });

  it('the matrix covers every authenticated route of the OpenAPI document', async () => {
    const res = await send(t.app, { method: 'GET', url: '/api/openapi.json' }, null);
    assert.equal(res.status, 200, 'the OpenAPI document is served without credentials');
    const covered = new Set(MATRIX.map((e) => `${e.method} ${e.template}`));
    const documented: string[] = [];
    for (const [path, ops] of Object.entries(res.body.paths as Record<string, Record<string, unknown>>)) {
      if (UNAUTHENTICATED.has(path)) continue;
      for (const method of Object.keys(ops)) documented.push(`${method.toUpperCase()} ${path}`);
    }
    assert.ok(documented.length >= 20, `expected the entity routes in the document: ${documented.join(', ')}`);
    assert.deepEqual(documented.filter((d) => !covered.has(d)), [], 'documented routes missing from the auth matrix');
  });

  it('the unauthenticated routes stay open: /api/openapi.json and /docs', async () => {
    assert.equal((await send(t.app, { method: 'GET', url: '/api/openapi.json' }, null)).status, 200);
    const docs = await send(t.app, { method: 'GET', url: '/docs' }, null);
    assert.ok(docs.status === 200 || docs.status === 302, `GET /docs answered ${docs.status}`);
  });

  for (const ep of MATRIX) {
    describe(ep.name, () => {
      for (const c of casesFor(ep)) {
        it(c.name, async () => {
          const auth = await c.auth(ep);
          const req = await ep.request();
          const before = c.expect === 200 ? undefined : await snapshot(ep.table);
          const a = await send(t.app, req, auth);
          if (c.expect === 401) assertUnauthorized(a);
          else if (c.expect === 403) {
            assertFailure(a, 403);
            assert.ok(a.body.Message.includes(ep.role ?? 'full administrator'), `the 403 says what is needed: ${a.body.Message}`);
            assert.equal(a.headers['www-authenticate'], undefined, 'a 403 is not a credentials challenge');
          } else await ep.check(a, req);
          if (before) assert.deepEqual(await snapshot(ep.table), before, 'a refused request changes nothing');
        });
      }
    });
  }

  describe('access is decided before the request is read: 401, then 403, then 400/404', () => {
    for (const ep of MATRIX) {
      describe(ep.name, () => {
        it('a broken request without credentials → 401', async () => {
          assertUnauthorized(await send(t.app, ep.broken().req, null));
        });
        it('a broken request from a user with every other role → 403', async () => {
          const auth = await bearerWithRoles(KNOWN_ROLES.filter((r) => r !== ep.role));
          assertFailure(await send(t.app, ep.broken().req, auth), 403);
        });
        it('the same request from a full administrator → 400/404', async () => {
          const { req, status } = ep.broken();
          assertFailure(await send(t.app, req, t.admin), status);
        });
      });
    }
  });

  it('HEAD follows GET: no credentials → 401', async () => {
    for (const url of ['/api/spaces/resources', `/api/spaces/resources/${fx.resourceId}`, '/api/sys/users']) {
      const res = await t.app.inject({ method: 'HEAD', url });
      assert.equal(res.statusCode, 401, `HEAD ${url}`);
      assert.match(String(res.headers['www-authenticate']), /\bBearer\b/);
    }
  });

  it('the scheme name is case-insensitive; a header without a credential is a 401', async () => {
    const lower = adminBearer.replace(/^Bearer /, 'bearer ');
    assert.equal((await send(t.app, { method: 'GET', url: '/api/sys/users' }, lower)).status, 200);
    const basicUpper = basic(ADMIN_EMAIL, ADMIN_PASSWORD).replace(/^Basic /, 'BASIC ');
    assert.equal((await send(t.app, { method: 'GET', url: '/api/sys/users' }, basicUpper)).status, 200);
    for (const header of ['Bearer', 'Bearer ', 'Basic', 'Basic !!!', `Basic ${Buffer.from(ADMIN_EMAIL).toString('base64')}`, 'Token abc', adminBearer.replace('Bearer ', '')]) {
      assertUnauthorized(await send(t.app, { method: 'GET', url: '/api/sys/users' }, header));
    }
  });
});
