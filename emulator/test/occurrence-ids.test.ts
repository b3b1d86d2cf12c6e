import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { controlCall, graph, startEnv, type Env } from './helpers.js';

const utc = (dateTime: string): { dateTime: string; timeZone: string } => ({ dateTime, timeZone: 'UTC' });

describe('occurrence ids (longer than Fastify\'s default 100-character path parameter)', () => {
  let env: Env;
  const c = <T = any>(method: string, path: string, body?: unknown) => controlCall<T>(env.emu, method, path, body);
  const g = (method: string, path: string, body?: unknown) => graph(env.emu, env.appToken, method, path, body);

  before(async () => {
    env = await startEnv();
  });
  after(() => env.emu.close());

  it('moves and cancels single occurrences through the control API and through /users/{id}/events/{occurrenceId}', async () => {
    const user = env.adele.id;
    const master = (await c('POST', `/users/${user}/events`, {
      subject: 'Daily desk',
      start: utc('2035-03-05T09:00:00'),
      end: utc('2035-03-05T10:00:00'),
      recurrence: { pattern: { type: 'daily', interval: 1 }, range: { type: 'numbered', startDate: '2035-03-05', numberOfOccurrences: 5 } },
    })).json;
    const window = 'startDateTime=2035-03-05T00:00:00Z&endDateTime=2035-03-10T00:00:00Z';
    const view = async () => (await g('GET', `/users/${user}/calendarView?${window}`)).json.value as { id: string; type: string; start: { dateTime: string } }[];
    const ids = (await view()).map((e) => e.id);
    assert.equal(ids.length, 5);
    assert.ok(ids.every((id) => id.length > 100), `occurrence ids are long (${ids[0]!.length} characters)`);

    // Control API: move one occurrence, read it back, cancel another.
    const moved = await c('PATCH', `/users/${user}/events/${ids[0]}`, { start: utc('2035-03-05T13:00:00'), end: utc('2035-03-05T14:00:00') });
    assert.equal(moved.status, 200, JSON.stringify(moved.json));
    assert.equal(moved.json.type, 'exception');
    assert.equal(moved.json.id, ids[0]);
    assert.equal((await c('GET', `/users/${user}/events/${ids[0]}`)).json.start.dateTime, '2035-03-05T13:00:00.0000000');
    assert.equal((await c('DELETE', `/users/${user}/events/${ids[1]}`)).status, 204);
    assert.equal((await c('GET', `/users/${user}/events/${ids[1]}`)).status, 404);

    // Graph API: the same on the others.
    const patched = await g('PATCH', `/users/${user}/events/${ids[2]}`, { start: utc('2035-03-07T15:00:00'), end: utc('2035-03-07T16:00:00') });
    assert.equal(patched.status, 200, patched.text);
    assert.equal(patched.json.type, 'exception');
    assert.equal((await g('GET', `/users/${user}/events/${ids[2]}`)).json.start.dateTime, '2035-03-07T15:00:00.0000000');
    assert.equal((await g('DELETE', `/users/${user}/events/${ids[3]}`)).status, 204);
    assert.equal((await g('GET', `/users/${user}/events/${ids[3]}`)).status, 404);

    assert.deepEqual((await view()).map((e) => [e.id, e.type, e.start.dateTime.slice(0, 16)]), [
      [ids[0], 'exception', '2035-03-05T13:00'],
      [ids[2], 'exception', '2035-03-07T15:00'],
      [ids[4], 'occurrence', '2035-03-09T09:00'],
    ]);
    assert.notEqual((await g('GET', `/users/${user}/events/${master.id}`)).json.changeKey, master.changeKey);
  });
});
