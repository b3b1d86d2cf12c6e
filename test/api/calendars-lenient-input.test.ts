/** Lenient input: what real clients send and the API accepts (and what it then stores). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_EMAIL, testApp } from '../helpers/app.js';
import { calendarBody, createCalendar, createCoworker, createResource } from '../helpers/factories.js';
import { CAL, FORM, call, countRows, form } from '../helpers/api.js';

test('Id 0 or null on create is ignored; the server assigns the Id', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const ids: number[] = [];
  for (const Id of [0, null, 777, '0']) {
    const a = await call(t, 'POST', CAL, { ...calendarBody(resource.Id), Id });
    assert.equal(a.status, 200, `Id ${JSON.stringify(Id)}: ${a.raw}`);
    ids.push(a.body.Value.Id);
  }
  assert.ok(ids.every((id) => Number.isInteger(id) && id > 0));
  assert.equal(new Set(ids).size, 4);
  assert.ok(!ids.includes(777), 'a sent Id is not used');
  assert.equal(await countRows(t, 'coworker_ms_office_calendars'), 4);
});

test('unknown extra fields (TypeName and others) are ignored on create and update', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const extras = { TypeName: 'coworkermsofficecalendar', Whatever: { nested: [1, 2] }, Another: null };
  const a = await call(t, 'POST', CAL, { ...calendarBody(resource.Id, { Name: 'With extras' }), ...extras });
  assert.equal(a.status, 200, a.raw);
  assert.equal(a.body.Value.TypeName, undefined);
  assert.equal(a.body.Value.Whatever, undefined);
  const id = a.body.Value.Id;
  const u = await call(t, 'PUT', CAL, { ...calendarBody(resource.Id, { Name: 'Updated with extras' }), ...extras, Id: id });
  assert.equal(u.status, 200, u.raw);
  const read = (await call(t, 'GET', `${CAL}/${id}`)).body;
  assert.equal(read.Name, 'Updated with extras');
  assert.equal(read.TypeName, undefined);
});

test('read-only fields echoed on PUT are ignored', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const coworker = await createCoworker(t.app, t.admin, { FullName: 'Real Name' });
  const created = await createCalendar(t.app, t.admin, resource.Id, { CoworkerId: coworker.Id });
  t.clock.advance(5); // the update's UpdatedOn is later than the create's
  // The usual client pattern: GET the record, change a field, PUT it all back, plus some invented read-only values.
  const echoed = {
    ...created,
    Name: 'Changed name',
    UniqueId: '00000000-0000-4000-8000-000000000000',
    CreatedOn: '2001-01-01T00:00:00Z',
    UpdatedOn: '2001-01-01T00:00:00Z',
    UpdatedBy: 'someone@else.test',
    IsNew: true,
    CoworkerFullName: 'Fake Name',
    ToStringText: 'Fake text',
    LocalizationDetails: { x: 1 },
    CustomFields: [{ Name: 'x' }],
  };
  const a = await call(t, 'PUT', CAL, echoed);
  assert.equal(a.status, 200, a.raw);
  const read = (await call(t, 'GET', `${CAL}/${created.Id}`)).body;
  assert.equal(read.Name, 'Changed name');
  assert.equal(read.ToStringText, 'Changed name');
  assert.equal(read.UniqueId, created.UniqueId);
  assert.equal(read.CreatedOn, created.CreatedOn);
  assert.notEqual(read.UpdatedOn, '2001-01-01T00:00:00Z');
  assert.ok(Date.parse(read.UpdatedOn) > Date.parse(created.UpdatedOn));
  assert.equal(read.UpdatedBy, ADMIN_EMAIL);
  assert.equal(read.IsNew, false);
  assert.equal(read.CoworkerFullName, 'Real Name');
  assert.equal(read.LocalizationDetails, null);
  assert.equal(read.CustomFields, null);
});

test('read-only fields sent on create are ignored', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const a = await call(t, 'POST', CAL, {
    ...calendarBody(resource.Id, { Name: 'Real' }),
    UniqueId: 'not-a-uuid',
    CreatedOn: '2001-01-01T00:00:00Z',
    UpdatedBy: 'x@y.test',
    IsNew: false,
    ToStringText: 'Fake',
    CoworkerFullName: 'Nobody',
  });
  assert.equal(a.status, 200, a.raw);
  const v = a.body.Value;
  assert.notEqual(v.UniqueId, 'not-a-uuid');
  assert.notEqual(v.CreatedOn, '2001-01-01T00:00:00Z');
  assert.equal(v.UpdatedBy, ADMIN_EMAIL);
  assert.equal(v.IsNew, true);
  assert.equal(v.ToStringText, 'Real');
  assert.equal(v.CoworkerFullName, null);
});

test('integer fields accept numeric strings ("5", " 5 ")', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const coworker = await createCoworker(t.app, t.admin);
  const a = await call(t, 'POST', CAL, calendarBody(resource.Id, { ResourceId: String(resource.Id), CoworkerId: ` ${coworker.Id} ` }));
  assert.equal(a.status, 200, a.raw);
  assert.equal(a.body.Value.ResourceId, resource.Id);
  assert.equal(a.body.Value.CoworkerId, coworker.Id);
  assert.equal(typeof a.body.Value.ResourceId, 'number');
  const u = await call(t, 'PUT', CAL, { ...calendarBody(resource.Id), ResourceId: ` ${resource.Id}`, Id: String(a.body.Value.Id) });
  assert.equal(u.status, 200, u.raw);
  assert.deepEqual(u.body.Value, { Id: a.body.Value.Id });
});

test('CoworkerId 0, null, "" or "0" means no coworker', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  for (const CoworkerId of [0, null, '', '0']) {
    const a = await call(t, 'POST', CAL, calendarBody(resource.Id, { CoworkerId }));
    assert.equal(a.status, 200, `CoworkerId ${JSON.stringify(CoworkerId)}: ${a.raw}`);
    assert.equal(a.body.Value.CoworkerId, null);
    assert.equal(a.body.Value.CoworkerFullName, null);
  }
});

test('a form-encoded body creates a record', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const coworker = await createCoworker(t.app, t.admin, { FullName: 'Form Filler' });
  const a = await call(t, 'POST', CAL, form({
    ResourceId: resource.Id,
    CoworkerId: coworker.Id,
    Name: 'Form & friends = 100%',
    SubscriptionId: 'sub-form',
    CalendarId: 'AAMkAD+/=',
    SubscriptionExpireDate: '2030-03-04T05:06:07Z',
    TypeName: 'ignored',
  }), { headers: FORM });
  assert.equal(a.status, 200, a.raw);
  const v = a.body.Value;
  assert.equal(v.ResourceId, resource.Id);
  assert.equal(v.CoworkerId, coworker.Id);
  assert.equal(v.CoworkerFullName, 'Form Filler');
  assert.equal(v.Name, 'Form & friends = 100%');
  assert.equal(v.CalendarId, 'AAMkAD+/=');
  assert.equal(Date.parse(v.SubscriptionExpireDate), Date.parse('2030-03-04T05:06:07Z'));
});

test('a form-encoded body with an empty CoworkerId means no coworker', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const a = await call(t, 'POST', CAL, form({ ...calendarBody(resource.Id), CoworkerId: '' } as Record<string, string | number>), {
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
  });
  assert.equal(a.status, 200, a.raw);
  assert.equal(a.body.Value.CoworkerId, null);
});

test('a form-encoded body updates a record (collection PUT and PUT /{id})', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const created = await createCalendar(t.app, t.admin, resource.Id);
  const a = await call(t, 'PUT', CAL, form({ ...calendarBody(resource.Id, { Name: 'Form update' }), Id: created.Id } as Record<string, string | number>), { headers: FORM });
  assert.equal(a.status, 200, a.raw);
  assert.deepEqual(a.body.Value, { Id: created.Id });
  let read = (await call(t, 'GET', `${CAL}/${created.Id}`)).body;
  assert.equal(read.Name, 'Form update');
  assert.equal(read.IsNew, false);

  const b = await call(t, 'PUT', `${CAL}/${created.Id}`, form(calendarBody(resource.Id, { Name: 'Form update 2' }) as Record<string, string | number>), { headers: FORM });
  assert.equal(b.status, 200, b.raw);
  read = (await call(t, 'GET', `${CAL}/${created.Id}`)).body;
  assert.equal(read.Name, 'Form update 2');
});

test('a form-encoded body is validated like JSON (missing and non-integer fields)', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const { Name: _omit, ...noName } = calendarBody(resource.Id);
  const a = await call(t, 'POST', CAL, form({ ...noName, ResourceId: 'abc' } as Record<string, string | number>), { headers: FORM });
  assert.equal(a.status, 400, a.raw);
  assert.deepEqual(a.body.Errors.map((e: any) => e.PropertyName).sort(), ['Name', 'ResourceId']);
  assert.equal(await countRows(t, 'coworker_ms_office_calendars'), 0);
});

test('a body sent without Content-Type is read as JSON', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const a = await call(t, 'POST', CAL, JSON.stringify(calendarBody(resource.Id, { Name: 'No content type' })));
  assert.equal(a.status, 200, a.raw);
  assert.equal(a.body.Value.Name, 'No content type');
  const u = await call(t, 'PUT', CAL, JSON.stringify({ ...calendarBody(resource.Id, { Name: 'Still none' }), Id: a.body.Value.Id }));
  assert.equal(u.status, 200, u.raw);
  assert.equal((await call(t, 'GET', `${CAL}/${a.body.Value.Id}`)).body.Name, 'Still none');
});

test('application/json with a charset is accepted', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const a = await call(t, 'POST', CAL, JSON.stringify(calendarBody(resource.Id)), { headers: { 'content-type': 'application/json; charset=utf-8' } });
  assert.equal(a.status, 200, a.raw);
});

test('dates without a zone are read as UTC and answered with Z; offsets are converted', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const cases: [string, string][] = [
    ['2030-01-06T10:30:00', '2030-01-06T10:30:00.000Z'],
    ['2030-01-06T10:30', '2030-01-06T10:30:00.000Z'],
    ['2030-01-06', '2030-01-06T00:00:00.000Z'],
    ['2030-01-06 10:30:15.250', '2030-01-06T10:30:15.250Z'],
    ['2030-01-06T12:30:00+02:00', '2030-01-06T10:30:00.000Z'],
    ['2030-01-06T05:30:00-05:00', '2030-01-06T10:30:00.000Z'],
    ['2030-01-06T10:30:00z', '2030-01-06T10:30:00.000Z'],
  ];
  for (const [sent, expected] of cases) {
    const a = await call(t, 'POST', CAL, calendarBody(resource.Id, { SubscriptionExpireDate: sent }));
    assert.equal(a.status, 200, `${sent}: ${a.raw}`);
    const out = a.body.Value.SubscriptionExpireDate;
    assert.match(out, /Z$/, `${sent} -> ${out}`);
    assert.equal(Date.parse(out), Date.parse(expected), `${sent} -> ${out}`);
    const read = (await call(t, 'GET', `${CAL}/${a.body.Value.Id}`)).body;
    assert.equal(read.SubscriptionExpireDate, out);
  }
});

test('values are stored as sent, not trimmed', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const body = calendarBody(resource.Id, { Name: '  Padded name  ', SubscriptionId: ' sub ', CalendarId: '\tcal\n', SystemId: ' sys ' });
  const a = await call(t, 'POST', CAL, body);
  assert.equal(a.status, 200, a.raw);
  const read = (await call(t, 'GET', `${CAL}/${a.body.Value.Id}`)).body;
  assert.equal(read.Name, '  Padded name  ');
  assert.equal(read.ToStringText, '  Padded name  ');
  assert.equal(read.SubscriptionId, ' sub ');
  assert.equal(read.CalendarId, '\tcal\n');
  assert.equal(read.SystemId, ' sys ');
});

test('unicode and exactly-at-limit strings are stored intact', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const name = 'N'.repeat(200);
  const a = await call(t, 'POST', CAL, calendarBody(resource.Id, { Name: name, SubscriptionId: 's'.repeat(500), CalendarId: 'c'.repeat(500), SystemId: 'y'.repeat(500) }));
  assert.equal(a.status, 200, a.raw);
  const read = (await call(t, 'GET', `${CAL}/${a.body.Value.Id}`)).body;
  assert.equal(read.Name, name);
  assert.equal(read.SubscriptionId.length, 500);
  const unicode = 'Ünïcödé 日本語 📅 ✓';
  const b = await call(t, 'POST', CAL, calendarBody(resource.Id, { Name: unicode }));
  assert.equal(b.status, 200, b.raw);
  assert.equal((await call(t, 'GET', `${CAL}/${b.body.Value.Id}`)).body.Name, unicode);
});
