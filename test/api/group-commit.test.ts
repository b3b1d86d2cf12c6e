/** Writes arriving together share a commit on SQLite (the unit of work's group commit); a failing one fails alone. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { afterCommit } from '../../src/storage/unit-of-work.js';
import { testApp } from '../helpers/app.js';
import { calendarBody, createResource } from '../helpers/factories.js';

test('50 concurrent creates all land with distinct ids', async (ctx) => {
  const t = await testApp(ctx);
  const r = await createResource(t.app, t.admin);
  const answers = await Promise.all(Array.from({ length: 50 }, () =>
    t.app.inject({ method: 'POST', url: '/api/spaces/coworkermsofficecalendars', headers: { authorization: t.admin }, payload: calendarBody(r.Id) })));
  assert.ok(answers.every((a) => a.statusCode === 200));
  const ids = answers.map((a) => a.json().Value.Id);
  assert.equal(new Set(ids).size, 50);
  const list = await t.app.inject({ method: 'GET', url: `/api/spaces/coworkermsofficecalendars?CoworkerMsOfficeCalendar_Resource=${r.Id}`, headers: { authorization: t.admin } });
  assert.equal(list.json().TotalItems, 50);
});

test('creates that arrive together share one commit on SQLite; a failing one fails alone and the rest commit', async (ctx) => {
  const t = await testApp(ctx);
  const r = await createResource(t.app, t.admin);
  const order: string[] = [];
  t.container.calendarService.observe({
    async created(record, trx) {
      order.push(`unit ${record.Name}`);
      if (record.Name === 'breaks') throw new Error('an observer refused it'); // after its insert: rolled back alone
      await afterCommit(trx, () => void order.push(`committed ${record.Name}`));
    },
  });
  const body = (name: string, resourceId = r.Id) => ({ ...calendarBody(resourceId), Name: name });
  const answers = await Promise.all([body('a'), body('b'), body('missing', 999_999), body('breaks'), body('c')].map((payload) =>
    t.app.inject({ method: 'POST', url: '/api/spaces/coworkermsofficecalendars', headers: { authorization: t.admin }, payload })));
  assert.deepEqual(answers.map((a) => a.statusCode), [200, 200, 400, 500, 200]);
  assert.match(answers[2]!.body, /there is no Resource with Id 999999/);
  const list = await t.app.inject({ method: 'GET', url: `/api/spaces/coworkermsofficecalendars?CoworkerMsOfficeCalendar_Resource=${r.Id}&orderBy=Name`, headers: { authorization: t.admin } });
  assert.deepEqual(list.json().Records.map((x: { Name: string }) => x.Name), ['a', 'b', 'c'], 'the failed units left nothing behind');
  const jobs = await t.storage.db.selectFrom('jobs').select('dedupe_key').execute();
  assert.equal(jobs.length, 0, 'no coworker, so no subscribe jobs; and none from the rolled-back unit');
  if (t.storage.dialect === 'sqlite') {
    // One group: every unit ran before the commit, then each unit's after-commit work.
    assert.deepEqual(order, ['unit a', 'unit b', 'unit breaks', 'unit c', 'committed a', 'committed b', 'committed c']);
  } else {
    assert.deepEqual(order.filter((o) => o.startsWith('committed')).sort(), ['committed a', 'committed b', 'committed c']);
  }
});
