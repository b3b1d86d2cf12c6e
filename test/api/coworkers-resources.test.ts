/** The related entities: Coworkers and Resources, with the same conventions, and deletes refused while referenced. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_EMAIL, testApp } from '../helpers/app.js';
import { createCalendar, createCoworker, createResource } from '../helpers/factories.js';
import { CAL, COWORKERS, ENVELOPE_KEYS, FORM, assertFailure, assertValidation, call, countRows, form } from '../helpers/api.js';

describe('Coworkers', () => {
  test('create answers the envelope with the full record; get one answers the bare record', async (ctx) => {
    const t = await testApp(ctx);
    const a = await call(t, 'POST', COWORKERS, { FullName: 'Ada Lovelace', Email: 'ada@example.test', Id: 0, TypeName: 'Coworker' });
    assert.equal(a.status, 200, a.raw);
    assert.deepEqual(Object.keys(a.body), ENVELOPE_KEYS);
    assert.equal(a.body.Message, 'Coworker was successfully created.');
    assert.equal(a.body.Errors, null);
    assert.equal(a.body.WasSuccessful, true);
    assert.equal(a.body.UpdatedBy, ADMIN_EMAIL);
    const v = a.body.Value;
    assert.equal(v.FullName, 'Ada Lovelace');
    assert.equal(v.Email, 'ada@example.test');
    assert.equal(v.ToStringText, 'Ada Lovelace');
    assert.equal(v.IsNew, true);
    assert.equal(v.LocalizationDetails, null);
    assert.equal(v.CustomFields, null);
    assert.ok(v.Id > 0);
    const one = await call(t, 'GET', `${COWORKERS}/${v.Id}`);
    assert.equal(one.status, 200);
    assert.deepEqual(one.body, v);
    assertFailure(await call(t, 'GET', `${COWORKERS}/9999`), 404, 'Coworker not found.');
  });

  test('FullName and Email are required; Email must be valid', async (ctx) => {
    const t = await testApp(ctx);
    let e = assertValidation(await call(t, 'POST', COWORKERS, {}), ['FullName', 'Email']);
    assert.equal(e.get('FullName')!.Message, 'is a required field');
    assert.equal(e.get('Email')!.Message, 'is a required field');
    e = assertValidation(await call(t, 'POST', COWORKERS, { FullName: '  ', Email: 'x@y.test' }), ['FullName']);
    assert.equal(e.get('FullName')!.Message, 'is a required field');
    for (const bad of ['not-an-email', 'a@', '@b.test', 'a b@c.test', '']) {
      e = assertValidation(await call(t, 'POST', COWORKERS, { FullName: 'X', Email: bad }), ['Email']);
      assert.equal(e.get('Email')!.AttemptedValue, bad);
    }
    assertValidation(await call(t, 'POST', COWORKERS, { FullName: 'x'.repeat(201), Email: 'long@y.test' }), ['FullName']);
    assert.equal(await countRows(t, 'coworkers'), 0);
  });

  test('Email is unique (case-insensitively) on create and update; a coworker may keep its own Email', async (ctx) => {
    const t = await testApp(ctx);
    const a = await createCoworker(t.app, t.admin, { Email: 'same@example.test' });
    const b = await createCoworker(t.app, t.admin, { Email: 'other@example.test' });
    let e = assertValidation(await call(t, 'POST', COWORKERS, { FullName: 'Dup', Email: 'same@example.test' }), ['Email']);
    assert.match(e.get('Email')!.Message, /already used/);
    assertValidation(await call(t, 'POST', COWORKERS, { FullName: 'Dup', Email: 'SAME@Example.TEST' }), ['Email']);
    assert.equal(await countRows(t, 'coworkers'), 2);

    e = assertValidation(await call(t, 'PUT', COWORKERS, { Id: b.Id, FullName: 'B', Email: 'Same@example.test' }), ['Email']);
    assert.equal((await call(t, 'GET', `${COWORKERS}/${b.Id}`)).body.Email, 'other@example.test');

    const keep = await call(t, 'PUT', COWORKERS, { Id: a.Id, FullName: 'Renamed A', Email: 'same@example.test' });
    assert.equal(keep.status, 200, keep.raw);
    const recase = await call(t, 'PUT', `${COWORKERS}/${a.Id}`, { FullName: 'Renamed A', Email: 'SAME@example.test' });
    assert.equal(recase.status, 200, recase.raw);
    assert.equal((await call(t, 'GET', `${COWORKERS}/${a.Id}`)).body.Email, 'SAME@example.test');
  });

  test('update (collection and /{id}, JSON and form) and delete', async (ctx) => {
    const t = await testApp(ctx);
    const c = await createCoworker(t.app, t.admin);
    const u = await call(t, 'PUT', COWORKERS, { Id: c.Id, FullName: 'New Name', Email: 'new@example.test' });
    assert.equal(u.status, 200, u.raw);
    assert.equal(u.body.Message, 'Coworker was successfully updated.');
    assert.deepEqual(u.body.Value, { Id: c.Id });
    let read = (await call(t, 'GET', `${COWORKERS}/${c.Id}`)).body;
    assert.equal(read.FullName, 'New Name');
    assert.equal(read.IsNew, false);

    const f = await call(t, 'PUT', `${COWORKERS}/${c.Id}`, form({ FullName: 'Form Name', Email: 'form@example.test' }), { headers: FORM });
    assert.equal(f.status, 200, f.raw);
    read = (await call(t, 'GET', `${COWORKERS}/${c.Id}`)).body;
    assert.equal(read.FullName, 'Form Name');

    assertFailure(await call(t, 'PUT', COWORKERS, { Id: 9999, FullName: 'X', Email: 'x@example.test' }), 404, 'Coworker not found.');
    assertValidation(await call(t, 'PUT', COWORKERS, { FullName: 'X', Email: 'x@example.test' }), ['Id']);
    assertValidation(await call(t, 'PUT', `${COWORKERS}/${c.Id}`, { Id: c.Id + 1, FullName: 'X', Email: 'x@example.test' }), ['Id']);

    const d = await call(t, 'DELETE', `${COWORKERS}/${c.Id}`);
    assert.equal(d.status, 200, d.raw);
    assert.equal(d.body.Message, 'Coworker was successfully deleted.');
    assert.deepEqual(d.body.Value, { Id: c.Id });
    assertFailure(await call(t, 'GET', `${COWORKERS}/${c.Id}`), 404, 'Coworker not found.');
  });

  test('list, Coworker_FullName filter, batch', async (ctx) => {
    const t = await testApp(ctx);
    const ada = await createCoworker(t.app, t.admin, { FullName: 'Ada Lovelace' });
    const grace = await createCoworker(t.app, t.admin, { FullName: 'Grace Hopper' });
    const alan = await createCoworker(t.app, t.admin, { FullName: 'Alan Turing' });
    const list = await call(t, 'GET', COWORKERS);
    assert.equal(list.status, 200);
    assert.equal(list.body.TotalItems, 3);
    assert.deepEqual(list.body.Records.map((r: any) => r.Id), [ada.Id, grace.Id, alan.Id]);
    assert.equal(list.body.CurrentOrderField, 'Id');

    const filtered = await call(t, 'GET', `${COWORKERS}?Coworker_FullName=LOVE`);
    assert.deepEqual(filtered.body.Records.map((r: any) => r.Id), [ada.Id]);
    const a = await call(t, 'GET', `${COWORKERS}?coworker_fullname=a&orderBy=FullName`);
    assert.deepEqual(a.body.Records.map((r: any) => r.FullName), ['Ada Lovelace', 'Alan Turing', 'Grace Hopper']);
    const byId = await call(t, 'GET', `${COWORKERS}?Id=${grace.Id}`);
    assert.deepEqual(byId.body.Records.map((r: any) => r.Id), [grace.Id]);

    const batch = await call(t, 'GET', `${COWORKERS}?id=[${alan.Id},${ada.Id},999]`);
    assert.deepEqual(batch.body.map((r: any) => r.Id), [alan.Id, ada.Id]);
    assertValidation(await call(t, 'GET', `${COWORKERS}?orderBy=Nope`), ['orderBy']);
  });

  test('deleting a coworker that calendar records reference is 400 on Id naming them; nothing is deleted', async (ctx) => {
    const t = await testApp(ctx);
    const r = await createResource(t.app, t.admin);
    const c = await createCoworker(t.app, t.admin);
    const cal1 = await createCalendar(t.app, t.admin, r.Id, { CoworkerId: c.Id });
    await createCalendar(t.app, t.admin, r.Id);
    const cal3 = await createCalendar(t.app, t.admin, r.Id, { CoworkerId: c.Id });
    const d = await call(t, 'DELETE', `${COWORKERS}/${c.Id}`);
    const e = assertValidation(d, ['Id']);
    const msg = e.get('Id')!.Message;
    assert.match(msg, new RegExp(`CoworkerMsOfficeCalendar ${cal1.Id}, ${cal3.Id};`));
    assert.equal(e.get('Id')!.AttemptedValue, c.Id);
    assert.equal(await countRows(t, 'coworkers'), 1);
    assert.equal(await countRows(t, 'coworker_ms_office_calendars'), 3);
    assert.equal((await call(t, 'GET', `${CAL}/${cal1.Id}`)).body.CoworkerId, c.Id);

    // Once no record references it, the delete goes through.
    assert.equal((await call(t, 'DELETE', `${CAL}/${cal1.Id}`)).status, 200);
    const still = assertValidation(await call(t, 'DELETE', `${COWORKERS}/${c.Id}`), ['Id']);
    assert.match(still.get('Id')!.Message, new RegExp(`CoworkerMsOfficeCalendar ${cal3.Id};`));
    assert.equal((await call(t, 'DELETE', `${CAL}/${cal3.Id}`)).status, 200);
    assert.equal((await call(t, 'DELETE', `${COWORKERS}/${c.Id}`)).status, 200);
    assert.equal(await countRows(t, 'coworkers'), 0);
  });

  test('deleting a coworker that a user references is 400 on Id naming the user', async (ctx) => {
    const t = await testApp(ctx);
    const c = await createCoworker(t.app, t.admin);
    const u = await call(t, 'POST', '/api/sys/users', { Email: 'member@example.test', Password: 'long-enough-pw', CoworkerId: c.Id });
    assert.equal(u.status, 200, u.raw);
    const e = assertValidation(await call(t, 'DELETE', `${COWORKERS}/${c.Id}`), ['Id']);
    assert.match(e.get('Id')!.Message, new RegExp(`User ${u.body.Value.Id}`));
    assert.equal(await countRows(t, 'coworkers'), 1);
  });
});

describe('Resources', () => {
  const RES = '/api/spaces/resources';

  test('create, get one, update, delete', async (ctx) => {
    const t = await testApp(ctx);
    const a = await call(t, 'POST', RES, { Name: 'Room 1', CalendarEmail: 'room1@space.test' });
    assert.equal(a.status, 200, a.raw);
    assert.deepEqual(Object.keys(a.body), ENVELOPE_KEYS);
    assert.equal(a.body.Message, 'Resource was successfully created.');
    assert.equal(a.body.Errors, null);
    const v = a.body.Value;
    assert.equal(v.Name, 'Room 1');
    assert.equal(v.CalendarEmail, 'room1@space.test');
    assert.equal(v.ToStringText, 'Room 1');
    assert.equal(v.IsNew, true);
    assert.deepEqual((await call(t, 'GET', `${RES}/${v.Id}`)).body, v);

    const u = await call(t, 'PUT', RES, { Id: v.Id, Name: 'Room One' });
    assert.equal(u.status, 200, u.raw);
    assert.equal(u.body.Message, 'Resource was successfully updated.');
    let read = (await call(t, 'GET', `${RES}/${v.Id}`)).body;
    assert.equal(read.Name, 'Room One');
    assert.equal(read.CalendarEmail, null, 'PUT replaces: an omitted CalendarEmail is cleared');
    assert.equal(read.IsNew, false);

    const f = await call(t, 'PUT', `${RES}/${v.Id}`, form({ Name: 'Form Room', CalendarEmail: 'form@space.test' }), { headers: FORM });
    assert.equal(f.status, 200, f.raw);
    read = (await call(t, 'GET', `${RES}/${v.Id}`)).body;
    assert.equal(read.Name, 'Form Room');
    assert.equal(read.CalendarEmail, 'form@space.test');

    assertFailure(await call(t, 'PUT', RES, { Id: 9999, Name: 'X' }), 404, 'Resource not found.');
    const d = await call(t, 'DELETE', `${RES}/${v.Id}`);
    assert.equal(d.status, 200, d.raw);
    assert.equal(d.body.Message, 'Resource was successfully deleted.');
    assertFailure(await call(t, 'GET', `${RES}/${v.Id}`), 404, 'Resource not found.');
  });

  test('Name is required; CalendarEmail is optional (absent, null or empty) but must be valid when given', async (ctx) => {
    const t = await testApp(ctx);
    let e = assertValidation(await call(t, 'POST', RES, {}), ['Name']);
    assert.equal(e.get('Name')!.Message, 'is a required field');
    assertValidation(await call(t, 'POST', RES, { Name: ' ' }), ['Name']);
    assertValidation(await call(t, 'POST', RES, { Name: 5 }), ['Name']);
    e = assertValidation(await call(t, 'POST', RES, { Name: 'Room', CalendarEmail: 'nope' }), ['CalendarEmail']);
    assert.equal(e.get('CalendarEmail')!.AttemptedValue, 'nope');
    assert.equal(await countRows(t, 'resources'), 0);
    for (const extra of [{}, { CalendarEmail: null }, { CalendarEmail: '' }]) {
      const a = await call(t, 'POST', RES, { Name: 'Desk', ...extra });
      assert.equal(a.status, 200, a.raw);
      assert.equal(a.body.Value.CalendarEmail, null);
    }
  });

  test('list, Resource_Name filter, batch', async (ctx) => {
    const t = await testApp(ctx);
    const a = await createResource(t.app, t.admin, { Name: 'Board Room' });
    const b = await createResource(t.app, t.admin, { Name: 'Hot desk 1' });
    const c = await createResource(t.app, t.admin, { Name: 'Phone booth' });
    const list = (await call(t, 'GET', RES)).body;
    assert.equal(list.TotalItems, 3);
    assert.deepEqual(list.Records.map((r: any) => r.Id), [a.Id, b.Id, c.Id]);
    const room = (await call(t, 'GET', `${RES}?Resource_Name=ROOM`)).body;
    assert.deepEqual(room.Records.map((r: any) => r.Id), [a.Id]);
    const o = (await call(t, 'GET', `${RES}?resource_name=o&orderBy=name&dir=desc`)).body;
    assert.deepEqual(o.Records.map((r: any) => r.Name), ['Phone booth', 'Hot desk 1', 'Board Room']);
    const batch = await call(t, 'GET', `${RES}?id=[${c.Id},${a.Id}]`);
    assert.deepEqual(batch.body.map((r: any) => r.Id), [c.Id, a.Id]);
    assert.deepEqual((await call(t, 'GET', `${RES}?id=[]`)).body, []);
  });

  test('deleting a resource that calendar records book is 400 on Id naming them; nothing is deleted', async (ctx) => {
    const t = await testApp(ctx);
    const r = await createResource(t.app, t.admin);
    const other = await createResource(t.app, t.admin);
    const cal1 = await createCalendar(t.app, t.admin, r.Id);
    const cal2 = await createCalendar(t.app, t.admin, r.Id);
    await createCalendar(t.app, t.admin, other.Id);
    const e = assertValidation(await call(t, 'DELETE', `/api/spaces/resources/${r.Id}`), ['Id']);
    const msg = e.get('Id')!.Message;
    assert.match(msg, new RegExp(`CoworkerMsOfficeCalendar ${cal1.Id}, ${cal2.Id}\\b`));
    assert.equal(await countRows(t, 'resources'), 2);
    assert.equal(await countRows(t, 'coworker_ms_office_calendars'), 3);

    // Moving the records to another resource frees it.
    for (const cal of [cal1, cal2]) {
      const { Id, ...rest } = cal;
      const put = await call(t, 'PUT', CAL, { ...rest, Id, ResourceId: other.Id });
      assert.equal(put.status, 200, put.raw);
    }
    assert.equal((await call(t, 'DELETE', `/api/spaces/resources/${r.Id}`)).status, 200);
    assert.equal(await countRows(t, 'resources'), 1);
  });

  test('more than ten holders are summarised', async (ctx) => {
    const t = await testApp(ctx);
    const r = await createResource(t.app, t.admin);
    const made: number[] = [];
    for (let i = 0; i < 12; i++) made.push((await createCalendar(t.app, t.admin, r.Id)).Id);
    const e = assertValidation(await call(t, 'DELETE', `/api/spaces/resources/${r.Id}`), ['Id']);
    const msg = e.get('Id')!.Message;
    assert.match(msg, new RegExp(`CoworkerMsOfficeCalendar ${made.slice(0, 10).join(', ')} and more`));
    assert.equal(await countRows(t, 'resources'), 1);
  });
});
