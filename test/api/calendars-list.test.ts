/** Listing CoworkerMsOfficeCalendars: the list envelope, paging, ordering, and query parameter handling. */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, testApp, type TestApp } from '../helpers/app.js';
import { calendarBody, createCalendar, createCoworker, createResource } from '../helpers/factories.js';
import { CAL, assertValidation, call } from '../helpers/api.js';

const LIST_KEYS = [
  'Records', 'CurrentPage', 'CurrentPageSize', 'CurrentOrderField', 'CurrentSortDirection',
  'FirstItem', 'LastItem', 'TotalItems', 'TotalPages', 'HasNextPage', 'HasPreviousPage',
];

const ids = (body: any): number[] => body.Records.map((r: any) => r.Id);

function assertPage(body: any, expected: Partial<Record<(typeof LIST_KEYS)[number], unknown>>) {
  assert.deepEqual(Object.keys(body), LIST_KEYS);
  for (const [k, v] of Object.entries(expected)) assert.deepEqual(body[k], v, `${k}: ${JSON.stringify(body[k])} != ${JSON.stringify(v)}`);
}

describe('list envelope and paging', () => {
  let t: TestApp;
  let all: number[];

  before(async () => {
    t = await createTestApp();
    const resource = await createResource(t.app, t.admin);
    all = [];
    for (let i = 0; i < 7; i++) all.push((await createCalendar(t.app, t.admin, resource.Id)).Id);
  });
  after(() => t.close());

  test('a plain GET answers the list envelope with defaults (page 1, size 25, by Id ascending)', async () => {
    const a = await call(t, 'GET', CAL);
    assert.equal(a.status, 200);
    assert.match(String(a.headers['content-type']), /^application\/json/);
    assertPage(a.body, {
      CurrentPage: 1, CurrentPageSize: 25, CurrentOrderField: 'Id', CurrentSortDirection: 0,
      FirstItem: 1, LastItem: 7, TotalItems: 7, TotalPages: 1, HasNextPage: false, HasPreviousPage: false,
    });
    assert.deepEqual(ids(a.body), all);
    const one = await call(t, 'GET', `${CAL}/${all[0]}`);
    assert.deepEqual(a.body.Records[0], one.body, 'list records are the same shape as get one');
  });

  test('first, middle, last page and a page past the end', async () => {
    const p1 = (await call(t, 'GET', `${CAL}?page=1&size=3`)).body;
    assertPage(p1, { CurrentPage: 1, CurrentPageSize: 3, FirstItem: 1, LastItem: 3, TotalItems: 7, TotalPages: 3, HasNextPage: true, HasPreviousPage: false });
    assert.deepEqual(ids(p1), all.slice(0, 3));
    const p2 = (await call(t, 'GET', `${CAL}?page=2&size=3`)).body;
    assertPage(p2, { CurrentPage: 2, FirstItem: 4, LastItem: 6, HasNextPage: true, HasPreviousPage: true });
    assert.deepEqual(ids(p2), all.slice(3, 6));
    const p3 = (await call(t, 'GET', `${CAL}?page=3&size=3`)).body;
    assertPage(p3, { CurrentPage: 3, FirstItem: 7, LastItem: 7, TotalItems: 7, TotalPages: 3, HasNextPage: false, HasPreviousPage: true });
    assert.deepEqual(ids(p3), all.slice(6));
    const p9 = (await call(t, 'GET', `${CAL}?page=9&size=3`)).body;
    assertPage(p9, { Records: [], CurrentPage: 9, FirstItem: 0, LastItem: 0, TotalItems: 7, TotalPages: 3, HasNextPage: false, HasPreviousPage: true });
  });

  test('an exact multiple of the page size has no extra page', async () => {
    const p = (await call(t, 'GET', `${CAL}?size=7`)).body;
    assertPage(p, { TotalPages: 1, HasNextPage: false, FirstItem: 1, LastItem: 7 });
    const q = (await call(t, 'GET', `${CAL}?size=1&page=7`)).body;
    assertPage(q, { TotalPages: 7, HasNextPage: false, HasPreviousPage: true, FirstItem: 7, LastItem: 7 });
  });

  test('no matches: Records [], TotalPages 0, FirstItem 0, LastItem 0, no next or previous page', async () => {
    const a = (await call(t, 'GET', `${CAL}?CoworkerMsOfficeCalendar_Name=no-such-calendar`)).body;
    assertPage(a, {
      Records: [], CurrentPage: 1, CurrentPageSize: 25, FirstItem: 0, LastItem: 0, TotalItems: 0, TotalPages: 0,
      HasNextPage: false, HasPreviousPage: false,
    });
    const b = (await call(t, 'GET', `${CAL}?CoworkerMsOfficeCalendar_Name=no-such-calendar&page=3`)).body;
    assertPage(b, { Records: [], CurrentPage: 3, FirstItem: 0, LastItem: 0, TotalPages: 0, HasNextPage: false, HasPreviousPage: true });
  });

  for (const [param, values] of [['page', ['0', '-1', 'abc', '1.5', '2x', ' ']], ['size', ['0', '-5', 'ten', '2.5', '1e3']]] as const) {
    for (const value of values) {
      test(`${param}=${JSON.stringify(value)} is 400 on ${param}`, async () => {
        const a = await call(t, 'GET', `${CAL}?${param}=${encodeURIComponent(value)}`);
        const errors = assertValidation(a, [param]);
        assert.equal(errors.get(param)!.AttemptedValue, value);
      });
    }
  }

  test('page and size errors are reported together', async () => {
    assertValidation(await call(t, 'GET', `${CAL}?page=0&size=0&orderBy=Nope&dir=up`), ['page', 'size', 'orderBy', 'dir']);
  });

  test('a size above 1000 is capped, and the paging fields describe the effective size', async () => {
    const a = (await call(t, 'GET', `${CAL}?size=5000`)).body;
    assertPage(a, { CurrentPageSize: 1000, TotalPages: 1, FirstItem: 1, LastItem: 7, HasNextPage: false });
  });

  test('empty values (page=&size=&dir=&orderBy=) count as absent', async () => {
    const a = await call(t, 'GET', `${CAL}?page=&size=&dir=&orderBy=&CoworkerMsOfficeCalendar_Name=&CoworkerMsOfficeCalendar_Resource=&Id=`);
    assert.equal(a.status, 200, a.raw);
    assertPage(a.body, { CurrentPage: 1, CurrentPageSize: 25, CurrentOrderField: 'Id', CurrentSortDirection: 0, TotalItems: 7 });
  });

  test('parameter names are case-insensitive', async () => {
    const a = await call(t, 'GET', `${CAL}?PAGE=2&Size=2&ORDERBY=id&DIR=DESC`);
    assert.equal(a.status, 200, a.raw);
    assertPage(a.body, { CurrentPage: 2, CurrentPageSize: 2, CurrentOrderField: 'Id', CurrentSortDirection: 1, FirstItem: 3, LastItem: 4 });
    assert.deepEqual(ids(a.body), [...all].reverse().slice(2, 4));
    const b = await call(t, 'GET', `${CAL}?coworkermsofficecalendar_id=${all[2]}`);
    assert.deepEqual(ids(b.body), [all[2]]);
    const c = await call(t, 'GET', `${CAL}?COWORKERMSOFFICECALENDAR_ID=${all[3]}`);
    assert.deepEqual(ids(c.body), [all[3]]);
  });

  test('unknown query parameters are ignored', async () => {
    const a = await call(t, 'GET', `${CAL}?foo=bar&CoworkerMsOfficeCalendar_Nope=1`);
    assert.equal(a.status, 200);
    assert.equal(a.body.TotalItems, 7);
  });
});

describe('a size cap of 1000 with more than 1000 records', () => {
  test('size=5000 answers 1000 records, TotalPages 2, HasNextPage true; page 2 has the rest', async (ctx) => {
    const t = await testApp(ctx);
    const resource = await createResource(t.app, t.admin);
    const actor = { userId: 0, email: 'seed@test.local' };
    for (let i = 0; i < 1003; i++) await t.container.calendarService.create(calendarBody(resource.Id), actor);
    const p1 = (await call(t, 'GET', `${CAL}?size=5000`)).body;
    assertPage(p1, { CurrentPageSize: 1000, FirstItem: 1, LastItem: 1000, TotalItems: 1003, TotalPages: 2, HasNextPage: true, HasPreviousPage: false });
    assert.equal(p1.Records.length, 1000);
    const p2 = (await call(t, 'GET', `${CAL}?size=5000&page=2`)).body;
    assertPage(p2, { CurrentPage: 2, CurrentPageSize: 1000, FirstItem: 1001, LastItem: 1003, HasNextPage: false, HasPreviousPage: true });
    assert.equal(p2.Records.length, 3);
    assert.equal(new Set([...ids(p1), ...ids(p2)]).size, 1003);
  });
});

describe('ordering', () => {
  let t: TestApp;
  let records: any[];

  before(async () => {
    t = await createTestApp();
    const editor = await t.userWithRoles(['CoworkerMsOfficeCalendar-Edit']);
    const r1 = await createResource(t.app, t.admin);
    const r2 = await createResource(t.app, t.admin);
    const bob = await createCoworker(t.app, t.admin, { FullName: 'bob' });
    const alice = await createCoworker(t.app, t.admin, { FullName: 'Alice' });
    const carol = await createCoworker(t.app, t.admin, { FullName: 'CAROL' });
    const specs: Record<string, unknown>[] = [
      { ResourceId: r2.Id, CoworkerId: bob.Id, Name: 'banana', SubscriptionId: 'Sub-B', CalendarId: 'cal-z', SubscriptionExpireDate: '2030-03-01T00:00:00Z' },
      { ResourceId: r1.Id, CoworkerId: null, Name: 'Apple', SubscriptionId: 'sub-a', CalendarId: 'Cal-Y', SubscriptionExpireDate: '2030-01-01T00:00:00Z', SystemId: 'sys-2' },
      { ResourceId: r2.Id, CoworkerId: alice.Id, Name: 'cherry', SubscriptionId: 'SUB-C', CalendarId: 'cal-x', SubscriptionExpireDate: '2030-02-01T00:00:00Z' },
      { ResourceId: r1.Id, CoworkerId: carol.Id, Name: 'Same', SubscriptionId: 'sub-d', CalendarId: 'cal-w', SubscriptionExpireDate: '2030-01-01T00:00:00Z', SystemId: 'SYS-1' },
      { ResourceId: r1.Id, CoworkerId: null, Name: 'same', SubscriptionId: 'sub-d', CalendarId: 'cal-w', SubscriptionExpireDate: '2030-02-01T00:00:00Z' },
      { ResourceId: r2.Id, CoworkerId: bob.Id, Name: 'SAME', SubscriptionId: 'sub-e', CalendarId: 'CAL-V', SubscriptionExpireDate: '2029-12-31T23:59:59Z' },
      { ResourceId: r1.Id, CoworkerId: alice.Id, Name: 'apple pie', SubscriptionId: 'sub-f', CalendarId: 'cal-u', SubscriptionExpireDate: '2030-03-01T00:00:00Z' },
      { ResourceId: r2.Id, CoworkerId: null, Name: 'Zebra', SubscriptionId: 'sub-a', CalendarId: 'cal-t', SubscriptionExpireDate: '2030-01-15T12:00:00Z' },
    ];
    const created: any[] = [];
    for (const s of specs) {
      created.push(await createCalendar(t.app, t.admin, s.ResourceId as number, s));
      t.clock.advance(2); // distinct CreatedOn
    }
    // Some updates: UpdatedOn/UpdatedBy/IsNew differ between records (updated in an order unlike the Id order).
    for (const i of [5, 1, 6]) {
      const rec = created[i];
      const res = await call(t, 'PUT', CAL, { ...specs[i], Id: rec.Id }, { auth: editor.auth });
      assert.equal(res.status, 200, res.raw);
      t.clock.advance(2);
    }
    records = (await call(t, 'GET', `${CAL}?size=100`)).body.Records;
    assert.equal(records.length, specs.length);
  });
  after(() => t.close());

  /** The contract's order: nulls first ascending / last descending, strings case-insensitively, ties by Id ascending. */
  function expected(field: string, descending: boolean): number[] {
    const key = (r: any) => (typeof r[field] === 'string' ? r[field].toLowerCase() : r[field]);
    return [...records]
      .sort((a, b) => {
        const x = key(a);
        const y = key(b);
        if (x === y || (x === null && y === null)) return a.Id - b.Id;
        if (x === null) return descending ? 1 : -1;
        if (y === null) return descending ? -1 : 1;
        const c = x < y ? -1 : 1;
        return descending ? -c : c;
      })
      .map((r) => r.Id);
  }

  const FIELDS = [
    'Id', 'Name', 'ResourceId', 'CoworkerId', 'CoworkerFullName', 'SubscriptionId', 'CalendarId', 'SubscriptionExpireDate',
    'CreatedOn', 'UpdatedOn', 'UpdatedBy', 'IsNew', 'SystemId', 'ToStringText', 'UniqueId',
  ];
  for (const field of FIELDS) {
    test(`orderBy=${field} ascending and descending`, async () => {
      const asc = (await call(t, 'GET', `${CAL}?orderBy=${field}&dir=0&size=100`)).body;
      assert.equal(asc.CurrentOrderField, field);
      assert.equal(asc.CurrentSortDirection, 0);
      assert.deepEqual(ids(asc), expected(field, false));
      const desc = (await call(t, 'GET', `${CAL}?orderBy=${field}&dir=1&size=100`)).body;
      assert.equal(desc.CurrentSortDirection, 1);
      assert.deepEqual(ids(desc), expected(field, true));
    });
  }

  test('strings sort case-insensitively and ties are broken by Id ascending in both directions', async () => {
    const asc = (await call(t, 'GET', `${CAL}?orderBy=Name&size=100`)).body.Records.map((r: any) => r.Name);
    assert.deepEqual(asc, ['Apple', 'apple pie', 'banana', 'cherry', 'Same', 'same', 'SAME', 'Zebra']);
    const desc = (await call(t, 'GET', `${CAL}?orderBy=Name&dir=desc&size=100`)).body.Records.map((r: any) => r.Name);
    assert.deepEqual(desc, ['Zebra', 'Same', 'same', 'SAME', 'cherry', 'banana', 'apple pie', 'Apple']);
  });

  test('nulls come first ascending and last descending (CoworkerId null vs set)', async () => {
    const asc = (await call(t, 'GET', `${CAL}?orderBy=CoworkerId&size=100`)).body.Records.map((r: any) => r.CoworkerId);
    assert.deepEqual(asc.slice(0, 3), [null, null, null]);
    assert.ok(asc.slice(3).every((v: unknown) => v !== null));
    const desc = (await call(t, 'GET', `${CAL}?orderBy=CoworkerId&dir=1&size=100`)).body.Records.map((r: any) => r.CoworkerId);
    assert.deepEqual(desc.slice(-3), [null, null, null]);
    assert.ok(desc.slice(0, -3).every((v: unknown) => v !== null));
    const byName = (await call(t, 'GET', `${CAL}?orderBy=CoworkerFullName&size=100`)).body.Records.map((r: any) => r.CoworkerFullName);
    assert.deepEqual(byName, [null, null, null, 'Alice', 'Alice', 'bob', 'bob', 'CAROL']);
  });

  for (const [dir, direction] of [
    ['0', 0], ['asc', 0], ['ASC', 0], ['ascending', 0], ['Ascending', 0],
    ['1', 1], ['-1', 1], ['desc', 1], ['DESC', 1], ['descending', 1], ['Descending', 1],
  ] as const) {
    test(`dir=${dir} is CurrentSortDirection ${direction}`, async () => {
      const a = await call(t, 'GET', `${CAL}?orderBy=SubscriptionExpireDate&dir=${dir}&size=100`);
      assert.equal(a.status, 200, a.raw);
      assert.equal(a.body.CurrentSortDirection, direction);
      assert.deepEqual(ids(a.body), expected('SubscriptionExpireDate', direction === 1));
    });
  }

  test('dir alone orders by Id', async () => {
    const a = (await call(t, 'GET', `${CAL}?dir=1&size=100`)).body;
    assert.equal(a.CurrentOrderField, 'Id');
    assert.deepEqual(ids(a), records.map((r) => r.Id).reverse());
  });

  test('orderBy is case-insensitive and answers the canonical field name', async () => {
    const a = (await call(t, 'GET', `${CAL}?orderby=subscriptionexpiredate&size=100`)).body;
    assert.equal(a.CurrentOrderField, 'SubscriptionExpireDate');
    assert.deepEqual(ids(a), expected('SubscriptionExpireDate', false));
  });

  for (const bad of ['Nope', 'Password', 'Name;DROP TABLE x', 'c.name', 'Resource']) {
    test(`unknown orderBy ${JSON.stringify(bad)} is 400 on orderBy`, async () => {
      const a = await call(t, 'GET', `${CAL}?orderBy=${encodeURIComponent(bad)}`);
      const errors = assertValidation(a, ['orderBy']);
      assert.equal(errors.get('orderBy')!.AttemptedValue, bad);
    });
  }

  for (const bad of ['2', 'up', 'down', 'descend', 'true', '01x']) {
    test(`dir=${bad} is 400 on dir`, async () => {
      assertValidation(await call(t, 'GET', `${CAL}?dir=${bad}`), ['dir']);
    });
  }

  test('paging through an order with ties gives every record exactly once', async () => {
    for (const field of ['Name', 'SubscriptionId', 'SubscriptionExpireDate', 'CoworkerId', 'ResourceId', 'IsNew']) {
      for (const dir of ['0', '1']) {
        const seen: number[] = [];
        for (let page = 1; page <= 10; page++) {
          const body = (await call(t, 'GET', `${CAL}?orderBy=${field}&dir=${dir}&size=3&page=${page}`)).body;
          seen.push(...ids(body));
          if (!body.HasNextPage) break;
        }
        assert.deepEqual(seen, expected(field, dir === '1'), `${field} dir ${dir}`);
      }
    }
  });
});

test('a repeated query parameter counts once: the last one wins', async (ctx) => {
  const t = await testApp(ctx);
  const r = await createResource(t.app, t.admin);
  for (let i = 0; i < 3; i++) await createCalendar(t.app, t.admin, r.Id);
  const res = await t.app.inject({ method: 'GET', url: '/api/spaces/coworkermsofficecalendars?size=1&size=2&page=5&page=1', headers: { authorization: t.admin } });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json().CurrentPageSize, 2);
  assert.equal(res.json().CurrentPage, 1);
  const bad = await t.app.inject({ method: 'GET', url: '/api/spaces/coworkermsofficecalendars?Id=abc', headers: { authorization: t.admin } });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().Errors[0].PropertyName, 'Id', 'the error names the parameter as it was sent');
});

test('a date that lands past year 9999 after its zone offset is refused', async (ctx) => {
  const t = await testApp(ctx);
  const r = await createResource(t.app, t.admin);
  const res = await t.app.inject({ method: 'POST', url: '/api/spaces/coworkermsofficecalendars', headers: { authorization: t.admin }, payload: calendarBody(r.Id, { SubscriptionExpireDate: '9999-12-31T23:00-05:00' }) });
  assert.equal(res.statusCode, 400);
  assert.equal(res.json().Errors[0].PropertyName, 'SubscriptionExpireDate');
});
