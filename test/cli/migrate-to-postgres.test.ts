import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import { buildApp } from '../../src/web/app.js';
import { composeServices } from '../../src/composition-root.js';
import { migrate, openPostgres, openSqlite, type Storage } from '../../src/storage/database.js';
import type { Database } from '../../src/storage/schema.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, basic, testApp, testConfig } from '../helpers/app.js';
import { tempDir, type Scope } from '../helpers/cleanup.js';
import { createCalendar, createCoworker, createResource } from '../helpers/factories.js';
import { postgresUrlFor, testDatabaseUrl } from '../helpers/database.js';
import { digestSecret } from '../../src/core/secret-box.js';

async function appOn(storage: Storage) {
  await migrate(storage);
  const services = composeServices(storage, testConfig);
  if ((await services.users.count()) === 0) {
    await services.userService.create({ Email: ADMIN_EMAIL, Password: ADMIN_PASSWORD, FullAdministrator: true }, { userId: 0, email: 'test' });
  }
  return buildApp(testConfig, services);
}

function runCli(from: string, to: string) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/migrate-to-postgres.ts', '--from', from, '--to', to], { encoding: 'utf8' });
}

test('npm run migrate-to-postgres copies every record, keeps ids, and the service continues on PostgreSQL', {
  skip: !testDatabaseUrl && 'needs PostgreSQL',
  timeout: 120_000,
}, async (ctx) => {
  const dir = tempDir(ctx, 'calbridge-migrate-');
  const file = path.join(dir, 'calbridge.db');
  const sqlite = openSqlite({ file });
  const app = await appOn(sqlite);
  const admin = basic(ADMIN_EMAIL, ADMIN_PASSWORD);
  const resource = await createResource(app, admin);
  const coworker = await createCoworker(app, admin, { FullName: 'Grace Hopper' });
  const calendars = [];
  for (let i = 0; i < 2500; i++) calendars.push(await createCalendar(app, admin, resource.Id, { CoworkerId: i % 2 ? coworker.Id : null }));
  await app.inject({ method: 'DELETE', url: `/api/spaces/coworkermsofficecalendars/${calendars[5]!.Id}`, headers: { authorization: admin } });
  await app.close();
  await sqlite.close();

  const url = await postgresUrlFor(path.join(dir, 'target'));
  const run = runCli(file, url);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /coworker_ms_office_calendars: 2499 \/ 2499 copied/);

  const again = runCli(file, url);
  assert.notEqual(again.status, 0, 'a second copy into a non-empty database is refused');

  const pg = openPostgres({ url });
  const pgApp = await appOn(pg);
  try {
    const got = await pgApp.inject({ method: 'GET', url: `/api/spaces/coworkermsofficecalendars/${calendars[1]!.Id}`, headers: { authorization: admin } });
    assert.equal(got.statusCode, 200, 'the administrator (and its password) came along');
    assert.deepEqual(got.json(), calendars[1]);
    const list = await pgApp.inject({ method: 'GET', url: '/api/spaces/coworkermsofficecalendars?CoworkerMsOfficeCalendar_Coworker_FullName=hopper&size=1', headers: { authorization: admin } });
    assert.equal(list.json().TotalItems, 1249, 'odd-numbered records have the coworker; number 5 was deleted');
    const next = await createCalendar(pgApp, admin, resource.Id);
    assert.ok(next.Id > calendars[calendars.length - 1]!.Id, 'new ids continue after the copied ones');
  } finally {
    await pgApp.close();
    await pg.close();
  }
});

/**
 * The tables to compare, found apart from the CLI's own logic (by name, not by parsing the schema's SQL): a table a
 * later migration adds is compared without anyone listing it.
 */
async function sourceTables(db: Kysely<Database>): Promise<string[]> {
  const rows = await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`.execute(db);
  return rows.rows.map((r) => r.name).filter((n) => !n.startsWith('sqlite_') && !n.startsWith('kysely_migration') && !n.includes('_fts'));
}

/** A table's rows as sorted strings, with numbers, bigints and booleans made one kind, so the two databases compare. */
/** PostgreSQL's own generated columns (not copied; it computes them): table → columns. */
const GENERATED: Record<string, string[]> = { coworker_ms_office_calendars: ['name_lower'] };

async function rowsOf(db: Kysely<Database>, table: string, omit: string[] = []): Promise<string[]> {
  const rows = (await sql<Record<string, unknown>>`SELECT * FROM ${sql.table(table)}`.execute(db)).rows;
  const norm = (v: unknown) => (typeof v === 'bigint' || typeof v === 'boolean' ? Number(v) : v);
  return rows.map((r) => JSON.stringify(Object.keys(r).filter((k) => !omit.includes(k)).sort().map((k) => [k, norm(r[k])]))).sort();
}

/** Graph state that the first version of the CLI dropped: live subscriptions, delta links, sealed member tokens. */
const GRAPH = { recordId: 11, subscriptionId: 'graph-sub-11', clientState: 'client-state-11-secret' };

/** A SQLite database made by the project's migrations with rows in every table, copied by the CLI into a new database. */
async function copied(ctx: Scope, name: string, spoil?: (db: Kysely<Database>) => Promise<unknown>) {
  const dir = tempDir(ctx, `calbridge-migrate-${name}-`);
  const file = path.join(dir, 'calbridge.db');
  const source = openSqlite({ file });
  await migrate(source);
  const db = source.db;
  const iso = '2026-11-02T09:30:00.000Z';
  const ms = Date.parse(iso); // past 2^32: the bigint columns must take it
  const meta = (n: number) => ({ id: n, unique_id: `uid-${n}`, created_on: iso, updated_on: iso, updated_by: 'admin@test.local', is_new: n % 2, system_id: n % 3 ? null : `sys-${n}` });
  // Gaps in the ids, as deletions leave them: the sequences must move past the largest, not the count.
  await db.insertInto('coworkers').values([{ ...meta(3), full_name: 'Ada Lovelace', email: 'ada@mail.test' }, { ...meta(40), full_name: 'Grace Hopper', email: 'grace@mail.test' }]).execute();
  await db.insertInto('resources').values({ ...meta(7), name: 'Room 7', calendar_email: 'room7@space.test' }).execute();
  await db.insertInto('users').values({ ...meta(5), email: ADMIN_EMAIL, full_name: 'Admin', password_hash: 'scrypt$1024$abc$def', full_administrator: 1, roles: '["Calendars"]', coworker_id: 40 }).execute();
  const calendar = (id: number, coworker: number | null) => ({ ...meta(id), resource_id: 7, coworker_id: coworker, name: `Calendar ${id}`, subscription_id: `record-sub-${id}`, calendar_id: `AAMk-${id}`, subscription_expire_date: iso });
  await db.insertInto('coworker_ms_office_calendars').values([calendar(10, null), calendar(GRAPH.recordId, 40), calendar(12, 3)]).execute();
  for (const t of ['access_tokens', 'refresh_tokens'] as const) {
    await db.insertInto(t).values({ token_hash: `${t}-hash`, user_id: 5, client_id: 'nexudus', expires_at: ms + 3_600_000 }).execute();
  }
  const job = (id: number, type: string, state: 'pending' | 'done' | 'dead', key: string | null) => ({
    id, type, payload: JSON.stringify({ recordId: GRAPH.recordId }), state, run_at: ms + id, attempts: state === 'dead' ? 8 : 0, max_attempts: 8,
    dedupe_key: key, locked_by: null, lock_expires_at: state === 'done' ? ms : null, last_error: state === 'dead' ? 'Graph said 503' : null, created_at: ms, updated_at: ms + id,
  });
  await db.insertInto('connect_attempts').values({ id: 3, state_digest: 'digest', user_id: 5, coworker_id: 40, record_id: null, verifier_sealed: 'sealed', token_cache_sealed: null, mailbox: null, created_at: iso, expires_at: iso, status: 'started' } as never).execute();
  await db.insertInto('jobs').values([job(20, 'graph.renew', 'pending', `graph.renew:${GRAPH.recordId}`), job(21, 'graph.sync', 'done', `graph.sync:${GRAPH.recordId}`), job(22, 'graph.subscribe', 'dead', null)]).execute();
  const connection = { auth_mode: 'app' as const, mailbox: '', dedicated: 0, refresh_token_sealed: null, subscription_id: null, subscription_resource: null, client_state: null, delta_link: null, last_notification_at: null, last_renewed_at: null, next_renewal_at: null, last_reauthorized_at: null, last_synced_at: null, last_error: null, updated_at: iso };
  await db.insertInto('graph_connections').values([
    { ...connection, calendar_record_id: 10, state: 'credentials_missing', last_error: 'no coworker' },
    {
      ...connection, calendar_record_id: GRAPH.recordId, auth_mode: 'delegated', mailbox: 'grace@mail.test', state: 'active', refresh_token_sealed: 'v1.sealed-member-token',
      subscription_id: GRAPH.subscriptionId, subscription_resource: '/me/events', client_state: digestSecret(GRAPH.clientState), delta_link: 'https://graph.test/delta?$deltatoken=abc',
      last_notification_at: iso, last_renewed_at: iso, next_renewal_at: '2026-11-04T09:30:00.000Z', last_reauthorized_at: iso, last_synced_at: iso,
    },
  ]).execute();
  await db.insertInto('graph_notifications').values([
    { id: 30, calendar_record_id: GRAPH.recordId, subscription_id: GRAPH.subscriptionId, kind: 'change', change_type: 'updated', lifecycle_event: null, resource: 'me/events/1', received_at: iso },
    { id: 31, calendar_record_id: GRAPH.recordId, subscription_id: GRAPH.subscriptionId, kind: 'lifecycle', change_type: null, lifecycle_event: 'reauthorizationRequired', resource: null, received_at: iso },
  ]).execute();
  await db.insertInto('settings').values({ key: 'token-encryption-check', value: 'v1.sealed-check' }).execute();
  // Bookings: one from Outlook (active), one from the API (cancelled), and a conflict waiting for the room.
  await db.insertInto('bookings').values([
    { ...meta(30), resource_id: 7, coworker_id: 40, from_time: '2030-01-06T10:00:00.000Z', to_time: '2030-01-06T11:00:00.000Z', notes: 'Planning', tentative: 0,
      office365_event_id: 'evt-1', coworker_ms_office_calendar_id: GRAPH.recordId, source: 'outlook', event_key: 'evt-1', cancelled_on: null, cancellation_reason: null },
    { ...meta(31), resource_id: 7, coworker_id: 3, from_time: '2030-01-06T10:00:00.000Z', to_time: '2030-01-06T12:00:00.000Z', notes: null, tentative: 1,
      office365_event_id: null, coworker_ms_office_calendar_id: null, source: 'api', event_key: null, cancelled_on: '2029-12-01T00:00:00.000Z', cancellation_reason: 'Customer' },
  ]).execute();
  await db.insertInto('booking_conflicts').values({
    id: 2, coworker_ms_office_calendar_id: 12, event_key: 'evt-9', resource_id: 7, coworker_id: 3, from_time: '2030-01-06T10:30:00.000Z',
    to_time: '2030-01-06T11:30:00.000Z', tentative: 0, subject: 'Team sync', blocking_booking_id: 30, detected_on: '2029-12-01T00:00:00.000Z', marked: 1,
  }).execute();
  await spoil?.(db);
  await source.close();

  const targetDir = path.join(dir, 'target');
  const url = await postgresUrlFor(targetDir);
  return { file, url, targetDir, run: runCli(file, url) };
}

test('migrate-to-postgres copies every table the migrations make, Graph state included, and moves every sequence', {
  skip: !testDatabaseUrl && 'needs PostgreSQL',
  timeout: 60_000,
}, async (ctx) => {
  const { file, url, run } = await copied(ctx, 'tables');
  assert.equal(run.status, 0, run.stderr);
  assert.doesNotMatch(run.stderr, /exists only/, 'both sides have the same columns');
  const source = openSqlite({ file, backgroundCheckpoints: false });
  const target = openPostgres({ url });
  try {
    const tables = await sourceTables(source.db);
    for (const t of ['graph_connections', 'graph_notifications', 'settings', 'jobs', 'users', 'access_tokens', 'refresh_tokens', 'coworkers', 'resources', 'coworker_ms_office_calendars']) {
      assert.ok(tables.includes(t), `${t} is among the source's tables`);
    }
    const lowered = (await sql<{ ok: boolean }>`SELECT bool_and(name_lower = lower(name)) AS ok FROM coworker_ms_office_calendars`.execute(target.db)).rows[0];
    assert.equal(lowered?.ok, true, 'PostgreSQL computed the stored lowercase names');
    for (const table of tables) {
      const rows = await rowsOf(source.db, table);
      assert.ok(rows.length > 0, `the test database has rows in ${table} (give a new table some, so its copy is checked)`);
      assert.match(run.stdout, new RegExp(`^${table}: ${rows.length} / ${rows.length} copied$`, 'm'));
      assert.deepEqual(await rowsOf(target.db, table, GENERATED[table]), rows, `${table} arrived whole`);
    }
    // Every integer primary key that PostgreSQL fills from a sequence continues after the copied ids.
    for (const table of tables) {
      const pk = (await sql<{ name: string; type: string }>`SELECT name, type FROM pragma_table_info(${table}) WHERE pk = 1`.execute(source.db)).rows;
      if (pk.length !== 1 || pk[0]!.type.toUpperCase() !== 'INTEGER') continue;
      const { seq } = (await sql<{ seq: string | null }>`SELECT pg_get_serial_sequence(${table}, ${pk[0]!.name}) AS seq`.execute(target.db)).rows[0]!;
      if (!seq) continue; // a key the application gives (graph_connections.calendar_record_id)
      const { max } = (await sql<{ max: number }>`SELECT max(${sql.ref(pk[0]!.name)}) AS max FROM ${sql.table(table)}`.execute(target.db)).rows[0]!;
      const { next } = (await sql<{ next: number }>`SELECT nextval(${seq}) AS next`.execute(target.db)).rows[0]!;
      assert.ok(Number(next) > Number(max), `${table}: the next id (${next}) follows the copied ones (${max})`);
    }
    const coworker = await target.db.insertInto('coworkers')
      .values({ unique_id: 'uid-new', created_on: 'x', updated_on: 'x', updated_by: null, is_new: 1, system_id: null, full_name: 'New', email: 'new@mail.test' })
      .returning('id').executeTakeFirstOrThrow();
    assert.ok(coworker.id > 40, `a new coworker gets an id (${coworker.id}) above the copied 40`);
  } finally {
    await source.close();
    await target.close();
  }
});

test('after migrate-to-postgres, the service on PostgreSQL still takes notifications for the copied subscriptions', {
  skip: !testDatabaseUrl && 'needs PostgreSQL',
  timeout: 60_000,
}, async (ctx) => {
  const { run, targetDir } = await copied(ctx, 'webhooks');
  assert.equal(run.status, 0, run.stderr);
  // The test app on PostgreSQL opens the database of its directory: the one the CLI copied into.
  const t = await testApp(ctx, { dir: targetDir });
  const res = await t.app.inject({
    method: 'POST', url: '/graph/notifications', headers: { 'content-type': 'application/json' },
    payload: { value: [{ subscriptionId: GRAPH.subscriptionId, clientState: GRAPH.clientState, changeType: 'updated', resource: 'x' }] },
  });
  assert.equal(res.statusCode, 202, res.body);
  const db = t.storage.db;
  const kept = await db.selectFrom('graph_notifications').selectAll().where('calendar_record_id', '=', GRAPH.recordId).where('resource', '=', 'x').execute();
  assert.equal(kept.length, 1, 'the notification matched the copied subscription and clientState');
  const sync = await db.selectFrom('jobs').selectAll().where('type', '=', 'graph.sync').where('state', '=', 'pending').execute();
  assert.deepEqual(sync.map((j) => JSON.parse(j.payload)), [{ recordId: GRAPH.recordId }], 'a sync of the calendar is queued');
});

test('migrate-to-postgres commits nothing when a row cannot be copied', {
  skip: !testDatabaseUrl && 'needs PostgreSQL',
  timeout: 60_000,
}, async (ctx) => {
  // SQLite keeps text in an integer column; PostgreSQL refuses it. refresh_tokens comes last (it needs users).
  const { file, url, run } = await copied(ctx, 'rollback', (db) => sql`UPDATE refresh_tokens SET expires_at = 'never'`.execute(db));
  assert.equal(run.status, 1);
  assert.match(run.stderr, /nothing was committed/);
  assert.match(run.stdout, /^coworkers: 2 \/ 2 copied$/m, 'tables before it were copied, inside the transaction');
  const source = openSqlite({ file, backgroundCheckpoints: false });
  const target = openPostgres({ url });
  try {
    for (const table of await sourceTables(source.db)) assert.deepEqual(await rowsOf(target.db, table), [], `${table} stayed empty`);
  } finally {
    await source.close();
    await target.close();
  }
});
