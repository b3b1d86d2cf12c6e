/** Queries built once run as named prepared statements on PostgreSQL; everything else stays unnamed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { migrate, openPostgres } from '../../src/storage/database.js';
import { preparedQuery } from '../../src/storage/prepared.js';
import { inTransaction } from '../../src/storage/unit-of-work.js';
import { CoworkerMsOfficeCalendarRepository } from '../../src/modules/calendars/repository.js';
import { postgresUrlFor, testDatabaseUrl } from '../helpers/database.js';
import type { ListQuery } from '../../src/core/list-query.js';
import { ConnectionRepository } from '../../src/modules/graph/connection-repository.js';
import { systemClock } from '../../src/core/clock.js';
import { defer, tempDir } from '../helpers/cleanup.js';

test('named statements on PostgreSQL: prepared once per connection, with new arguments each call', { skip: !testDatabaseUrl && 'PostgreSQL only' }, async (ctx) => {
  // One connection, so the statements this session prepared are the ones pg_prepared_statements shows.
  const storage = openPostgres({ url: await postgresUrlFor(tempDir(ctx, 'calbridge-prepared-')), poolSize: 1 });
  defer(ctx, () => storage.close());
  await migrate(storage);
  const db = storage.db;
  await sql`INSERT INTO resources (unique_id, created_on, updated_on, updated_by, is_new, name, calendar_email)
    VALUES ('u1', '2026-01-01', '2026-01-01', 't', 1, 'Rainier', NULL), ('u2', '2026-01-01', '2026-01-01', 't', 1, 'Baker', NULL)`.execute(db);
  const nameOf = preparedQuery(db, (id: number) => db.selectFrom('resources').select('name').where('id', '=', id), 1);
  assert.deepEqual(await nameOf(1), [{ name: 'Rainier' }]);
  assert.deepEqual(await nameOf(2), [{ name: 'Baker' }], 'the same statement with a new argument');
  assert.deepEqual(await inTransaction(db, (trx) => nameOf.on(trx, 1)), [{ name: 'Rainier' }], 'inside a transaction too');
  const calendars = new CoworkerMsOfficeCalendarRepository(storage);
  await calendars.findById(1);
  // A list filtered by equality is built once per shape and named; a substring filter is built per request.
  const listOf = (conditions: ListQuery['conditions'], page = 1) => calendars.list({ conditions, page, size: 20, orderBy: 'Id', descending: false } as ListQuery);
  await sql`INSERT INTO coworker_ms_office_calendars (unique_id, created_on, updated_on, updated_by, is_new, resource_id, name, subscription_id, calendar_id, subscription_expire_date)
    VALUES ('c1', '2026-01-01', '2026-01-01', 't', 1, 1, 'Desk calendar', 's', 'c', '2030-01-01T00:00:00.000Z')`.execute(db);
  const listed = await listOf([{ field: 'ResourceId', op: 'eq', value: 1 }]);
  assert.deepEqual([listed.total, listed.records.map((r) => r.Name)], [1, ['Desk calendar']]);
  assert.deepEqual(await listOf([{ field: 'ResourceId', op: 'eq', value: 2 }], 2), { records: [], total: 0 });
  assert.equal((await listOf([{ field: 'Name', op: 'contains', value: 'desk' }])).total, 1);
  await db.selectFrom('resources').select('id').where('name', '=', 'Baker').execute(); // built per call: unnamed
  // Built once but `select *`: never named (a column added by a migration in another process would break it).
  await new ConnectionRepository(db, systemClock, 'postgres').get(1);

  // A create inserts and reads back its record (with the coworker's name) in one statement.
  const created = (await calendars.createRow({ unique_id: 'c2', created_on: '2026-01-01', updated_on: '2026-01-01', updated_by: 't', is_new: 1,
    resource_id: 2, name: 'Made in one', subscription_id: 's', calendar_id: 'c', subscription_expire_date: '2030-01-01T00:00:00.000Z' }, [{ table: 'resources', id: 2 }]))?.record;
  assert.deepEqual([created?.Name, created?.ResourceId, created?.CoworkerFullName], ['Made in one', 2, null]);
  assert.equal(await calendars.createRow({ unique_id: 'c3', created_on: '2026-01-01', updated_on: '2026-01-01', updated_by: 't', is_new: 1,
    resource_id: 99, name: 'No room', subscription_id: 's', calendar_id: 'c', subscription_expire_date: '2030-01-01T00:00:00.000Z' }, [{ table: 'resources', id: 99 }]), undefined, 'a missing reference inserts nothing');
  const prepared = (await sql<{ name: string; statement: string }>`SELECT name, statement FROM pg_prepared_statements`.execute(db)).rows;
  const texts = prepared.map((p) => p.statement);
  assert.ok(texts.some((t) => /select "name" from "resources" where "id" = \$1/.test(t)), texts.join('\n'));
  assert.ok(texts.some((t) => /from "coworker_ms_office_calendars" as "c"/.test(t)), 'get by id is named');
  assert.ok(!texts.some((t) => /"name" = \$1/.test(t)), 'an ad-hoc query is not');
  assert.ok(texts.some((t) => /^with "created_row" as \(insert into "coworker_ms_office_calendars" .* returning \*\) select .* from "created_row" as "c" left join "coworkers" as "w"/.test(t)), 'the create: insert and read back in one');
  const page = texts.find((t) => /where "c"\."resource_id" = \$1 order by "c"\."id" asc limit \$2 offset \$3/i.test(t));
  assert.ok(page, 'the Resource list page');
  assert.match(page, /pg_current_snapshot\(\)::text as "calbridge_data_version"/, 'it brings the data version along: one statement per page');
  assert.ok(texts.some((t) => /select count\(\*\) as "n" from "coworker_ms_office_calendars" as "c" where "c"\."resource_id" = \$1/.test(t)), 'its total');
  // A substring page by Id is one named statement: the page's ids from (id) INCLUDE (name_lower), then their rows.
  const namePage = texts.filter((t) => /LIKE/i.test(t));
  assert.equal(namePage.length, 1, namePage.join('\n'));
  assert.match(namePage[0]!, /"c"\."id" IN \(SELECT id FROM "coworker_ms_office_calendars" WHERE name_lower LIKE \$1 ESCAPE '\\' *ORDER BY id ASC LIMIT \$2 OFFSET \$3\)/);
  assert.match(namePage[0]!, /as "calbridge_data_version"/, 'with the data version');
  assert.ok(!texts.some((t) => /count\(\*\).*LIKE/is.test(t)), 'its total is planned per count (the trigram index, by the term)');
  assert.ok(prepared.every((p) => p.name.startsWith('calbridge_')));
  assert.ok(!texts.some((t) => /select \*/i.test(t)), 'no select * is prepared');
  assert.equal(new Set(texts).size, texts.length, 'each text prepared once');
});
