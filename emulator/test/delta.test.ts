import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { graph, startEnv, type Env } from './helpers.js';

const utc = (dateTime: string): { dateTime: string; timeZone: string } => ({ dateTime, timeZone: 'UTC' });
const WINDOW = 'startDateTime=2032-02-01T00:00:00Z&endDateTime=2032-03-01T00:00:00Z';

interface Round {
  items: any[];
  pages: number;
  deltaLink: string;
}

describe('calendarView/delta', () => {
  let env: Env;
  let calPath: string;
  const g = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => graph(env.emu, env.appToken, method, path, body, headers);

  /** Follows nextLinks to the deltaLink, checking that only the last page carries it. */
  async function round(url: string, pageSize = 2): Promise<Round> {
    const items: any[] = [];
    let pages = 0;
    let next: string | undefined = url;
    while (next) {
      const res = await g('GET', next, undefined, { Prefer: `odata.maxpagesize=${pageSize}` });
      assert.equal(res.status, 200, res.text);
      pages++;
      assert.ok(res.json.value.length <= pageSize);
      items.push(...res.json.value);
      if (res.json['@odata.deltaLink']) {
        assert.equal(res.json['@odata.nextLink'], undefined);
        return { items, pages, deltaLink: res.json['@odata.deltaLink'] };
      }
      next = res.json['@odata.nextLink'];
      assert.ok(next, 'each page has a nextLink or a deltaLink');
      assert.match(next!, /\$skiptoken=/);
    }
    throw new Error('unreachable');
  }

  before(async () => {
    env = await startEnv();
    const cal = await g('POST', `/users/${env.adele.id}/calendars`, { name: 'Desk bookings' });
    calPath = `/users/${env.adele.id}/calendars/${cal.json.id}`;
  });
  after(() => env.emu.close());

  it('pages a full first round, then returns only changes with @removed tombstones', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await g('POST', `${calPath}/events`, { subject: `E${i}`, start: utc(`2032-02-1${i}T10:00:00`), end: utc(`2032-02-1${i}T11:00:00`) });
      ids.push(r.json.id);
    }
    await g('POST', `${calPath}/events`, { subject: 'outside', start: utc('2032-04-01T10:00:00'), end: utc('2032-04-01T11:00:00') });

    const first = await round(`${calPath}/calendarView/delta?${WINDOW}`);
    assert.equal(first.pages, 3);
    assert.deepEqual(first.items.map((e) => e.subject).sort(), ['E0', 'E1', 'E2', 'E3', 'E4']);
    assert.match(first.deltaLink, /\$deltatoken=/);

    const quiet = await round(first.deltaLink);
    assert.deepEqual(quiet.items, [], 'nothing changed');

    await g('PATCH', `${calPath}/events/${ids[0]}`, { subject: 'E0 renamed' });
    await g('DELETE', `${calPath}/events/${ids[1]}`);
    await g('PATCH', `${calPath}/events/${ids[2]}`, { start: utc('2032-05-01T10:00:00'), end: utc('2032-05-01T11:00:00') }); // leaves the window
    await g('POST', `${calPath}/events/${ids[3]}/cancel`, {});
    const added = await g('POST', `${calPath}/events`, { subject: 'E5', start: utc('2032-02-20T10:00:00'), end: utc('2032-02-20T11:00:00') });
    await g('POST', `${calPath}/events`, { subject: 'also outside', start: utc('2032-06-01T10:00:00'), end: utc('2032-06-01T11:00:00') });

    const second = await round(quiet.deltaLink);
    const updated = second.items.filter((e) => !e['@removed']);
    const removed = second.items.filter((e) => e['@removed']);
    assert.deepEqual(updated.map((e) => e.subject).sort(), ['E0 renamed', 'E5']);
    assert.equal(updated.find((e) => e.subject === 'E5').id, added.json.id);
    assert.deepEqual(removed.map((e) => e.id).sort(), [ids[1], ids[2], ids[3]].sort());
    for (const r of removed) assert.deepEqual(r['@removed'], { reason: 'deleted' });
    for (const e of [...first.items, ...second.items]) assert.equal(e['@odata.type'], '#microsoft.graph.event', `every delta item names its type (${e.subject ?? e.id})`);
    const plain = await g('GET', `${calPath}/events/${added.json.id}`);
    assert.equal(plain.json['@odata.type'], undefined, 'a plain GET does not (the type is the declared one)');

    // an old deltaLink can be replayed (same answer as before)
    const replay = await round(quiet.deltaLink, 50);
    assert.equal(replay.items.length, second.items.length);
  });

  it('tracks occurrences: a cancelled occurrence becomes @removed, a moved one comes back as an exception', async () => {
    const master = await g('POST', `${calPath}/events`, { subject: 'Daily desk', start: utc('2032-02-02T08:00:00'), end: utc('2032-02-02T17:00:00'), recurrence: { pattern: { type: 'daily', interval: 1 }, range: { type: 'endDate', startDate: '2032-02-02', endDate: '2032-02-04' } } });
    const view = `${calPath}/calendarView/delta?startDateTime=2032-02-01T00:00:00Z&endDateTime=2032-02-08T00:00:00Z`;
    const first = await round(view, 10);
    const occ = first.items.filter((e) => e.seriesMasterId === master.json.id);
    assert.equal(occ.length, 3);
    assert.ok(!first.items.some((e) => e.id === master.json.id), 'series masters are not in calendarView delta');
    assert.ok(occ.every((e) => e['@odata.type'] === '#microsoft.graph.event'), 'occurrences name their type too');

    await g('DELETE', `${calPath}/events/${occ[0].id}`);
    await g('PATCH', `${calPath}/events/${occ[1].id}`, { start: utc('2032-02-03T09:00:00'), end: utc('2032-02-03T12:00:00') });
    const second = await round(first.deltaLink, 10);
    const removed = second.items.filter((e) => e['@removed']).map((e) => e.id);
    assert.deepEqual(removed, [occ[0].id]);
    const exception = second.items.find((e) => e.id === occ[1].id);
    assert.equal(exception.type, 'exception');
    assert.equal(exception.start.dateTime, '2032-02-03T09:00:00.0000000');

    await g('DELETE', `${calPath}/events/${master.json.id}`);
    const third = await round(second.deltaLink, 10);
    assert.deepEqual(third.items.filter((e) => e['@removed']).map((e) => e.id).sort(), [occ[1].id, occ[2].id].sort());
  });

  it('answers 410 for unknown, invalidated and too-old tokens; the Location header restarts the sync', async () => {
    const bogus = await g('GET', `${calPath}/calendarView/delta?$deltatoken=EMUdeltaNOPE`);
    assert.equal(bogus.status, 410);
    assert.equal(bogus.json.error.code, 'syncStateNotFound');
    assert.equal((await g('GET', `${calPath}/calendarView/delta?$skiptoken=EMUskipNOPE`)).status, 410);

    const a = await round(`${calPath}/calendarView/delta?${WINDOW}`, 50);
    // a token is bound to its calendar
    const wrongCal = await g('GET', `/users/${env.adele.id}/calendar/calendarView/delta?${a.deltaLink.split('?')[1]}`);
    assert.equal(wrongCal.status, 410);

    assert.ok(env.emu.control.invalidateDeltaTokens(env.adele.userPrincipalName) > 0);
    const invalidated = await g('GET', a.deltaLink);
    assert.equal(invalidated.status, 410);
    assert.equal(invalidated.json.error.code, 'syncStateNotFound');

    const b = await round(`${calPath}/calendarView/delta?${WINDOW}`, 50);
    env.emu.control.advanceClock({ days: 31 });
    env.appToken = env.emu.control.issueAppToken(env.seed.app.clientId); // the old one expired with the clock
    const old = await g('GET', b.deltaLink);
    assert.equal(old.status, 410);
    assert.equal(old.json.error.code, 'resyncRequired');
    const location = old.headers.get('location');
    assert.ok(location && location.includes('startDateTime='));
    const restart = await round(location!, 50);
    assert.equal(restart.items.length, b.items.length, 'a restarted sync returns the full window again');
  });

  it('refuses query options delta does not support, and works on /me with a delegated token', async () => {
    const sel = await g('GET', `${calPath}/calendarView/delta?${WINDOW}&$select=subject`);
    assert.equal(sel.status, 400);
    const { accessToken } = env.emu.control.issueUserToken(env.seed.app.clientId, env.alex.id, ['Calendars.ReadWrite']);
    await graph(env.emu, accessToken, 'POST', '/me/events', { subject: 'mine', start: utc('2032-02-05T10:00:00'), end: utc('2032-02-05T11:00:00') });
    const res = await graph(env.emu, accessToken, 'GET', `/me/calendarView/delta?${WINDOW}`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.value.map((e: { subject: string }) => e.subject), ['mine']);
    assert.ok(res.json['@odata.deltaLink'].startsWith(`${env.emu.url}/v1.0/me/calendarView/delta?$deltatoken=`));
  });
});
