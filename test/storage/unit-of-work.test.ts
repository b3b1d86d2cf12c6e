/** The transaction seam: a record, its Graph connection and its jobs commit together or not at all. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { createTestApp } from '../helpers/app.js';
import { createCoworker, createResource } from '../helpers/factories.js';
import { inTransaction, afterCommit } from '../../src/storage/unit-of-work.js';
import { call } from '../helpers/api.js';

async function count(t: Awaited<ReturnType<typeof createTestApp>>, table: string): Promise<number> {
  const r = await sql<{ n: number | string }>`SELECT count(*) AS n FROM ${sql.table(table)}`.execute(t.storage.db);
  return Number(r.rows[0]!.n);
}

test('a create whose later step fails leaves nothing behind: no record, no connection, no job', async (ctx) => {
  const t = await createTestApp();
  ctx.after(() => t.close());
  const resource = await createResource(t.app, t.admin);
  const coworker = await createCoworker(t.app, t.admin);
  let fail = true;
  // A step after the insert and after the connection's own writes fails (as a broken observer or database would).
  t.container.calendarService.observe({ async created() { if (fail) throw new Error('a later step failed'); } });
  const body = { ResourceId: resource.Id, CoworkerId: coworker.Id, Name: 'Rolled back', SubscriptionId: 's', CalendarId: 'c', SubscriptionExpireDate: '2030-01-01T00:00:00Z' };
  const a = await call(t, 'POST', '/api/spaces/coworkermsofficecalendars', body);
  assert.equal(a.status, 500);
  assert.equal(await count(t, 'coworker_ms_office_calendars'), 0, 'the record was rolled back');
  assert.equal(await count(t, 'graph_connections'), 0, 'so was its connection');
  assert.equal(await count(t, 'jobs'), 0, 'and its subscribe job');
  const list = await call(t, 'GET', '/api/spaces/coworkermsofficecalendars');
  assert.equal(list.body.TotalItems, 0);

  fail = false;
  const ok = await call(t, 'POST', '/api/spaces/coworkermsofficecalendars', body);
  assert.equal(ok.status, 200, ok.raw);
  assert.equal(await count(t, 'coworker_ms_office_calendars'), 1);
  assert.equal(await count(t, 'graph_connections'), 1);
  const jobs = await t.storage.db.selectFrom('jobs').select(['type', 'dedupe_key']).execute();
  assert.deepEqual(jobs, [{ type: 'graph.subscribe', dedupe_key: `graph.subscribe:${ok.body.Value.Id}` }]);
  assert.equal((await call(t, 'GET', '/api/spaces/coworkermsofficecalendars')).body.TotalItems, 1, 'the list total moved after the commit');
});

test('afterCommit runs after a commit, never after a rollback', async (ctx) => {
  const t = await createTestApp();
  ctx.after(() => t.close());
  const ran: string[] = [];
  await inTransaction(t.storage.db, async (trx) => {
    await afterCommit(trx, () => ran.push('committed'));
    assert.deepEqual(ran, [], 'not before the commit');
  });
  await assert.rejects(inTransaction(t.storage.db, async (trx) => {
    await afterCommit(trx, () => ran.push('rolled back'));
    throw new Error('abort');
  }));
  await afterCommit(t.storage.db, () => ran.push('no transaction'));
  assert.deepEqual(ran, ['committed', 'no transaction']);
});

test('a check inside a transaction holds until its commit: 30 concurrent creates of one e-mail, exactly one wins', async (ctx) => {
  const t = await createTestApp();
  ctx.after(() => t.close());
  const { auth } = await t.userWithRoles(['Coworker-Create']); // a bearer token: 30 concurrent Basic logins would be throttled
  const answers = await Promise.all(Array.from({ length: 30 }, (_, i) =>
    call(t, 'POST', '/api/spaces/coworkers', { FullName: `Racer ${i}`, Email: 'same@race.test' }, { auth })));
  assert.equal(answers.filter((a) => a.status === 200).length, 1, answers.map((a) => a.status).join(','));
  assert.ok(answers.every((a) => a.status === 200 || a.status === 400), `the losers get a 400, never a 500: ${answers.filter((a) => a.status !== 200 && a.status !== 400).map((a) => a.raw).slice(0, 2).join(' | ')}`);
  assert.equal(await count(t, 'coworkers'), 1);
});
