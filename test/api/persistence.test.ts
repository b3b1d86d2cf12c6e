/** Data written through the API survives closing the app and opening a new one on the same directory. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testApp } from '../helpers/app.js';
import { tempDir } from '../helpers/cleanup.js';
import { calendarBody, createCalendar, createCoworker, createResource } from '../helpers/factories.js';
import { CAL, COWORKERS, RESOURCES, assertFailure, call } from '../helpers/api.js';

test('records, updates and deletes persist across a restart on the same directory', async (ctx) => {
  // Three apps, one after the other, on one directory: the test makes it, so it outlives each app.
  const dir = tempDir(ctx);
  const first = await testApp(ctx, { dir });
  const resource = await createResource(first.app, first.admin, { Name: 'Persistent Room' });
  const coworker = await createCoworker(first.app, first.admin, { FullName: 'Persistent Person' });
  const kept = await createCalendar(first.app, first.admin, resource.Id, { CoworkerId: coworker.Id, Name: 'Kept calendar' });
  const toUpdate = await createCalendar(first.app, first.admin, resource.Id, { Name: 'Before update' });
  const put = await call(first, 'PUT', CAL, { ...calendarBody(resource.Id, { Name: 'After update', SubscriptionExpireDate: '2031-02-03T04:05:06Z' }), Id: toUpdate.Id });
  assert.equal(put.status, 200, put.raw);
  const updated = (await call(first, 'GET', `${CAL}/${toUpdate.Id}`)).body;
  const deletedId = (await createCalendar(first.app, first.admin, resource.Id, { Name: 'Deleted calendar' })).Id;
  assert.equal((await call(first, 'DELETE', `${CAL}/${deletedId}`)).status, 200);
  await first.close();

  const second = await testApp(ctx, { dir });
  assert.deepEqual((await call(second, 'GET', `${CAL}/${kept.Id}`)).body, kept);
  const after = (await call(second, 'GET', `${CAL}/${updated.Id}`)).body;
  assert.deepEqual(after, updated);
  assert.equal(after.Name, 'After update');
  assert.equal(after.IsNew, false);
  assert.equal(after.SubscriptionExpireDate, '2031-02-03T04:05:06.000Z');
  assertFailure(await call(second, 'GET', `${CAL}/${deletedId}`), 404, 'CoworkerMsOfficeCalendar not found.');

  const list = (await call(second, 'GET', CAL)).body;
  assert.equal(list.TotalItems, 2);
  assert.deepEqual(list.Records.map((r: any) => r.Id), [kept.Id, updated.Id]);
  assert.equal((await call(second, 'GET', `${RESOURCES}/${resource.Id}`)).body.Name, 'Persistent Room');
  assert.equal((await call(second, 'GET', `${COWORKERS}/${coworker.Id}`)).body.FullName, 'Persistent Person');

  // The name index and the coworker join still work on the reopened database.
  const byName = (await call(second, 'GET', `${CAL}?CoworkerMsOfficeCalendar_Name=after`)).body;
  assert.deepEqual(byName.Records.map((r: any) => r.Id), [updated.Id]);
  const byDeletedName = (await call(second, 'GET', `${CAL}?CoworkerMsOfficeCalendar_Name=deleted`)).body;
  assert.equal(byDeletedName.TotalItems, 0);
  const byCoworker = (await call(second, 'GET', `${CAL}?CoworkerMsOfficeCalendar_Coworker_FullName=persistent`)).body;
  assert.deepEqual(byCoworker.Records.map((r: any) => r.Id), [kept.Id]);

  // New records get new ids (a deleted id is not handed out again) and the referential checks still hold.
  const fresh = await createCalendar(second.app, second.admin, resource.Id);
  assert.ok(fresh.Id > deletedId, `new id ${fresh.Id} after deleted ${deletedId}`);
  assert.equal((await call(second, 'DELETE', `${RESOURCES}/${resource.Id}`)).status, 400);
  await second.close();

  // And a third start sees what the second one wrote.
  const third = await testApp(ctx, { dir });
  assert.equal((await call(third, 'GET', CAL)).body.TotalItems, 3);
});
