/**
 * Bookings at their edges, end to end against the Graph emulator: bookings that pass out of the horizon, resources
 * without a mailbox, an API booking given to another resource or member, event ids a client supplies, dedicated
 * calendars and calbridge's own events, a calendar disconnected and connected again, and Outlook writes that had to
 * wait for the member to sign in again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { graphEnv, type GraphEnv } from '../helpers/graph-env.js';

const ADELE = 'adelev@contoso.onmicrosoft.com';
const ALEX = 'alexw@contoso.onmicrosoft.com';
const ROOM = 'rainier@contoso.onmicrosoft.com';
const BAKER = 'baker@contoso.onmicrosoft.com';
const HOUR = 3600_000;
const DAY = 86_400_000;

const at = (ms: number) => ({ dateTime: new Date(ms).toISOString().slice(0, 19), timeZone: 'UTC' });
const iso = (ms: number) => new Date(ms).toISOString();
/** A whole hour `days` from the emulator's now. */
function slot(env: GraphEnv, days: number, hour: number): number {
  const now = Date.parse(env.emu.control.now());
  return Math.floor(now / DAY) * DAY + days * DAY + hour * HOUR;
}

async function resource(env: GraphEnv, name: string, email?: string): Promise<number> {
  const made = await env.request('POST', '/api/spaces/resources', { Name: name, ...(email ? { CalendarEmail: email } : {}) });
  assert.equal(made.status, 200, made.text);
  return made.body.Value.Id;
}

async function member(env: GraphEnv, upn: string): Promise<{ recordId: number; userId: string; coworkerId: number }> {
  const c = await env.connectMailbox(upn);
  await env.untilState(c.recordId, 'active');
  await env.settled();
  const coworkerId = (await env.request('GET', `/api/spaces/coworkermsofficecalendars/${c.recordId}`)).body.CoworkerId as number;
  return { recordId: c.recordId, userId: c.userId, coworkerId };
}

/** Rainier and Baker (each with a mailbox), Adele and Alex connected, and a whole hour two days ahead. */
async function roomsAndMembers(env: GraphEnv) {
  const rainier = await resource(env, 'Rainier', ROOM);
  const baker = await resource(env, 'Baker', BAKER);
  const adele = await member(env, ADELE);
  const alex = await member(env, ALEX);
  return { rainier, baker, adele, alex, from: slot(env, 2, 9) };
}

async function active(env: GraphEnv): Promise<any[]> {
  return (await env.request('GET', '/api/spaces/bookings?size=100&orderBy=FromTime')).body.Records;
}

async function command(env: GraphEnv, key: string, id: number): Promise<void> {
  const r = await env.request('POST', '/api/spaces/coworkermsofficecalendars/runcommand', { Key: key, Ids: [id] });
  assert.equal(r.status, 200, r.text);
  await env.settled();
}

function events(env: GraphEnv, userId: string): any[] {
  return env.emu.control.listEvents(userId) as any[];
}

test('an Outlook booking that passes out of the horizon stays booked through full rounds (history is kept)', async (ctx) => {
  const env = await graphEnv(ctx);
  await resource(env, 'Rainier', ROOM);
  const adele = await member(env, ADELE);
  const from = slot(env, 0, 0) + 2 * HOUR + DAY;
  env.emu.control.createEvent(adele.userId, { subject: 'Standup', start: at(from), end: at(from + HOUR), attendees: [{ type: 'resource', emailAddress: { address: ROOM } }] } as never);
  const [b] = await env.until('the booking', async () => { const l = await active(env); return l.length === 1 ? l : undefined; });
  env.advance(4 * DAY); // the meeting is now three days past: outside the window (−1 day) of any new full round
  await command(env, 'RESYNC', adele.recordId);
  const after = await active(env);
  assert.deepEqual(after.map((x) => x.Id), [b.Id], 'still booked');
  assert.equal((await env.request('GET', '/api/spaces/cancelledbookings')).body.Records.length, 0);
});

test('an API booking of a resource without a CalendarEmail keeps its event: its echo moves it, never cancels it', async (ctx) => {
  const env = await graphEnv(ctx);
  const desk = await resource(env, 'Hot desk 9');
  const adele = await member(env, ADELE);
  const from = slot(env, 2, 9);
  const made = await env.request('POST', '/api/spaces/bookings', { ResourceId: desk, CoworkerId: adele.coworkerId, FromTime: iso(from), ToTime: iso(from + HOUR) });
  assert.equal(made.status, 200, made.text);
  const event = await env.until('the event', async () => events(env, adele.userId).find((e) => e.transactionId === made.body.Value.UniqueId));
  assert.equal(event.location.displayName, 'Hot desk 9');
  await env.settled();
  assert.equal((await env.request('GET', `/api/spaces/bookings/${made.body.Value.Id}`)).status, 200, 'its own echo did not cancel it');
  // The member moves calbridge's event in Outlook: the booking follows.
  env.emu.control.updateEvent(adele.userId, event.id, { start: at(from + 2 * HOUR), end: at(from + 3 * HOUR) } as never);
  await env.until('the booking to follow', async () => (await env.request('GET', `/api/spaces/bookings/${made.body.Value.Id}`)).body.FromTime === iso(from + 2 * HOUR));
});

test('an API booking given another resource or another member: its event names the new resource, or moves to the new member', async (ctx) => {
  const env = await graphEnv(ctx);
  const { rainier, baker, adele, alex, from } = await roomsAndMembers(env);
  const made = await env.request('POST', '/api/spaces/bookings', { ResourceId: rainier, CoworkerId: adele.coworkerId, FromTime: iso(from), ToTime: iso(from + HOUR) });
  const booking = made.body.Value;
  const event = await env.until('the event', async () => events(env, adele.userId).find((e) => e.transactionId === booking.UniqueId));
  await env.settled();
  const current = (await env.request('GET', `/api/spaces/bookings/${booking.Id}`)).body;

  assert.equal((await env.request('PUT', '/api/spaces/bookings', { ...current, ResourceId: baker })).status, 200);
  await env.until('the event to name Baker', async () => {
    const e = env.emu.control.getEvent(adele.userId, event.id) as any;
    return e.location?.locationEmailAddress === BAKER && e.attendees.map((a: any) => a.emailAddress.address).join() === BAKER;
  });
  await env.settled();
  let list = await active(env);
  assert.deepEqual(list.map((b) => [b.Id, b.ResourceId, b.Source]), [[booking.Id, baker, 'api']], 'one booking, on Baker');

  const onBaker = (await env.request('GET', `/api/spaces/bookings/${booking.Id}`)).body;
  assert.equal((await env.request('PUT', '/api/spaces/bookings', { ...onBaker, CoworkerId: alex.coworkerId, FromTime: iso(from + 3 * HOUR), ToTime: iso(from + 4 * HOUR) })).status, 200);
  const alexEvent = await env.until('the event in Alex\'s calendar', async () => events(env, alex.userId).find((e) => e.transactionId === booking.UniqueId));
  assert.equal(alexEvent.start.dateTime.slice(0, 16), iso(from + 3 * HOUR).slice(0, 16));
  await env.until('the event to leave Adele\'s calendar', async () => !events(env, adele.userId).some((e) => e.id === event.id));
  await env.settled();
  list = await active(env);
  assert.deepEqual(list.map((b) => [b.Id, b.CoworkerId, b.Office365EventId]), [[booking.Id, alex.coworkerId, alexEvent.id]]);
});

test("an Office365EventId a client gives cannot reach into another member's calendar", async (ctx) => {
  const env = await graphEnv(ctx);
  const { baker, adele, alex, from } = await roomsAndMembers(env);
  const alexEvent = env.emu.control.createEvent(alex.userId, { subject: 'Alex', start: at(from), end: at(from + HOUR), attendees: [{ type: 'resource', emailAddress: { address: ROOM } }] } as never) as any;
  const [alexBooking] = await env.until('Alex\'s booking', async () => { const l = await active(env); return l.length === 1 ? l : undefined; });
  const made = await env.request('POST', '/api/spaces/bookings', { ResourceId: baker, CoworkerId: adele.coworkerId, FromTime: iso(from + 5 * HOUR), ToTime: iso(from + 6 * HOUR), Office365EventId: alexEvent.id });
  assert.equal(made.status, 200, made.text);
  // Not an event of Adele's calendar: calbridge writes one there itself.
  const adeleEvent = await env.until('an event in Adele\'s calendar', async () => events(env, adele.userId).find((e) => e.transactionId === made.body.Value.UniqueId));
  await env.settled();
  env.emu.control.updateEvent(alex.userId, alexEvent.id, { start: at(from + HOUR), end: at(from + 2 * HOUR) } as never);
  await env.until('Alex\'s booking to move', async () => (await env.request('GET', `/api/spaces/bookings/${alexBooking.Id}`)).body.FromTime === iso(from + HOUR));
  await env.settled();
  const adeleBooking = (await env.request('GET', `/api/spaces/bookings/${made.body.Value.Id}`)).body;
  assert.deepEqual([adeleBooking.ResourceId, adeleBooking.FromTime, adeleBooking.Office365EventId], [baker, iso(from + 5 * HOUR), adeleEvent.id], 'Adele\'s booking is untouched');
  assert.equal((await active(env)).length, 2);
});

test("a dedicated booking calendar: calbridge's own events book nothing more, and a booking cancelled through the API stays cancelled", async (ctx) => {
  const env = await graphEnv(ctx);
  const baker = await resource(env, 'Baker', BAKER);
  const adele = await member(env, ADELE);
  await command(env, 'MARK_DEDICATED', adele.recordId);
  const dedicated = (await env.request('GET', `/api/spaces/coworkermsofficecalendars/${adele.recordId}`)).body.ResourceId;
  const from = slot(env, 2, 9);
  const made = await env.request('POST', '/api/spaces/bookings', { ResourceId: baker, CoworkerId: adele.coworkerId, FromTime: iso(from), ToTime: iso(from + HOUR) });
  assert.equal(made.status, 200, made.text);
  await env.until('the event', async () => events(env, adele.userId).find((e) => e.transactionId === made.body.Value.UniqueId));
  await env.settled();
  assert.deepEqual((await active(env)).map((b) => b.ResourceId), [baker], 'no booking of the dedicated resource for calbridge\'s own event');

  const own = env.emu.control.createEvent(adele.userId, { subject: 'Focus', start: at(from + 3 * HOUR), end: at(from + 4 * HOUR) } as never) as any;
  const b = await env.until('the dedicated booking', async () => (await active(env)).find((x) => x.ResourceId === dedicated));
  assert.equal((await env.request('DELETE', `/api/spaces/bookings/${b.Id}`)).status, 200);
  await env.until('the event to go (in a dedicated calendar the event is the booking)', async () => !events(env, adele.userId).some((e) => e.id === own.id));
  await command(env, 'RESYNC', adele.recordId);
  assert.deepEqual((await active(env)).map((x) => x.ResourceId), [baker], 'not booked again');
});

test("an Outlook booking cancelled through the API after the member took the room off the meeting: the meeting stays", async (ctx) => {
  const env = await graphEnv(ctx);
  const rainier = await resource(env, 'Rainier', ROOM);
  const adele = await member(env, ADELE);
  const from = slot(env, 2, 9);
  const meeting = env.emu.control.createEvent(adele.userId, { subject: 'Planning', start: at(from), end: at(from + HOUR),
    attendees: [{ type: 'resource', emailAddress: { address: ROOM } }, { type: 'required', emailAddress: { address: ALEX } }] } as never) as any;
  const b = await env.until('the booking', async () => (await active(env)).find((x) => x.ResourceId === rainier));
  await env.settled();
  // The member takes the room off in Outlook; calbridge has not heard yet when the booking is cancelled through the API.
  const sub = env.emu.control.listSubscriptions().find((s) => s.userId === adele.userId)!;
  env.emu.control.dropNotifications(1, { subscriptionId: sub.id });
  env.emu.control.updateEvent(adele.userId, meeting.id, { attendees: [{ type: 'required', emailAddress: { address: ALEX } }] } as never);
  await env.settled();
  assert.equal((await env.request('DELETE', `/api/spaces/bookings/${b.Id}`)).status, 200);
  await env.settled();
  const still = events(env, adele.userId).find((e) => e.id === meeting.id);
  assert.ok(still, "the member's meeting is not deleted");
  assert.deepEqual(still.attendees.map((a: any) => a.emailAddress.address), [ALEX]);
});

test('a calendar disconnected and connected again: its Outlook bookings stay, and are its own again (no false conflict)', async (ctx) => {
  const env = await graphEnv(ctx);
  await resource(env, 'Rainier', ROOM);
  const adele = await member(env, ADELE);
  const from = slot(env, 2, 9);
  const created = env.emu.control.createEvent(adele.userId, { subject: 'Board', start: at(from), end: at(from + HOUR), attendees: [{ type: 'resource', emailAddress: { address: ROOM } }] } as never) as any;
  const [b] = await env.until('the booking', async () => { const l = await active(env); return l.length === 1 ? l : undefined; });
  assert.equal((await env.request('DELETE', `/api/spaces/coworkermsofficecalendars/${adele.recordId}`)).status, 200);
  await env.settled();
  assert.deepEqual((await active(env)).map((x) => x.Id), [b.Id], 'the booking stays (the disconnect page says so)');
  const again = await member(env, ADELE);
  const list = await active(env);
  assert.deepEqual(list.map((x) => [x.Id, x.CoworkerMsOfficeCalendarId]), [[b.Id, again.recordId]], 'the same booking, the new connection\'s');
  assert.equal((await env.request('GET', '/api/spaces/bookingconflicts')).body.Records.length, 0, 'no conflict with itself');
  assert.ok(!(env.emu.control.getEvent(adele.userId, created.id) as any).categories?.length, 'nothing marked in Outlook');
  // And later changes reach it.
  env.emu.control.updateEvent(adele.userId, created.id, { start: at(from + HOUR), end: at(from + 2 * HOUR) } as never);
  await env.until('the booking to move', async () => (await env.request('GET', `/api/spaces/bookings/${b.Id}`)).body.FromTime === iso(from + HOUR));
});

test('an API booking made while the member must sign in again reaches Outlook once the calendar is connected again', async (ctx) => {
  const env = await graphEnv(ctx);
  const rainier = await resource(env, 'Rainier', ROOM);
  const adele = await member(env, ADELE);
  await env.storage.db.updateTable('graph_connections').set({ state: 'reauth_required', action_by: 'member' }).where('calendar_record_id', '=', adele.recordId).execute();
  const from = slot(env, 2, 9);
  const made = await env.request('POST', '/api/spaces/bookings', { ResourceId: rainier, CoworkerId: adele.coworkerId, FromTime: iso(from), ToTime: iso(from + HOUR) });
  assert.equal(made.status, 200, made.text);
  await env.settled();
  assert.equal(events(env, adele.userId).length, 0, 'nothing could be written yet');
  await env.storage.db.updateTable('graph_connections').set({ state: 'active', action_by: null }).where('calendar_record_id', '=', adele.recordId).execute();
  await command(env, 'RESYNC', adele.recordId); // the full round that follows a sign-in
  const event = await env.until('the event', async () => events(env, adele.userId).find((e) => e.transactionId === made.body.Value.UniqueId));
  assert.equal(event.location.locationEmailAddress, ROOM);
  await env.settled();
  assert.deepEqual((await active(env)).map((b) => b.Id), [made.body.Value.Id]);
});

test('the horizon is configurable (BOOKING_HORIZON_FUTURE_DAYS), and it slides: a full round a week later books what came into it', async (ctx) => {
  const env = await graphEnv(ctx, { engine: { horizonFutureDays: 10 } });
  await resource(env, 'Rainier', ROOM);
  const adele = await member(env, ADELE);
  const inside = slot(env, 5, 9);
  const beyond = slot(env, 14, 9);
  for (const [subject, from] of [['Inside', inside], ['Beyond', beyond]] as const) {
    env.emu.control.createEvent(adele.userId, { subject, start: at(from), end: at(from + HOUR), attendees: [{ type: 'resource', emailAddress: { address: ROOM } }] } as never);
  }
  await env.until('the booking inside the horizon', async () => (await active(env)).length === 1 || undefined);
  await env.settled();
  assert.deepEqual((await active(env)).map((b) => b.Notes), ['Inside'], '14 days ahead is beyond a 10-day horizon');
  env.advance(7 * DAY);
  await command(env, 'RESYNC', adele.recordId);
  assert.deepEqual((await active(env)).map((b) => b.Notes), ['Inside', 'Beyond'], 'a week on, the full round reads the slid window');
});

test('events calbridge writes are in the space\'s time zone (SPACE_TIME_ZONE), under its Windows name', async (ctx) => {
  const env = await graphEnv(ctx, { spaceTimeZone: 'Europe/Berlin' });
  const rainier = await resource(env, 'Rainier', ROOM);
  const adele = await member(env, ADELE);
  const from = Date.UTC(2031, 6, 1, 8); // 08:00 UTC in July: 10:00 in Berlin (summer time)
  const made = await env.request('POST', '/api/spaces/bookings', { ResourceId: rainier, CoworkerId: adele.coworkerId, FromTime: iso(from), ToTime: iso(from + HOUR) });
  assert.equal(made.status, 200, made.text);
  const stored = await env.until('the event', async () => events(env, adele.userId).find((e) => e.transactionId === made.body.Value.UniqueId));
  const written = env.emu.control.getEvent(adele.userId, stored.id, { tz: 'W. Europe Standard Time' }) as any;
  assert.equal(written.originalStartTimeZone, 'W. Europe Standard Time', 'written in the space\'s zone, named the Windows way');
  assert.match(written.start.dateTime, /^2031-07-01T10:00:00/);
  await env.settled();
  const booking = (await env.request('GET', `/api/spaces/bookings/${made.body.Value.Id}`)).body;
  assert.deepEqual([booking.FromTime, booking.ToTime], [iso(from), iso(from + HOUR)], 'its echo, read in UTC, is the same instant');
});

test("one meeting in two members' calendars books the room once, with no conflict; if the copy holding it goes, the other takes it over", async (ctx) => {
  const env = await graphEnv(ctx);
  await resource(env, 'Rainier', ROOM);
  const adele = await member(env, ADELE);
  const alex = await member(env, ALEX);
  const from = slot(env, 2, 9);
  const meeting = { subject: 'Planning', start: at(from), end: at(from + HOUR), organizer: { emailAddress: { address: ADELE } },
    attendees: [{ type: 'resource', emailAddress: { address: ROOM } }, { type: 'required', emailAddress: { address: ALEX } }] };
  const organizers = env.emu.control.createEvent(adele.userId, meeting as never) as any;
  // Alex's copy, as Exchange delivers it: the same meeting (iCalUId), in his calendar.
  const alexs = env.emu.control.createEvent(alex.userId, { ...meeting, iCalUId: organizers.iCalUId } as never) as any;
  await env.until('a booking', async () => (await active(env)).length === 1 || undefined);
  await env.settled();
  const [held] = await active(env);
  assert.equal((await active(env)).length, 1, 'booked once');
  assert.equal((await env.request('GET', '/api/spaces/bookingconflicts')).body.Records.length, 0, 'not a conflict');
  for (const [userId, id] of [[adele.userId, organizers.id], [alex.userId, alexs.id]] as const) {
    assert.ok(!((env.emu.control.getEvent(userId, id) as any).categories ?? []).some((c: string) => c.startsWith('calbridge:')), 'nothing marked in Outlook');
  }
  for (const id of [adele.recordId, alex.recordId]) {
    assert.deepEqual((await env.request('GET', `/api/spaces/coworkermsofficecalendars/${id}/status`)).body.OpenConflicts, []);
  }
  // The copy that holds the booking goes (its member declined, say): the other copy books the room at once.
  const [holderUser, holderEvent, otherCoworker] = held.CoworkerId === adele.coworkerId ? [adele.userId, organizers.id, alex.coworkerId] : [alex.userId, alexs.id, adele.coworkerId];
  env.emu.control.deleteEvent(holderUser, holderEvent);
  await env.until('the other copy to take the booking over', async () => {
    const l = await active(env);
    return l.length === 1 && l[0].CoworkerId === otherCoworker || undefined;
  });
});

test("two members' copies of one meeting both blocked by another booking: when it goes, one copy books the room and the other loses its mark", async (ctx) => {
  const env = await graphEnv(ctx);
  const rainier = await resource(env, 'Rainier', ROOM);
  const adele = await member(env, ADELE);
  const alex = await member(env, ALEX);
  const from = slot(env, 2, 9);
  const taken = await env.request('POST', '/api/spaces/bookings', { ResourceId: rainier, FromTime: iso(from), ToTime: iso(from + HOUR) });
  assert.equal(taken.status, 200, taken.text);
  await env.settled();
  const meeting = { subject: 'Planning', start: at(from), end: at(from + HOUR), organizer: { emailAddress: { address: ADELE } },
    attendees: [{ type: 'resource', emailAddress: { address: ROOM } }, { type: 'required', emailAddress: { address: ALEX } }] };
  const organizers = env.emu.control.createEvent(adele.userId, meeting as never) as any;
  const alexs = env.emu.control.createEvent(alex.userId, { ...meeting, iCalUId: organizers.iCalUId } as never) as any;
  const copies = [[adele.userId, organizers.id], [alex.userId, alexs.id]] as const;
  const marked = (userId: string, id: string) => ((env.emu.control.getEvent(userId, id) as any).categories ?? []).some((c: string) => c.startsWith('calbridge:'));
  // Both copies collide with the API booking (a real collision, not the same meeting): both are marked.
  await env.until('both copies marked', async () => copies.every(([u, id]) => marked(u, id)) || undefined);
  await env.settled();
  assert.equal((await env.request('GET', '/api/spaces/bookingconflicts')).body.Records.length, 2);

  assert.equal((await env.request('DELETE', `/api/spaces/bookings/${taken.body.Value.Id}`)).status, 200);
  await env.until('the meeting to book the room', async () => (await active(env)).length === 1 || undefined);
  await env.settled();
  const [held] = await active(env);
  assert.equal(held.ResourceId, rainier);
  assert.ok([adele.coworkerId, alex.coworkerId].includes(held.CoworkerId), 'one copy holds it');
  assert.equal((await env.request('GET', '/api/spaces/bookingconflicts')).body.Records.length, 0, 'the other copy is no conflict');
  for (const [userId, id] of copies) {
    assert.equal(marked(userId, id), false, `no mark left on ${userId === adele.userId ? "Adele's" : "Alex's"} copy`);
    assert.doesNotMatch(String((env.emu.control.getEvent(userId, id) as any).body?.content ?? ''), /calbridge/, 'nor its line in the body');
  }
});

test('an Outlook booking can be moved through the API, not given another resource or member (that is a change of the meeting, in Outlook)', async (ctx) => {
  const env = await graphEnv(ctx);
  await resource(env, 'Rainier', ROOM);
  const baker = await resource(env, 'Baker', BAKER);
  const adele = await member(env, ADELE);
  const alex = await member(env, ALEX);
  const from = slot(env, 2, 9);
  env.emu.control.createEvent(adele.userId, { subject: 'Board', start: at(from), end: at(from + HOUR), attendees: [{ type: 'resource', emailAddress: { address: ROOM } }] } as never);
  const [b] = await env.until('the booking', async () => { const l = await active(env); return l.length === 1 ? l : undefined; });
  for (const [change, field] of [[{ ResourceId: baker }, 'ResourceId'], [{ CoworkerId: alex.coworkerId }, 'CoworkerId']] as const) {
    const refused = await env.request('PUT', '/api/spaces/bookings', { ...b, ...change });
    assert.equal(refused.status, 400, refused.text);
    assert.equal(refused.body.Errors[0].PropertyName, field);
    assert.match(refused.body.Errors[0].Message, /made from Outlook/);
  }
  assert.deepEqual((await active(env)).map((x) => [x.Id, x.ResourceId, x.CoworkerId]), [[b.Id, b.ResourceId, b.CoworkerId]], 'nothing changed');
  const moved = await env.request('PUT', '/api/spaces/bookings', { ...b, FromTime: iso(from + HOUR), ToTime: iso(from + 2 * HOUR) });
  assert.equal(moved.status, 200, moved.text);
});
