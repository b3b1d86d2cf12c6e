/**
 * List totals are cached per data version: a write through this process, or (PostgreSQL) through another process
 * on the same database, must show in the next list at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testApp } from '../helpers/app.js';
import { createCalendar, createResource } from '../helpers/factories.js';
import { testDatabaseUrl } from '../helpers/database.js';
import { recordingPgQueries } from '../helpers/pg-queries.js';

test('a cached total moves on with every write, including writes by another process on PostgreSQL', async (ctx) => {
  const queriesDuring = testDatabaseUrl ? recordingPgQueries(ctx) : undefined;
  const t = await testApp(ctx);
  // On PostgreSQL a second app on the same database stands in for another process (its own pool and cache).
  const other = testDatabaseUrl ? await testApp(ctx, { dir: t.dir }) : t;
  const resource = await createResource(t.app, t.admin);
  const total = async () => {
    const res = await t.app.inject({ method: 'GET', url: `/api/spaces/coworkermsofficecalendars?CoworkerMsOfficeCalendar_Name=quistorp&CoworkerMsOfficeCalendar_Resource=${resource.Id}`, headers: { authorization: t.admin } });
    return res.json().TotalItems as number;
  };
  assert.equal(await total(), 0);
  if (queriesDuring) {
    // Reads change no snapshot (the version on PostgreSQL): a second total comes from the cache, with no count. The
    // snapshot is the cluster's, and other test files write to other databases of this cluster meanwhile, which
    // rightly moves it too: so some read of a few in a row must be served without a count, not necessarily the first.
    const counted: string[][] = [];
    for (let i = 0; i < 25; i++) {
      const texts = await queriesDuring(async () => assert.equal(await total(), 0, 'read again'));
      if (!texts.some((q) => /count\(\*\)/.test(q))) break;
      counted.push(texts);
    }
    assert.ok(counted.length < 25, `every read counted again: ${counted[0]?.join('\n')}`);
  } else assert.equal(await total(), 0, 'read twice');
  const first = await createCalendar(other.app, other.admin, resource.Id, { Name: 'Ida Quistorp' });
  assert.equal(await total(), 1);
  await createCalendar(other.app, other.admin, resource.Id, { Name: 'Max QUISTORP' });
  assert.equal(await total(), 2);
  await other.app.inject({ method: 'DELETE', url: `/api/spaces/coworkermsofficecalendars/${first.Id}`, headers: { authorization: other.admin } });
  assert.equal(await total(), 1);
});
