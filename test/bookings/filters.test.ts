/**
 * The list filters of /api/spaces/bookings and /api/spaces/cancelledbookings through the real app: the event id, the
 * connection that made a booking, the CreatedOn / UpdatedOn ranges, and every filter of the cancelled list (list and
 * batch). Each query is chosen so that a filter ignored, or matching too much, gives another answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testApp, type TestApp } from '../helpers/app.js';
import { createCalendar, createCoworker, createResource } from '../helpers/factories.js';
import { call, assertValidation } from '../helpers/api.js';
import { newUniqueId } from '../../src/core/unique-id.js';

const BOOKINGS = '/api/spaces/bookings';
const CANCELLED = '/api/spaces/cancelledbookings';

const iso = (ms: number) => new Date(ms).toISOString();
const sorted = (ids: number[]) => [...ids].sort((a, b) => a - b);

/** Every matching Id (one page of up to 1000), sorted, checking that TotalItems agrees. */
async function ids(t: TestApp, url: string): Promise<number[]> {
  const a = await call(t, 'GET', `${url}${url.includes('?') ? '&' : '?'}size=1000`);
  assert.equal(a.status, 200, `${url}: ${a.raw}`);
  assert.equal(a.body.TotalItems, a.body.Records.length, `TotalItems of ${url}`);
  return sorted(a.body.Records.map((r: { Id: number }) => r.Id));
}

/**
 * Two resources, two members, each with a connected calendar; four API bookings (three with event ids that differ
 * by a suffix or by case) and two Outlook bookings, one per connection (made as the sync engine makes them: through
 * the repository's insert, since no engine runs here). Each is created a second after the one before, with a mark
 * between each two.
 */
async function world(t: TestApp) {
  const room = await createResource(t.app, t.admin, { Name: 'Rainier' });
  const desk = await createResource(t.app, t.admin, { Name: 'Desk 7' });
  const ada = await createCoworker(t.app, t.admin, { FullName: 'Ada Lovelace' });
  const bob = await createCoworker(t.app, t.admin, { FullName: 'Bob Babbage' });
  const adaCal = await createCalendar(t.app, t.admin, room.Id, { CoworkerId: ada.Id });
  const bobCal = await createCalendar(t.app, t.admin, room.Id, { CoworkerId: bob.Id });
  const marks: string[] = [];
  const tick = () => {
    t.clock.advance(1000);
    marks.push(iso(t.clock.now()));
    t.clock.advance(1000);
  };
  const api = async (resourceId: number, from: string, to: string, extra: Record<string, unknown> = {}) => {
    tick();
    const a = await call(t, 'POST', BOOKINGS, { ResourceId: resourceId, FromTime: from, ToTime: to, ...extra });
    assert.equal(a.status, 200, a.raw);
    return a.body.Value as Record<string, any>;
  };
  const outlook = async (resourceId: number, connectionId: number, coworkerId: number, eventId: string, from: string, to: string) => {
    tick();
    const now = iso(t.clock.now());
    const id = await t.container.bookings.insert({
      unique_id: newUniqueId(t.clock.now()), created_on: now, updated_on: now, updated_by: 'sync', is_new: 1, system_id: null,
      resource_id: resourceId, coworker_id: coworkerId, from_time: from, to_time: to, notes: 'From Outlook', tentative: 0,
      office365_event_id: eventId, coworker_ms_office_calendar_id: connectionId, source: 'outlook', event_key: eventId,
      cancelled_on: null, cancellation_reason: null,
    });
    return (await call(t, 'GET', `${BOOKINGS}/${id}`)).body as Record<string, any>;
  };
  const b = {
    api1: await api(room.Id, '2030-03-01T09:00:00Z', '2030-03-01T10:00:00Z', { CoworkerId: ada.Id, Office365EventId: 'AAMkEvt-1' }),
    api2: await api(room.Id, '2030-03-01T10:00:00Z', '2030-03-01T11:00:00Z', { Office365EventId: 'AAMkEvt-10' }),
    api3: await api(desk.Id, '2030-03-01T09:00:00Z', '2030-03-01T10:00:00Z', { CoworkerId: bob.Id, Office365EventId: 'aamkevt-1' }),
    api4: await api(desk.Id, '2030-03-02T09:00:00Z', '2030-03-02T10:00:00Z'),
    out1: await outlook(desk.Id, adaCal.Id, ada.Id, 'AAMkEvt-1x', '2030-03-03T09:00:00.000Z', '2030-03-03T10:00:00.000Z'),
    out2: await outlook(room.Id, bobCal.Id, bob.Id, 'AAMkEvt-2', '2030-03-04T09:00:00.000Z', '2030-03-04T10:00:00.000Z'),
  };
  tick();
  assert.equal(b.out1.CoworkerMsOfficeCalendarId, adaCal.Id);
  assert.equal(b.out1.Source, 'outlook');
  return { room, desk, ada, bob, adaCal, bobCal, b, marks };
}

test('Booking_Office365EventId matches the event id exactly: not a prefix, not another case', async (ctx) => {
  const t = await testApp(ctx);
  const { b } = await world(t);
  const F = `${BOOKINGS}?Booking_Office365EventId=`;
  assert.deepEqual(await ids(t, `${F}AAMkEvt-1`), [b.api1.Id]);
  assert.deepEqual(await ids(t, `${F}AAMkEvt-10`), [b.api2.Id]);
  assert.deepEqual(await ids(t, `${F}aamkevt-1`), [b.api3.Id]);
  assert.deepEqual(await ids(t, `${F}AAMkEvt-1x`), [b.out1.Id], 'an Outlook booking by its event');
  assert.deepEqual(await ids(t, `${F}AAMkEvt`), []);
  assert.deepEqual(await ids(t, `${F}${encodeURIComponent('AAMkEvt-1 ')}`), []);
  assert.deepEqual(await ids(t, `${BOOKINGS}?booking_office365eventid=AAMkEvt-2`), [b.out2.Id], 'the name is case-insensitive');
  assert.deepEqual(await ids(t, `${F}AAMkEvt-1&Booking_Resource=${b.api3.ResourceId}`), [], 'with another filter: AND');
  assert.equal((await ids(t, BOOKINGS)).length, 6, 'an empty value is no filter');
  assert.deepEqual(await ids(t, `${F}`), await ids(t, BOOKINGS));
});

test('Booking_CoworkerMsOfficeCalendar finds the bookings a connection made; API bookings have none', async (ctx) => {
  const t = await testApp(ctx);
  const { b, adaCal, bobCal, ada } = await world(t);
  const F = `${BOOKINGS}?Booking_CoworkerMsOfficeCalendar=`;
  assert.deepEqual(await ids(t, `${F}${adaCal.Id}`), [b.out1.Id]);
  assert.deepEqual(await ids(t, `${F}${bobCal.Id}`), [b.out2.Id]);
  assert.deepEqual(await ids(t, `${F}99999`), []);
  // Ada's API booking is hers, but no connection made it.
  assert.deepEqual(await ids(t, `${BOOKINGS}?Booking_Coworker=${ada.Id}`), sorted([b.api1.Id, b.out1.Id]));
  assert.deepEqual(await ids(t, `${BOOKINGS}?Booking_Coworker=${ada.Id}&Booking_CoworkerMsOfficeCalendar=${adaCal.Id}`), [b.out1.Id]);
  assert.deepEqual(await ids(t, `${BOOKINGS}?Booking_Source=outlook`), sorted([b.out1.Id, b.out2.Id]));
  assert.deepEqual(await ids(t, `${BOOKINGS}?Booking_Source=api`), sorted([b.api1.Id, b.api2.Id, b.api3.Id, b.api4.Id]));
  const records = (await call(t, 'GET', `${F}${adaCal.Id}`)).body.Records;
  assert.equal(records[0].CoworkerMsOfficeCalendarId, adaCal.Id);
  for (const bad of ['abc', '1.5', '99999999999']) {
    const errors = assertValidation(await call(t, 'GET', `${F}${bad}`), ['Booking_CoworkerMsOfficeCalendar']);
    assert.equal(errors.get('Booking_CoworkerMsOfficeCalendar')!.Message, 'must be an integer');
  }
});

test('from_ and to_Booking_CreatedOn bound the creation instant (from_ and to_ included, to_ a whole day)', async (ctx) => {
  const t = await testApp(ctx);
  const { b, marks } = await world(t);
  const order = [b.api1, b.api2, b.api3, b.api4, b.out1, b.out2].map((r) => r.Id);
  // marks[i] lies just before the i-th booking was created (and marks[6] after the last).
  assert.deepEqual(await ids(t, `${BOOKINGS}?from_Booking_CreatedOn=${marks[2]}`), sorted(order.slice(2)));
  assert.deepEqual(await ids(t, `${BOOKINGS}?to_Booking_CreatedOn=${marks[2]}`), sorted(order.slice(0, 2)));
  assert.deepEqual(await ids(t, `${BOOKINGS}?from_Booking_CreatedOn=${marks[1]}&to_Booking_CreatedOn=${marks[4]}`), sorted(order.slice(1, 4)));
  assert.deepEqual(await ids(t, `${BOOKINGS}?from_Booking_CreatedOn=${marks[6]}`), []);
  assert.deepEqual(await ids(t, `${BOOKINGS}?to_Booking_CreatedOn=${marks[0]}`), []);
  assert.deepEqual(await ids(t, `${BOOKINGS}?from_Booking_CreatedOn=${b.api3.CreatedOn}`), sorted(order.slice(2)), 'from_ includes the instant given');
  assert.deepEqual(await ids(t, `${BOOKINGS}?to_Booking_CreatedOn=${b.api3.CreatedOn}`), sorted(order.slice(0, 3)), 'to_ includes the instant given');
  const day = b.api1.CreatedOn.slice(0, 10);
  const dayBefore = iso(Date.parse(b.api1.CreatedOn) - 86_400_000).slice(0, 10);
  if (b.out2.CreatedOn.slice(0, 10) === day) assert.deepEqual(await ids(t, `${BOOKINGS}?to_Booking_CreatedOn=${day}`), sorted(order), 'to_ a day is that whole day');
  assert.deepEqual(await ids(t, `${BOOKINGS}?to_Booking_CreatedOn=${dayBefore}`), []);
  assertValidation(await call(t, 'GET', `${BOOKINGS}?from_Booking_CreatedOn=yesterday`), ['from_Booking_CreatedOn']);
});

test('from_ and to_Booking_UpdatedOn follow updates; CreatedOn does not move', async (ctx) => {
  const t = await testApp(ctx);
  const { b, marks } = await world(t);
  const all = sorted([b.api1, b.api2, b.api3, b.api4, b.out1, b.out2].map((r) => r.Id));
  const beforeUpdate = marks[6]!;
  assert.deepEqual(await ids(t, `${BOOKINGS}?from_Booking_UpdatedOn=${beforeUpdate}`), []);
  assert.deepEqual(await ids(t, `${BOOKINGS}?to_Booking_UpdatedOn=${beforeUpdate}`), all);
  assert.deepEqual(await ids(t, `${BOOKINGS}?from_Booking_UpdatedOn=${marks[4]}`), sorted([b.out1.Id, b.out2.Id]));

  t.clock.advance(1000);
  const put = await call(t, 'PUT', BOOKINGS, { ...b.api2, Notes: 'Moved on' });
  assert.equal(put.status, 200, put.raw);
  t.clock.advance(1000);
  const afterUpdate = iso(t.clock.now());
  assert.deepEqual(await ids(t, `${BOOKINGS}?from_Booking_UpdatedOn=${beforeUpdate}`), [b.api2.Id]);
  assert.deepEqual(await ids(t, `${BOOKINGS}?to_Booking_UpdatedOn=${beforeUpdate}`), all.filter((id) => id !== b.api2.Id));
  assert.deepEqual(await ids(t, `${BOOKINGS}?from_Booking_UpdatedOn=${beforeUpdate}&to_Booking_UpdatedOn=${afterUpdate}`), [b.api2.Id]);
  assert.deepEqual(await ids(t, `${BOOKINGS}?from_Booking_UpdatedOn=${afterUpdate}`), []);
  assert.deepEqual(await ids(t, `${BOOKINGS}?from_Booking_CreatedOn=${beforeUpdate}`), [], 'CreatedOn stays');
  assert.deepEqual(await ids(t, `${BOOKINGS}?to_Booking_UpdatedOn=${put.body.UpdatedOn}&from_Booking_UpdatedOn=${put.body.UpdatedOn}`), [b.api2.Id], 'the instant itself');
});

test('cancelled bookings: every filter and range of the list, and the batch, over cancelled bookings only', async (ctx) => {
  const t = await testApp(ctx);
  const { b, room, desk, ada, bob, adaCal, bobCal, marks } = await world(t);
  // Cancel api1, api3 (through the API: Customer) and out1 (as the sync does: Integration), one by one, a second apart.
  const cancelMarks: string[] = [];
  const at = () => {
    t.clock.advance(1000);
    cancelMarks.push(iso(t.clock.now()));
    t.clock.advance(1000);
  };
  at();
  assert.equal((await call(t, 'DELETE', `${BOOKINGS}/${b.api1.Id}`)).status, 200);
  at();
  assert.equal((await call(t, 'DELETE', `${BOOKINGS}/${b.api3.Id}`)).status, 200);
  at();
  assert.ok(await t.container.bookings.cancel(b.out1.Id, 'Integration', iso(t.clock.now()), 'sync'));
  at();
  const cancelled = sorted([b.api1.Id, b.api3.Id, b.out1.Id]);
  const C = (query: string) => `${CANCELLED}?${query}`;

  assert.deepEqual(await ids(t, CANCELLED), cancelled);
  assert.deepEqual(await ids(t, BOOKINGS), sorted([b.api2.Id, b.api4.Id, b.out2.Id]), 'the active list leaves them out');
  // Exact filters: each finds only cancelled bookings (active ones match too, and are left out).
  assert.deepEqual(await ids(t, C(`CancelledBooking_Resource=${room.Id}`)), [b.api1.Id]);
  assert.deepEqual(await ids(t, C(`CancelledBooking_Resource=${desk.Id}`)), sorted([b.api3.Id, b.out1.Id]));
  assert.deepEqual(await ids(t, C(`CancelledBooking_Coworker=${ada.Id}`)), sorted([b.api1.Id, b.out1.Id]));
  assert.deepEqual(await ids(t, C(`CancelledBooking_Coworker=${bob.Id}`)), [b.api3.Id]);
  assert.deepEqual(await ids(t, C('CancelledBooking_Office365EventId=AAMkEvt-1')), [b.api1.Id]);
  assert.deepEqual(await ids(t, C('CancelledBooking_Office365EventId=AAMkEvt-10')), [], 'an active booking is not listed');
  assert.deepEqual(await ids(t, C(`CancelledBooking_CoworkerMsOfficeCalendar=${adaCal.Id}`)), [b.out1.Id]);
  assert.deepEqual(await ids(t, C(`CancelledBooking_CoworkerMsOfficeCalendar=${bobCal.Id}`)), []);
  assert.deepEqual(await ids(t, C('CancelledBooking_Source=outlook')), [b.out1.Id]);
  assert.deepEqual(await ids(t, C('CancelledBooking_Source=api')), sorted([b.api1.Id, b.api3.Id]));
  assert.deepEqual(await ids(t, C('CancelledBooking_CancellationReason=Integration')), [b.out1.Id]);
  assert.deepEqual(await ids(t, C('CancelledBooking_CancellationReason=Customer')), sorted([b.api1.Id, b.api3.Id]));
  assert.deepEqual(await ids(t, C(`CancelledBooking_Id=${b.api3.Id}`)), [b.api3.Id]);
  assert.deepEqual(await ids(t, C(`Id=${b.api3.Id}`)), [b.api3.Id], 'a plain Id');
  assert.deepEqual(await ids(t, C(`CancelledBooking_Id=${b.api2.Id}`)), [], 'an active booking by id');
  assert.deepEqual(await ids(t, C(`CancelledBooking_UniqueId=${b.api1.UniqueId}`)), [b.api1.Id]);
  assert.deepEqual(await ids(t, C(`CancelledBooking_Resource=${desk.Id}&CancelledBooking_Source=api`)), [b.api3.Id], 'filters combine with AND');

  // Ranges: CancelledOn, FromTime, ToTime, CreatedOn, UpdatedOn.
  assert.deepEqual(await ids(t, C(`from_CancelledBooking_CancelledOn=${cancelMarks[1]}`)), sorted([b.api3.Id, b.out1.Id]));
  assert.deepEqual(await ids(t, C(`to_CancelledBooking_CancelledOn=${cancelMarks[1]}`)), [b.api1.Id]);
  assert.deepEqual(await ids(t, C(`from_CancelledBooking_CancelledOn=${cancelMarks[3]}`)), []);
  assert.deepEqual(await ids(t, C('from_CancelledBooking_FromTime=2030-03-02')), [b.out1.Id]);
  assert.deepEqual(await ids(t, C('to_CancelledBooking_FromTime=2030-03-01')), sorted([b.api1.Id, b.api3.Id]));
  assert.deepEqual(await ids(t, C('to_CancelledBooking_ToTime=2030-03-01T09:59')), [], 'to_ at a minute stops before 10:00');
  assert.deepEqual(await ids(t, C('to_CancelledBooking_ToTime=2030-03-01T10:00')), sorted([b.api1.Id, b.api3.Id]));
  assert.deepEqual(await ids(t, C('from_CancelledBooking_ToTime=2030-03-03T10:00:00.001Z')), []);
  assert.deepEqual(await ids(t, C(`from_CancelledBooking_CreatedOn=${marks[2]}`)), sorted([b.api3.Id, b.out1.Id]));
  assert.deepEqual(await ids(t, C(`to_CancelledBooking_CreatedOn=${marks[2]}`)), [b.api1.Id]);
  // A cancellation is a change: UpdatedOn is the cancellation's instant.
  assert.deepEqual(await ids(t, C(`from_CancelledBooking_UpdatedOn=${cancelMarks[2]}`)), [b.out1.Id]);
  assert.deepEqual(await ids(t, C(`to_CancelledBooking_UpdatedOn=${cancelMarks[0]}`)), []);
  for (const bad of ['CancelledBooking_Resource=x', 'from_CancelledBooking_CancelledOn=2030-02-31', 'CancelledBooking_Source=zzz']) {
    assertValidation(await call(t, 'GET', C(bad)), [bad.split('=')[0]!]);
  }

  // Batch: the cancelled ones asked for, in the order asked, duplicates once; active and unknown ids left out.
  const batch = await call(t, 'GET', `${CANCELLED}?id=[${b.out1.Id},${b.api2.Id},${b.api1.Id},99999,${b.out1.Id}]`);
  assert.equal(batch.status, 200, batch.raw);
  assert.deepEqual(batch.body.map((r: { Id: number }) => r.Id), [b.out1.Id, b.api1.Id]);
  assert.equal(batch.body[0].CancellationReason, 'Integration');
  assert.equal(batch.body[1].CancellationReason, 'Customer');
  assert.deepEqual((await call(t, 'GET', `${CANCELLED}?id=${b.api3.Id},${b.api4.Id}`)).body.map((r: { Id: number }) => r.Id), [b.api3.Id]);
  assert.deepEqual((await call(t, 'GET', `${BOOKINGS}?id=[${b.api1.Id},${b.api2.Id}]`)).body.map((r: { Id: number }) => r.Id), [b.api2.Id], 'the active batch leaves cancelled ones out');
  assertValidation(await call(t, 'GET', `${CANCELLED}?id=[1,x]`), ['id']);
});
