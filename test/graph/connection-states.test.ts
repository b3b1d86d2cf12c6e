/** The connection state table: every (state, event) pair is either the table's transition or an error. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { CONNECTION_STATES, IllegalTransitionError, TRANSITIONS, actionByAfter, nextState, type ConnectionEvent } from '../../src/modules/graph/connection-states.js';
import { createTestApp } from '../helpers/app.js';
import { createResource } from '../helpers/factories.js';

const EVENTS = Object.keys(TRANSITIONS) as ConnectionEvent[];

test('nextState follows the table for every state and event, and refuses the rest', () => {
  let allowed = 0;
  for (const from of CONNECTION_STATES) {
    for (const event of EVENTS) {
      const t = TRANSITIONS[event];
      if ((t.from as readonly string[]).includes(from)) {
        assert.equal(nextState(from, event), t.to, `${from} --${event}-->`);
        allowed++;
      } else {
        assert.throws(() => nextState(from, event), IllegalTransitionError, `${from} --${event}--> must be refused`);
      }
    }
  }
  assert.ok(allowed > 0 && allowed < CONNECTION_STATES.length * EVENTS.length, 'the table allows some pairs and refuses others');
  // A connection that does not exist yet starts only with events allowed from anywhere.
  assert.equal(nextState(null, 'attached'), 'renewing');
  assert.equal(nextState(null, 'detached'), 'credentials_missing');
  assert.throws(() => nextState(null, 'subscribed'), IllegalTransitionError);
});

test('who must act: only a refused member token asks the member; what only the operator can fix fails the connection', () => {
  const by = Object.fromEntries(EVENTS.map((e) => [e, TRANSITIONS[e].actionBy]));
  assert.deepEqual(EVENTS.filter((e) => by[e] === 'member').sort(), ['authRefused', 'signInStarted']);
  assert.deepEqual(EVENTS.filter((e) => by[e] === 'operator'), ['operatorRequired']);
  assert.equal(TRANSITIONS.authRefused.to, 'reauth_required');
  assert.equal(TRANSITIONS.operatorRequired.to, 'failed');
  // Every event that ends in a working or retrying state clears it; reauth_required is only ever the member's.
  for (const e of EVENTS) {
    if (['active', 'renewing'].includes(TRANSITIONS[e].to)) assert.equal(actionByAfter(e), null, e);
    if (TRANSITIONS[e].to === 'reauth_required') assert.equal(actionByAfter(e), 'member', e);
  }
  assert.equal(nextState('active', 'operatorRequired'), 'failed');
  assert.throws(() => nextState('reauth_required', 'operatorRequired'), IllegalTransitionError);
  assert.throws(() => nextState('credentials_missing', 'operatorRequired'), IllegalTransitionError);
});

test('the repository writes every allowed transition and refuses a forbidden one without writing', async (ctx) => {
  const t = await createTestApp();
  ctx.after(() => t.close());
  const resource = await createResource(t.app, t.admin);
  const created = await t.container.calendarService.create(
    { ResourceId: resource.Id, Name: 'States', SubscriptionId: 's', CalendarId: 'c', SubscriptionExpireDate: '2030-01-01T00:00:00Z' },
    { userId: 0, email: 'test' },
  );
  const repo = t.container.connections;
  assert.equal((await repo.get(created.Id))?.state, 'credentials_missing', 'a record without a coworker has nothing to subscribe with');
  for (const from of CONNECTION_STATES) {
    for (const event of EVENTS) {
      await sql`UPDATE graph_connections SET state = ${from}, last_error = NULL, action_by = 'member' WHERE calendar_record_id = ${created.Id}`.execute(t.storage.db);
      const t2 = TRANSITIONS[event];
      if ((t2.from as readonly string[]).includes(from)) {
        assert.equal(await repo.transition(created.Id, event, { last_error: event }), t2.to);
        const row = await repo.get(created.Id);
        assert.equal(row?.state, t2.to);
        assert.equal(row?.last_error, event, 'the fields move with the state');
        assert.equal(row?.action_by, t2.actionBy, 'who must act moves with the state, as the table says');
      } else {
        await assert.rejects(repo.transition(created.Id, event, { last_error: event }), IllegalTransitionError);
        const row = await repo.get(created.Id);
        assert.equal(row?.state, from, `${from} --${event}--> changed nothing`);
        assert.equal(row?.last_error, null);
        assert.equal(row?.action_by, 'member', 'a refused transition leaves who must act as it was');
        assert.equal(await repo.transitionIfAllowed(created.Id, event), false);
      }
    }
  }
});

test('the State filter\'s totals follow state changes at once (they are not remembered across them)', async (ctx) => {
  const t = await createTestApp();
  ctx.after(() => t.close());
  const resource = await createResource(t.app, t.admin);
  const coworker = (await t.app.inject({ method: 'POST', url: '/api/spaces/coworkers', headers: { authorization: t.admin }, payload: { FullName: 'S', Email: 's@state.test' } })).json().Value;
  const record = await t.container.calendarService.create(
    { ResourceId: resource.Id, CoworkerId: coworker.Id, Name: 'S', SubscriptionId: 's', CalendarId: 'c', SubscriptionExpireDate: '2030-01-01T00:00:00Z' },
    { userId: 0, email: 'test' },
  );
  const total = async (state: string) => {
    const res = await t.app.inject({ method: 'GET', url: `/api/spaces/coworkermsofficecalendars?CoworkerMsOfficeCalendar_State=${state}`, headers: { authorization: t.admin } });
    const body = res.json();
    return { total: body.TotalItems as number, ids: (body.Records as Array<{ Id: number }>).map((r) => r.Id) };
  };
  assert.deepEqual(await total('renewing'), { total: 1, ids: [record.Id] });
  assert.deepEqual(await total('failed'), { total: 0, ids: [] });
  await t.container.connections.transition(record.Id, 'failed', { last_error: 'x' });
  assert.deepEqual(await total('failed'), { total: 1, ids: [record.Id] });
  assert.deepEqual(await total('renewing'), { total: 0, ids: [] });
  // A state that does not exist is a mistake to say, not an empty page.
  for (const bad of ['bogus', 'reauth', 'active,failed']) {
    const res = await t.app.inject({ method: 'GET', url: `/api/spaces/coworkermsofficecalendars?CoworkerMsOfficeCalendar_State=${bad}`, headers: { authorization: t.admin } });
    assert.equal(res.statusCode, 400, res.body);
    const body = res.json();
    assert.equal(body.WasSuccessful, false);
    assert.match(JSON.stringify(body.Errors), /CoworkerMsOfficeCalendar_State/);
    assert.match(JSON.stringify(body.Errors), /reauth_required/, 'the message lists the states');
  }
});
