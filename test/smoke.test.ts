import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testApp } from './helpers/app.js';
import { createCalendar, createCoworker, createResource } from './helpers/factories.js';

test('a calendar record created through the API reads back with its coworker name', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const coworker = await createCoworker(t.app, t.admin, { FullName: 'Ada Lovelace' });
  const created = await createCalendar(t.app, t.admin, resource.Id, { CoworkerId: coworker.Id });
  const res = await t.app.inject({ method: 'GET', url: `/api/spaces/coworkermsofficecalendars/${created.Id}`, headers: { authorization: t.admin } });
  assert.equal(res.statusCode, 200);
  assert.equal(res.json().CoworkerFullName, 'Ada Lovelace');
});
