/**
 * A notification acknowledged with 202 survives the process being SIGKILLed right after: calbridge runs as its own
 * process (src/server.ts) against the Graph emulator in this process; after the kill and a restart on the same data
 * the stored notification's sync job completes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { startGraphEmulator, trustEmulatorCertificate, EMULATOR_CA_PATH } from '../../emulator/index.js';
import { freePort, startServer, type ServerProcess } from '../e2e/server-process.js';
import { postgresUrlFor, testDatabaseUrl } from '../helpers/database.js';
import { basic } from '../helpers/app.js';
import { until } from '../helpers/until.js';
import { tempDir } from '../helpers/cleanup.js';
import { startHttpsFront } from '../helpers/https-front.js';

trustEmulatorCertificate();

const ADMIN_EMAIL = 'crash@test.local';
const ADMIN_PASSWORD = 'crash-test-password';
const ADELE = 'adelev@contoso.onmicrosoft.com';

/** Reads the server's database from the test, read-only, whichever database this run uses. */
async function openReader(dir: string) {
  if (testDatabaseUrl) {
    const client = new pg.Client({ connectionString: await postgresUrlFor(dir) });
    await client.connect();
    await client.query('SET default_transaction_read_only = on');
    return {
      all: async (sql: string, params: unknown[] = []) => (await client.query(sql.replace(/\?/g, (_m, i: number) => `$${sql.slice(0, i).split('?').length}`), params)).rows as any[],
      close: () => client.end(),
    };
  }
  const db = new BetterSqlite3(path.join(dir, 'calbridge.db'), { readonly: true, fileMustExist: true });
  return { all: async (sql: string, params: unknown[] = []) => db.prepare(sql).all(...params) as any[], close: async () => db.close() };
}

test('SIGKILL right after the 202: after a restart the notification is still processed', { timeout: 120_000 }, async (ctx) => {
  const emu = await startGraphEmulator({ port: 0, validationTimeoutMs: 5_000 });
  const seed = emu.control.seed();
  const dir = tempDir(ctx, 'calbridge-crash-');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // With Microsoft credentials PUBLIC_URL is https: a TLS front (the production reverse proxy) takes Graph's webhooks.
  const front = await startHttpsFront(url);
  ctx.after(() => front.close());
  const serverEnv = {
    DATA_DIR: dir, PORT: String(port), PUBLIC_URL: front.url, ADMIN_EMAIL, ADMIN_PASSWORD, THROTTLE_LIMIT: '0', LOG_LEVEL: 'warn',
    GRAPH_TENANT_ID: seed.tenant.id, GRAPH_CLIENT_ID: seed.app.clientId, GRAPH_CLIENT_SECRET: seed.app.clientSecret,
    GRAPH_AUTHORITY_HOST: emu.url, GRAPH_BASE_URL: emu.url,
    TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('base64'), NODE_EXTRA_CA_CERTS: EMULATOR_CA_PATH,
  };
  let server: ServerProcess | undefined;
  let reader: Awaited<ReturnType<typeof openReader>> | undefined;
  const auth = { authorization: basic(ADMIN_EMAIL, ADMIN_PASSWORD), 'content-type': 'application/json' };
  const api = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${url}${p}`, { method, headers: auth, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as any };
  };
  try {
    server = await startServer(serverEnv);
    assert.equal(server.url, url);

    // A record through the API; the engine subscribes it in Graph and reads the calendar once.
    const coworker = await api('POST', '/api/spaces/coworkers', { FullName: 'Adele Vance', Email: ADELE });
    const resource = await api('POST', '/api/spaces/resources', { Name: 'Room 1' });
    const calendarId = emu.control.defaultCalendar(ADELE).id;
    const created = await api('POST', '/api/spaces/coworkermsofficecalendars', {
      ResourceId: resource.body.Value.Id, CoworkerId: coworker.body.Value.Id, Name: 'Adele', SubscriptionId: 'pending', CalendarId: calendarId, SubscriptionExpireDate: '2030-01-01T00:00:00Z',
    });
    assert.equal(created.status, 200);
    const recordId: number = created.body.Value.Id;
    const status = await until('the live subscription', async () => {
      const s = (await api('GET', `/api/spaces/coworkermsofficecalendars/${recordId}/status`)).body;
      return s.State === 'active' && s.LastSync ? s : undefined;
    });
    const subscriptionId: string = status.SubscriptionId;
    assert.equal(emu.control.getSubscription(subscriptionId).notificationUrl, `${front.url}/graph/notifications`);

    reader = await openReader(dir);
    await until('no sync job pending', async () => (await reader!.all("SELECT id FROM jobs WHERE type = 'graph.sync' AND state IN ('pending', 'running')")).length === 0);
    const [conn] = await reader.all('SELECT client_state, last_synced_at FROM graph_connections WHERE calendar_record_id = ?', [recordId]);
    const clientState = emu.control.getSubscription(subscriptionId).clientState!;
    assert.ok(conn.client_state && conn.client_state !== clientState, 'the database keeps a digest, not the clientState');

    // The sync that the notification queues takes a while in Graph, so it cannot finish before the kill.
    emu.control.addFault({ path: '/calendarView/delta', delayMs: 3_000, times: 1 });
    const postedAt = Date.now();
    const eventId = `AAMkAD-crash-${randomBytes(4).toString('hex')}`;
    const res = await fetch(`${url}/graph/notifications`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ value: [{ subscriptionId, changeType: 'created', resource: `Users/${emu.control.user(ADELE).id}/Events/${eventId}`, clientState, tenantId: seed.tenant.id }] }),
    });
    assert.equal(res.status, 202);
    server.child.kill('SIGKILL');
    await server.stop();
    assert.equal(server.child.signalCode, 'SIGKILL');

    // What the dead process left: the notification row and its sync job, not finished.
    const [row] = await reader.all('SELECT id, calendar_record_id, received_at FROM graph_notifications WHERE resource LIKE ?', [`%${eventId}`]);
    assert.ok(row, 'the notification was stored before the 202');
    assert.equal(Number(row.calendar_record_id), recordId);
    const jobs = await reader.all("SELECT id, state, attempts FROM jobs WHERE type = 'graph.sync' AND created_at >= ?", [postedAt]);
    assert.equal(jobs.length, 1, 'one sync job for it');
    const jobId = Number(jobs[0].id);
    assert.ok(['pending', 'running'].includes(jobs[0].state), `not finished at the kill (${jobs[0].state})`);

    // Same data, same port, same key: the job completes (a job the dead worker held comes back when its lease runs out).
    server = await startServer(serverEnv);
    const done = await until('the sync job to complete', async () => {
      const [job] = await reader!.all('SELECT state, attempts FROM jobs WHERE id = ?', [jobId]);
      return job.state === 'done' ? job : undefined;
    }, 60_000);
    assert.ok(Number(done.attempts) >= 1);
    const [after] = await reader.all('SELECT last_synced_at, state FROM graph_connections WHERE calendar_record_id = ?', [recordId]);
    assert.equal(after.state, 'active');
    assert.ok(Date.parse(after.last_synced_at) > Date.parse(row.received_at), 'synced after the notification arrived');
    const [{ n }] = await reader.all('SELECT COUNT(*) AS n FROM graph_notifications WHERE resource LIKE ?', [`%${eventId}`]);
    assert.equal(Number(n), 1, 'stored once');
  } finally {
    await reader?.close();
    await server?.stop();
    await emu.close();
  }
});
