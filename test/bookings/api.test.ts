/** /api/spaces/bookings and /api/spaces/cancelledbookings through the real app: the Nexudus conventions and no overlap. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testApp } from '../helpers/app.js';
import { createCoworker, createResource } from '../helpers/factories.js';
import { FORM, call, assertFailure, assertValidation, form } from '../helpers/api.js';
import { testDatabaseUrl } from '../helpers/database.js';

const BOOKINGS = '/api/spaces/bookings';
const CANCELLED = '/api/spaces/cancelledbookings';

function booking(resourceId: number, from: string, to: string, extra: Record<string, unknown> = {}) {
  return { ResourceId: resourceId, FromTime: from, ToTime: to, ...extra };
}

test('create, get, list with filters, update and cancel a booking', async (ctx) => {
  const t = await testApp(ctx);
  const room = await createResource(t.app, t.admin, { Name: 'Rainier' });
  const member = await createCoworker(t.app, t.admin, { FullName: 'Adele Vance' });
  const a = await call(t, 'POST', BOOKINGS, booking(room.Id, '2030-01-06T10:00:00+01:00', '2030-01-06T11:30', { CoworkerId: member.Id, Notes: 'Planning' }));
  assert.equal(a.status, 200, a.raw);
  assert.equal(a.body.Message, 'Booking was successfully created.');
  const b = a.body.Value;
  assert.equal(b.FromTime, '2030-01-06T09:00:00.000Z', 'answered in UTC');
  assert.equal(b.ToTime, '2030-01-06T11:30:00.000Z', 'no zone means UTC');
  assert.equal(b.Source, 'api');
  assert.equal(b.CoworkerMsOfficeCalendarId, null);
  assert.equal(b.Tentative, false);
  assert.equal(b.CoworkerFullName, 'Adele Vance');
  assert.equal(b.ResourceName, 'Rainier');
  assert.equal(b.Office365EventId, null);

  assert.deepEqual((await call(t, 'GET', `${BOOKINGS}/${b.Id}`)).body, b);
  const list = (await call(t, 'GET', `${BOOKINGS}?Booking_Resource=${room.Id}&from_Booking_FromTime=2030-01-06&to_Booking_ToTime=2030-01-06`)).body;
  assert.deepEqual(list.Records.map((r: any) => r.Id), [b.Id]);
  assert.equal((await call(t, 'GET', `${BOOKINGS}?Booking_Resource=${room.Id + 1000}`)).body.TotalItems, 0);
  assert.equal((await call(t, 'GET', `${BOOKINGS}?Booking_Coworker=${member.Id}`)).body.TotalItems, 1);
  assert.equal((await call(t, 'GET', `${BOOKINGS}?Booking_Source=outlook`)).body.TotalItems, 0);

  const moved = await call(t, 'PUT', BOOKINGS, { ...b, FromTime: '2030-01-06T12:00:00Z', ToTime: '2030-01-06T13:00:00Z' });
  assert.equal(moved.status, 200, moved.raw);
  assert.equal((await call(t, 'GET', `${BOOKINGS}/${b.Id}`)).body.FromTime, '2030-01-06T12:00:00.000Z');

  const del = await call(t, 'DELETE', `${BOOKINGS}/${b.Id}`);
  assert.equal(del.status, 200, del.raw);
  assert.equal((await call(t, 'GET', `${BOOKINGS}/${b.Id}`)).status, 404, 'a cancelled booking leaves the active list');
  assert.equal((await call(t, 'GET', BOOKINGS)).body.TotalItems, 0);
  const cancelled = (await call(t, 'GET', `${CANCELLED}/${b.Id}`)).body;
  assert.equal(cancelled.Id, b.Id);
  assert.match(cancelled.CancelledOn, /^\d{4}-\d{2}-\d{2}T/);
  assert.equal(cancelled.CancellationReason, 'Customer');
  assert.equal((await call(t, 'GET', CANCELLED)).body.TotalItems, 1);
  assert.deepEqual((await call(t, 'GET', `${CANCELLED}?id=[${b.Id}]`)).body.map((r: any) => r.Id), [b.Id]);
  assert.equal((await call(t, 'DELETE', `${BOOKINGS}/${b.Id}`)).status, 404, 'cancelling twice finds nothing');
  assert.equal((await call(t, 'POST', CANCELLED, booking(room.Id, '2030-01-07T10:00Z', '2030-01-07T11:00Z'))).status, 404, 'cancelled bookings are read-only');
});

test('bad bookings are 400 and change nothing', async (ctx) => {
  const t = await testApp(ctx);
  const room = await createResource(t.app, t.admin);
  assertValidation(await call(t, 'POST', BOOKINGS, booking(room.Id, '2030-01-06T11:00Z', '2030-01-06T10:00Z')), ['ToTime']);
  assertValidation(await call(t, 'POST', BOOKINGS, booking(room.Id, '2030-01-06T11:00Z', '2030-01-06T11:00Z')), ['ToTime']);
  assertValidation(await call(t, 'POST', BOOKINGS, booking(room.Id + 99, '2030-01-06T10:00Z', '2030-01-06T11:00Z')), ['ResourceId']);
  assertValidation(await call(t, 'POST', BOOKINGS, { ResourceId: room.Id }), ['FromTime', 'ToTime']);
  assertValidation(await call(t, 'POST', BOOKINGS, booking(room.Id, 'tomorrow', '2030-01-06T11:00Z')), ['FromTime']);
  assert.equal((await call(t, 'GET', BOOKINGS)).body.TotalItems, 0);
});

test('no two active bookings of one resource overlap; touching is fine; another resource is fine; the 400 names the booking', async (ctx) => {
  const t = await testApp(ctx);
  const room = await createResource(t.app, t.admin);
  const desk = await createResource(t.app, t.admin);
  const first = (await call(t, 'POST', BOOKINGS, booking(room.Id, '2030-01-06T10:00Z', '2030-01-06T11:00Z'))).body.Value;
  const clash = await call(t, 'POST', BOOKINGS, booking(room.Id, '2030-01-06T10:30Z', '2030-01-06T12:00Z'));
  const errors = assertValidation(clash, ['ResourceId']);
  assert.match(errors.get('ResourceId')!.Message, new RegExp(`^The resource is already booked\\. It collides with Booking ${first.Id} `));
  assert.equal((await call(t, 'POST', BOOKINGS, booking(room.Id, '2030-01-06T11:00Z', '2030-01-06T12:00Z'))).status, 200, 'back to back');
  assert.equal((await call(t, 'POST', BOOKINGS, booking(desk.Id, '2030-01-06T10:30Z', '2030-01-06T12:00Z'))).status, 200, 'another resource');
  // Moving the first onto the second is refused; the first stays where it was.
  const second = (await call(t, 'GET', `${BOOKINGS}?Booking_Resource=${room.Id}&orderBy=FromTime`)).body.Records[1];
  assertValidation(await call(t, 'PUT', BOOKINGS, { ...first, ToTime: '2030-01-06T11:30Z' }), ['ResourceId']);
  assert.equal((await call(t, 'GET', `${BOOKINGS}/${first.Id}`)).body.ToTime, '2030-01-06T11:00:00.000Z');
  // Cancelled bookings don't block.
  assert.equal((await call(t, 'DELETE', `${BOOKINGS}/${second.Id}`)).status, 200);
  assert.equal((await call(t, 'PUT', BOOKINGS, { ...first, ToTime: '2030-01-06T11:30Z' })).status, 200);
});

test('50 concurrent overlapping creates (through two app instances with their own connections on PostgreSQL): exactly one wins', async (ctx) => {
  const t = await testApp(ctx);
  // On PostgreSQL a second app on the same database is a second process's worth of connections; SQLite has one writer.
  const other = testDatabaseUrl ? await testApp(ctx, { dir: t.dir }) : t;
  const room = await createResource(t.app, t.admin);
  const { auth } = await t.userWithRoles(['Booking-Create']);
  const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => {
    const app = i % 2 ? other : t;
    const start = new Date(Date.UTC(2030, 0, 6, 10, i)).toISOString();
    const end = new Date(Date.UTC(2030, 0, 6, 11, i)).toISOString();
    return call(app, 'POST', BOOKINGS, booking(room.Id, start, end), { auth });
  }));
  const statuses = answers.map((a) => a.status);
  assert.equal(statuses.filter((s) => s === 200).length, 1, statuses.join(','));
  assert.ok(statuses.every((s) => s === 200 || s === 400), statuses.join(','));
  for (const a of answers.filter((x) => x.status === 400)) assert.match(a.body.Errors[0].Message, /^The resource is already booked\./);
  assert.equal((await call(t, 'GET', BOOKINGS)).body.TotalItems, 1);
});

test('a resource or coworker with active bookings cannot be deleted (400 naming them)', async (ctx) => {
  const t = await testApp(ctx);
  const room = await createResource(t.app, t.admin);
  const member = await createCoworker(t.app, t.admin);
  const b = (await call(t, 'POST', BOOKINGS, booking(room.Id, '2030-01-06T10:00Z', '2030-01-06T11:00Z', { CoworkerId: member.Id }))).body.Value;
  assert.match(assertValidation(await call(t, 'DELETE', `/api/spaces/resources/${room.Id}`), ['Id']).get('Id')!.Message, new RegExp(`Booking ${b.Id}`));
  assert.match(assertValidation(await call(t, 'DELETE', `/api/spaces/coworkers/${member.Id}`), ['Id']).get('Id')!.Message, new RegExp(`Booking ${b.Id}`));
});

test('to_ ranges and date bounds on the last day a date can have (9999-12-31) keep every booking', async (ctx) => {
  const t = await testApp(ctx);
  const room = await createResource(t.app, t.admin);
  const a = (await call(t, 'POST', BOOKINGS, booking(room.Id, '2030-01-06T10:00Z', '2030-01-06T11:00Z'))).body.Value;
  const b = (await call(t, 'POST', BOOKINGS, booking(room.Id, '9999-12-31T22:00Z', '9999-12-31T23:59:59.999Z'))).body.Value;
  const ids = async (query: string) => {
    const list = await call(t, 'GET', `${BOOKINGS}?${query}`);
    assert.equal(list.status, 200, list.raw);
    assert.equal(list.body.TotalItems, list.body.Records.length);
    return list.body.Records.map((r: any) => r.Id);
  };
  for (const value of ['9999-12-31', '9999-12-31T23:59']) {
    for (const field of ['FromTime', 'ToTime', 'CreatedOn', 'UpdatedOn']) {
      assert.deepEqual(await ids(`to_Booking_${field}=${value}`), [a.Id, b.Id], `to_Booking_${field}=${value}`);
    }
    assert.deepEqual(await ids(`from_Booking_ToTime=${value}`), [b.Id], `from_Booking_ToTime=${value}`);
  }
  assert.deepEqual(await ids('to_Booking_FromTime=9999-12-30'), [a.Id]);
  assert.equal((await call(t, 'DELETE', `${BOOKINGS}/${b.Id}`)).status, 200);
  const cancelled = await call(t, 'GET', `${CANCELLED}?to_CancelledBooking_ToTime=9999-12-31&to_CancelledBooking_CancelledOn=9999-12-31`);
  assert.deepEqual(cancelled.body.Records.map((r: any) => r.Id), [b.Id], cancelled.raw);
});

test('whole numbers beyond 32 bits are 400 saying the range, not "must be a string", as JSON or form-encoded, and change nothing', async (ctx) => {
  const t = await testApp(ctx);
  const room = await createResource(t.app, t.admin);
  const b = (await call(t, 'POST', BOOKINGS, booking(room.Id, '2030-01-06T10:00Z', '2030-01-06T11:00Z'))).body.Value;
  const AT_MOST = 'must be at most 2147483647';
  const AT_LEAST = 'must be at least -2147483648';

  let errors = assertValidation(await call(t, 'POST', BOOKINGS, booking(3000000000, '2030-01-07T10:00Z', '2030-01-07T11:00Z', { CoworkerId: 4294967296 })), ['ResourceId', 'CoworkerId']);
  assert.equal(errors.get('ResourceId')!.Message, AT_MOST);
  assert.equal(errors.get('ResourceId')!.AttemptedValue, 3000000000);
  assert.equal(errors.get('CoworkerId')!.Message, AT_MOST);
  errors = assertValidation(await call(t, 'POST', BOOKINGS, booking(-3000000000, '2030-01-07T10:00Z', '2030-01-07T11:00Z', { CoworkerId: 2147483648 })), ['ResourceId', 'CoworkerId']);
  assert.equal(errors.get('ResourceId')!.Message, AT_LEAST);
  assert.equal(errors.get('CoworkerId')!.Message, AT_MOST);
  // Not whole numbers at all are still "must be an integer".
  errors = assertValidation(await call(t, 'POST', BOOKINGS, booking(3000000000.5, '2030-01-07T10:00Z', '2030-01-07T11:00Z', { CoworkerId: 'abc' })), ['ResourceId', 'CoworkerId']);
  assert.equal(errors.get('ResourceId')!.Message, 'must be an integer');
  assert.equal(errors.get('CoworkerId')!.Message, 'must be an integer');
  // Form-encoded digits: within and beyond the string branch's ten digits, the same words.
  for (const digits of ['3000000000', '99999999999', ' 4294967296 ']) {
    const a = await call(t, 'POST', BOOKINGS, form({ ResourceId: digits, CoworkerId: `-${digits.trim()}`, FromTime: '2030-01-07T10:00Z', ToTime: '2030-01-07T11:00Z' }), { headers: FORM });
    errors = assertValidation(a, ['ResourceId', 'CoworkerId']);
    assert.equal(errors.get('ResourceId')!.Message, AT_MOST, digits);
    assert.equal(errors.get('CoworkerId')!.Message, AT_LEAST, digits);
  }

  errors = assertValidation(await call(t, 'PUT', BOOKINGS, { ...b, Id: 2147483648 }), ['Id']);
  assert.equal(errors.get('Id')!.Message, AT_MOST);
  errors = assertValidation(await call(t, 'PUT', BOOKINGS, { ...b, ResourceId: 3000000000 }), ['ResourceId']);
  assert.equal(errors.get('ResourceId')!.Message, AT_MOST);

  const list = (await call(t, 'GET', BOOKINGS)).body;
  assert.deepEqual(list.Records, [b], 'nothing created, the booking unchanged');
});

test('Booking_Source and CancellationReason take only their values: anything else is 400 naming the filter and the values', async (ctx) => {
  const t = await testApp(ctx);
  const room = await createResource(t.app, t.admin);
  const b = (await call(t, 'POST', BOOKINGS, booking(room.Id, '2030-01-06T10:00Z', '2030-01-06T11:00Z'))).body.Value;
  const c = (await call(t, 'POST', BOOKINGS, booking(room.Id, '2030-01-06T12:00Z', '2030-01-06T13:00Z'))).body.Value;
  assert.equal((await call(t, 'DELETE', `${BOOKINGS}/${c.Id}`)).status, 200);

  for (const [url, param] of [[BOOKINGS, 'Booking_Source'], [CANCELLED, 'CancelledBooking_Source'], [BOOKINGS, 'booking_source']] as const) {
    for (const bad of ['zzz', 'api ', 'Outlooks']) {
      const errors = assertValidation(await call(t, 'GET', `${url}?${param}=${encodeURIComponent(bad)}`), [param]);
      assert.equal(errors.get(param)!.Message, 'must be one of: api, outlook');
      assert.equal(errors.get(param)!.AttemptedValue, bad);
    }
  }
  const reason = assertValidation(await call(t, 'GET', `${CANCELLED}?CancelledBooking_CancellationReason=Whim`), ['CancelledBooking_CancellationReason']);
  assert.equal(reason.get('CancelledBooking_CancellationReason')!.Message, 'must be one of: Integration, Customer, Conflict');

  const ids = async (url: string) => (await call(t, 'GET', url)).body.Records.map((r: any) => r.Id);
  assert.deepEqual(await ids(`${BOOKINGS}?Booking_Source=api`), [b.Id]);
  assert.deepEqual(await ids(`${BOOKINGS}?Booking_Source=API`), [b.Id], 'the values are matched case-insensitively');
  assert.deepEqual(await ids(`${BOOKINGS}?Booking_Source=outlook`), []);
  assert.deepEqual(await ids(`${CANCELLED}?CancelledBooking_Source=api`), [c.Id]);
  assert.deepEqual(await ids(`${CANCELLED}?CancelledBooking_CancellationReason=customer`), [c.Id]);
  assert.deepEqual(await ids(`${CANCELLED}?CancelledBooking_CancellationReason=Integration`), []);
});

test('a NUL character in Notes (or any text field) is 400 naming the field on both databases, and nothing is stored', async (ctx) => {
  const t = await testApp(ctx);
  const room = await createResource(t.app, t.admin);
  const NUL = 'must not contain a NUL character';
  let errors = assertValidation(await call(t, 'POST', BOOKINGS, booking(room.Id, '2030-01-06T10:00Z', '2030-01-06T11:00Z', { Notes: 'Plan\u0000ning' })), ['Notes']);
  assert.equal(errors.get('Notes')!.Message, NUL);
  assert.equal(errors.get('Notes')!.AttemptedValue, 'Plan\u0000ning');
  errors = assertValidation(await call(t, 'POST', BOOKINGS, booking(room.Id, '2030-01-06T10:00Z', '2030-01-06T11:00Z', { Notes: '\u0000', Office365EventId: 'AAMk\u0000', SystemId: 'x\u0000' })), ['Notes', 'Office365EventId', 'SystemId']);
  for (const field of ['Notes', 'Office365EventId', 'SystemId']) assert.equal(errors.get(field)!.Message, NUL, field);
  const formed = await call(t, 'POST', BOOKINGS, 'ResourceId=' + room.Id + '&FromTime=2030-01-06T10:00Z&ToTime=2030-01-06T11:00Z&Notes=a%00b', { headers: FORM });
  assert.equal(assertValidation(formed, ['Notes']).get('Notes')!.Message, NUL);
  assert.equal((await call(t, 'GET', BOOKINGS)).body.TotalItems, 0, 'nothing stored');

  const b = (await call(t, 'POST', BOOKINGS, booking(room.Id, '2030-01-06T10:00Z', '2030-01-06T11:00Z', { Notes: 'Planning' }))).body.Value;
  errors = assertValidation(await call(t, 'PUT', BOOKINGS, { ...b, Notes: 'Planning\u0000' }), ['Notes']);
  assert.equal(errors.get('Notes')!.Message, NUL);
  assert.deepEqual((await call(t, 'GET', `${BOOKINGS}/${b.Id}`)).body, b, 'unchanged');
  // Text without a NUL is stored as sent (other control characters included).
  const fine = await call(t, 'PUT', BOOKINGS, { ...b, Notes: 'tab\there \u0001' });
  assert.equal(fine.status, 200, fine.raw);
  assert.equal((await call(t, 'GET', `${BOOKINGS}/${b.Id}`)).body.Notes, 'tab\there \u0001');
});

test('a PUT of a cancelled or unknown booking is 404 before any collision with another booking, and changes nothing', async (ctx) => {
  const t = await testApp(ctx);
  const room = await createResource(t.app, t.admin);
  const held = (await call(t, 'POST', BOOKINGS, booking(room.Id, '2030-01-06T10:00Z', '2030-01-06T11:00Z'))).body.Value;
  const gone = (await call(t, 'POST', BOOKINGS, booking(room.Id, '2030-01-06T12:00Z', '2030-01-06T13:00Z'))).body.Value;
  assert.equal((await call(t, 'DELETE', `${BOOKINGS}/${gone.Id}`)).status, 200);
  const cancelled = (await call(t, 'GET', `${CANCELLED}/${gone.Id}`)).body;
  // Onto the held slot: a collision, if the booking existed.
  const onto = { ...gone, FromTime: '2030-01-06T10:30Z', ToTime: '2030-01-06T11:30Z' };
  assertFailure(await call(t, 'PUT', BOOKINGS, onto), 404, 'Booking not found.');
  assertFailure(await call(t, 'PUT', `${BOOKINGS}/${gone.Id}`, onto), 404, 'Booking not found.');
  assertFailure(await call(t, 'PUT', BOOKINGS, { ...onto, Id: 987654 }), 404, 'Booking not found.');
  assertFailure(await call(t, 'PUT', `${BOOKINGS}/987654`, { ...onto, Id: undefined }), 404, 'Booking not found.');
  // Not colliding: 404 as well.
  assertFailure(await call(t, 'PUT', BOOKINGS, { ...gone, FromTime: '2030-01-07T10:00Z', ToTime: '2030-01-07T11:00Z' }), 404, 'Booking not found.');
  // The body is still validated first (as for every entity), and an active booking still collides.
  assertValidation(await call(t, 'PUT', BOOKINGS, { ...onto, ToTime: '2030-01-06T10:00Z' }), ['ToTime']);
  const other = (await call(t, 'POST', BOOKINGS, booking(room.Id, '2030-01-06T14:00Z', '2030-01-06T15:00Z'))).body.Value;
  const clash = assertValidation(await call(t, 'PUT', BOOKINGS, { ...held, FromTime: '2030-01-06T14:30Z', ToTime: '2030-01-06T15:30Z' }), ['ResourceId']);
  assert.match(clash.get('ResourceId')!.Message, new RegExp(`collides with Booking ${other.Id} `));
  assert.deepEqual((await call(t, 'GET', `${CANCELLED}/${gone.Id}`)).body, cancelled, 'the cancelled booking is unchanged');
  assert.deepEqual((await call(t, 'GET', `${BOOKINGS}?orderBy=Id`)).body.Records, [held, other]);
});
