import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { graph, startEnv, type Env } from './helpers.js';

const utc = (dateTime: string): { dateTime: string; timeZone: string } => ({ dateTime, timeZone: 'UTC' });
const GUID = '66f5a359-4659-4830-9070-00047ec6ac6e';
const BOOKING = `String {${GUID}} Name calbridgeBookingId`;
const SOURCE = `String {${GUID}} Name calbridgeSource`;
/** `$expand=singleValueExtendedProperties($filter=id eq '…' or id eq '…')`, URL-encoded as the SDK does. */
const expand = (...ids: string[]) => `$expand=${encodeURIComponent(`singleValueExtendedProperties($filter=${ids.map((id) => `id eq '${id}'`).join(' or ')})`)}`;

describe('singleValueExtendedProperties on events', () => {
  let env: Env;
  let base: string;
  const g = (method: string, path: string, body?: unknown) => graph(env.emu, env.appToken, method, path, body);

  before(async () => {
    env = await startEnv();
    base = `/users/${env.adele.id}`;
  });
  after(() => env.emu.close());

  it('stores them from POST and PATCH and returns them only when expanded with a matching id filter', async () => {
    const created = await g('POST', `${base}/events`, { subject: 'Desk 4', start: utc('2036-01-05T09:00:00'), end: utc('2036-01-05T17:00:00'), singleValueExtendedProperties: [{ id: BOOKING, value: '42' }] });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.singleValueExtendedProperties, undefined, 'not returned unless expanded');
    const id = created.json.id;
    assert.equal((await g('GET', `${base}/events/${id}`)).json.singleValueExtendedProperties, undefined);

    const got = await g('GET', `${base}/events/${id}?${expand(BOOKING)}`);
    assert.equal(got.status, 200, got.text);
    assert.deepEqual(got.json.singleValueExtendedProperties, [{ id: BOOKING, value: '42' }]);
    assert.equal(got.json.subject, 'Desk 4', 'the rest of the event is there');
    const upperGuid = `string {${GUID.toUpperCase()}} name calbridgeBookingId`;
    assert.deepEqual((await g('GET', `${base}/events/${id}?${expand(upperGuid)}`)).json.singleValueExtendedProperties, [{ id: BOOKING, value: '42' }], 'type, GUID and the Name keyword match in any case');
    assert.equal((await g('GET', `${base}/events/${id}?${expand(`String {${GUID}} Name CALBRIDGEBOOKINGID`)}`)).json.singleValueExtendedProperties, undefined, 'the name is case-sensitive');
    assert.equal((await g('GET', `${base}/events/${id}?${expand(SOURCE)}`)).json.singleValueExtendedProperties, undefined, 'no such property: the collection is left out');

    const patched = await g('PATCH', `${base}/events/${id}`, { singleValueExtendedProperties: [{ id: SOURCE, value: 'calbridge' }] });
    assert.equal(patched.status, 200);
    assert.deepEqual((await g('GET', `${base}/events/${id}?${expand(BOOKING, SOURCE)}`)).json.singleValueExtendedProperties, [{ id: BOOKING, value: '42' }, { id: SOURCE, value: 'calbridge' }], 'PATCH adds, keeps the others');
    await g('PATCH', `${base}/events/${id}`, { singleValueExtendedProperties: [{ id: upperGuid, value: '43' }] });
    assert.deepEqual((await g('GET', `${base}/events/${id}?${expand(BOOKING)}`)).json.singleValueExtendedProperties, [{ id: BOOKING, value: '43' }], 'and replaces the same id');
    assert.equal((await g('PATCH', `${base}/events/${id}`, { subject: 'Desk 4 (renamed)' })).status, 200);
    assert.deepEqual((await g('GET', `${base}/events/${id}?${expand(BOOKING)}`)).json.singleValueExtendedProperties, [{ id: BOOKING, value: '43' }], 'other changes keep them');
    assert.deepEqual(env.emu.control.getEvent(env.adele.id, id).singleValueExtendedProperties, [{ id: BOOKING, value: '43' }, { id: SOURCE, value: 'calbridge' }], 'the control API shows them all');
  });

  it('expands them in event lists and calendarView; occurrences inherit the master\'s and exceptions keep their own', async () => {
    const cal = (await g('POST', `${base}/calendars`, { name: 'Props' })).json;
    const tagged = (await g('POST', `${base}/calendars/${cal.id}/events`, { subject: 'tagged', start: utc('2036-02-02T09:00:00'), end: utc('2036-02-02T10:00:00'), singleValueExtendedProperties: [{ id: BOOKING, value: '7' }] })).json;
    const plain = (await g('POST', `${base}/calendars/${cal.id}/events`, { subject: 'plain', start: utc('2036-02-02T11:00:00'), end: utc('2036-02-02T12:00:00') })).json;
    const series = (await g('POST', `${base}/calendars/${cal.id}/events`, {
      subject: 'series',
      start: utc('2036-02-03T09:00:00'),
      end: utc('2036-02-03T10:00:00'),
      recurrence: { pattern: { type: 'daily', interval: 1 }, range: { type: 'numbered', startDate: '2036-02-03', numberOfOccurrences: 3 } },
      singleValueExtendedProperties: [{ id: BOOKING, value: '8' }],
    })).json;

    const list = await g('GET', `${base}/calendars/${cal.id}/events?${expand(BOOKING)}`);
    assert.equal(list.status, 200, list.text);
    const byId = new Map(list.json.value.map((e: { id: string; singleValueExtendedProperties?: unknown }) => [e.id, e.singleValueExtendedProperties]));
    assert.deepEqual(byId.get(tagged.id), [{ id: BOOKING, value: '7' }]);
    assert.equal(byId.get(plain.id), undefined);
    assert.deepEqual(byId.get(series.id), [{ id: BOOKING, value: '8' }]);

    const window = 'startDateTime=2036-02-01T00:00:00Z&endDateTime=2036-02-10T00:00:00Z';
    const viewOf = async () => (await g('GET', `${base}/calendars/${cal.id}/calendarView?${window}&${expand(BOOKING)}`)).json.value as { id: string; subject: string; type: string; singleValueExtendedProperties?: { value: string }[] }[];
    const occurrences = (await viewOf()).filter((e) => e.type === 'occurrence');
    assert.deepEqual(occurrences.map((e) => e.singleValueExtendedProperties), [[{ id: BOOKING, value: '8' }], [{ id: BOOKING, value: '8' }], [{ id: BOOKING, value: '8' }]]);
    assert.equal((await g('GET', `${base}/calendars/${cal.id}/calendarView?${window}`)).json.value.some((e: object) => 'singleValueExtendedProperties' in e), false);

    const exception = await g('PATCH', `${base}/events/${occurrences[1]!.id}`, { singleValueExtendedProperties: [{ id: BOOKING, value: '9' }] });
    assert.equal(exception.status, 200);
    const after = await viewOf();
    assert.deepEqual(after.filter((e) => e.subject === 'series').map((e) => [e.type, e.singleValueExtendedProperties?.[0]?.value]), [['occurrence', '8'], ['exception', '9'], ['occurrence', '8']]);
    assert.deepEqual((await g('GET', `${base}/events/${occurrences[1]!.id}?${expand(BOOKING)}`)).json.singleValueExtendedProperties, [{ id: BOOKING, value: '9' }]);
    assert.deepEqual((await g('GET', `${base}/events/${series.id}?${expand(BOOKING)}`)).json.singleValueExtendedProperties, [{ id: BOOKING, value: '8' }], 'the master keeps its value');
    const instances = await g('GET', `${base}/events/${series.id}/instances?${window}&${expand(BOOKING)}`);
    assert.deepEqual(instances.json.value.map((e: { singleValueExtendedProperties: { value: string }[] }) => e.singleValueExtendedProperties[0]!.value), ['8', '9', '8']);
  });

  it('refuses malformed property ids and values, an $expand without an id filter, and $expand on delta', async () => {
    const body = (props: unknown) => ({ subject: 'x', start: utc('2036-03-01T09:00:00'), end: utc('2036-03-01T10:00:00'), singleValueExtendedProperties: props });
    for (const props of [[{ id: 'calbridgeBookingId', value: '1' }], [{ id: `Text {${GUID}} Name x`, value: '1' }], [{ id: 'String {not-a-guid} Name x', value: '1' }], [{ id: BOOKING, value: 42 }], { id: BOOKING, value: '1' }]) {
      const r = await g('POST', `${base}/events`, body(props));
      assert.equal(r.status, 400, JSON.stringify(props));
    }
    for (const ok of [`Integer {${GUID}} Id 0x8005`, 'String 0x0037']) assert.equal((await g('POST', `${base}/events`, body([{ id: ok, value: '5' }]))).status, 201, ok);
    const ev = (await g('POST', `${base}/events`, body([{ id: BOOKING, value: '1' }]))).json;
    assert.equal((await g('GET', `${base}/events/${ev.id}?$expand=singleValueExtendedProperties`)).status, 400);
    const delta = await g('GET', `${base}/calendarView/delta?startDateTime=2036-03-01T00:00:00Z&endDateTime=2036-03-02T00:00:00Z&${expand(BOOKING)}`);
    assert.equal(delta.status, 400, 'calendarView/delta does not support $expand');
  });
});
