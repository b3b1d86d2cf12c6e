/** Path conventions: the misspelt alias serves every operation, paths match case-insensitively, a trailing slash is fine. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testApp } from '../helpers/app.js';
import type { Scope } from '../helpers/cleanup.js';
import { calendarBody, createCalendar, createResource } from '../helpers/factories.js';
import { CAL, CAL_ALIAS, assertFailure, call, countRows } from '../helpers/api.js';

/** Runs list, get, batch, create, update (both forms) and delete through `base` and checks each answer. */
async function everyOperationThrough(ctx: Scope, base: string) {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const existing = await createCalendar(t.app, t.admin, resource.Id, { Name: 'Existing' });

  const created = await call(t, 'POST', base, calendarBody(resource.Id, { Name: 'Through alias' }));
  assert.equal(created.status, 200, `POST ${base}: ${created.raw}`);
  assert.equal(created.body.Message, 'CoworkerMsOfficeCalendar was successfully created.');
  const id = created.body.Value.Id;

  const list = await call(t, 'GET', base);
  assert.equal(list.status, 200, `GET ${base}: ${list.raw}`);
  assert.deepEqual(list.body.Records.map((r: any) => r.Id), [existing.Id, id]);

  const one = await call(t, 'GET', `${base}/${id}`);
  assert.equal(one.status, 200);
  assert.equal(one.body.Name, 'Through alias');

  const batch = await call(t, 'GET', `${base}?id=[${id},${existing.Id}]`);
  assert.equal(batch.status, 200);
  assert.deepEqual(batch.body.map((r: any) => r.Id), [id, existing.Id]);

  const put = await call(t, 'PUT', base, { ...calendarBody(resource.Id, { Name: 'Put on collection' }), Id: id });
  assert.equal(put.status, 200, put.raw);
  assert.deepEqual(put.body.Value, { Id: id });
  assert.equal((await call(t, 'GET', `${CAL}/${id}`)).body.Name, 'Put on collection');

  const putId = await call(t, 'PUT', `${base}/${id}`, calendarBody(resource.Id, { Name: 'Put on id' }));
  assert.equal(putId.status, 200, putId.raw);
  assert.equal((await call(t, 'GET', `${CAL}/${id}`)).body.Name, 'Put on id');

  const del = await call(t, 'DELETE', `${base}/${id}`);
  assert.equal(del.status, 200, del.raw);
  assert.equal(del.body.Message, 'CoworkerMsOfficeCalendar was successfully deleted.');
  assertFailure(await call(t, 'GET', `${base}/${id}`), 404, 'CoworkerMsOfficeCalendar not found.');
  assert.equal(await countRows(t, 'coworker_ms_office_calendars'), 1);
}

test('the canonical path serves every operation', (ctx) => everyOperationThrough(ctx, CAL));
test('the misspelt alias /api/spaces/coworkermsoffecalendars serves every operation', (ctx) => everyOperationThrough(ctx, CAL_ALIAS));
test('an upper-case path serves every operation', (ctx) => everyOperationThrough(ctx, CAL.toUpperCase()));
test('a mixed-case path serves every operation', (ctx) => everyOperationThrough(ctx, '/Api/Spaces/CoworkerMsOfficeCalendars'));
test('the mixed-case misspelt alias serves every operation', (ctx) => everyOperationThrough(ctx, '/api/Spaces/CoworkerMsOffeCalendars'));

test('a trailing slash is accepted on the collection and on /{id}', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const created = await call(t, 'POST', `${CAL}/`, calendarBody(resource.Id));
  assert.equal(created.status, 200, created.raw);
  const id = created.body.Value.Id;
  const list = await call(t, 'GET', `${CAL}/`);
  assert.equal(list.status, 200);
  assert.equal(list.body.TotalItems, 1);
  const listQuery = await call(t, 'GET', `${CAL}/?size=5`);
  assert.equal(listQuery.body.CurrentPageSize, 5);
  const batch = await call(t, 'GET', `${CAL}/?id=[${id}]`);
  assert.equal(batch.status, 200);
  assert.deepEqual(batch.body.map((r: any) => r.Id), [id]);
  const aliasBatch = await call(t, 'GET', `${CAL_ALIAS}/?id=[${id}]`);
  assert.deepEqual(aliasBatch.body.map((r: any) => r.Id), [id]);
  const one = await call(t, 'GET', `${CAL}/${id}/`);
  assert.equal(one.status, 200);
  assert.equal(one.body.Id, id);
  const put = await call(t, 'PUT', `${CAL}/`, { ...calendarBody(resource.Id, { Name: 'Slash' }), Id: id });
  assert.equal(put.status, 200, put.raw);
  const putId = await call(t, 'PUT', `${CAL}/${id}/`, calendarBody(resource.Id, { Name: 'Slash 2' }));
  assert.equal(putId.status, 200, putId.raw);
  assert.equal((await call(t, 'GET', `${CAL}/${id}`)).body.Name, 'Slash 2');
  const del = await call(t, 'DELETE', `${CAL}/${id}/`);
  assert.equal(del.status, 200, del.raw);
  assert.equal(await countRows(t, 'coworker_ms_office_calendars'), 0);
});

test('query values keep their case when the path is rewritten', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  await createCalendar(t.app, t.admin, resource.Id, { SubscriptionId: 'Sub-MixedCase' });
  await createCalendar(t.app, t.admin, resource.Id, { SubscriptionId: 'sub-mixedcase' });
  const a = await call(t, 'GET', `${CAL.toUpperCase()}/?CoworkerMsOfficeCalendar_SubscriptionId=Sub-MixedCase`);
  assert.equal(a.status, 200);
  assert.deepEqual(a.body.Records.map((r: any) => r.SubscriptionId), ['Sub-MixedCase']);
});

test('an unknown path under /api is a 404 envelope', async (ctx) => {
  const t = await testApp(ctx);
  const a = await call(t, 'GET', '/api/spaces/coworkermsofficecalendarz');
  assertFailure(a, 404);
});
