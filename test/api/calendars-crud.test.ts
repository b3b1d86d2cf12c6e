/** CoworkerMsOfficeCalendars: create, get one, update (PUT on the collection and on /{id}), delete. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_EMAIL, testApp } from '../helpers/app.js';
import { calendarBody, createCalendar, createCoworker, createResource } from '../helpers/factories.js';
import { CAL, CALENDAR_RECORD_KEYS, ENVELOPE_KEYS, assertFailure, assertValidation, call, countRows } from '../helpers/api.js';

const ISO_Z = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

test('create answers the write envelope with the full record as Value', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const coworker = await createCoworker(t.app, t.admin, { FullName: 'Grace Hopper' });
  const body = calendarBody(resource.Id, { CoworkerId: coworker.Id, Name: 'Grace work calendar', SubscriptionExpireDate: '2030-01-06T10:30:00Z' });
  const a = await call(t, 'POST', CAL, body);
  assert.equal(a.status, 200, a.raw);
  assert.match(String(a.headers['content-type']), /^application\/json/);
  assert.deepEqual(Object.keys(a.body), ENVELOPE_KEYS);
  assert.equal(a.body.Status, 200);
  assert.equal(a.body.Message, 'CoworkerMsOfficeCalendar was successfully created.');
  assert.equal(a.body.WasSuccessful, true);
  assert.equal(a.body.Errors, null);
  assert.equal(a.body.OpenInDialog, false);
  assert.equal(a.body.OpenInWindow, false);
  assert.equal(a.body.RedirectURL, null);
  assert.equal(a.body.JavaScript, null);
  assert.equal(a.body.UpdatedBy, ADMIN_EMAIL);
  assert.match(a.body.UpdatedOn, ISO_Z);

  const v = a.body.Value;
  assert.deepEqual(Object.keys(v).sort(), [...CALENDAR_RECORD_KEYS].sort());
  assert.ok(Number.isInteger(v.Id) && v.Id > 0);
  assert.equal(v.ResourceId, resource.Id);
  assert.equal(v.CoworkerId, coworker.Id);
  assert.equal(v.CoworkerFullName, 'Grace Hopper');
  assert.equal(v.Name, 'Grace work calendar');
  assert.equal(v.SubscriptionId, body.SubscriptionId);
  assert.equal(v.CalendarId, body.CalendarId);
  assert.equal(Date.parse(v.SubscriptionExpireDate), Date.parse('2030-01-06T10:30:00Z'));
  assert.match(v.SubscriptionExpireDate, ISO_Z);
  assert.equal(v.ToStringText, 'Grace work calendar');
  assert.equal(v.LocalizationDetails, null);
  assert.equal(v.CustomFields, null);
  assert.equal(v.IsNew, true);
  assert.equal(v.UpdatedBy, ADMIN_EMAIL);
  assert.equal(v.SystemId, null);
  assert.match(v.UniqueId, UUID);
  assert.match(v.CreatedOn, ISO_Z);
  // a UUID version 7 made when the record was: its first 48 bits are CreatedOn in milliseconds
  assert.equal(v.UniqueId[14], '7');
  assert.equal(parseInt(v.UniqueId.replace('-', '').slice(0, 12), 16), Date.parse(v.CreatedOn));
  assert.equal(v.UpdatedOn, a.body.UpdatedOn);
  assert.equal(await countRows(t, 'coworker_ms_office_calendars'), 1);
});

test('UpdatedBy is the e-mail of whoever made the change (a bearer user with roles)', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const user = await t.userWithRoles(['CoworkerMsOfficeCalendar-Create', 'CoworkerMsOfficeCalendar-Edit', 'CoworkerMsOfficeCalendar-Read']);
  const created = await call(t, 'POST', CAL, calendarBody(resource.Id), { auth: user.auth });
  assert.equal(created.status, 200, created.raw);
  assert.equal(created.body.UpdatedBy, user.email);
  assert.equal(created.body.Value.UpdatedBy, user.email);

  const id = created.body.Value.Id;
  const byAdmin = await call(t, 'PUT', CAL, { ...calendarBody(resource.Id), Id: id });
  assert.equal(byAdmin.status, 200, byAdmin.raw);
  assert.equal(byAdmin.body.UpdatedBy, ADMIN_EMAIL);
  const read = await call(t, 'GET', `${CAL}/${id}`, undefined, { auth: user.auth });
  assert.equal(read.body.UpdatedBy, ADMIN_EMAIL);
});

test('two creates get distinct Ids and UniqueIds', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const a = await createCalendar(t.app, t.admin, resource.Id);
  const b = await createCalendar(t.app, t.admin, resource.Id);
  assert.notEqual(a.Id, b.Id);
  assert.notEqual(a.UniqueId, b.UniqueId);
});

test('get one answers the bare record, equal to the created Value', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const coworker = await createCoworker(t.app, t.admin, { FullName: 'Alan Turing' });
  const created = await createCalendar(t.app, t.admin, resource.Id, { CoworkerId: coworker.Id });
  const a = await call(t, 'GET', `${CAL}/${created.Id}`);
  assert.equal(a.status, 200, a.raw);
  assert.match(String(a.headers['content-type']), /^application\/json/);
  assert.equal(a.body.Status, undefined, 'no envelope');
  assert.equal(a.body.Value, undefined, 'no envelope');
  assert.deepEqual(a.body, created);
  assert.equal(a.body.CoworkerFullName, 'Alan Turing');
});

test('get one of a record without a coworker has CoworkerId and CoworkerFullName null', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const created = await createCalendar(t.app, t.admin, resource.Id);
  const a = await call(t, 'GET', `${CAL}/${created.Id}`);
  assert.equal(a.status, 200);
  assert.equal(a.body.CoworkerId, null);
  assert.equal(a.body.CoworkerFullName, null);
});

test('get one of an unknown id is 404 "CoworkerMsOfficeCalendar not found."', async (ctx) => {
  const t = await testApp(ctx);
  const a = await call(t, 'GET', `${CAL}/4242`);
  assertFailure(a, 404, 'CoworkerMsOfficeCalendar not found.');
});

test('get one with a non-numeric id is 400 on Id, never 500', async (ctx) => {
  const t = await testApp(ctx);
  for (const id of ['abc', '0', '-3', '1.5']) {
    const a = await call(t, 'GET', `${CAL}/${id}`);
    assertValidation(a, ['Id']);
  }
});

test('PUT on the collection with Id in the body replaces the writable fields', async (ctx) => {
  const t = await testApp(ctx);
  const r1 = await createResource(t.app, t.admin);
  const r2 = await createResource(t.app, t.admin);
  const coworker = await createCoworker(t.app, t.admin, { FullName: 'Katherine Johnson' });
  const created = await createCalendar(t.app, t.admin, r1.Id, { CoworkerId: coworker.Id });
  t.clock.advance(5); // the update's UpdatedOn is later than the create's
  const a = await call(t, 'PUT', CAL, {
    Id: created.Id,
    ResourceId: r2.Id,
    CoworkerId: coworker.Id,
    Name: 'Renamed',
    SubscriptionId: 'sub-new',
    CalendarId: 'cal-new',
    SubscriptionExpireDate: '2031-05-01T08:00:00Z',
    SystemId: 'ext-1',
  });
  assert.equal(a.status, 200, a.raw);
  assert.deepEqual(Object.keys(a.body), ENVELOPE_KEYS);
  assert.equal(a.body.Status, 200);
  assert.equal(a.body.Message, 'CoworkerMsOfficeCalendar was successfully updated.');
  assert.deepEqual(a.body.Value, { Id: created.Id });
  assert.equal(a.body.Errors, null);
  assert.equal(a.body.WasSuccessful, true);
  assert.equal(a.body.UpdatedBy, ADMIN_EMAIL);
  assert.match(a.body.UpdatedOn, ISO_Z);

  const read = (await call(t, 'GET', `${CAL}/${created.Id}`)).body;
  assert.equal(read.ResourceId, r2.Id);
  assert.equal(read.CoworkerId, coworker.Id);
  assert.equal(read.Name, 'Renamed');
  assert.equal(read.ToStringText, 'Renamed');
  assert.equal(read.SubscriptionId, 'sub-new');
  assert.equal(read.CalendarId, 'cal-new');
  assert.equal(Date.parse(read.SubscriptionExpireDate), Date.parse('2031-05-01T08:00:00Z'));
  assert.equal(read.SystemId, 'ext-1');
  assert.equal(read.IsNew, false);
  assert.notEqual(read.UpdatedOn, created.UpdatedOn);
  assert.ok(Date.parse(read.UpdatedOn) > Date.parse(created.UpdatedOn));
  assert.equal(read.UpdatedOn, a.body.UpdatedOn);
  assert.equal(read.CreatedOn, created.CreatedOn);
  assert.equal(read.UniqueId, created.UniqueId);
});

test('PUT is a full replacement: an omitted CoworkerId or SystemId is cleared', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const coworker = await createCoworker(t.app, t.admin);
  const created = await createCalendar(t.app, t.admin, resource.Id, { CoworkerId: coworker.Id, SystemId: 'ext' });
  assert.equal(created.CoworkerId, coworker.Id);
  const a = await call(t, 'PUT', CAL, { ...calendarBody(resource.Id), Id: created.Id });
  assert.equal(a.status, 200, a.raw);
  const read = (await call(t, 'GET', `${CAL}/${created.Id}`)).body;
  assert.equal(read.CoworkerId, null);
  assert.equal(read.CoworkerFullName, null);
  assert.equal(read.SystemId, null);
});

test('PUT /{id} is accepted with no Id in the body or the same Id', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const created = await createCalendar(t.app, t.admin, resource.Id);
  const noId = await call(t, 'PUT', `${CAL}/${created.Id}`, calendarBody(resource.Id, { Name: 'From path' }));
  assert.equal(noId.status, 200, noId.raw);
  assert.deepEqual(noId.body.Value, { Id: created.Id });
  assert.equal((await call(t, 'GET', `${CAL}/${created.Id}`)).body.Name, 'From path');

  const sameId = await call(t, 'PUT', `${CAL}/${created.Id}`, { ...calendarBody(resource.Id, { Name: 'Same id' }), Id: created.Id });
  assert.equal(sameId.status, 200, sameId.raw);
  const sameIdString = await call(t, 'PUT', `${CAL}/${created.Id}`, { ...calendarBody(resource.Id, { Name: 'Same id string' }), Id: String(created.Id) });
  assert.equal(sameIdString.status, 200, sameIdString.raw);
  const nullId = await call(t, 'PUT', `${CAL}/${created.Id}`, { ...calendarBody(resource.Id, { Name: 'Null id' }), Id: null });
  assert.equal(nullId.status, 200, nullId.raw);
  const read = (await call(t, 'GET', `${CAL}/${created.Id}`)).body;
  assert.equal(read.Name, 'Null id');
  assert.equal(read.IsNew, false);
});

test('PUT /{id} with a different Id in the body is 400 on Id and changes nothing', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const a = await createCalendar(t.app, t.admin, resource.Id);
  const b = await createCalendar(t.app, t.admin, resource.Id);
  const res = await call(t, 'PUT', `${CAL}/${a.Id}`, { ...calendarBody(resource.Id, { Name: 'Hijack' }), Id: b.Id });
  const errors = assertValidation(res, ['Id']);
  assert.equal(errors.get('Id')!.AttemptedValue, b.Id);
  assert.deepEqual((await call(t, 'GET', `${CAL}/${a.Id}`)).body, a);
  assert.deepEqual((await call(t, 'GET', `${CAL}/${b.Id}`)).body, b);
});

test('PUT on the collection without Id is 400 on Id', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const created = await createCalendar(t.app, t.admin, resource.Id);
  for (const extra of [{}, { Id: null }, { Id: '' }]) {
    const res = await call(t, 'PUT', CAL, { ...calendarBody(resource.Id), ...extra });
    const errors = assertValidation(res, ['Id']);
    assert.equal(errors.get('Id')!.Message, 'is a required field');
  }
  assert.deepEqual((await call(t, 'GET', `${CAL}/${created.Id}`)).body, created);
});

test('PUT with an unknown Id and a valid body is 404', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const onCollection = await call(t, 'PUT', CAL, { ...calendarBody(resource.Id), Id: 999 });
  assertFailure(onCollection, 404, 'CoworkerMsOfficeCalendar not found.');
  const onPath = await call(t, 'PUT', `${CAL}/999`, calendarBody(resource.Id));
  assertFailure(onPath, 404, 'CoworkerMsOfficeCalendar not found.');
  assert.equal(await countRows(t, 'coworker_ms_office_calendars'), 0);
});

test('PUT with an unknown Id and an invalid body is 400 (validation comes first)', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const { Name: _omit, ...noName } = calendarBody(resource.Id);
  const res = await call(t, 'PUT', CAL, { ...noName, Id: 999 });
  assertValidation(res, ['Name']);
  const unknownResource = await call(t, 'PUT', CAL, { ...calendarBody(resource.Id + 100), Id: 999 });
  assertValidation(unknownResource, ['ResourceId']);
});

test('delete answers {Id}; the record is gone afterwards (404) and others stay', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const a = await createCalendar(t.app, t.admin, resource.Id);
  const b = await createCalendar(t.app, t.admin, resource.Id);
  const res = await call(t, 'DELETE', `${CAL}/${a.Id}`);
  assert.equal(res.status, 200, res.raw);
  assert.deepEqual(Object.keys(res.body), ENVELOPE_KEYS);
  assert.equal(res.body.Status, 200);
  assert.equal(res.body.Message, 'CoworkerMsOfficeCalendar was successfully deleted.');
  assert.deepEqual(res.body.Value, { Id: a.Id });
  assert.equal(res.body.Errors, null);
  assert.equal(res.body.WasSuccessful, true);
  assert.equal(res.body.UpdatedBy, ADMIN_EMAIL);
  assert.match(res.body.UpdatedOn, ISO_Z);

  const gone = await call(t, 'GET', `${CAL}/${a.Id}`);
  assertFailure(gone, 404, 'CoworkerMsOfficeCalendar not found.');
  assert.equal((await call(t, 'GET', `${CAL}/${b.Id}`)).status, 200);
  assert.equal(await countRows(t, 'coworker_ms_office_calendars'), 1);

  const again = await call(t, 'DELETE', `${CAL}/${a.Id}`);
  assertFailure(again, 404, 'CoworkerMsOfficeCalendar not found.');
});

test('a deleted record no longer shows in lists or batches', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const a = await createCalendar(t.app, t.admin, resource.Id);
  const b = await createCalendar(t.app, t.admin, resource.Id);
  assert.equal((await call(t, 'GET', CAL)).body.TotalItems, 2);
  assert.equal((await call(t, 'DELETE', `${CAL}/${a.Id}`)).status, 200);
  const list = await call(t, 'GET', CAL);
  assert.equal(list.body.TotalItems, 1);
  assert.deepEqual(list.body.Records.map((r: any) => r.Id), [b.Id]);
  const batch = await call(t, 'GET', `${CAL}?id=[${a.Id},${b.Id}]`);
  assert.deepEqual(batch.body.map((r: any) => r.Id), [b.Id]);
});

test('a request without Accept gets JSON; one with Accept: application/json too', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const created = await createCalendar(t.app, t.admin, resource.Id);
  for (const headers of [{}, { accept: 'application/json' }, { accept: '*/*' }] as Record<string, string>[]) {
    const a = await call(t, 'GET', `${CAL}/${created.Id}`, undefined, { headers });
    assert.equal(a.status, 200);
    assert.match(String(a.headers['content-type']), /^application\/json/);
    assert.equal(a.body.Id, created.Id);
  }
});
