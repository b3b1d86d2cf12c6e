/** Batch reads: ?id=[1,2,3] (and ?id=1,2,3) answer a bare array of the records found, in the order asked. */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createCalendar, createResource } from '../helpers/factories.js';
import { CAL, CAL_ALIAS, assertValidation, call } from '../helpers/api.js';

describe('batch', () => {
  let t: TestApp;
  let recs: any[];

  before(async () => {
    t = await createTestApp();
    const resource = await createResource(t.app, t.admin);
    recs = [];
    for (let i = 0; i < 5; i++) recs.push(await createCalendar(t.app, t.admin, resource.Id));
  });
  after(() => t.close());

  const ids = (body: any[]) => body.map((r) => r.Id);

  test('?id=[a,b,c] answers a bare array of full records in the order asked', async () => {
    const [a, b, c] = [recs[3], recs[0], recs[2]];
    const res = await call(t, 'GET', `${CAL}?id=[${a.Id},${b.Id},${c.Id}]`);
    assert.equal(res.status, 200, res.raw);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.ok(Array.isArray(res.body));
    assert.deepEqual(ids(res.body), [a.Id, b.Id, c.Id]);
    assert.deepEqual(res.body[0], (await call(t, 'GET', `${CAL}/${a.Id}`)).body, 'the same record as get one');
  });

  test('?id=a,b,c (no brackets) works the same', async () => {
    const res = await call(t, 'GET', `${CAL}?id=${recs[4].Id},${recs[1].Id}`);
    assert.equal(res.status, 200);
    assert.deepEqual(ids(res.body), [recs[4].Id, recs[1].Id]);
  });

  test('URL-encoded brackets and spaces are accepted', async () => {
    const res = await call(t, 'GET', `${CAL}?id=${encodeURIComponent(`[ ${recs[2].Id} , ${recs[0].Id} ]`)}`);
    assert.equal(res.status, 200, res.raw);
    assert.deepEqual(ids(res.body), [recs[2].Id, recs[0].Id]);
  });

  test('the parameter name is case-insensitive, and the alias path serves batches', async () => {
    for (const name of ['Id', 'ID', 'iD']) {
      const res = await call(t, 'GET', `${CAL}?${name}=[${recs[1].Id},${recs[0].Id}]`);
      assert.equal(res.status, 200);
      assert.deepEqual(ids(res.body), [recs[1].Id, recs[0].Id]);
    }
    const alias = await call(t, 'GET', `${CAL_ALIAS}/?id=[${recs[2].Id}]`);
    assert.deepEqual(ids(alias.body), [recs[2].Id]);
  });

  test('a single id in brackets is a batch of one (an array, not a list envelope)', async () => {
    const res = await call(t, 'GET', `${CAL}?id=[${recs[3].Id}]`);
    assert.ok(Array.isArray(res.body));
    assert.deepEqual(ids(res.body), [recs[3].Id]);
  });

  test('duplicates are answered once, at their first position', async () => {
    const [a, b] = [recs[2], recs[4]];
    const res = await call(t, 'GET', `${CAL}?id=[${a.Id},${b.Id},${a.Id},${b.Id},${a.Id}]`);
    assert.deepEqual(ids(res.body), [a.Id, b.Id]);
  });

  test('unknown ids are left out', async () => {
    const res = await call(t, 'GET', `${CAL}?id=[99999,${recs[1].Id},0,88888,${recs[0].Id}]`);
    assert.equal(res.status, 200);
    assert.deepEqual(ids(res.body), [recs[1].Id, recs[0].Id]);
    const none = await call(t, 'GET', `${CAL}?id=[99999,88888]`);
    assert.deepEqual(none.body, []);
  });

  test('?id=[] answers []', async () => {
    for (const v of ['[]', '[ ]', encodeURIComponent('[]')]) {
      const res = await call(t, 'GET', `${CAL}?id=${v}`);
      assert.equal(res.status, 200, res.raw);
      assert.deepEqual(res.body, []);
    }
  });

  test('exactly 100 distinct ids is fine; 101 is 400', async () => {
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    const ok = await call(t, 'GET', `${CAL}?id=[${hundred.join(',')}]`);
    assert.equal(ok.status, 200, ok.raw);
    assert.deepEqual(ids(ok.body), recs.map((r) => r.Id));
    const tooMany = await call(t, 'GET', `${CAL}?id=[${[...hundred, 101].join(',')}]`);
    const errors = assertValidation(tooMany, ['id']);
    assert.match(errors.get('id')!.Message, /100/);
  });

  test('more than 100 entries that are only 100 distinct ids are fine', async () => {
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    const res = await call(t, 'GET', `${CAL}?id=[${[...hundred, ...hundred].join(',')}]`);
    assert.equal(res.status, 200, res.raw);
    assert.equal(res.body.length, recs.length);
  });

  for (const bad of ['[1,abc]', '[1.5]', '[1,,2]', '[-1]', 'abc', '[1;2]', '[1 2]', '1,x', '[true]']) {
    test(`a non-integer id (${bad}) is 400 on id`, async () => {
      const res = await call(t, 'GET', `${CAL}?id=${encodeURIComponent(bad)}`);
      const errors = assertValidation(res, ['id']);
      assert.equal(errors.get('id')!.AttemptedValue, bad);
    });
  }

  test('a batch ignores list parameters and still answers an array', async () => {
    const res = await call(t, 'GET', `${CAL}?id=[${recs[0].Id},${recs[1].Id}]&size=1&orderBy=Name&dir=1`);
    assert.ok(Array.isArray(res.body));
    assert.deepEqual(ids(res.body), [recs[0].Id, recs[1].Id]);
  });

  test('a batch needs the -Read role, a list -List', async () => {
    const reader = await t.userWithRoles(['CoworkerMsOfficeCalendar-Read']);
    const lister = await t.userWithRoles(['CoworkerMsOfficeCalendar-List']);
    assert.equal((await call(t, 'GET', `${CAL}?id=[${recs[0].Id}]`, undefined, { auth: reader.auth })).status, 200);
    assert.equal((await call(t, 'GET', `${CAL}?id=[${recs[0].Id}]`, undefined, { auth: lister.auth })).status, 403);
    assert.equal((await call(t, 'GET', CAL, undefined, { auth: lister.auth })).status, 200);
    assert.equal((await call(t, 'GET', CAL, undefined, { auth: reader.auth })).status, 403);
  });
});
