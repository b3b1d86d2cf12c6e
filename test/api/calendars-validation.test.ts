/**
 * Validation: every failure is a 400 (or 415) in the Nexudus envelope with one Errors entry per failing property,
 * and nothing is written.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, testApp, type TestApp } from '../helpers/app.js';
import { calendarBody, createCalendar, createCoworker, createResource } from '../helpers/factories.js';
import { CAL, assertFailure, assertValidation, call, countRows } from '../helpers/api.js';

const REQUIRED = ['ResourceId', 'Name', 'SubscriptionId', 'CalendarId', 'SubscriptionExpireDate'] as const;

function without(body: Record<string, unknown>, ...keys: string[]) {
  const out = { ...body };
  for (const k of keys) delete out[k];
  return out;
}

describe('create validation', () => {
  let t: TestApp;
  let resourceId: number;
  let coworkerId: number;
  let existing: Record<string, any>;

  before(async () => {
    t = await createTestApp();
    resourceId = (await createResource(t.app, t.admin)).Id;
    coworkerId = (await createCoworker(t.app, t.admin)).Id;
    existing = await createCalendar(t.app, t.admin, resourceId);
  });
  after(() => t.close());

  /** POSTs the body, expects a 400 naming exactly these properties, and checks that nothing was written. */
  async function rejects(body: unknown, properties: (string | null)[], opts: Parameters<typeof call>[4] = {}) {
    const before = await countRows(t, 'coworker_ms_office_calendars');
    const a = await call(t, 'POST', CAL, body, opts);
    const errors = assertValidation(a, properties);
    assert.equal(await countRows(t, 'coworker_ms_office_calendars'), before, 'nothing written');
    return errors;
  }

  for (const field of REQUIRED) {
    test(`missing ${field} is 400 "is a required field"`, async () => {
      const errors = await rejects(without(calendarBody(resourceId), field), [field]);
      const e = errors.get(field)!;
      assert.equal(e.Message, 'is a required field');
      assert.equal(e.AttemptedValue, null);
    });
    test(`null ${field} is 400 "is a required field"`, async () => {
      const errors = await rejects(calendarBody(resourceId, { [field]: null }), [field]);
      assert.equal(errors.get(field)!.Message, 'is a required field');
    });
  }

  test('an empty object lists every required field, and Message joins them with "; "', async () => {
    const errors = await rejects({}, [...REQUIRED]);
    for (const f of REQUIRED) assert.equal(errors.get(f)!.Message, 'is a required field');
    const a = await call(t, 'POST', CAL, {});
    for (const f of REQUIRED) assert.ok(a.body.Message.includes(`${f}: is a required field`), a.body.Message);
    assert.equal(a.body.Message.split('; ').length, REQUIRED.length);
  });

  for (const field of ['Name', 'SubscriptionId', 'CalendarId'] as const) {
    for (const blank of ['', '   ', '\t\n']) {
      test(`${field} ${JSON.stringify(blank)} (empty after trimming) is 400 "is a required field"`, async () => {
        const errors = await rejects(calendarBody(resourceId, { [field]: blank }), [field]);
        assert.equal(errors.get(field)!.Message, 'is a required field');
        assert.equal(errors.get(field)!.AttemptedValue, blank);
      });
    }
  }

  test('whitespace-only SubscriptionExpireDate is 400', async () => {
    await rejects(calendarBody(resourceId, { SubscriptionExpireDate: '   ' }), ['SubscriptionExpireDate']);
  });

  test('Name: 123 is 400 "must be a string"', async () => {
    const errors = await rejects(calendarBody(resourceId, { Name: 123 }), ['Name']);
    assert.equal(errors.get('Name')!.Message, 'must be a string');
    assert.equal(errors.get('Name')!.AttemptedValue, 123);
  });

  for (const bad of ['abc', true, 1.5, '1.5', '', ' ', [1], { Id: 1 }, '5abc']) {
    test(`ResourceId ${JSON.stringify(bad)} is 400 "must be an integer"`, async () => {
      const errors = await rejects(calendarBody(resourceId, { ResourceId: bad }), ['ResourceId']);
      assert.equal(errors.get('ResourceId')!.Message, 'must be an integer');
      assert.deepEqual(errors.get('ResourceId')!.AttemptedValue, bad);
    });
  }

  for (const bad of ['abc', true, 2.5, [1]]) {
    test(`CoworkerId ${JSON.stringify(bad)} is 400 on CoworkerId`, async () => {
      await rejects(calendarBody(resourceId, { CoworkerId: bad }), ['CoworkerId']);
    });
  }

  test('SubscriptionId: 42 and CalendarId: false are type errors', async () => {
    const errors = await rejects(calendarBody(resourceId, { SubscriptionId: 42, CalendarId: false }), ['SubscriptionId', 'CalendarId']);
    assert.equal(errors.get('SubscriptionId')!.Message, 'must be a string');
    assert.equal(errors.get('CalendarId')!.Message, 'must be a string');
  });

  test('Name over 200 characters is 400; exactly 200 is fine', async () => {
    const errors = await rejects(calendarBody(resourceId, { Name: 'x'.repeat(201) }), ['Name']);
    assert.equal(errors.get('Name')!.Message, 'must be at most 200 characters');
    const ok = await call(t, 'POST', CAL, calendarBody(resourceId, { Name: 'x'.repeat(200) }));
    assert.equal(ok.status, 200, ok.raw);
  });

  for (const field of ['SubscriptionId', 'CalendarId', 'SystemId'] as const) {
    test(`${field} over 500 characters is 400`, async () => {
      const errors = await rejects(calendarBody(resourceId, { [field]: 'y'.repeat(501) }), [field]);
      assert.equal(errors.get(field)!.Message, 'must be at most 500 characters');
    });
  }

  for (const bad of ['2030-02-31', 'yesterday', '2030-13-01', '2030-01-06T25:00:00Z', '06/01/2030', '', 20300106, '2030-01-06T10:30:00+25:00']) {
    test(`SubscriptionExpireDate ${JSON.stringify(bad)} is 400`, async () => {
      const errors = await rejects(calendarBody(resourceId, { SubscriptionExpireDate: bad }), ['SubscriptionExpireDate']);
      const msg = errors.get('SubscriptionExpireDate')!.Message;
      if (typeof bad === 'string' && bad !== '') assert.match(msg, /not a valid date/);
    });
  }

  test('an unknown ResourceId is 400 on ResourceId', async () => {
    const errors = await rejects(calendarBody(resourceId + 1000), ['ResourceId']);
    assert.equal(errors.get('ResourceId')!.AttemptedValue, resourceId + 1000);
    assert.match(errors.get('ResourceId')!.Message, new RegExp(`Resource with Id ${resourceId + 1000}`));
  });

  test('a negative ResourceId is 400 on ResourceId', async () => {
    await rejects(calendarBody(resourceId, { ResourceId: -1 }), ['ResourceId']);
    await rejects(calendarBody(resourceId, { ResourceId: 0 }), ['ResourceId']);
  });

  test('an unknown CoworkerId is 400 on CoworkerId', async () => {
    const errors = await rejects(calendarBody(resourceId, { CoworkerId: coworkerId + 1000 }), ['CoworkerId']);
    assert.equal(errors.get('CoworkerId')!.AttemptedValue, coworkerId + 1000);
    assert.match(errors.get('CoworkerId')!.Message, /Coworker/);
  });

  test('unknown ResourceId and CoworkerId together give two entries', async () => {
    await rejects(calendarBody(resourceId + 1000, { CoworkerId: coworkerId + 1000 }), ['ResourceId', 'CoworkerId']);
  });

  test('several failing properties give one entry each', async () => {
    const errors = await rejects({ ResourceId: 'abc', Name: '', SubscriptionId: 'x'.repeat(501), SubscriptionExpireDate: 'never' }, [
      'ResourceId', 'Name', 'SubscriptionId', 'CalendarId', 'SubscriptionExpireDate',
    ]);
    assert.equal(errors.get('CalendarId')!.Message, 'is a required field');
  });

  test('malformed JSON is 400 with one entry whose PropertyName is null', async () => {
    for (const raw of ['{"Name": ', '{Name: "x"}', "{'Name':'x'}", 'not json at all', '{"a":1,}']) {
      const errors = await rejects(raw, [null], { headers: { 'content-type': 'application/json' } });
      assert.match(errors.get(null)!.Message, /JSON/);
    }
  });

  test('malformed JSON without a Content-Type is 400 too', async () => {
    await rejects('{"Name": ', [null]);
  });

  test('an empty JSON body is 400', async () => {
    const a = await call(t, 'POST', CAL, '', { headers: { 'content-type': 'application/json' } });
    assertFailure(a, 400);
    assert.ok(Array.isArray(a.body.Errors) && a.body.Errors.length >= 1);
  });

  test('a JSON array body is 400 with one entry whose PropertyName is null', async () => {
    await rejects([calendarBody(resourceId)], [null]);
    await rejects('[]', [null], { headers: { 'content-type': 'application/json' } });
  });

  test('a JSON scalar body (a string, a number, null) is 400', async () => {
    for (const raw of ['"text"', '42', 'null', 'true']) {
      const before = await countRows(t, 'coworker_ms_office_calendars');
      const a = await call(t, 'POST', CAL, raw, { headers: { 'content-type': 'application/json' } });
      assertFailure(a, 400);
      assert.ok(Array.isArray(a.body.Errors), a.raw);
      assert.equal(await countRows(t, 'coworker_ms_office_calendars'), before);
    }
  });

  test('a 2 MB body is 400, not 413 or 500', async () => {
    const big = JSON.stringify(calendarBody(resourceId, { Padding: 'p'.repeat(2 * 1024 * 1024) }));
    await rejects(big, [null], { headers: { 'content-type': 'application/json' } });
    const bigForm = `Name=${'p'.repeat(2 * 1024 * 1024)}`;
    await rejects(bigForm, [null], { headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  });

  for (const type of ['text/plain', 'application/xml', 'text/xml', 'multipart/form-data; boundary=x', 'application/octet-stream', 'text/html']) {
    test(`Content-Type ${type} is 415 in the envelope`, async () => {
      const before = await countRows(t, 'coworker_ms_office_calendars');
      const a = await call(t, 'POST', CAL, JSON.stringify(calendarBody(resourceId)), { headers: { 'content-type': type } });
      assertFailure(a, 415);
      assert.match(a.body.Message, /content type/i);
      assert.equal(await countRows(t, 'coworker_ms_office_calendars'), before);
    });
  }

  test('the existing record is untouched by all of the above', async () => {
    const read = await call(t, 'GET', `${CAL}/${existing.Id}`);
    assert.deepEqual(read.body, existing);
  });
});

describe('update validation', () => {
  let t: TestApp;
  let resourceId: number;
  let existing: Record<string, any>;

  before(async () => {
    t = await createTestApp();
    resourceId = (await createResource(t.app, t.admin)).Id;
    existing = await createCalendar(t.app, t.admin, resourceId);
  });
  after(() => t.close());

  async function unchanged() {
    assert.deepEqual((await call(t, 'GET', `${CAL}/${existing.Id}`)).body, existing, 'record unchanged');
    assert.equal(await countRows(t, 'coworker_ms_office_calendars'), 1);
  }

  for (const field of REQUIRED) {
    test(`PUT without ${field} is 400 "is a required field" and changes nothing`, async () => {
      const a = await call(t, 'PUT', CAL, { ...without(calendarBody(resourceId), field), Id: existing.Id });
      const errors = assertValidation(a, [field]);
      assert.equal(errors.get(field)!.Message, 'is a required field');
      await unchanged();
    });
  }

  test('PUT /{id} with wrong types is 400 per property and changes nothing', async () => {
    const a = await call(t, 'PUT', `${CAL}/${existing.Id}`, calendarBody(resourceId, { Name: 123, ResourceId: true, SubscriptionExpireDate: '2030-02-31' }));
    assertValidation(a, ['Name', 'ResourceId', 'SubscriptionExpireDate']);
    await unchanged();
  });

  test('PUT with whitespace-only strings is 400', async () => {
    const a = await call(t, 'PUT', CAL, { ...calendarBody(resourceId, { Name: '  ', CalendarId: ' ' }), Id: existing.Id });
    assertValidation(a, ['Name', 'CalendarId']);
    await unchanged();
  });

  test('PUT with an unknown ResourceId or CoworkerId is 400 on that property', async () => {
    const a = await call(t, 'PUT', CAL, { ...calendarBody(resourceId + 50, { CoworkerId: 9999 }), Id: existing.Id });
    assertValidation(a, ['ResourceId', 'CoworkerId']);
    await unchanged();
  });

  test('PUT with a non-integer Id is 400 on Id', async () => {
    for (const Id of ['abc', 1.5, true, -1, 0]) {
      const a = await call(t, 'PUT', CAL, { ...calendarBody(resourceId), Id });
      assertValidation(a, ['Id']);
    }
    await unchanged();
  });

  test('PUT with an Id or ResourceId beyond 32 bits is 400 saying the range (not "must be a string")', async () => {
    let errors = assertValidation(await call(t, 'PUT', CAL, { ...calendarBody(resourceId), Id: 2147483648 }), ['Id']);
    assert.equal(errors.get('Id')!.Message, 'must be at most 2147483647');
    errors = assertValidation(await call(t, 'PUT', `${CAL}/${existing.Id}`, calendarBody(resourceId, { ResourceId: 3000000000, CoworkerId: -4294967296 })), ['ResourceId', 'CoworkerId']);
    assert.equal(errors.get('ResourceId')!.Message, 'must be at most 2147483647');
    assert.equal(errors.get('CoworkerId')!.Message, 'must be at least -2147483648');
    await unchanged();
  });

  test('PUT /{id} with a non-numeric path id is 400 on Id', async () => {
    const a = await call(t, 'PUT', `${CAL}/abc`, calendarBody(resourceId));
    assertValidation(a, ['Id']);
    await unchanged();
  });

  test('PUT with malformed JSON, an array, or a 2 MB body is 400', async () => {
    const headers = { 'content-type': 'application/json' };
    assertValidation(await call(t, 'PUT', CAL, '{"Id": 1,', { headers }), [null]);
    assertValidation(await call(t, 'PUT', CAL, JSON.stringify([{ ...calendarBody(resourceId), Id: existing.Id }]), { headers }), [null]);
    assertValidation(await call(t, 'PUT', CAL, JSON.stringify({ ...calendarBody(resourceId, { Name: 'x'.repeat(2 * 1024 * 1024) }), Id: existing.Id }), { headers }), [null]);
    await unchanged();
  });

  test('PUT with text/plain or application/xml is 415', async () => {
    for (const type of ['text/plain', 'application/xml']) {
      const a = await call(t, 'PUT', CAL, JSON.stringify({ ...calendarBody(resourceId), Id: existing.Id }), { headers: { 'content-type': type } });
      assertFailure(a, 415);
    }
    await unchanged();
  });

  test('validation comes first: an invalid body with an unknown Id is 400, a valid one 404', async () => {
    const invalid = await call(t, 'PUT', CAL, { ...calendarBody(resourceId, { Name: '' }), Id: 98765 });
    assertValidation(invalid, ['Name']);
    const invalidPath = await call(t, 'PUT', `${CAL}/98765`, calendarBody(resourceId, { ResourceId: 'abc' }));
    assertValidation(invalidPath, ['ResourceId']);
    const valid = await call(t, 'PUT', CAL, { ...calendarBody(resourceId), Id: 98765 });
    assertFailure(valid, 404, 'CoworkerMsOfficeCalendar not found.');
    await unchanged();
  });
});

describe('other failures', () => {
  test('DELETE with a non-numeric id is 400; of an unknown id 404', async (ctx) => {
    const t = await testApp(ctx);
    assertValidation(await call(t, 'DELETE', `${CAL}/abc`), ['Id']);
    assertFailure(await call(t, 'DELETE', `${CAL}/12345`), 404, 'CoworkerMsOfficeCalendar not found.');
  });
});
