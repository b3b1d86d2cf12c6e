/**
 * Bookings end to end: the real engine against the Graph emulator (events in members' calendars → notifications →
 * delta rounds → bookings; API bookings → events; conflicts marked in Outlook; silent subscription loss repaired).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGraphEnv, type GraphEnv } from '../helpers/graph-env.js';

const ADELE = 'adelev@contoso.onmicrosoft.com';
const ALEX = 'alexw@contoso.onmicrosoft.com';
const ROOM = 'rainier@contoso.onmicrosoft.com';
const day = 86_400_000;

function at(ms: number) {
  return { dateTime: new Date(ms).toISOString().slice(0, 19), timeZone: 'UTC' };
}
/** A whole hour a few days from now (the emulator's clock is the real one plus offsets). */
function slot(daysAhead: number, hour: number) {
  const d = new Date(Date.now() + daysAhead * day);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), hour);
}

async function roomAndMember(env: GraphEnv, upn: string, roomId?: number) {
  const resourceId = roomId ?? (await env.request('POST', '/api/spaces/resources', { Name: 'Rainier', CalendarEmail: ROOM })).body.Value.Id;
  const conn = await env.connectMailbox(upn);
  await env.untilState(conn.recordId, 'active');
  await env.settled();
  return { resourceId, ...conn };
}

async function bookings(env: GraphEnv, query = '') {
  return (await env.request('GET', `/api/spaces/bookings?size=100&orderBy=FromTime${query}`)).body.Records as any[];
}

test('a weekly series books each occurrence; an exception moves one; a cancelled occurrence frees its slot', async () => {
  const env = await startGraphEnv();
  try {
    const { resourceId, userId, calendarId } = await roomAndMember(env, ADELE);
    const start = slot(2, 9);
    env.emu.control.createEvent(userId, {
      subject: 'Weekly', start: at(start), end: at(start + 3600_000),
      attendees: [{ type: 'resource', emailAddress: { address: ROOM } }],
      recurrence: { pattern: { type: 'daily', interval: 7 }, range: { type: 'numbered', startDate: new Date(start).toISOString().slice(0, 10), numberOfOccurrences: 4 } },
    } as never, { calendarId });
    const four = await env.until('4 bookings', async () => { const b = await bookings(env, `&Booking_Resource=${resourceId}`); return b.length === 4 ? b : undefined; });
    assert.deepEqual(four.map((b) => Date.parse(b.FromTime) - start), [0, 7 * day, 14 * day, 21 * day]);
    assert.equal(new Set(four.map((b) => b.Office365EventId)).size, 4, 'one booking per occurrence, keyed by its id');

    // Move the second occurrence (it becomes an exception) and cancel the third.
    env.emu.control.updateEvent(userId, four[1].Office365EventId, { start: at(start + 7 * day + 2 * 3600_000), end: at(start + 7 * day + 3 * 3600_000) } as never);
    env.emu.control.deleteEvent(userId, four[2].Office365EventId);
    const after = await env.until('the move and the cancellation', async () => {
      const b = await bookings(env);
      return b.length === 3 && Date.parse(b[1].FromTime) === start + 7 * day + 2 * 3600_000 ? b : undefined;
    });
    assert.deepEqual(after.map((b) => b.Office365EventId), [four[0].Office365EventId, four[1].Office365EventId, four[3].Office365EventId]);
    const cancelled = (await env.request('GET', '/api/spaces/cancelledbookings')).body.Records;
    assert.deepEqual(cancelled.map((b: any) => [b.Office365EventId, b.CancellationReason]), [[four[2].Office365EventId, 'Integration']]);
  } finally {
    await env.close();
  }
});

test('an API booking becomes an event in the member\'s calendar (once), moves and cancels with it', async () => {
  const env = await startGraphEnv();
  try {
    const { resourceId, userId, recordId } = await roomAndMember(env, ADELE);
    const coworkerId = (await env.request('GET', `/api/spaces/coworkermsofficecalendars/${recordId}`)).body.CoworkerId;
    const from = slot(3, 9);
    const made = await env.request('POST', '/api/spaces/bookings', { ResourceId: resourceId, CoworkerId: coworkerId, FromTime: new Date(from).toISOString(), ToTime: new Date(from + 3600_000).toISOString() });
    assert.equal(made.status, 200, made.text);
    const booking = made.body.Value;
    const event = await env.until('the event', async () => (env.emu.control.listEvents(userId) as any[]).find((e) => e.transactionId === booking.UniqueId));
    assert.equal(event.subject, 'Booking: Rainier');
    assert.deepEqual(event.attendees.map((a: any) => [a.type, a.emailAddress.address]), [['resource', ROOM]]);
    assert.equal(event.location.locationEmailAddress, ROOM);
    await env.until('the event id on the booking', async () => (await env.request('GET', `/api/spaces/bookings/${booking.Id}`)).body.Office365EventId === event.id);
    await env.settled();
    assert.equal((await bookings(env)).length, 1, 'the echo of calbridge\'s own event books nothing more');

    const moved = await env.request('PUT', '/api/spaces/bookings', { ...booking, FromTime: new Date(from + 2 * 3600_000).toISOString(), ToTime: new Date(from + 3 * 3600_000).toISOString() });
    assert.equal(moved.status, 200, moved.text);
    await env.until('the event to move', async () => {
      const e = env.emu.control.getEvent(userId, event.id, { tz: 'UTC' }) as any;
      return e.start.dateTime.startsWith(new Date(from + 2 * 3600_000).toISOString().slice(0, 19));
    });
    assert.equal((await env.request('DELETE', `/api/spaces/bookings/${booking.Id}`)).status, 200);
    await env.until('the event to be deleted', async () => !(env.emu.control.listEvents(userId) as any[]).some((e) => e.id === event.id));
    await env.settled();
    assert.equal((await bookings(env)).length, 0);
  } finally {
    await env.close();
  }
});

test('two members, one room: the second is a conflict marked in his Outlook, booked at once when the first cancels', async () => {
  const env = await startGraphEnv();
  try {
    const adele = await roomAndMember(env, ADELE);
    const alex = await roomAndMember(env, ALEX, adele.resourceId);
    const from = slot(4, 10);
    const first = env.emu.control.createEvent(adele.userId, { subject: 'Adele', start: at(from), end: at(from + 3600_000), attendees: [{ type: 'resource', emailAddress: { address: ROOM } }] } as never) as any;
    await env.until('Adele\'s booking', async () => (await bookings(env)).length === 1);
    const second = env.emu.control.createEvent(alex.userId, { subject: 'Alex', body: { contentType: 'text', content: 'Agenda' }, start: at(from + 1800_000), end: at(from + 5400_000), attendees: [{ type: 'resource', emailAddress: { address: ROOM } }] } as never) as any;
    const marked = await env.until('the mark in Alex\'s Outlook', async () => {
      const e = env.emu.control.getEvent(alex.userId, second.id) as any;
      return e.categories.includes('calbridge: not booked') ? e : undefined;
    });
    assert.match(marked.body.content, /^calbridge: not booked: Rainier is already booked from .+\nAgenda$/);
    const conflicts = (await env.request('GET', '/api/spaces/bookingconflicts')).body;
    assert.equal(conflicts.TotalItems, 1);
    assert.equal(conflicts.Records[0].CoworkerMsOfficeCalendarId, alex.recordId);
    await env.settled();
    assert.equal((await bookings(env)).length, 1, 'no double booking, also after the mark\'s own echo');

    env.emu.control.deleteEvent(adele.userId, first.id);
    const now = await env.until('Alex\'s booking', async () => { const b = await bookings(env); return b.length === 1 && b[0].Office365EventId === second.id ? b : undefined; });
    assert.equal(Date.parse(now[0].FromTime), from + 1800_000);
    const unmarked = await env.until('the marks to go', async () => {
      const e = env.emu.control.getEvent(alex.userId, second.id) as any;
      return e.categories.length === 0 ? e : undefined;
    });
    assert.equal(unmarked.body.content, 'Agenda');
    assert.equal((await env.request('GET', '/api/spaces/bookingconflicts')).body.TotalItems, 0);
  } finally {
    await env.close();
  }
});

test('a subscription that vanishes without a lifecycle message is found by the reconciliation, re-created, and what was missed is booked', async () => {
  const env = await startGraphEnv();
  try {
    const { userId, recordId } = await roomAndMember(env, ADELE);
    const old = env.emu.control.listSubscriptions()[0]!;
    env.emu.control.removeSubscription(old.id, { notify: false });
    const from = slot(5, 9);
    env.emu.control.createEvent(userId, { subject: 'Missed', start: at(from), end: at(from + 3600_000), attendees: [{ type: 'resource', emailAddress: { address: ROOM } }] } as never);
    env.advance(6 * 3600_000 + 10 * 60_000); // past the reconciliation interval and a sweep
    await env.until('a new subscription', async () => env.emu.control.listSubscriptions().some((s) => s.id !== old.id), 20_000);
    await env.untilState(recordId, 'active');
    await env.until('the missed event booked', async () => (await bookings(env)).length === 1, 20_000);
  } finally {
    await env.close();
  }
});

test('an Outlook booking moved through the API moves the member\'s event; cancelled through the API, the room leaves the event', async () => {
  const env = await startGraphEnv();
  try {
    const { userId } = await roomAndMember(env, ADELE);
    const from = slot(6, 9);
    const created = env.emu.control.createEvent(userId, {
      subject: 'Board', start: at(from), end: at(from + 3600_000), location: { displayName: 'Rainier', locationEmailAddress: ROOM },
      attendees: [{ type: 'resource', emailAddress: { address: ROOM } }, { type: 'required', emailAddress: { address: ALEX } }],
    } as never) as any;
    const [b] = await env.until('the booking', async () => { const l = await bookings(env); return l.length === 1 ? l : undefined; });
    assert.equal(b.Source, 'outlook');
    const moved = await env.request('PUT', '/api/spaces/bookings', { ...b, FromTime: new Date(from + 3600_000).toISOString(), ToTime: new Date(from + 2 * 3600_000).toISOString() });
    assert.equal(moved.status, 200, moved.text);
    await env.until('the event to move', async () => (env.emu.control.getEvent(userId, created.id, { tz: 'UTC' }) as any).start.dateTime.startsWith(new Date(from + 3600_000).toISOString().slice(0, 19)));
    await env.settled();
    assert.equal((await bookings(env))[0].FromTime, new Date(from + 3600_000).toISOString(), 'the echo leaves the booking where the API put it');

    assert.equal((await env.request('DELETE', `/api/spaces/bookings/${b.Id}`)).status, 200);
    const event = await env.until('the room to leave the event', async () => {
      const e = env.emu.control.getEvent(userId, created.id) as any;
      return e.attendees.some((a: any) => a.emailAddress.address === ROOM) ? undefined : e;
    });
    assert.deepEqual(event.attendees.map((a: any) => a.emailAddress.address), [ALEX], 'the meeting stays, with its other attendees');
    assert.notEqual(event.location?.locationEmailAddress, ROOM);
    await env.settled();
    assert.equal((await bookings(env)).length, 0, 'and nothing books the room again');
  } finally {
    await env.close();
  }
});
