import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { graph, startEnv, type Env } from './helpers.js';

const utc = (dateTime: string): { dateTime: string; timeZone: string } => ({ dateTime, timeZone: 'UTC' });

describe('events CRUD, calendars and recurrence expansion in calendarView', () => {
  let env: Env;
  let base: string; // /users/{adele}
  const g = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => graph(env.emu, env.appToken, method, path, body, headers);

  before(async () => {
    env = await startEnv();
    base = `/users/${env.adele.id}`;
  });
  after(() => env.emu.close());

  it('creates, reads, updates (new changeKey each time) and deletes an event', async () => {
    const created = await g('POST', `${base}/events`, { subject: 'Standup', start: utc('2031-03-03T09:00:00'), end: utc('2031-03-03T09:15:00'), location: { displayName: 'Room 1' } });
    assert.equal(created.status, 201);
    const ev = created.json;
    assert.equal(ev.type, 'singleInstance');
    assert.equal(ev['@odata.etag'], `W/"${ev.changeKey}"`);
    assert.deepEqual(ev.start, { dateTime: '2031-03-03T09:00:00.0000000', timeZone: 'UTC' });
    assert.equal(ev.locations[0].displayName, 'Room 1');
    assert.equal(ev.isOrganizer, true);
    assert.equal(ev.organizer.emailAddress.address, env.adele.mail);

    const got = await g('GET', `${base}/events/${ev.id}`);
    assert.equal(got.status, 200);
    assert.equal(got.json.subject, 'Standup');
    const viaUpn = await g('GET', `/users/${env.adele.userPrincipalName}/calendar/events/${ev.id}`);
    assert.equal(viaUpn.json.id, ev.id);

    const keys = new Set([ev.changeKey]);
    for (const subject of ['Standup (moved)', 'Standup (again)']) {
      const patched = await g('PATCH', `${base}/events/${ev.id}`, { subject });
      assert.equal(patched.status, 200);
      assert.equal(patched.json.subject, subject);
      assert.ok(!keys.has(patched.json.changeKey), 'changeKey changes on every change');
      keys.add(patched.json.changeKey);
    }
    assert.equal((await g('DELETE', `${base}/events/${ev.id}`)).status, 204);
    const gone = await g('GET', `${base}/events/${ev.id}`);
    assert.equal(gone.status, 404);
    assert.equal(gone.json.error.code, 'ErrorItemNotFound');
    assert.equal((await g('DELETE', `${base}/events/${ev.id}`)).status, 404);
  });

  it('keeps calendars apart: /events lists the default calendar, /calendars/{id}/events its own', async () => {
    const cal = await g('POST', `${base}/calendars`, { name: 'Bookings' });
    assert.equal(cal.status, 201);
    assert.equal(cal.json.isDefaultCalendar, false);
    assert.equal((await g('POST', `${base}/calendars`, { name: 'Bookings' })).status, 409);
    const inCal = await g('POST', `${base}/calendars/${cal.json.id}/events`, { subject: 'In Bookings', start: utc('2031-04-01T10:00:00'), end: utc('2031-04-01T11:00:00') });
    assert.equal(inCal.status, 201);
    const list = await g('GET', `${base}/calendars/${cal.json.id}/events`);
    assert.deepEqual(list.json.value.map((e: { id: string }) => e.id), [inCal.json.id]);
    const defaultList = await g('GET', `${base}/events?$top=100`);
    assert.ok(!defaultList.json.value.some((e: { id: string }) => e.id === inCal.json.id));
    assert.equal((await g('GET', `${base}/events/${inCal.json.id}`)).status, 200, '/events/{id} reaches any calendar of the mailbox');
    assert.equal((await g('GET', `${base}/calendar/events/${inCal.json.id}`)).status, 404, 'but not through another calendar');
    const cals = await g('GET', `${base}/calendars`);
    assert.deepEqual(cals.json.value.map((c: { name: string }) => c.name), ['Calendar', 'Bookings']);
    assert.equal((await g('GET', `${base}/calendars/nope/events`)).status, 404);
  });

  it('converts Windows time zones (DST-aware) and honours Prefer: outlook.timezone; all-day events keep their zone', async () => {
    const ev = await g('POST', `${base}/events`, {
      subject: 'Zoned',
      start: { dateTime: '2031-07-01T10:00:00', timeZone: 'W. Europe Standard Time' },
      end: { dateTime: '2031-07-01T11:30:00', timeZone: 'W. Europe Standard Time' },
    });
    assert.equal(ev.status, 201);
    assert.deepEqual(ev.json.start, { dateTime: '2031-07-01T08:00:00.0000000', timeZone: 'UTC' });
    assert.equal(ev.json.originalStartTimeZone, 'W. Europe Standard Time');
    const pacific = await g('GET', `${base}/events/${ev.json.id}`, undefined, { Prefer: 'outlook.timezone="Pacific Standard Time", IdType="ImmutableId"' });
    assert.deepEqual(pacific.json.start, { dateTime: '2031-07-01T01:00:00.0000000', timeZone: 'Pacific Standard Time' });
    assert.match(pacific.headers.get('preference-applied') ?? '', /outlook\.timezone="Pacific Standard Time"/);
    assert.match(pacific.headers.get('preference-applied') ?? '', /IdType="ImmutableId"/);
    const winter = await g('POST', `${base}/events`, { start: { dateTime: '2031-01-15T10:00:00', timeZone: 'Europe/Berlin' }, end: { dateTime: '2031-01-15T11:00:00', timeZone: 'Europe/Berlin' } });
    assert.equal(winter.json.start.dateTime, '2031-01-15T09:00:00.0000000');

    const allDay = await g('POST', `${base}/events`, { subject: 'Holiday', isAllDay: true, start: { dateTime: '2031-07-02T00:00:00', timeZone: 'W. Europe Standard Time' }, end: { dateTime: '2031-07-03T00:00:00', timeZone: 'W. Europe Standard Time' } });
    assert.equal(allDay.status, 201);
    const allDayUtc = await g('GET', `${base}/events/${allDay.json.id}`, undefined, { Prefer: 'outlook.timezone="UTC"' });
    assert.deepEqual(allDayUtc.json.start, { dateTime: '2031-07-02T00:00:00.0000000', timeZone: 'W. Europe Standard Time' });
    const badAllDay = await g('POST', `${base}/events`, { isAllDay: true, start: utc('2031-07-02T10:00:00'), end: utc('2031-07-03T00:00:00') });
    assert.equal(badAllDay.status, 400);
  });

  it('rejects invalid events: missing end, end before start, unknown zone, bad recurrence', async () => {
    assert.equal((await g('POST', `${base}/events`, { subject: 'x', start: utc('2031-01-01T10:00:00') })).status, 400);
    assert.equal((await g('POST', `${base}/events`, { start: utc('2031-01-01T10:00:00'), end: utc('2031-01-01T09:00:00') })).status, 400);
    const tz = await g('POST', `${base}/events`, { start: { dateTime: '2031-01-01T10:00:00', timeZone: 'Mars/Olympus' }, end: utc('2031-01-01T11:00:00') });
    assert.equal(tz.status, 400);
    const rec = await g('POST', `${base}/events`, { start: utc('2031-01-01T10:00:00'), end: utc('2031-01-01T11:00:00'), recurrence: { pattern: { type: 'weekly', interval: 1 }, range: { type: 'noEnd', startDate: '2031-01-01' } } });
    assert.equal(rec.status, 400, 'weekly needs daysOfWeek');
  });

  it('expands a daily numbered series in calendarView; /events shows only the master', async () => {
    const master = await g('POST', `${base}/events`, {
      subject: 'Daily x5',
      start: utc('2031-05-05T08:00:00'),
      end: utc('2031-05-05T08:30:00'),
      recurrence: { pattern: { type: 'daily', interval: 1 }, range: { type: 'numbered', startDate: '2031-05-05', numberOfOccurrences: 5 } },
    });
    assert.equal(master.status, 201);
    assert.equal(master.json.type, 'seriesMaster');
    assert.deepEqual(master.json.recurrence.range, { type: 'numbered', startDate: '2031-05-05', endDate: '0001-01-01', recurrenceTimeZone: 'UTC', numberOfOccurrences: 5 });
    const view = await g('GET', `${base}/calendarView?startDateTime=2031-05-01T00:00:00Z&endDateTime=2031-06-01T00:00:00Z&$top=50`);
    assert.equal(view.status, 200);
    const occ = view.json.value.filter((e: { seriesMasterId: string }) => e.seriesMasterId === master.json.id);
    assert.deepEqual(occ.map((e: { start: { dateTime: string } }) => e.start.dateTime.slice(0, 16)), ['2031-05-05T08:00', '2031-05-06T08:00', '2031-05-07T08:00', '2031-05-08T08:00', '2031-05-09T08:00']);
    assert.ok(occ.every((e: { type: string; recurrence: unknown }) => e.type === 'occurrence' && e.recurrence === null));
    assert.equal(new Set(occ.map((e: { iCalUId: string }) => e.iCalUId)).size, 5, 'each occurrence has its own iCalUId');
    assert.equal(new Set(occ.map((e: { id: string }) => e.id)).size, 5);
    assert.ok(!view.json.value.some((e: { id: string }) => e.id === master.json.id), 'calendarView has no series master');
    const list = await g('GET', `${base}/events?$top=100`);
    assert.equal(list.json.value.filter((e: { id: string; seriesMasterId: string }) => e.id === master.json.id || e.seriesMasterId === master.json.id).length, 1);
    const occurrence = await g('GET', `${base}/events/${occ[2].id}`);
    assert.equal(occurrence.json.type, 'occurrence');
    assert.equal(occurrence.json.originalStart, '2031-05-07T08:00:00Z');
    const instances = await g('GET', `${base}/events/${master.json.id}/instances?startDateTime=2031-05-06T00:00:00Z&endDateTime=2031-05-08T00:00:00Z`);
    assert.equal(instances.json.value.length, 2);
  });

  it('expands weekly series (days, interval, endDate) keeping local time across DST', async () => {
    const master = await g('POST', `/users/${env.alex.id}/events`, {
      subject: 'Mon/Wed every 2nd week',
      start: { dateTime: '2031-03-17T09:00:00', timeZone: 'W. Europe Standard Time' },
      end: { dateTime: '2031-03-17T10:00:00', timeZone: 'W. Europe Standard Time' },
      recurrence: {
        pattern: { type: 'weekly', interval: 2, daysOfWeek: ['monday', 'wednesday'], firstDayOfWeek: 'monday' },
        range: { type: 'endDate', startDate: '2031-03-17', endDate: '2031-04-16' },
      },
    });
    assert.equal(master.status, 201);
    const view = await graph(env.emu, env.appToken, 'GET', `/users/${env.alex.id}/calendarView?startDateTime=2031-03-01T00:00:00Z&endDateTime=2031-05-01T00:00:00Z`, undefined, {
      Prefer: 'odata.maxpagesize=50',
    });
    const starts = view.json.value.filter((e: { seriesMasterId: string }) => e.seriesMasterId === master.json.id).map((e: { start: { dateTime: string } }) => e.start.dateTime.slice(0, 16));
    // 09:00 in Berlin is 08:00 UTC before 2031-03-30 (DST starts) and 07:00 UTC after.
    assert.deepEqual(starts, ['2031-03-17T08:00', '2031-03-19T08:00', '2031-03-31T07:00', '2031-04-02T07:00', '2031-04-14T07:00', '2031-04-16T07:00']);
  });

  it('expands an open-ended series far ahead, and monthly patterns (absolute, relative)', async () => {
    const daily = await g('POST', `${base}/events`, { subject: 'Forever', start: utc('2031-01-01T12:00:00'), end: utc('2031-01-01T12:10:00'), recurrence: { pattern: { type: 'daily', interval: 3 }, range: { type: 'noEnd', startDate: '2031-01-01' } } });
    const far = await g('GET', `${base}/calendarView?startDateTime=2035-01-01T00:00:00Z&endDateTime=2035-01-10T00:00:00Z&$top=100`);
    const farStarts = far.json.value.filter((e: { seriesMasterId: string }) => e.seriesMasterId === daily.json.id).map((e: { start: { dateTime: string } }) => e.start.dateTime.slice(0, 10));
    assert.equal(farStarts.length, 3);
    for (const d of farStarts) assert.equal((Date.parse(`${d}T00:00:00Z`) - Date.parse('2031-01-01T00:00:00Z')) / 86_400_000 % 3, 0);

    const secondTuesday = await g('POST', `${base}/events`, { subject: '2nd Tue', start: utc('2031-01-14T15:00:00'), end: utc('2031-01-14T16:00:00'), recurrence: { pattern: { type: 'relativeMonthly', interval: 1, daysOfWeek: ['tuesday'], index: 'second' }, range: { type: 'numbered', startDate: '2031-01-01', numberOfOccurrences: 3 } } });
    const monthEnd = await g('POST', `${base}/events`, { subject: '31st', start: utc('2031-01-31T07:00:00'), end: utc('2031-01-31T07:30:00'), recurrence: { pattern: { type: 'absoluteMonthly', interval: 1, dayOfMonth: 31 }, range: { type: 'numbered', startDate: '2031-01-31', numberOfOccurrences: 3 } } });
    const view = await g('GET', `${base}/calendarView?startDateTime=2031-01-01T00:00:00Z&endDateTime=2031-06-01T00:00:00Z&$top=500`);
    const of = (id: string) => view.json.value.filter((e: { seriesMasterId: string }) => e.seriesMasterId === id).map((e: { start: { dateTime: string } }) => e.start.dateTime.slice(0, 10));
    assert.deepEqual(of(secondTuesday.json.id), ['2031-01-14', '2031-02-11', '2031-03-11']);
    assert.deepEqual(of(monthEnd.json.id), ['2031-01-31', '2031-02-28', '2031-03-31']);
  });

  it('moves and cancels single occurrences (exceptions); the master changes', async () => {
    const master = await g('POST', `${base}/events`, { subject: 'Weekly sync', start: utc('2031-09-01T14:00:00'), end: utc('2031-09-01T15:00:00'), recurrence: { pattern: { type: 'weekly', interval: 1, daysOfWeek: ['monday'] }, range: { type: 'numbered', startDate: '2031-09-01', numberOfOccurrences: 4 } } });
    const window = 'startDateTime=2031-08-25T00:00:00Z&endDateTime=2031-10-01T00:00:00Z&$top=100';
    const series = async () => (await g('GET', `${base}/calendarView?${window}`)).json.value.filter((e: { seriesMasterId: string }) => e.seriesMasterId === master.json.id);
    const before = await series();
    assert.equal(before.length, 4);
    const moved = await g('PATCH', `${base}/events/${before[1].id}`, { subject: 'Weekly sync (moved)', start: utc('2031-09-09T09:00:00'), end: utc('2031-09-09T10:00:00') });
    assert.equal(moved.status, 200);
    assert.equal(moved.json.type, 'exception');
    assert.equal(moved.json.id, before[1].id, 'an exception keeps the occurrence id');
    assert.equal((await g('DELETE', `${base}/events/${before[2].id}`)).status, 204);
    assert.equal((await g('GET', `${base}/events/${before[2].id}`)).status, 404);
    const after = await series();
    assert.deepEqual(
      after.map((e: { start: { dateTime: string }; type: string; subject: string }) => [e.start.dateTime.slice(0, 16), e.type, e.subject]),
      [
        ['2031-09-01T14:00', 'occurrence', 'Weekly sync'],
        ['2031-09-09T09:00', 'exception', 'Weekly sync (moved)'],
        ['2031-09-22T14:00', 'occurrence', 'Weekly sync'],
      ],
    );
    const m = await g('GET', `${base}/events/${master.json.id}`);
    assert.notEqual(m.json.changeKey, master.json.changeKey, 'changing an occurrence updates the series master');
    // cancel on an occurrence is the organizer's delete
    assert.equal((await g('POST', `${base}/events/${after[2].id}/cancel`, { comment: 'sorry' })).status, 202);
    assert.equal((await series()).length, 2);
  });

  it('transactionId: a retried POST returns the event already created; reusing it for another event is 400', async () => {
    const cal = (await g('POST', `${base}/calendars`, { name: 'Transactions' })).json;
    const events = `${base}/calendars/${cal.id}/events`;
    const body = { subject: 'Booking 42', start: utc('2031-12-01T10:00:00'), end: utc('2031-12-01T11:00:00'), transactionId: 'calbridge-booking-42' };
    const first = await g('POST', events, body);
    assert.equal(first.status, 201);
    assert.equal(first.json.transactionId, 'calbridge-booking-42');
    const retry = await g('POST', events, { ...body, start: { timeZone: 'UTC', dateTime: '2031-12-01T10:00:00' } });
    assert.equal(retry.status, 201, 'the retry succeeds…');
    assert.equal(retry.json.id, first.json.id, '…with the event the first POST created');
    assert.equal(retry.json.changeKey, first.json.changeKey, 'unchanged');
    assert.deepEqual((await g('GET', events)).json.value.map((e: { id: string }) => e.id), [first.json.id], 'one event, not two');

    const other = await g('POST', events, { ...body, subject: 'Booking 43' });
    assert.equal(other.status, 400);
    assert.equal(other.json.error.code, 'ErrorDuplicateTransactionId');
    assert.equal(other.json.error.message, "Your request can't be completed. The TransactionId specified in the request has already been used to create a different event.");
    assert.equal((await g('POST', `${base}/events`, body)).status, 400, 'another calendar of the same mailbox is another event too');
    const alex = await g('POST', `/users/${env.alex.id}/events`, body);
    assert.equal(alex.status, 201, 'another mailbox may use the same transactionId');
    assert.notEqual(alex.json.id, first.json.id);

    const renamed = await g('PATCH', `${events}/${first.json.id}`, { subject: 'Booking 42 (moved)', transactionId: 'something-else' });
    assert.equal(renamed.status, 200);
    assert.equal(renamed.json.transactionId, 'calbridge-booking-42', 'set at creation, it cannot be changed');
    assert.equal((await g('DELETE', `${events}/${first.json.id}`)).status, 204);
    const again = await g('POST', events, body);
    assert.equal(again.status, 400, 'a deleted event keeps its transactionId used');
    assert.equal(again.json.error.code, 'ErrorDuplicateTransactionId');
  });

  it('pages calendarView with $top/$skip nextLinks and Prefer: odata.maxpagesize; needs a window', async () => {
    const cal = (await g('POST', `${base}/calendars`, { name: 'Paging' })).json;
    for (let i = 0; i < 5; i++) await g('POST', `${base}/calendars/${cal.id}/events`, { subject: `P${i}`, start: utc(`2031-11-0${i + 1}T10:00:00`), end: utc(`2031-11-0${i + 1}T11:00:00`) });
    const q = 'startDateTime=2031-11-01T00:00:00Z&endDateTime=2031-12-01T00:00:00Z';
    const seen: string[] = [];
    let page = await g('GET', `${base}/calendars/${cal.id}/calendarView?${q}&$top=2`);
    seen.push(...page.json.value.map((e: { subject: string }) => e.subject));
    let hops = 0;
    while (page.json['@odata.nextLink']) {
      assert.match(page.json['@odata.nextLink'], /startDateTime=/);
      page = await g('GET', page.json['@odata.nextLink']);
      seen.push(...page.json.value.map((e: { subject: string }) => e.subject));
      hops++;
    }
    assert.deepEqual(seen, ['P0', 'P1', 'P2', 'P3', 'P4']);
    assert.equal(hops, 2);
    const preferred = await g('GET', `${base}/calendars/${cal.id}/calendarView?${q}`, undefined, { Prefer: 'odata.maxpagesize=3' });
    assert.equal(preferred.json.value.length, 3);
    assert.ok(preferred.json['@odata.nextLink']);
    const noWindow = await g('GET', `${base}/calendarView`);
    assert.equal(noWindow.status, 400);
    assert.equal(noWindow.json.error.code, 'ErrorInvalidParameter');
    assert.equal((await g('GET', '/nothing-here')).status, 400);
  });
});
