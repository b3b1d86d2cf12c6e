/**
 * /api/spaces/bookingconflicts as a list: ordered by start unless asked, orderBy and dir as every list (or a 400 for
 * a field the list cannot order by), never an order other than the one it reports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testApp, type TestApp } from '../helpers/app.js';
import { twoMembers } from '../helpers/factories.js';
import { call, assertValidation } from '../helpers/api.js';
import { CONFLICT_COLUMNS, conflictOrder } from '../../src/modules/bookings/conflict-list.js';

const CONFLICTS = '/api/spaces/bookingconflicts';
const FIELDS = Object.keys(CONFLICT_COLUMNS);

/** Conflicts whose fields each order differently from their ids (and with ties and nulls). */
async function conflicts(t: TestApp) {
  const { room, desk, ada, bob, adaCal, bobCal } = await twoMembers(t.app, t.admin);
  const blocker = async (resourceId: number, day: string) =>
    (await call(t, 'POST', '/api/spaces/bookings', { ResourceId: resourceId, FromTime: `${day}T09:00Z`, ToTime: `${day}T11:00Z` })).body.Value.Id as number;
  const b1 = await blocker(desk.Id, '2030-02-03');
  const b2 = await blocker(room.Id, '2030-02-01');
  const rows = [
    { cal: bobCal.Id, key: 'evt-c', resource: desk.Id, coworker: bob.Id, from: '2030-02-03T09:30:00.000Z', to: '2030-02-03T10:00:00.000Z', subject: 'charlie', blocking: b1, detected: '2030-01-02T00:00:00.000Z' },
    { cal: adaCal.Id, key: 'EVT-A', resource: room.Id, coworker: ada.Id, from: '2030-02-01T09:30:00.000Z', to: '2030-02-01T12:00:00.000Z', subject: null, blocking: b2, detected: '2030-01-03T00:00:00.000Z' },
    { cal: bobCal.Id, key: 'evt-b', resource: desk.Id, coworker: null, from: '2030-02-02T09:30:00.000Z', to: '2030-02-02T09:45:00.000Z', subject: 'Bravo', blocking: null, detected: '2030-01-01T00:00:00.000Z' },
    { cal: adaCal.Id, key: 'evt-d', resource: room.Id, coworker: ada.Id, from: '2030-02-01T10:00:00.000Z', to: '2030-02-01T11:00:00.000Z', subject: 'alpha', blocking: b2, detected: '2030-01-03T00:00:00.000Z' },
  ];
  for (const r of rows) {
    await t.container.bookings.saveConflict({
      coworker_ms_office_calendar_id: r.cal, event_key: r.key, resource_id: r.resource, coworker_id: r.coworker, from_time: r.from, to_time: r.to,
      tentative: 0, subject: r.subject, blocking_booking_id: r.blocking, detected_on: r.detected,
    });
  }
  const all = (await call(t, 'GET', `${CONFLICTS}?orderBy=FromTime&size=1000`)).body.Records as Array<Record<string, any>>;
  assert.equal(all.length, rows.length);
  await t.container.bookings.setConflictMarked(all[1]!.Id, true);
  all[1]!.MarkedInOutlook = true;
  return all;
}

/** The ids in the order every list promises: by the field (strings case-insensitively; nulls first ascending, last descending), ties by Id. */
function expected(records: Array<Record<string, any>>, field: string, descending: boolean): number[] {
  const key = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : typeof v === 'boolean' ? Number(v) : v) as string | number | null;
  return [...records].sort((a, b) => {
    if (field === 'Id') return descending ? b.Id - a.Id : a.Id - b.Id;
    const x = key(a[field]), y = key(b[field]);
    if (x !== y) {
      if (x === null) return descending ? 1 : -1;
      if (y === null) return descending ? -1 : 1;
      return (x < y ? -1 : 1) * (descending ? -1 : 1);
    }
    return a.Id - b.Id;
  }).map((r) => r.Id);
}

test('conflicts are ordered by FromTime unless asked; orderBy (any field) and dir are honoured, never ignored', async (ctx) => {
  const t = await testApp(ctx);
  const all = await conflicts(t);
  const byFrom = expected(all, 'FromTime', false);
  assert.notDeepEqual(byFrom, [...byFrom].sort((a, b) => a - b), 'the start order is not the id order');

  const list = (await call(t, 'GET', CONFLICTS)).body;
  assert.equal(list.CurrentOrderField, 'FromTime');
  assert.equal(list.CurrentSortDirection, 0);
  assert.deepEqual(list.Records.map((r: any) => r.Id), byFrom);
  const desc = (await call(t, 'GET', `${CONFLICTS}?dir=1`)).body;
  assert.equal(desc.CurrentSortDirection, 1);
  assert.deepEqual(desc.Records.map((r: any) => r.Id), expected(all, 'FromTime', true));

  for (const field of FIELDS) {
    for (const dir of [0, 1]) {
      const a = await call(t, 'GET', `${CONFLICTS}?orderBy=${field.toLowerCase()}&dir=${dir}`);
      assert.equal(a.status, 200, a.raw);
      assert.equal(a.body.CurrentOrderField, field);
      assert.equal(a.body.CurrentSortDirection, dir);
      assert.deepEqual(a.body.Records.map((r: any) => r.Id), expected(all, field, dir === 1), `orderBy=${field}&dir=${dir}`);
    }
  }
  const unknown = assertValidation(await call(t, 'GET', `${CONFLICTS}?orderBy=Nope`), ['orderBy']);
  assert.equal(unknown.get('orderBy')!.Message, 'is not a field of BookingConflict');
  assertValidation(await call(t, 'GET', `${CONFLICTS}?dir=sideways`), ['dir']);
});

test("conflictOrder (the ORDER BY for listConflicts) orders booking_conflicts by every field of the conflict record, both ways", async (ctx) => {
  const t = await testApp(ctx);
  const all = await conflicts(t);
  for (const field of FIELDS) {
    for (const descending of [false, true]) {
      const rows = await t.storage.db.selectFrom('booking_conflicts').select('id').orderBy(conflictOrder({ orderBy: field, descending }) as never).execute();
      assert.deepEqual(rows.map((r) => Number(r.id)), expected(all, field, descending), `${field} ${descending ? 'descending' : 'ascending'}`);
    }
  }
});
