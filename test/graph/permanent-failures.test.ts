/** What a retry cannot fix fails the connection at once, says why, and leaves no stream of retries behind. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { graphEnv } from '../helpers/graph-env.js';

const ADELE = 'adelev@contoso.onmicrosoft.com';

test('an unknown calendar: failed at once with Graph\'s words, one attempt, the job dead (not 8 tries over minutes)', async (ctx) => {
  const env = await graphEnv(ctx);
  const { recordId } = await env.connectMailbox(ADELE, { calendarId: 'AAMkAG-no-such-calendar' });
  const conn = await env.untilState(recordId, 'failed');
  assert.match(conn.last_error ?? '', /Graph answered 404/);
  await env.settled();
  const jobs = await env.storage.db.selectFrom('jobs').select(['state', 'attempts']).where('type', '=', 'graph.subscribe').execute();
  assert.deepEqual(jobs, [{ state: 'dead', attempts: 1 }]);
  const ops = await env.request('GET', '/api/sys/jobs?state=dead');
  assert.deepEqual(ops.body.ByType.find((t: any) => t.type === 'graph.subscribe'), { type: 'graph.subscribe', pending: 0, running: 0, done: 0, dead: 1 });
});

test('access denied by a tenant policy is the operator\'s to fix (failed, with a clear LastError), not the member\'s (reauth_required)', async (ctx) => {
  const env = await graphEnv(ctx);
  env.emu.control.addFault({ method: 'POST', path: '/subscriptions', status: 403, code: 'ErrorAccessDenied', message: 'Access to OData is disabled.', times: 0 });
  const { recordId } = await env.connectMailbox(ADELE);
  const conn = await env.untilState(recordId, 'failed');
  assert.match(conn.last_error ?? '', /Access to OData is disabled/);
  assert.match(conn.last_error ?? '', /an operator must fix it/);
  const status = (await env.request('GET', `/api/spaces/coworkermsofficecalendars/${recordId}/status`)).body;
  assert.equal(status.State, 'failed');
  assert.equal(status.ActionBy, 'operator');
  assert.match(status.LastError, /^operator: /);
  // Access denied to a mailbox is not the app's credentials being refused: /readyz stays ready.
  assert.equal((await env.request('GET', '/readyz', undefined, null)).body.status, 'ready');
  // Fixed by the operator: RENEW_SUBSCRIPTION brings it back.
  env.emu.control.clearFaults();
  assert.equal((await env.request('POST', '/api/spaces/coworkermsofficecalendars/runcommand', { Key: 'RENEW_SUBSCRIPTION', Ids: [recordId] })).status, 200);
  await env.untilState(recordId, 'active');
});

test('dead jobs older than DEAD_JOB_RETENTION_DAYS are pruned; younger ones stay', async (ctx) => {
  const env = await graphEnv(ctx);
  const now = env.clock.now();
  await env.storage.db.insertInto('jobs').values([
    { type: 'x', payload: 'null', state: 'dead', run_at: now, attempts: 8, max_attempts: 8, dedupe_key: null, locked_by: null, lock_expires_at: null, last_error: 'old', created_at: now - 9 * 86_400_000, updated_at: now - 8 * 86_400_000 },
    { type: 'x', payload: 'null', state: 'dead', run_at: now, attempts: 8, max_attempts: 8, dedupe_key: null, locked_by: null, lock_expires_at: null, last_error: 'new', created_at: now, updated_at: now - 86_400_000 },
  ]).execute();
  assert.equal(await env.container.jobs.purgeDead(now - 7 * 86_400_000), 1);
  const left = await env.storage.db.selectFrom('jobs').select('last_error').where('type', '=', 'x').execute();
  assert.deepEqual(left, [{ last_error: 'new' }]);
});
