/**
 * The whole sync engine in one test process: the Graph emulator (HTTPS, its own clock), calbridge's real app listening
 * on a free port (so the emulator's webhooks reach it over HTTP), the real job queue and Graph engine, and one
 * OffsetClock that `advance()` moves together with the emulator's clock.
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import pino from 'pino';
import { startGraphEmulator, trustEmulatorCertificate, type GraphEmulator, type GraphEmulatorOptions, type SeedResult } from '../../emulator/index.js';
import { buildApp } from '../../src/web/app.js';
import { OffsetClock } from '../../src/core/clock.js';
import { composeServices, startSyncEngine, type Services, type SyncEngine } from '../../src/composition-root.js';
import { JobQueue } from '../../src/jobs/job-queue.js';
import { CountingSink } from '../../src/modules/graph/calendar-sync.js';
import type { GraphConnection } from '../../src/modules/graph/connection-repository.js';
import { migrate, openPostgres, openSqlite, type Storage } from '../../src/storage/database.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, TEST_SCRYPT_COST, basic, testConfig } from './app.js';
import { postgresUrlFor, testDatabaseUrl } from './database.js';
import { until } from './until.js';
import { defer, makeTempDir, removeTempDir, type Scope } from './cleanup.js';

trustEmulatorCertificate();

/** Fast emulator settings: short handshake limit and quick notification retries. */
export const FAST_EMULATOR: GraphEmulatorOptions = {
  validationTimeoutMs: 2_000,
  notificationTimeoutMs: 1_000,
  notificationRetryTimeoutMs: 1_000,
  notificationRetryDelaysMs: [100, 200, 400],
  notificationBatchDelayMs: 10,
};

export interface GraphEnv {
  emu: GraphEmulator;
  seed: SeedResult;
  app: FastifyInstance;
  url: string;
  admin: string;
  container: Services;
  storage: Storage;
  queue: JobQueue;
  engine: SyncEngine;
  clock: OffsetClock;
  sink: CountingSink;
  /** The data directory: made (and removed on close) by startGraphEnv unless the caller passed one. */
  dir: string;
  /** Every log line (JSON) of the app, queue and engine, when started with `captureLogs`. */
  logs: string[];
  /** Moves calbridge's and the emulator's clocks forward together. */
  advance(ms: number): void;
  connection(recordId: number): Promise<GraphConnection | undefined>;
  /** Polls until `fn` returns a truthy value. */
  until<T>(what: string, fn: () => Promise<T | undefined | false | null>, timeoutMs?: number): Promise<T>;
  /** Creates a coworker for a seeded mailbox, a resource and a calendar record on the mailbox's default calendar. */
  connectMailbox(userPrincipalName: string, opts?: { calendarId?: string }): Promise<{ recordId: number; calendarId: string; userId: string }>;
  /** Waits until the queue has nothing running and nothing due (by calbridge's clock). */
  settled(timeoutMs?: number): Promise<void>;
  /** A request to the app over real HTTP (JSON in and out); `auth` defaults to the administrator. */
  request(method: string, path: string, body?: unknown, auth?: string | null): Promise<{ status: number; body: any; headers: Headers; text: string }>;
  /** The Graph connection row, waiting until its state is `state`. */
  untilState(recordId: number, state: string, timeoutMs?: number): Promise<GraphConnection>;
  /** Stops everything; removes the directory (and its PostgreSQL database) if this environment made it. */
  close(): Promise<void>;
}

export interface GraphEnvOptions {
  emulator?: GraphEmulatorOptions;
  /** Open this existing data directory; the caller made it and removes it. */
  dir?: string;
  /** The webhook base calbridge gives Graph (default: the app's own URL). */
  publicUrl?: (appUrl: string) => string;
  /** Capture every log line (debug level, request logs on) into `env.logs`. */
  captureLogs?: boolean;
  /** Jobs the queue runs at once (default 4). */
  queueConcurrency?: number;
  /** Redirect URIs registered on the seeded app (default: none, i.e. any is accepted). */
  redirectUris?: string[];
  /** The engine's booking horizon and reconciliation interval, as BOOKING_HORIZON_* and RECONCILE_INTERVAL_MINUTES set them. */
  engine?: { horizonPastDays?: number; horizonFutureDays?: number; reconcileEveryMs?: number };
  /** SPACE_TIME_ZONE: the zone calbridge writes events in (default UTC). */
  spaceTimeZone?: string;
}

/** The environment for one test: stopped, and its directory removed, when the test ends (`graphEnv(ctx)`). */
export async function graphEnv(scope: Scope, options: GraphEnvOptions = {}): Promise<GraphEnv> {
  const env = await startGraphEnv(options);
  defer(scope, () => env.close());
  return env;
}

export async function startGraphEnv(options: GraphEnvOptions = {}): Promise<GraphEnv> {
  const emu = await startGraphEmulator({ ...FAST_EMULATOR, ...options.emulator, port: 0 });
  const seed = emu.control.seed(options.redirectUris ? { redirectUris: options.redirectUris } : {});
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? makeTempDir('calbridge-graph-');
  const storage = testDatabaseUrl ? openPostgres({ url: await postgresUrlFor(dir), poolSize: 8 }) : openSqlite({ file: path.join(dir, 'calbridge.db') });
  await migrate(storage);
  const clock = new OffsetClock();
  const appConfig = { ...testConfig, syncDelayMs: 100 };
  const container = composeServices(storage, appConfig, clock);
  if ((await container.users.count()) === 0) {
    await container.userService.create({ Email: ADMIN_EMAIL, Password: ADMIN_PASSWORD, FullAdministrator: true }, { userId: 0, email: 'test' });
  }
  const logs: string[] = [];
  const captured = options.captureLogs ? pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) }) : undefined;
  const quiet = captured ?? { info() {}, warn() {}, error() {} };
  const queue = new JobQueue(container.jobs, quiet, { clock, pollMs: 20, backoffBaseMs: 100, backoffMaxMs: 2_000, ...(options.queueConcurrency ? { concurrency: options.queueConcurrency } : {}) });
  container.attachQueue(queue);
  const app = await buildApp({ ...appConfig, ...(captured ? { logRequests: true } : {}) }, container, captured ? { logger: captured as FastifyBaseLogger } : {});
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const sink = new CountingSink(container.bookingSync);
  const engine = await startSyncEngine({
    config: { publicUrl: options.publicUrl ? options.publicUrl(url) : url, dataDir: dir, tokenEncryptionKey: randomBytes(32).toString('base64'), graphEmulatorPort: 0, spaceTimeZone: options.spaceTimeZone },
    services: container, queue, log: quiet, sink,
    endpoints: { tenantId: seed.tenant.id, clientId: seed.app.clientId, clientSecret: seed.app.clientSecret, authorityHost: emu.url, graphBaseUrl: emu.url },
    retry: { baseDelayMs: 50, maxWaitMs: 5_000 },
    ...options.engine,
  });
  queue.start();

  let closing: Promise<void> | undefined;
  const env: GraphEnv = {
    emu, seed, app, url, admin: basic(ADMIN_EMAIL, ADMIN_PASSWORD), container, storage, queue, engine, clock, sink, dir, logs,
    advance(ms) {
      clock.advance(ms);
      emu.control.advanceClock({ ms });
      queue.poke();
    },
    connection: (recordId) => container.connections.get(recordId),
    until: (what, fn, timeoutMs = 15_000) => until(what, fn, timeoutMs, 25),
    async settled(timeoutMs = 15_000) {
      await env.until('the job queue to settle', async () => {
        const busy = await storage.db.selectFrom('jobs').select('id')
          // Pending work due within 2 s counts too (a notification's sync waits a short coalescing window).
          .where((eb) => eb.or([eb('state', '=', 'running'), eb.and([eb('state', '=', 'pending'), eb('run_at', '<=', clock.now() + 2000)])]))
          .limit(1).execute();
        return busy.length === 0;
      }, timeoutMs);
    },
    async request(method, p, body, auth) {
      const headers: Record<string, string> = {};
      const authorization = auth === undefined ? env.admin : auth;
      if (authorization) headers.authorization = authorization;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${url}${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      let parsed: unknown = undefined;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        /* not JSON */
      }
      return { status: res.status, body: parsed as any, headers: res.headers, text };
    },
    async untilState(recordId, state, timeoutMs) {
      return env.until(`record ${recordId} to be ${state}`, async () => {
        const c = await container.connections.get(recordId);
        return c?.state === state ? c : undefined;
      }, timeoutMs);
    },
    async connectMailbox(upn, opts = {}) {
      const user = seed.users.find((u) => u.userPrincipalName === upn);
      if (!user) throw new Error(`no seeded mailbox ${upn}`);
      const calendar = opts.calendarId ? { id: opts.calendarId } : (emu.control.listCalendars(user.id) as Array<{ id: string }>)[0];
      const auth = { authorization: env.admin };
      // One coworker per mailbox: a second record of the same mailbox reuses it.
      const coworkerId = (await container.coworkers.findIdByEmail(upn))
        ?? (await app.inject({ method: 'POST', url: '/api/spaces/coworkers', headers: auth, payload: { FullName: user.displayName ?? upn, Email: upn } })).json().Value.Id;
      const resource = await app.inject({ method: 'POST', url: '/api/spaces/resources', headers: auth, payload: { Name: `Room for ${upn}` } });
      const record = await app.inject({
        method: 'POST', url: '/api/spaces/coworkermsofficecalendars', headers: auth,
        payload: { ResourceId: resource.json().Value.Id, CoworkerId: coworkerId, Name: `${upn} calendar`, SubscriptionId: 'pending', CalendarId: calendar!.id, SubscriptionExpireDate: '2030-01-01T00:00:00Z' },
      });
      if (record.statusCode !== 200) throw new Error(`record create failed: ${record.body}`);
      return { recordId: record.json().Value.Id as number, calendarId: calendar!.id, userId: user.id };
    },
    close() {
      closing ??= (async () => {
        try {
          await queue.stop();
          await app.close();
          await engine.close();
          await emu.close();
          await storage.close();
        } finally {
          if (ownDir) await removeTempDir(dir);
        }
      })();
      return closing;
    },
  };
  return env;
}
