/**
 * Several identical processes against one PostgreSQL database behave as one service: unique ids, read-your-writes
 * across processes, atomic PUTs, one winner among overlapping bookings, tokens valid everywhere, single-use refresh
 * tokens under concurrent refreshes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runToExit, startServer, type ServerProcess } from './server-process.js';
import { postgresUrlFor, testDatabaseUrl } from '../helpers/database.js';
import { tempDir } from '../helpers/cleanup.js';
import { randomBytes } from 'node:crypto';
import { startGraphEmulator, EMULATOR_CA_PATH } from '../../emulator/index.js';

const ADMIN = { ADMIN_EMAIL: 'ops@multi.test', ADMIN_PASSWORD: 'multi-process-pw' };

test('with DATABASE_URL, processes that would not share their Graph endpoint and key are refused at start', {
  skip: !testDatabaseUrl && 'the server deployment is PostgreSQL',
}, async (ctx) => {
  const url = await postgresUrlFor(tempDir(ctx, 'calbridge-multi-'));
  const { code, output } = await runToExit({ DATABASE_URL: url, PORT: '0' });
  assert.equal(code, 2, output);
  assert.match(output, /with DATABASE_URL every process must use the same Graph/);
  assert.match(output, /with DATABASE_URL every process must share TOKEN_ENCRYPTION_KEY/);
});

test('two processes on one PostgreSQL database act as one service', {
  skip: !testDatabaseUrl && 'several processes share a database only on PostgreSQL',
  timeout: 120_000,
}, async (ctx) => {
  const url = await postgresUrlFor(tempDir(ctx, 'calbridge-multi-'));
  // The server deployment as documented: one shared Graph endpoint (here a standalone emulator) and one shared key.
  const emu = await startGraphEmulator({ port: 0 });
  ctx.after(() => emu.close());
  const seed = emu.control.seed();
  const shared = {
    // No record here gets a subscription (none has a coworker), so no webhook needs to reach this address.
    DATABASE_URL: url, ...ADMIN, THROTTLE_LIMIT: '0', PUBLIC_URL: 'https://calbridge.example.test',
    GRAPH_TENANT_ID: seed.tenant.id, GRAPH_CLIENT_ID: seed.app.clientId, GRAPH_CLIENT_SECRET: seed.app.clientSecret,
    GRAPH_AUTHORITY_HOST: emu.url, GRAPH_BASE_URL: emu.url, TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('base64'), NODE_EXTRA_CA_CERTS: EMULATOR_CA_PATH,
  };
  const servers: ServerProcess[] = await Promise.all([1, 2].map(() => startServer(shared)));
  const [a, b] = servers as [ServerProcess, ServerProcess];
  try {
    const grant = async (server: ServerProcess, body: Record<string, string>) => {
      const res = await fetch(`${server.url}/api/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body) });
      return { status: res.status, body: (await res.json()) as any };
    };
    const tokens = await grant(a, { grant_type: 'password', username: ADMIN.ADMIN_EMAIL, password: ADMIN.ADMIN_PASSWORD });
    assert.equal(tokens.status, 200);
    const headers = { authorization: `Bearer ${tokens.body.access_token}`, 'content-type': 'application/json' };
    const call = async (server: ServerProcess, method: string, p: string, body?: unknown) => {
      const res = await fetch(`${server.url}${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as any };
    };

    // A token issued by one process works on the other.
    assert.equal((await call(b, 'GET', '/api/spaces/resources')).status, 200);

    const resource = (await call(a, 'POST', '/api/spaces/resources', { Name: 'Shared room' })).body.Value;
    const body = (i: number) => ({ ResourceId: resource.Id, Name: `cal ${i}`, SubscriptionId: `s${i}`, CalendarId: `c${i}`, SubscriptionExpireDate: '2031-01-01T00:00:00Z' });
    const created = await Promise.all(Array.from({ length: 60 }, (_, i) => call(i % 2 ? a : b, 'POST', '/api/spaces/coworkermsofficecalendars', body(i))));
    assert.ok(created.every((r) => r.status === 200));
    const ids = created.map((r) => r.body.Value.Id);
    const uniqueIds = created.map((r) => r.body.Value.UniqueId);
    assert.equal(new Set(ids).size, 60, 'unique Ids across processes');
    assert.equal(new Set(uniqueIds).size, 60, 'unique UniqueIds across processes');

    // Written through one, read through the other at once.
    for (const r of created.slice(0, 10)) {
      const other = r === created[0] ? b : a;
      const read = await call(other, 'GET', `/api/spaces/coworkermsofficecalendars/${r.body.Value.Id}`);
      assert.equal(read.body.Name, r.body.Value.Name);
    }
    const fresh = await call(a, 'POST', '/api/spaces/coworkermsofficecalendars', body(1000));
    assert.equal((await call(b, 'GET', `/api/spaces/coworkermsofficecalendars/${fresh.body.Value.Id}`)).status, 200);

    // Concurrent PUTs of one record: each applies whole, never a mix of two bodies.
    const target = ids[0];
    const puts = await Promise.all(Array.from({ length: 40 }, (_, i) => call(i % 2 ? a : b, 'PUT', '/api/spaces/coworkermsofficecalendars', {
      Id: target, ResourceId: resource.Id, Name: `writer ${i}`, SubscriptionId: `sub-of-${i}`, CalendarId: `cal-of-${i}`, SubscriptionExpireDate: '2032-01-01T00:00:00Z',
    })));
    assert.ok(puts.every((r) => r.status === 200));
    const final = (await call(a, 'GET', `/api/spaces/coworkermsofficecalendars/${target}`)).body;
    const writer = /^writer (\d+)$/.exec(final.Name)?.[1];
    assert.ok(writer, final.Name);
    assert.equal(final.SubscriptionId, `sub-of-${writer}`);
    assert.equal(final.CalendarId, `cal-of-${writer}`);

    // 50 overlapping bookings of one room, created at once through both processes: exactly one wins, the others are
    // the documented 400 naming the booking they collide with (never a 500), and the room holds one booking.
    const room = (await call(a, 'POST', '/api/spaces/resources', { Name: 'Contended room' })).body.Value;
    const bookings = await Promise.all(Array.from({ length: 50 }, (_, i) => call(i % 2 ? a : b, 'POST', '/api/spaces/bookings', {
      ResourceId: room.Id, FromTime: new Date(Date.UTC(2031, 0, 6, 10, i)).toISOString(), ToTime: new Date(Date.UTC(2031, 0, 6, 11, i)).toISOString(),
    })));
    assert.deepEqual(bookings.map((r) => r.status).sort(), [200, ...Array(49).fill(400)], JSON.stringify(bookings.filter((r) => r.status !== 200 && r.status !== 400)));
    const winner = bookings.find((r) => r.status === 200)!.body.Value.Id;
    for (const lost of bookings.filter((r) => r.status === 400)) {
      assert.match(JSON.stringify(lost.body.Errors), new RegExp(`The resource is already booked\\..*Booking ${winner}\\b`));
    }
    const held = (await call(b, 'GET', `/api/spaces/bookings?Booking_Resource=${room.Id}`)).body;
    assert.deepEqual(held.Records.map((r: { Id: number }) => r.Id), [winner]);

    // One refresh token, refreshed concurrently through both processes: exactly one rotation succeeds.
    const refreshes = await Promise.all(Array.from({ length: 10 }, (_, i) => grant(i % 2 ? a : b, { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token })));
    assert.equal(refreshes.filter((r) => r.status === 200).length, 1);
    assert.ok(refreshes.filter((r) => r.status !== 200).every((r) => r.body.error === 'invalid_grant'));
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
});
