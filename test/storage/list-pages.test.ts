/**
 * A list page takes its ids first and then reads only its own rows (ListPlan.ids). Whatever the filters, order,
 * direction, page and size, that page holds the same records in the same order, with the same total, as the page read
 * whole in one query (ties of the order, names that differ only in case, records without a coworker included).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sql } from 'kysely';
import type { Condition, ListQuery } from '../../src/core/list-query.js';
import { CoworkerMsOfficeCalendarRepository } from '../../src/modules/calendars/repository.js';
import type { ListPlan } from '../../src/modules/records/record-repository.js';
import { testApp } from '../helpers/app.js';

/** The same repository, reading each page whole. */
class WholeRowPages extends CoworkerMsOfficeCalendarRepository {
  protected override plan(query: ListQuery): ListPlan {
    const plan = super.plan(query);
    assert.ok(plan.ids || query.orderBy === 'Id', 'only the index-driven Name plans read pages whole');
    return { ...plan, ids: undefined };
  }
}

const NAMES = ['Quist Room', 'quist room', 'Smith Desk', 'SMITH desk', 'Novak', 'Garcia Quist', 'ab'];
const ORDERS = ['Id', 'Name', 'CoworkerFullName', 'ResourceId', 'CoworkerId', 'SubscriptionExpireDate', 'UpdatedOn'];

const conditionArb: fc.Arbitrary<Condition> = fc.oneof(
  fc.integer({ min: 1, max: 3 }).map((v) => ({ field: 'ResourceId', op: 'eq' as const, value: v })),
  fc.integer({ min: 1, max: 3 }).map((v) => ({ field: 'CoworkerId', op: 'eq' as const, value: v })),
  fc.constantFrom('quist', 'SMITH', 'ro', 'novak', 'zzz').map((v) => ({ field: 'Name', op: 'contains' as const, value: v })),
  fc.constantFrom('Ada', 'lin').map((v) => ({ field: 'CoworkerFullName', op: 'contains' as const, value: v })),
  fc.constantFrom('2030-01-02T00:00:00.000Z', '2030-01-04T00:00:00.000Z').map((v) => ({ field: 'SubscriptionExpireDate', op: 'gte' as const, value: v })),
);
const queryArb: fc.Arbitrary<ListQuery> = fc.record({
  conditions: fc.uniqueArray(conditionArb, { maxLength: 3, selector: (c) => c.field }),
  orderBy: fc.constantFrom(...ORDERS),
  descending: fc.boolean(),
  page: fc.integer({ min: 1, max: 6 }),
  size: fc.integer({ min: 1, max: 7 }),
});

test('a page read through its ids first equals the page read whole', async (ctx) => {
  const t = await testApp(ctx);
  const { db } = t.storage;
  const now = '2026-11-30T10:00:00.000Z';
  const meta = (i: number) => ({ unique_id: `u-${i}`, created_on: now, updated_on: `2026-11-30T10:00:0${i % 3}.000Z`, updated_by: 't', is_new: 1 });
  for (let r = 1; r <= 3; r++) await db.insertInto('resources').values({ ...meta(r), name: `Room ${r}` } as never).execute();
  for (const [i, fullName] of ['Ada Lovelace', 'ada lovelace', 'Linus'].entries()) {
    await db.insertInto('coworkers').values({ ...meta(i), full_name: fullName, email: `c${i}@example.com` } as never).execute();
  }
  for (let i = 0; i < 40; i++) {
    await db.insertInto('coworker_ms_office_calendars').values({
      ...meta(100 + i), resource_id: 1 + (i % 3), coworker_id: i % 4 === 3 ? null : 1 + ((i * 7) % 3), name: NAMES[i % NAMES.length]!,
      subscription_id: `s-${i}`, calendar_id: `c-${i}`, subscription_expire_date: `2030-01-0${1 + (i % 5)}T00:00:00.000Z`,
    } as never).execute();
  }
  assert.equal(Number((await sql<{ n: number }>`SELECT count(*) AS n FROM coworker_ms_office_calendars`.execute(db)).rows[0]!.n), 40);
  const throughIds = new CoworkerMsOfficeCalendarRepository(t.storage);
  const whole = new WholeRowPages(t.storage);
  let nonEmpty = 0;
  await fc.assert(fc.asyncProperty(queryArb, async (query) => {
    const [a, b] = [await throughIds.list(query), await whole.list(query)];
    assert.deepEqual(a.records.map((r) => r.Id), b.records.map((r) => r.Id));
    assert.deepEqual(a.records, b.records);
    assert.equal(a.total, b.total);
    if (a.records.length) nonEmpty++;
  }), { numRuns: 300 });
  assert.ok(nonEmpty > 100, `most pages hold records (${nonEmpty} of 300)`);
});
