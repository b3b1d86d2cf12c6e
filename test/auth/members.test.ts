/**
 * Member logins (a user with a CoworkerId who is not a full administrator) see and manage only their own records,
 * in every API route: another member's record answers 404, lists and batches leave it out, and a write naming
 * another coworker is refused. Resources are the space's catalogue, visible to members. Operators are unaffected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testApp, basic, type TestApp } from '../helpers/app.js';
import { call, CAL, COWORKERS, RESOURCES } from '../helpers/api.js';
import { twoMembers } from '../helpers/factories.js';

const BOOKINGS = '/api/spaces/bookings';
const PASSWORD = 'a member passphrase';

async function world(t: TestApp) {
  const { room, desk, ada, bob, adaCal, bobCal } = await twoMembers(t.app, t.admin);
  const booking = (coworker: number, day: number) => call(t, 'POST', BOOKINGS, { ResourceId: desk.Id, CoworkerId: coworker, FromTime: `2030-02-0${day}T09:00:00Z`, ToTime: `2030-02-0${day}T10:00:00Z` });
  const adaBooking = (await booking(ada.Id, 1)).body.Value;
  const bobBooking = (await booking(bob.Id, 2)).body.Value;
  const bobCancelled = (await booking(bob.Id, 3)).body.Value;
  assert.equal((await call(t, 'DELETE', `${BOOKINGS}/${bobCancelled.Id}`)).status, 200);
  const made = await call(t, 'POST', '/api/sys/users', { Email: 'ada@members.test', FullName: 'Ada', Password: PASSWORD, CoworkerId: ada.Id });
  assert.equal(made.status, 200, made.raw);
  // A conflict of Bob's calendar (the sync makes them; here straight through the repository).
  await t.container.bookings.saveConflict({
    coworker_ms_office_calendar_id: bobCal.Id, event_key: 'bob-event', resource_id: desk.Id, coworker_id: bob.Id, from_time: '2030-02-02T09:30:00.000Z',
    to_time: '2030-02-02T10:30:00.000Z', tentative: 0, subject: 'Bob', blocking_booking_id: bobBooking.Id, detected_on: '2030-01-01T00:00:00.000Z',
  });
  return { room, desk, ada, bob, adaCal, bobCal, adaBooking, bobBooking, bobCancelled, member: basic('ada@members.test', PASSWORD) };
}

test('a member sees only its own calendars, bookings, cancelled bookings, conflicts and coworker', async (ctx) => {
  const t = await testApp(ctx);
  const w = await world(t);
  const as = { auth: w.member };
  const ids = async (url: string) => ((await call(t, 'GET', url, undefined, as)).body.Records as Array<{ Id: number }>).map((r) => r.Id);
  assert.deepEqual(await ids(CAL), [w.adaCal.Id]);
  assert.deepEqual(await ids(BOOKINGS), [w.adaBooking.Id]);
  assert.deepEqual(await ids('/api/spaces/cancelledbookings'), []);
  assert.deepEqual(await ids('/api/spaces/bookingconflicts'), []);
  assert.deepEqual(await ids(COWORKERS), [w.ada.Id]);
  assert.deepEqual((await ids(RESOURCES)).sort(), [w.room.Id, w.desk.Id].sort(), 'the catalogue is visible');
  // A filter for another member's records finds nothing (the scope is added, not replaced).
  assert.deepEqual(await ids(`${BOOKINGS}?Booking_Coworker=${w.bob.Id}`), []);
  // The batch form leaves other members' records out.
  const batch = await call(t, 'GET', `${CAL}?id=[${w.adaCal.Id},${w.bobCal.Id}]`, undefined, as);
  assert.deepEqual(batch.body.map((r: { Id: number }) => r.Id), [w.adaCal.Id]);
  // The operator still sees everything.
  assert.deepEqual((await call(t, 'GET', CAL)).body.Records.length, 2);
  assert.equal((await call(t, 'GET', '/api/spaces/bookingconflicts')).body.Records.length, 1);
});

test("another member's record answers 404 to get, update, delete, status and commands, and is unchanged", async (ctx) => {
  const t = await testApp(ctx);
  const w = await world(t);
  const as = { auth: w.member };
  for (const url of [`${CAL}/${w.bobCal.Id}`, `${BOOKINGS}/${w.bobBooking.Id}`, `/api/spaces/cancelledbookings/${w.bobCancelled.Id}`, `${COWORKERS}/${w.bob.Id}`, `${CAL}/${w.bobCal.Id}/status`, `${CAL}/commands?id=${w.bobCal.Id}`]) {
    assert.equal((await call(t, 'GET', url, undefined, as)).status, 404, url);
  }
  const before = (await call(t, 'GET', `${BOOKINGS}/${w.bobBooking.Id}`)).body;
  assert.equal((await call(t, 'PUT', BOOKINGS, { ...before, Notes: 'mine now' }, as)).status, 404);
  assert.equal((await call(t, 'DELETE', `${BOOKINGS}/${w.bobBooking.Id}`, undefined, as)).status, 404);
  assert.equal((await call(t, 'DELETE', `${CAL}/${w.bobCal.Id}`, undefined, as)).status, 404);
  assert.equal((await call(t, 'POST', `${CAL}/runcommand`, { Key: 'RESYNC', Ids: [w.adaCal.Id, w.bobCal.Id] }, as)).status, 404);
  assert.deepEqual((await call(t, 'GET', `${BOOKINGS}/${w.bobBooking.Id}`)).body, before, "Bob's booking is unchanged");
  assert.equal((await call(t, 'GET', `${CAL}/${w.bobCal.Id}`)).status, 200);
  // Its own records it manages.
  assert.equal((await call(t, 'GET', `${CAL}/${w.adaCal.Id}/status`, undefined, as)).status, 200);
  assert.equal((await call(t, 'POST', `${CAL}/runcommand`, { Key: 'RESYNC', Ids: [w.adaCal.Id] }, as)).status, 200);
});

test('a member books for itself: an omitted CoworkerId is its own, another one is a 400; operator routes are refused', async (ctx) => {
  const t = await testApp(ctx);
  const w = await world(t);
  const as = { auth: w.member };
  const mine = await call(t, 'POST', BOOKINGS, { ResourceId: w.desk.Id, FromTime: '2030-03-01T09:00:00Z', ToTime: '2030-03-01T10:00:00Z' }, as);
  assert.equal(mine.status, 200, mine.raw);
  assert.equal(mine.body.Value.CoworkerId, w.ada.Id);
  const theirs = await call(t, 'POST', BOOKINGS, { ResourceId: w.desk.Id, CoworkerId: w.bob.Id, FromTime: '2030-03-02T09:00:00Z', ToTime: '2030-03-02T10:00:00Z' }, as);
  assert.equal(theirs.status, 400);
  assert.equal(theirs.body.Errors[0].PropertyName, 'CoworkerId');
  const moved = await call(t, 'PUT', BOOKINGS, { ...mine.body.Value, CoworkerId: w.bob.Id }, as);
  assert.equal(moved.status, 400, 'a booking cannot be handed to another member');
  assert.equal((await call(t, 'GET', `${BOOKINGS}?Booking_Coworker=${w.bob.Id}`)).body.Records.length, 1, 'Bob still has only his own booking');
  assert.equal((await call(t, 'GET', '/api/sys/users', undefined, as)).status, 403);
  assert.equal((await call(t, 'POST', RESOURCES, { Name: 'Mine' }, as)).status, 403);
  assert.equal((await call(t, 'POST', COWORKERS, { FullName: 'Someone' }, as)).status, 403);
});
