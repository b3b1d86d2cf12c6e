/**
 * On PostgreSQL a create through the API is one statement, one round trip: the record with its reference checks, its
 * Graph connection and its subscribe job, with no BEGIN and COMMIT around it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testApp } from '../helpers/app.js';
import { testDatabaseUrl } from '../helpers/database.js';
import { recordingPgQueries } from '../helpers/pg-queries.js';
import { calendarBody, createCoworker, createResource } from '../helpers/factories.js';
import { dedupeKey, GraphJobs } from '../../src/modules/graph/job-names.js';
import { DEFAULT_MAX_ATTEMPTS } from '../../src/jobs/job-store.js';
import { inTransaction } from '../../src/storage/unit-of-work.js';

test('a create is one statement on PostgreSQL, and writes what the transaction wrote', { skip: !testDatabaseUrl && 'PostgreSQL only' }, async (ctx) => {
  const queriesDuring = recordingPgQueries(ctx);
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const coworker = await createCoworker(t.app, t.admin, { Email: 'grace@mail.test' });
  let response: Awaited<ReturnType<typeof t.app.inject>> | undefined;
  const texts = await queriesDuring(async () => {
    response = await t.app.inject({ method: 'POST', url: '/api/spaces/coworkermsofficecalendars', headers: { authorization: t.admin },
      payload: calendarBody(resource.Id, { CoworkerId: coworker.Id }) });
  });
  assert.equal(response!.statusCode, 200, response!.body);
  const id = response!.json().Value.Id as number;
  const writes = texts.filter((q) => /\b(insert|update|delete|begin|commit)\b/i.test(q));
  assert.equal(writes.length, 1, writes.join('\n'));
  assert.match(writes[0]!, /^with "created_row" as \(insert into "coworker_ms_office_calendars" .*"graph_subscribe_job_connection" as \(insert into "graph_connections" .*"graph_subscribe_job" as \(insert into "jobs" /s);
  // List totals follow the data by their statements' snapshots: a write has nothing more to say (storage/count-cache.ts).
  assert.deepEqual(texts.filter((q) => !/ from "users" /.test(q)), writes, 'nothing but the caller\'s sign-in reaches the database');

  // Inside a caller's transaction (the connect flow's) the same create runs statement by statement: both write the same.
  const viaTransaction = await inTransaction(t.storage.db, (trx) => t.container.calendarService.create(
    calendarBody(resource.Id, { CoworkerId: coworker.Id }), { userId: 1, email: 'admin@test.local' }, trx));
  const written = async (recordId: number) => {
    const conn = await t.container.connections.get(recordId);
    const jobs = await t.storage.db.selectFrom('jobs').select(['type', 'payload', 'state', 'attempts', 'max_attempts', 'run_at', 'created_at'])
      .where('dedupe_key', '=', dedupeKey.subscribe(recordId)).execute();
    return {
      connection: conn && [conn.auth_mode, conn.mailbox, conn.state, conn.action_by, conn.last_error],
      jobs: jobs.map((j) => ({ ...j, payload: JSON.parse(j.payload), onTime: j.run_at === j.created_at })),
      payloadText: jobs.map((j) => j.payload),
    };
  };
  const [inOne, inSteps] = [await written(id), await written(viaTransaction.Id)];
  assert.deepEqual(inOne, {
    connection: ['app', 'grace@mail.test', 'renewing', null, null],
    jobs: [{ type: GraphJobs.subscribe, payload: { recordId: id }, state: 'pending', attempts: 0, max_attempts: DEFAULT_MAX_ATTEMPTS,
      run_at: inOne.jobs[0]?.run_at, created_at: inOne.jobs[0]?.created_at, onTime: true }],
    payloadText: [`{"recordId":${id}}`],
  });
  assert.deepEqual({ ...inSteps, jobs: inSteps.jobs.map((j) => ({ ...j, run_at: 0, created_at: 0 })) }, {
    ...inOne, jobs: inOne.jobs.map((j) => ({ ...j, payload: { recordId: viaTransaction.Id }, run_at: 0, created_at: 0 })), payloadText: [`{"recordId":${viaTransaction.Id}}`],
  });

  // A missing reference: nothing is written, and the error names it.
  const rows = async () => Promise.all(['coworker_ms_office_calendars', 'graph_connections', 'jobs'].map(async (table) =>
    Number((await t.storage.db.selectFrom(table as 'jobs').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n)));
  const before = await rows();
  const refused = await t.app.inject({ method: 'POST', url: '/api/spaces/coworkermsofficecalendars', headers: { authorization: t.admin },
    payload: calendarBody(999_999, { CoworkerId: coworker.Id }) });
  assert.equal(refused.statusCode, 400);
  assert.deepEqual(refused.json().Errors.map((e: { PropertyName: string }) => e.PropertyName), ['ResourceId']);
  assert.deepEqual(await rows(), before, 'no record, connection or job for a record that was not made');
});
