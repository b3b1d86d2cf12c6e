/** List filters of CoworkerMsOfficeCalendars: exact, substring (FTS5 trigram and LIKE), dates at precision, ranges. */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, testApp, type TestApp } from '../helpers/app.js';
import { calendarBody, createCalendar, createCoworker, createResource } from '../helpers/factories.js';
import { CAL, COWORKERS, assertValidation, call } from '../helpers/api.js';

const P = 'CoworkerMsOfficeCalendar';

/** Every matching Id (all pages), sorted ascending, checking that TotalItems agrees. */
async function matching(t: TestApp, query: string): Promise<number[]> {
  const a = await call(t, 'GET', `${CAL}?${query}${query ? '&' : ''}size=1000`);
  assert.equal(a.status, 200, `${query}: ${a.raw}`);
  const out = a.body.Records.map((r: any) => r.Id as number);
  assert.equal(a.body.TotalItems, out.length, `TotalItems for ${query}`);
  return [...out].sort((x, y) => x - y);
}

const q = (param: string, value: string) => `${param}=${encodeURIComponent(value)}`;

describe('integer and exact string filters', () => {
  let t: TestApp;
  let r1: any, r2: any, c1: any, c2: any;
  let cal: Record<string, any> = {};

  before(async () => {
    t = await createTestApp();
    r1 = await createResource(t.app, t.admin);
    r2 = await createResource(t.app, t.admin);
    c1 = await createCoworker(t.app, t.admin, { FullName: 'Ada Lovelace' });
    c2 = await createCoworker(t.app, t.admin, { FullName: 'Charles Babbage' });
    cal = {
      a: await createCalendar(t.app, t.admin, r1.Id, { CoworkerId: c1.Id, SubscriptionId: 'sub-1', CalendarId: 'AAMkAD+abc/def==' }),
      b: await createCalendar(t.app, t.admin, r1.Id, { CoworkerId: c2.Id, SubscriptionId: 'sub-10', CalendarId: 'AAMkAD+abc/def' }),
      c: await createCalendar(t.app, t.admin, r2.Id, { CoworkerId: c1.Id, SubscriptionId: 'Sub-1', CalendarId: 'aamkad+abc/def==' }),
      d: await createCalendar(t.app, t.admin, r2.Id, { SubscriptionId: 'sub-2', CalendarId: 'other' }),
    };
  });
  after(() => t.close());

  test(`${P}_Resource matches the resource exactly`, async () => {
    assert.deepEqual(await matching(t, `${P}_Resource=${r1.Id}`), [cal.a.Id, cal.b.Id]);
    assert.deepEqual(await matching(t, `${P}_Resource=${r2.Id}`), [cal.c.Id, cal.d.Id]);
    assert.deepEqual(await matching(t, `${P}_Resource=99999`), []);
  });

  test(`${P}_Coworker matches the coworker exactly`, async () => {
    assert.deepEqual(await matching(t, `${P}_Coworker=${c1.Id}`), [cal.a.Id, cal.c.Id]);
    assert.deepEqual(await matching(t, `${P}_Coworker=${c2.Id}`), [cal.b.Id]);
  });

  test('integer filters with a non-integer value are 400 on that parameter', async () => {
    for (const param of [`${P}_Resource`, `${P}_Coworker`, `${P}_Id`]) {
      const a = await call(t, 'GET', `${CAL}?${param}=abc`);
      const errors = assertValidation(a, [param]);
      assert.equal(errors.get(param)!.AttemptedValue, 'abc');
    }
    // A plain Id that is not an integer is read as a malformed batch: still a 400 on id.
    const plain = await call(t, 'GET', `${CAL}?Id=abc`);
    assert.equal(plain.status, 400);
    assert.deepEqual(plain.body.Errors.map((e: any) => e.PropertyName.toLowerCase()), ['id']);
  });

  test(`${P}_SubscriptionId matches exactly (no prefix match)`, async () => {
    assert.deepEqual(await matching(t, q(`${P}_SubscriptionId`, 'sub-1')), [cal.a.Id]);
    assert.deepEqual(await matching(t, q(`${P}_SubscriptionId`, 'sub-10')), [cal.b.Id]);
    assert.deepEqual(await matching(t, q(`${P}_SubscriptionId`, 'sub')), []);
    assert.deepEqual(await matching(t, q(`${P}_SubscriptionId`, 'ub-1')), []);
  });

  test(`${P}_CalendarId matches exactly, including + / = characters`, async () => {
    assert.deepEqual(await matching(t, q(`${P}_CalendarId`, 'AAMkAD+abc/def==')), [cal.a.Id]);
    assert.deepEqual(await matching(t, q(`${P}_CalendarId`, 'AAMkAD+abc/def')), [cal.b.Id]);
    assert.deepEqual(await matching(t, q(`${P}_CalendarId`, 'abc')), []);
  });

  test(`${P}_Id and a plain Id=5 filter by Id and answer a list envelope`, async () => {
    assert.deepEqual(await matching(t, `${P}_Id=${cal.b.Id}`), [cal.b.Id]);
    for (const param of ['Id', 'id', 'ID']) {
      const a = await call(t, 'GET', `${CAL}?${param}=${cal.c.Id}`);
      assert.equal(a.status, 200);
      assert.ok(!Array.isArray(a.body), 'a list envelope, not a batch array');
      assert.equal(a.body.TotalItems, 1);
      assert.deepEqual(a.body.Records.map((r: any) => r.Id), [cal.c.Id]);
    }
    const none = await call(t, 'GET', `${CAL}?Id=99999`);
    assert.equal(none.body.TotalItems, 0);
    assert.deepEqual(none.body.Records, []);
  });

  test('filters combine with AND', async () => {
    assert.deepEqual(await matching(t, `${P}_Resource=${r1.Id}&${P}_Coworker=${c1.Id}`), [cal.a.Id]);
    assert.deepEqual(await matching(t, `${P}_Resource=${r2.Id}&${P}_Coworker=${c2.Id}`), []);
    assert.deepEqual(await matching(t, `${P}_Resource=${r2.Id}&${q(`${P}_Coworker_FullName`, 'ada')}`), [cal.c.Id]);
  });
});

describe(`${P}_Coworker_FullName`, () => {
  test('matches a case-insensitive substring of the coworker name, and a rename shows at once', async (ctx) => {
    const t = await testApp(ctx);
    const r = await createResource(t.app, t.admin);
    const ada = await createCoworker(t.app, t.admin, { FullName: 'Ada Lovelace' });
    const bab = await createCoworker(t.app, t.admin, { FullName: 'Charles Babbage' });
    const a = await createCalendar(t.app, t.admin, r.Id, { CoworkerId: ada.Id });
    const b = await createCalendar(t.app, t.admin, r.Id, { CoworkerId: bab.Id });
    const none = await createCalendar(t.app, t.admin, r.Id);
    const F = `${P}_Coworker_FullName`;

    assert.deepEqual(await matching(t, q(F, 'love')), [a.Id]);
    assert.deepEqual(await matching(t, q(F, 'LOVELACE')), [a.Id]);
    assert.deepEqual(await matching(t, q(F, 'a')), [a.Id, b.Id]);
    assert.deepEqual(await matching(t, q(F, 'es B')), [b.Id]);
    assert.deepEqual(await matching(t, q(F, 'Hopper')), []);
    assert.ok(!(await matching(t, q(F, 'a'))).includes(none.Id), 'records without a coworker never match');

    // Ask first (so any cached count would be stale), then rename the coworker.
    assert.deepEqual(await matching(t, q(F, 'hopper')), []);
    const put = await call(t, 'PUT', COWORKERS, { Id: ada.Id, FullName: 'Grace Hopper', Email: ada.Email });
    assert.equal(put.status, 200, put.raw);
    assert.deepEqual(await matching(t, q(F, 'hopper')), [a.Id]);
    assert.deepEqual(await matching(t, q(F, 'love')), []);
    const rec = (await call(t, 'GET', `${CAL}/${a.Id}`)).body;
    assert.equal(rec.CoworkerFullName, 'Grace Hopper');
    const listed = (await call(t, 'GET', `${CAL}?${q(F, 'grace')}`)).body.Records[0];
    assert.equal(listed.CoworkerFullName, 'Grace Hopper');
  });

  test('LIKE wildcards in the value match themselves', async (ctx) => {
    const t = await testApp(ctx);
    const r = await createResource(t.app, t.admin);
    const odd = await createCoworker(t.app, t.admin, { FullName: 'Per_cent 100% \\ "Q"' });
    const plain = await createCoworker(t.app, t.admin, { FullName: 'Percent 100 Q' });
    const a = await createCalendar(t.app, t.admin, r.Id, { CoworkerId: odd.Id });
    await createCalendar(t.app, t.admin, r.Id, { CoworkerId: plain.Id });
    const F = `${P}_Coworker_FullName`;
    assert.deepEqual(await matching(t, q(F, '%')), [a.Id]);
    assert.deepEqual(await matching(t, q(F, '_')), [a.Id]);
    assert.deepEqual(await matching(t, q(F, 'r_c')), [a.Id]);
    assert.deepEqual(await matching(t, q(F, '\\')), [a.Id]);
    assert.deepEqual(await matching(t, q(F, '"q"')), [a.Id]);
  });
});

describe(`${P}_Name substring filter`, () => {
  let t: TestApp;
  let resource: any, other: any, coworker: any;
  const byName = new Map<string, number>();
  const NAMES = [
    'Alpha Room', 'alphabet soup', 'ALPHA', 'Beta 100% sure', 'under_score', 'Quote "q" here', 'plain',
    'Star * NOT (x) OR y', 'back\\slash', 'Meeting room A', 'meeting ROOM b', 'xy',
  ];

  before(async () => {
    t = await createTestApp();
    resource = await createResource(t.app, t.admin);
    other = await createResource(t.app, t.admin);
    coworker = await createCoworker(t.app, t.admin, { FullName: 'Filter Person' });
    for (const [i, name] of NAMES.entries()) {
      const rec = await createCalendar(t.app, t.admin, i % 2 ? other.Id : resource.Id, { Name: name, CoworkerId: i % 3 === 0 ? coworker.Id : null });
      byName.set(name, rec.Id);
    }
  });
  after(() => t.close());

  const idsOf = (...names: string[]) => names.map((n) => byName.get(n)!).sort((a, b) => a - b);
  /** Names containing `s`, case-insensitively (the expectation, computed independently of the server). */
  const containing = (s: string) => idsOf(...NAMES.filter((n) => n.toLowerCase().includes(s.toLowerCase())));

  const CASES: [string, string][] = [
    // 3+ characters: the FTS5 trigram index.
    ['alp', 'trigram'], ['ALPH', 'trigram'], ['pHa', 'trigram'], ['room', 'trigram'], ['a R', 'trigram'], ['100%', 'trigram'],
    ['0% s', 'trigram'], ['r_s', 'trigram'], ['"q"', 'trigram'], ['e "q', 'trigram'], ['NOT', 'trigram'], ['* NOT (', 'trigram'],
    ['OR', 'like'], ['k\\s', 'trigram'], ['zzz', 'trigram'], ['meeting room', 'trigram'], ['Alpha Room', 'trigram'],
    // 1-2 characters: LIKE.
    ['a', 'like'], ['A', 'like'], ['al', 'like'], ['AL', 'like'], ['%', 'like'], ['0%', 'like'], ['_', 'like'], ['r_', 'like'],
    ['"', 'like'], ['"q', 'like'], ['\\', 'like'], ['*', 'like'], ['zz', 'like'], ['xy', 'like'], [' ', 'like'],
  ];
  for (const [value, path] of CASES) {
    test(`Name contains ${JSON.stringify(value)} (${path})`, async () => {
      const expected = containing(value);
      assert.deepEqual(await matching(t, q(`${P}_Name`, value)), expected);
    });
  }

  test('sanity: the case list finds something through both paths', () => {
    assert.ok(containing('alp').length === 3);
    assert.ok(containing('%').length === 1);
    assert.ok(containing('zzz').length === 0);
  });

  test('a trigram match works with every order and direction, and with other filters', async () => {
    const expected = containing('room');
    for (const order of ['Id', 'Name', 'CoworkerId', 'SubscriptionExpireDate']) {
      for (const dir of ['0', '1']) {
        const a = await call(t, 'GET', `${CAL}?${q(`${P}_Name`, 'room')}&orderBy=${order}&dir=${dir}`);
        assert.equal(a.body.TotalItems, expected.length);
        assert.deepEqual(a.body.Records.map((r: any) => r.Id).sort((x: number, y: number) => x - y), expected, `${order} ${dir}`);
        if (order === 'Id') {
          const got = a.body.Records.map((r: any) => r.Id);
          assert.deepEqual(got, dir === '1' ? [...expected].reverse() : expected);
        }
      }
    }
    const withResource = await matching(t, `${q(`${P}_Name`, 'room')}&${P}_Resource=${resource.Id}`);
    const names = NAMES.filter((n, i) => n.toLowerCase().includes('room') && i % 2 === 0);
    assert.deepEqual(withResource, idsOf(...names));
    const withCoworker = await matching(t, `${q(`${P}_Name`, 'alp')}&${q(`${P}_Coworker_FullName`, 'person')}`);
    assert.deepEqual(withCoworker, idsOf(...NAMES.filter((n, i) => n.toLowerCase().includes('alp') && i % 3 === 0)));
  });

  test('the index follows renames and deletes', async () => {
    const id = byName.get('plain')!;
    const put = await call(t, 'PUT', CAL, { ...calendarBody(resource.Id, { Name: 'Renamed Quokka' }), Id: id });
    assert.equal(put.status, 200, put.raw);
    assert.deepEqual(await matching(t, q(`${P}_Name`, 'quokka')), [id]);
    assert.deepEqual(await matching(t, q(`${P}_Name`, 'plain')), []);
    assert.deepEqual(await matching(t, q(`${P}_Name`, 'qu')), [byName.get('Quote "q" here')!, id].sort((a, b) => a - b));
    // Rename back so the other tests' expectations hold, then delete another record and check it is gone.
    await call(t, 'PUT', CAL, { ...calendarBody(resource.Id, { Name: 'plain' }), Id: id });
    assert.deepEqual(await matching(t, q(`${P}_Name`, 'plain')), [id]);

    const extra = await createCalendar(t.app, t.admin, resource.Id, { Name: 'Temporary Wombat' });
    assert.deepEqual(await matching(t, q(`${P}_Name`, 'wombat')), [extra.Id]);
    assert.equal((await call(t, 'DELETE', `${CAL}/${extra.Id}`)).status, 200);
    assert.deepEqual(await matching(t, q(`${P}_Name`, 'wombat')), []);
    assert.deepEqual(await matching(t, q(`${P}_Name`, 'wo')), []);
  });

  test('paging with a name filter and an order gives every match exactly once', async () => {
    for (const value of ['room', 'a', 'alp', 'e']) {
      const expected = containing(value);
      for (const order of ['Id', 'Name', 'CoworkerId', 'ResourceId']) {
        for (const dir of ['asc', 'desc']) {
          const seen: number[] = [];
          let page = 1;
          for (;;) {
            const body = (await call(t, 'GET', `${CAL}?${q(`${P}_Name`, value)}&orderBy=${order}&dir=${dir}&size=2&page=${page}`)).body;
            assert.equal(body.TotalItems, expected.length);
            seen.push(...body.Records.map((r: any) => r.Id));
            if (!body.HasNextPage) {
              assert.equal(page, Math.max(body.TotalPages, 1));
              break;
            }
            page++;
          }
          assert.equal(new Set(seen).size, seen.length, `duplicates for ${value} ${order} ${dir}`);
          assert.deepEqual([...seen].sort((x, y) => x - y), expected, `${value} ${order} ${dir}`);
          if (order === 'Id') assert.deepEqual(seen, dir === 'desc' ? [...expected].reverse() : expected, `${value} in Id order, ${dir}`);
        }
      }
    }
  });
});

describe('paging a larger name-filtered set', () => {
  test('60 matching records among others, ordered by fields with many ties, page by page', async (ctx) => {
    const t = await testApp(ctx);
    const r = await createResource(t.app, t.admin);
    const actor = { userId: 0, email: 'seed@test.local' };
    const names = new Map<number, string>();
    for (let i = 0; i < 90; i++) {
      const name = i % 3 === 2 ? `Other ${i}` : ['Team Blue', 'team blue', 'TEAM RED', 'Team red'][i % 4]!;
      const rec = await t.container.calendarService.create(calendarBody(r.Id, { Name: name, SubscriptionExpireDate: `2030-01-0${1 + (i % 3)}T00:00:00Z` }), actor);
      names.set(rec.Id, name);
    }
    for (const [value, order] of [['team', 'Name'], ['team', 'SubscriptionExpireDate'], ['eam', 'Id'], ['te', 'Name'], ['TEAM B', 'UpdatedOn']] as const) {
      const expected = [...names].filter(([, n]) => n.toLowerCase().includes(value.toLowerCase())).map(([id]) => id);
      assert.ok(expected.length >= 30);
      for (const dir of ['0', '1']) {
        const seen: number[] = [];
        let last: any;
        for (let page = 1; page < 100; page++) {
          last = (await call(t, 'GET', `${CAL}?${q(`${P}_Name`, value)}&orderBy=${order}&dir=${dir}&size=7&page=${page}`)).body;
          seen.push(...last.Records.map((x: any) => x.Id));
          if (!last.HasNextPage) break;
        }
        assert.equal(new Set(seen).size, seen.length, `no duplicates (${value} ${order} ${dir})`);
        assert.deepEqual([...seen].sort((x, y) => x - y), expected, `${value} ${order} ${dir}`);
        assert.equal(last.TotalItems, expected.length);
        assert.equal(last.TotalPages, Math.ceil(expected.length / 7));
      }
    }
  });
});

describe('date filters and ranges', () => {
  let t: TestApp;
  const at: Record<string, number> = {};
  const DATES = [
    '2030-01-05T23:59:59.999Z',
    '2030-01-06T00:00:00.000Z',
    '2030-01-06T10:30:00.000Z',
    '2030-01-06T10:30:59.999Z',
    '2030-01-06T10:31:00.000Z',
    '2030-01-06T23:59:59.999Z',
    '2030-01-07T00:00:00.000Z',
  ];

  before(async () => {
    t = await createTestApp();
    const r = await createResource(t.app, t.admin);
    for (const d of DATES) at[d] = (await createCalendar(t.app, t.admin, r.Id, { SubscriptionExpireDate: d })).Id;
  });
  after(() => t.close());

  const idsAt = (...dates: string[]) => dates.map((d) => at[d]!).sort((a, b) => a - b);
  const F = `${P}_SubscriptionExpireDate`;

  test('YYYY-MM-DD matches the whole day', async () => {
    assert.deepEqual(await matching(t, q(F, '2030-01-06')), idsAt(...DATES.slice(1, 6)));
    assert.deepEqual(await matching(t, q(F, '2030-01-05')), idsAt(DATES[0]!));
    assert.deepEqual(await matching(t, q(F, '2030-01-08')), []);
  });

  test('YYYY-MM-DDTHH:mm matches that minute', async () => {
    assert.deepEqual(await matching(t, q(F, '2030-01-06T10:30')), idsAt('2030-01-06T10:30:00.000Z', '2030-01-06T10:30:59.999Z'));
    assert.deepEqual(await matching(t, q(F, '2030-01-06T10:31')), idsAt('2030-01-06T10:31:00.000Z'));
    assert.deepEqual(await matching(t, q(F, '2030-01-06T10:29')), []);
    assert.deepEqual(await matching(t, q(F, '2030-01-06T11:30+01:00')), idsAt('2030-01-06T10:30:00.000Z', '2030-01-06T10:30:59.999Z'));
  });

  test('a full ISO value matches at its own precision (second, millisecond)', async () => {
    assert.deepEqual(await matching(t, q(F, '2030-01-06T10:30:00Z')), idsAt('2030-01-06T10:30:00.000Z'));
    assert.deepEqual(await matching(t, q(F, '2030-01-06T10:30:59')), idsAt('2030-01-06T10:30:59.999Z'));
    assert.deepEqual(await matching(t, q(F, '2030-01-06T10:30:59.999Z')), idsAt('2030-01-06T10:30:59.999Z'));
    assert.deepEqual(await matching(t, q(F, '2030-01-06T10:30:59.998Z')), []);
  });

  test('from_ starts at the beginning of the unit given', async () => {
    const FROM = `from_${P}_SubscriptionExpireDate`;
    assert.deepEqual(await matching(t, q(FROM, '2030-01-06')), idsAt(...DATES.slice(1)));
    assert.deepEqual(await matching(t, q(FROM, '2030-01-06T10:30')), idsAt(...DATES.slice(2)));
    assert.deepEqual(await matching(t, q(FROM, '2030-01-06T10:30:00.001Z')), idsAt(...DATES.slice(3)));
    assert.deepEqual(await matching(t, q(FROM, '2030-01-08')), []);
  });

  test('to_ is inclusive of the whole unit given', async () => {
    const TO = `to_${P}_SubscriptionExpireDate`;
    assert.deepEqual(await matching(t, q(TO, '2030-01-06')), idsAt(...DATES.slice(0, 6)));
    assert.deepEqual(await matching(t, q(TO, '2030-01-06T10:30')), idsAt(...DATES.slice(0, 4)));
    assert.deepEqual(await matching(t, q(TO, '2030-01-06T10:30:00Z')), idsAt(...DATES.slice(0, 3)));
    assert.deepEqual(await matching(t, q(TO, '2030-01-05')), idsAt(DATES[0]!));
    assert.deepEqual(await matching(t, q(TO, '2030-01-04')), []);
  });

  test('from_ and to_ together; from_ after to_ gives nothing', async () => {
    const FROM = `from_${P}_SubscriptionExpireDate`;
    const TO = `to_${P}_SubscriptionExpireDate`;
    assert.deepEqual(await matching(t, `${q(FROM, '2030-01-06T10:30')}&${q(TO, '2030-01-06T10:31')}`), idsAt(...DATES.slice(2, 5)));
    assert.deepEqual(await matching(t, `${q(FROM, '2030-01-06')}&${q(TO, '2030-01-06')}`), idsAt(...DATES.slice(1, 6)));
    assert.deepEqual(await matching(t, `${q(FROM, '2030-01-07')}&${q(TO, '2030-01-05')}`), []);
  });

  test('range and date filter names are case-insensitive', async () => {
    assert.deepEqual(await matching(t, q('FROM_COWORKERMSOFFICECALENDAR_SUBSCRIPTIONEXPIREDATE', '2030-01-07')), idsAt(DATES[6]!));
    assert.deepEqual(await matching(t, q('coworkermsofficecalendar_subscriptionexpiredate', '2030-01-05')), idsAt(DATES[0]!));
  });

  for (const bad of ['yesterday', '2030-02-31', '06/01/2030', '2030-01-06T24:00']) {
    test(`an invalid date ${JSON.stringify(bad)} in a date filter or range is 400 on that parameter`, async () => {
      for (const param of [F, `from_${P}_SubscriptionExpireDate`, `to_${P}_CreatedOn`, `from_${P}_UpdatedOn`]) {
        const errors = assertValidation(await call(t, 'GET', `${CAL}?${q(param, bad)}`), [param]);
        assert.match(errors.get(param)!.Message, /valid date/);
      }
    });
  }
});

describe('CreatedOn and UpdatedOn ranges', () => {
  test('from_ and to_ on CreatedOn and UpdatedOn, at millisecond and day precision', async (ctx) => {
    const t = await testApp(ctx);
    const r = await createResource(t.app, t.admin);
    const a = await createCalendar(t.app, t.admin, r.Id);
    t.clock.advance(10);
    const between = new Date(t.clock.now()).toISOString();
    t.clock.advance(10);
    const b = await createCalendar(t.app, t.admin, r.Id);
    assert.ok(a.CreatedOn < between && between < b.CreatedOn);

    assert.deepEqual(await matching(t, q(`from_${P}_CreatedOn`, between)), [b.Id]);
    assert.deepEqual(await matching(t, q(`to_${P}_CreatedOn`, between)), [a.Id]);
    assert.deepEqual(await matching(t, q(`to_${P}_CreatedOn`, a.CreatedOn)), [a.Id], 'to_ includes the instant given');
    assert.deepEqual(await matching(t, q(`from_${P}_CreatedOn`, b.CreatedOn)), [b.Id], 'from_ includes the instant given');
    assert.deepEqual(await matching(t, q(`from_${P}_UpdatedOn`, between)), [b.Id]);

    t.clock.advance(10);
    const beforeUpdate = new Date(t.clock.now()).toISOString();
    t.clock.advance(10);
    const put = await call(t, 'PUT', CAL, { ...calendarBody(r.Id), Id: a.Id });
    assert.equal(put.status, 200, put.raw);
    assert.deepEqual(await matching(t, q(`from_${P}_UpdatedOn`, beforeUpdate)), [a.Id]);
    assert.deepEqual(await matching(t, q(`to_${P}_UpdatedOn`, beforeUpdate)), [b.Id]);
    assert.deepEqual(await matching(t, q(`from_${P}_CreatedOn`, beforeUpdate)), [], 'CreatedOn does not move on update');

    const today = new Date(t.clock.now()).toISOString().slice(0, 10);
    const tomorrow = new Date(t.clock.now() + 86_400_000).toISOString().slice(0, 10);
    const yesterday = new Date(t.clock.now() - 86_400_000).toISOString().slice(0, 10);
    if (b.CreatedOn.slice(0, 10) === today && a.CreatedOn.slice(0, 10) === today) {
      assert.deepEqual(await matching(t, q(`to_${P}_CreatedOn`, today)), [a.Id, b.Id], 'to_ a day includes that whole day');
      assert.deepEqual(await matching(t, q(`from_${P}_CreatedOn`, today)), [a.Id, b.Id]);
    }
    assert.deepEqual(await matching(t, q(`from_${P}_CreatedOn`, tomorrow)), []);
    assert.deepEqual(await matching(t, q(`to_${P}_CreatedOn`, yesterday)), []);
  });
});

describe('the last day a date can have (year 9999)', () => {
  test('to_ and the date filter at 9999-12-31 (and its last minute) bound nothing away; from_ there still finds the latest', async (ctx) => {
    const t = await testApp(ctx);
    const r = await createResource(t.app, t.admin);
    const early = await createCalendar(t.app, t.admin, r.Id, { SubscriptionExpireDate: '2030-01-06T10:30:00Z' });
    const last = await createCalendar(t.app, t.admin, r.Id, { SubscriptionExpireDate: '9999-12-31T23:59:59.999Z' });
    const both = [early.Id, last.Id].sort((x, y) => x - y);
    for (const value of ['9999-12-31', '9999-12-31T23:59', '9999-12-31T23:59:59', '9999-12-31T23:59:59.999Z']) {
      assert.deepEqual(await matching(t, q(`to_${P}_SubscriptionExpireDate`, value)), both, `to_ ${value}`);
      assert.deepEqual(await matching(t, q(`to_${P}_CreatedOn`, value)), both, `to_CreatedOn ${value}`);
      assert.deepEqual(await matching(t, q(`to_${P}_UpdatedOn`, value)), both, `to_UpdatedOn ${value}`);
      assert.deepEqual(await matching(t, q(`${P}_SubscriptionExpireDate`, value)), [last.Id], `equal to ${value}`);
      assert.deepEqual(await matching(t, q(`from_${P}_SubscriptionExpireDate`, value)), [last.Id], `from_ ${value}`);
    }
    assert.deepEqual(await matching(t, q(`to_${P}_SubscriptionExpireDate`, '9999-12-30')), [early.Id]);
    assert.deepEqual(await matching(t, `${q(`from_${P}_SubscriptionExpireDate`, '2030-01-06')}&${q(`to_${P}_SubscriptionExpireDate`, '9999-12-31')}`), both);
  });
});
