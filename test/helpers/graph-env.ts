/**
 * The whole sync engine in one test process: the Graph emulator (HTTPS, its own clock), calbridge's real app listening
 * on a free port (so the emulator's webhooks reach it over HTTP), the real job queue and Graph engine, and one
 * OffsetClock that `advance()` moves together with the emulator's clock.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { startGraphEmulator, trustEmulatorCertificate, type GraphEmulator, type GraphEmulatorOptions, type SeedResult } from '../../emulator/index.js';
import { buildApp } from '../../src/app.js';
import { OffsetClock } from '../../src/clock.js';
import { createContainer, type Container } from '../../src/container.js';
import { JobQueue } from '../../src/jobs/job-queue.js';
import { startGraphEngine, type GraphEngine } from '../../src/graph/engine.js';
import { CountingSink } from '../../src/graph/calendar-sync.js';
import type { GraphConnection } from '../../src/graph/connection-repository.js';
import { migrate, openPostgres, openSqlite, type Storage } from '../../src/storage/database.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, TEST_SCRYPT_COST, basic, testConfig } from './app.js';
import { postgresUrlFor, testDatabaseUrl } from './database.js';

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
  container: Container;
  storage: Storage;
  queue: JobQueue;
  engine: GraphEngine;
  clock: OffsetClock;
  sink: CountingSink;
  dir: string;
  /** Moves calbridge's and the emulator's clocks forward together. */
  advance(ms: number): void;
  connection(recordId: number): Promise<GraphConnection | undefined>;
  /** Polls until `fn` returns a truthy value. */
  until<T>(what: string, fn: () => Promise<T | undefined | false | null>, timeoutMs?: number): Promise<T>;
  /** Creates a coworker for a seeded mailbox, a resource and a calendar record on the mailbox's default calendar. */
  connectMailbox(userPrincipalName: string): Promise<{ recordId: number; calendarId: string; userId: string }>;
  close(): Promise<void>;
}

export async function startGraphEnv(options: { emulator?: GraphEmulatorOptions; dir?: string } = {}): Promise<GraphEnv> {
  const emu = await startGraphEmulator({ ...FAST_EMULATOR, ...options.emulator, port: 0 });
  const seed = emu.control.seed();
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'calbridge-graph-'));
  const storage = testDatabaseUrl ? openPostgres({ url: await postgresUrlFor(dir), poolSize: 8 }) : openSqlite({ file: path.join(dir, 'calbridge.db') });
  await migrate(storage);
  const container = createContainer(storage, { scryptCost: TEST_SCRYPT_COST });
  if ((await container.users.count()) === 0) {
    await container.userService.create({ Email: ADMIN_EMAIL, Password: ADMIN_PASSWORD, FullAdministrator: true }, { userId: 0, email: 'test' });
  }
  const clock = new OffsetClock();
  const quiet = { info() {}, warn() {}, error() {} };
  const queue = new JobQueue(container.jobs, quiet, { clock, pollMs: 20, backoffBaseMs: 100, backoffMaxMs: 2_000 });
  const app = await buildApp(testConfig, container, { queue, clock });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const sink = new CountingSink();
  const engine = await startGraphEngine({
    config: { publicUrl: url, dataDir: dir, tokenEncryptionKey: randomBytes(32).toString('base64'), graphEmulatorPort: 0 },
    container, queue, clock, log: quiet, sink,
    endpoints: { tenantId: seed.tenant.id, clientId: seed.app.clientId, clientSecret: seed.app.clientSecret, authorityHost: emu.url, graphBaseUrl: emu.url },
    retry: { baseDelayMs: 50, maxWaitMs: 5_000 },
  });
  queue.start();

  const env: GraphEnv = {
    emu, seed, app, url, admin: basic(ADMIN_EMAIL, ADMIN_PASSWORD), container, storage, queue, engine, clock, sink, dir,
    advance(ms) {
      clock.advance(ms);
      emu.control.advanceClock({ ms });
      queue.poke();
    },
    connection: (recordId) => container.connections.get(recordId),
    async until(what, fn, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const v = await fn();
        if (v) return v as never;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async connectMailbox(upn) {
      const user = seed.users.find((u) => u.userPrincipalName === upn);
      if (!user) throw new Error(`no seeded mailbox ${upn}`);
      const [calendar] = emu.control.listCalendars(user.id) as Array<{ id: string }>;
      const auth = { authorization: env.admin };
      const coworker = await app.inject({ method: 'POST', url: '/api/spaces/coworkers', headers: auth, payload: { FullName: user.displayName ?? upn, Email: upn } });
      const resource = await app.inject({ method: 'POST', url: '/api/spaces/resources', headers: auth, payload: { Name: `Room for ${upn}` } });
      const record = await app.inject({
        method: 'POST', url: '/api/spaces/coworkermsofficecalendars', headers: auth,
        payload: { ResourceId: resource.json().Value.Id, CoworkerId: coworker.json().Value.Id, Name: `${upn} calendar`, SubscriptionId: 'pending', CalendarId: calendar!.id, SubscriptionExpireDate: '2030-01-01T00:00:00Z' },
      });
      if (record.statusCode !== 200) throw new Error(`record create failed: ${record.body}`);
      return { recordId: record.json().Value.Id as number, calendarId: calendar!.id, userId: user.id };
    },
    async close() {
      await queue.stop();
      await app.close();
      await engine.close();
      await emu.close();
      await storage.close();
    },
  };
  return env;
}
