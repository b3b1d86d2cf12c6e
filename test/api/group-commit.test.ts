/** Inserts arriving together share a commit on SQLite; a bad row in a group fails alone. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
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

test('a row that breaks a constraint fails alone, the rest of its group is committed', async (ctx) => {
  const t = await testApp(ctx);
  const r = await createResource(t.app, t.admin);
  const now = new Date().toISOString();
  const row = (resourceId: number) => ({
    resource_id: resourceId, coworker_id: null, name: 'grouped', subscription_id: 's', calendar_id: 'c', subscription_expire_date: now,
    system_id: null, unique_id: randomUUID(), created_on: now, updated_on: now, updated_by: 'test', is_new: 1,
  });
  const results = await Promise.allSettled([row(r.Id), row(r.Id), row(999_999), row(r.Id)].map((v) => t.container.calendars.insert(v)));
  assert.deepEqual(results.map((x) => x.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
  for (const x of results) if (x.status === 'fulfilled') assert.ok(await t.container.calendars.findById(x.value));
});
