/**
 * A record created through the API gets its app-only Graph connection in the same transaction, its mailbox read from
 * the coworker inside the connection's insert: attached with a subscribe job for a coworker (whose e-mail is required),
 * detached with the reason for a record without one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testApp } from '../helpers/app.js';
import { createCalendar, createCoworker, createResource } from '../helpers/factories.js';
import { dedupeKey } from '../../src/modules/graph/job-names.js';

test('a new record is attached to its coworker\'s mailbox, or detached with the reason, in one write', async (ctx) => {
  const t = await testApp(ctx);
  const resource = await createResource(t.app, t.admin);
  const withMail = await createCoworker(t.app, t.admin, { Email: 'ada@mail.test' });
  const cases = [
    { label: 'coworker with an e-mail', coworker: withMail.Id, mailbox: 'ada@mail.test' },
    { label: 'no coworker', coworker: undefined, mailbox: '' },
  ];
  for (const c of cases) {
    const record = await createCalendar(t.app, t.admin, resource.Id, c.coworker ? { CoworkerId: c.coworker } : {});
    const conn = await t.container.connections.get(record.Id);
    assert.deepEqual(
      conn && { auth_mode: conn.auth_mode, mailbox: conn.mailbox, state: conn.state, action_by: conn.action_by, last_error: conn.last_error },
      {
        // attached: renewing (the subscribe job will make the subscription); detached: waiting for a mailbox.
        auth_mode: 'app', mailbox: c.mailbox, state: c.mailbox ? 'renewing' : 'credentials_missing', action_by: null,
        last_error: c.mailbox ? null : 'the record has no coworker, so no mailbox to subscribe to',
      },
      c.label,
    );
    const jobs = await t.storage.db.selectFrom('jobs').select('type').where('dedupe_key', '=', dedupeKey.subscribe(record.Id)).execute();
    assert.equal(jobs.length, c.mailbox ? 1 : 0, `${c.label}: subscribe job`);
  }
});
