/**
 * Delta rounds → bookings (BookingSync on the real database, fed the items Graph's calendarView/delta delivers):
 * what books what, moves, cancellations, replays, full rounds, conflicts and rebooking.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { testApp, type TestApp } from '../helpers/app.js';
import { createCoworker, createResource } from '../helpers/factories.js';
import { call } from '../helpers/api.js';
import type { CalendarItem } from '../../src/modules/bookings/event-policy.js';

const BOOKINGS = '/api/spaces/bookings';

async function setup(t: TestApp, opts: { dedicated?: boolean } = {}) {
  const room = await createResource(t.app, t.admin, { Name: 'Rainier', CalendarEmail: 'Rainier@contoso.test' });
  const desk = await createResource(t.app, t.admin, { Name: 'Desk 1', CalendarEmail: 'desk1@contoso.test' });
  const adele = await createCoworker(t.app, t.admin, { FullName: 'Adele', Email: 'adele@contoso.test' });
  const alex = await createCoworker(t.app, t.admin, { FullName: 'Alex', Email: 'alex@contoso.test' });
  const record = async (coworkerId: number, resourceId: number) => {
    const r = await t.container.calendarService.create({ ResourceId: resourceId, CoworkerId: coworkerId, Name: 'Calendar', SubscriptionId: 's', CalendarId: `cal-${coworkerId}`, SubscriptionExpireDate: '2030-01-01T00:00:00Z' }, { userId: 0, email: 'test' });
    if (opts.dedicated) await t.container.connections.update(r.Id, { dedicated: 1 });
    return r.Id;
  };
  return { room, desk, adele, alex, adeleCal: await record(adele.Id, desk.Id), alexCal: await record(alex.Id, desk.Id) };
}

function event(id: string, start: string, end: string, extra: Partial<CalendarItem> = {}): CalendarItem {
  return {
    '@odata.type': '#microsoft.graph.event', id, subject: `Event ${id}`, type: 'singleInstance', showAs: 'busy', isCancelled: false,
    start: { dateTime: start, timeZone: 'UTC' }, end: { dateTime: end, timeZone: 'UTC' },
    attendees: [{ type: 'resource', emailAddress: { address: 'rainier@contoso.test', name: 'Rainier' } }], ...extra,
  } as CalendarItem;
}

async function active(t: TestApp) {
  return (await call(t, 'GET', `${BOOKINGS}?size=100&orderBy=FromTime`)).body.Records as any[];
}

test('an event that invites a resource books it for the connection\'s coworker; a move moves it; a removal cancels it', async (ctx) => {
  const t = await testApp(ctx);
  const s = await setup(t);
  const sync = t.container.bookingSync;
  await sync.apply(s.adeleCal, [event('e1', '2030-01-06T10:00:00.0000000', '2030-01-06T11:00:00.0000000')], false);
  let list = await active(t);
  assert.equal(list.length, 1);
  assert.equal(list[0].ResourceId, s.room.Id, 'matched by CalendarEmail, case-insensitively');
  assert.equal(list[0].CoworkerId, s.adele.Id);
  assert.equal(list[0].Source, 'outlook');
  assert.equal(list[0].CoworkerMsOfficeCalendarId, s.adeleCal);
  assert.equal(list[0].Office365EventId, 'e1');
  assert.equal(list[0].FromTime, '2030-01-06T10:00:00.000Z');

  // Replayed and duplicated rounds change nothing twice.
  await sync.apply(s.adeleCal, [event('e1', '2030-01-06T10:00:00', '2030-01-06T11:00:00'), event('e1', '2030-01-06T10:00:00', '2030-01-06T11:00:00')], false);
  assert.equal((await active(t)).length, 1);

  await sync.apply(s.adeleCal, [event('e1', '2030-01-06T14:00:00', '2030-01-06T15:00:00', { showAs: 'tentative' })], false);
  list = await active(t);
  assert.equal(list.length, 1);
  assert.equal(list[0].FromTime, '2030-01-06T14:00:00.000Z');
  assert.equal(list[0].Tentative, true);

  await sync.apply(s.adeleCal, [{ id: 'e1', '@removed': { reason: 'deleted' } } as CalendarItem], false);
  assert.equal((await active(t)).length, 0);
  const cancelled = (await call(t, 'GET', '/api/spaces/cancelledbookings')).body.Records;
  assert.equal(cancelled[0].CancellationReason, 'Integration');
});

test('what books: busy, oof and tentative do; free, cancelled and uninvited events do not; a location\'s mailbox counts; several resources book each', async (ctx) => {
  const t = await testApp(ctx);
  const s = await setup(t);
  const at = (h: number) => `2030-01-07T${String(h).padStart(2, '0')}:00:00`;
  await t.container.bookingSync.apply(s.adeleCal, [
    event('free', at(8), at(9), { showAs: 'free' }),
    event('cancelled', at(9), at(10), { isCancelled: true }),
    event('nobody', at(10), at(11), { attendees: [{ type: 'required', emailAddress: { address: 'someone@else.test' } }] }),
    event('oof', at(11), at(12), { showAs: 'oof' }),
    event('location', at(12), at(13), { attendees: [], location: { displayName: 'Desk 1', locationEmailAddress: 'DESK1@contoso.test' } }),
    event('both', at(14), at(15), { attendees: [{ type: 'resource', emailAddress: { address: 'rainier@contoso.test' } }, { type: 'required', emailAddress: { address: 'desk1@contoso.test' } }] }),
    event('backwards', at(16), at(15)),
    event('master', at(17), at(18), { type: 'seriesMaster' }),
  ], true);
  const list = await active(t);
  assert.deepEqual(list.map((b) => `${b.Office365EventId}:${b.ResourceId}`).sort(), [`both:${s.desk.Id}`, `both:${s.room.Id}`, `location:${s.desk.Id}`, `oof:${s.room.Id}`].sort());
});

test('a dedicated booking calendar books its resource for every busy event', async (ctx) => {
  const t = await testApp(ctx);
  const s = await setup(t, { dedicated: true });
  await t.container.bookingSync.apply(s.adeleCal, [event('plain', '2030-01-08T10:00:00', '2030-01-08T11:00:00', { attendees: [] }), event('free', '2030-01-08T12:00:00', '2030-01-08T13:00:00', { attendees: [], showAs: 'free' })], false);
  const list = await active(t);
  assert.deepEqual(list.map((b) => [b.Office365EventId, b.ResourceId]), [['plain', s.desk.Id]]);
});

test('a full round cancels the connection\'s bookings whose events are gone, and only that connection\'s', async (ctx) => {
  const t = await testApp(ctx);
  const s = await setup(t);
  const sync = t.container.bookingSync;
  await sync.apply(s.adeleCal, [event('a1', '2030-01-09T10:00:00', '2030-01-09T11:00:00'), event('a2', '2030-01-09T12:00:00', '2030-01-09T13:00:00')], false);
  await sync.apply(s.alexCal, [event('x1', '2030-01-09T14:00:00', '2030-01-09T15:00:00')], false);
  await sync.apply(s.adeleCal, [event('a2', '2030-01-09T12:00:00', '2030-01-09T13:00:00')], true);
  assert.deepEqual((await active(t)).map((b) => b.Office365EventId), ['a2', 'x1']);
});

test('a colliding occurrence becomes a conflict (listed, marked once), and is booked at once when the other booking goes', async (ctx) => {
  const t = await testApp(ctx);
  const s = await setup(t);
  const sync = t.container.bookingSync;
  await sync.apply(s.adeleCal, [event('adele', '2030-01-10T10:00:00', '2030-01-10T11:00:00')], false);
  await sync.apply(s.alexCal, [event('alex', '2030-01-10T10:30:00', '2030-01-10T11:30:00')], false);
  const list = await active(t);
  assert.deepEqual(list.map((b) => b.Office365EventId), ['adele'], 'no double booking');
  const conflicts = (await call(t, 'GET', `/api/spaces/bookingconflicts?BookingConflict_Coworker=${s.alex.Id}`)).body;
  assert.equal(conflicts.TotalItems, 1);
  assert.equal(conflicts.Records[0].BlockingBookingId, list[0].Id);
  assert.equal(conflicts.Records[0].Office365EventId, 'alex');
  const status = (await call(t, 'GET', `/api/spaces/coworkermsofficecalendars/${s.alexCal}/status`)).body;
  assert.equal(status.OpenConflicts.length, 1);
  const markJobs = await t.storage.db.selectFrom('jobs').select('payload').where('type', '=', 'bookings.mark').execute();
  assert.equal(markJobs.length, 1, 'one mark job');
  // Replaying the round neither books nor marks again.
  await sync.apply(s.alexCal, [event('alex', '2030-01-10T10:30:00', '2030-01-10T11:30:00')], false);
  assert.equal((await t.storage.db.selectFrom('jobs').select('id').where('type', '=', 'bookings.mark').execute()).length, 1);

  // Adele cancels: the job that frees the slot books Alex's occurrence.
  await sync.apply(s.adeleCal, [{ id: 'adele', '@removed': { reason: 'deleted' } } as CalendarItem], false);
  const rebook = await t.storage.db.selectFrom('jobs').select('payload').where('type', '=', 'bookings.rebook').execute();
  assert.deepEqual(rebook.map((j) => JSON.parse(String(j.payload))), [{ resourceId: s.room.Id }]);
  await sync.rebook(s.room.Id);
  assert.deepEqual((await active(t)).map((b) => [b.Office365EventId, b.CoworkerId]), [['alex', s.alex.Id]]);
  assert.equal((await call(t, 'GET', '/api/spaces/bookingconflicts')).body.TotalItems, 0);
});

test('an API booking blocks Outlook, and an event calbridge wrote for an API booking moves it instead of duplicating it', async (ctx) => {
  const t = await testApp(ctx);
  const s = await setup(t);
  const made = (await call(t, 'POST', BOOKINGS, { ResourceId: s.room.Id, CoworkerId: s.adele.Id, FromTime: '2030-01-11T10:00Z', ToTime: '2030-01-11T11:00Z' })).body.Value;
  // As the push leaves it: the event written into Adele's calendar.
  await sql`UPDATE bookings SET office365_event_id = 'written', event_connection_id = ${s.adeleCal}, event_written_at = '2026-01-01T00:00:00.000Z' WHERE id = ${made.Id}`.execute(t.storage.db);
  // The echo of calbridge's own event, then the member moving it in Outlook.
  await t.container.bookingSync.apply(s.adeleCal, [event('written', '2030-01-11T10:00:00', '2030-01-11T11:00:00')], false);
  assert.deepEqual((await active(t)).map((b) => [b.Id, b.Source]), [[made.Id, 'api']]);
  await t.container.bookingSync.apply(s.adeleCal, [event('written', '2030-01-11T15:00:00', '2030-01-11T16:00:00')], true);
  const list = await active(t);
  assert.deepEqual(list.map((b) => [b.Id, b.FromTime]), [[made.Id, '2030-01-11T15:00:00.000Z']]);
  // Another member's event at that time does not book over it.
  await t.container.bookingSync.apply(s.alexCal, [event('late', '2030-01-11T15:30:00', '2030-01-11T16:30:00')], false);
  assert.equal((await active(t)).length, 1);
});

test("an event calbridge has yet to rewrite (the API booking's push is due) does not move or cancel its booking", async (ctx) => {
  const t = await testApp(ctx);
  const s = await setup(t);
  const made = (await call(t, 'POST', BOOKINGS, { ResourceId: s.room.Id, CoworkerId: s.adele.Id, FromTime: '2030-01-11T10:00Z', ToTime: '2030-01-11T11:00Z' })).body.Value;
  // Written once, then moved through the API: its push is due (event_written_at NULL) and the event is still at 10:00.
  await sql`UPDATE bookings SET office365_event_id = 'written', event_connection_id = ${s.adeleCal}, event_written_at = NULL WHERE id = ${made.Id}`.execute(t.storage.db);
  await t.container.bookingSync.apply(s.adeleCal, [event('written', '2030-01-11T08:00:00', '2030-01-11T09:00:00')], false);
  await t.container.bookingSync.apply(s.adeleCal, [{ id: 'written', '@removed': { reason: 'deleted' } } as CalendarItem], false);
  assert.deepEqual((await active(t)).map((b) => [b.Id, b.FromTime]), [[made.Id, '2030-01-11T10:00:00.000Z']]);
});
