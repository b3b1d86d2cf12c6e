/**
 * Builds the real app on a real SQLite file (a fresh temporary directory per call) for inject() tests,
 * with a full administrator and helpers to mint users with exactly the roles a test needs.
 * `testApp(ctx)` is the usual way in: the app closes, and its directory goes, when the test ends.
 */
import path from 'node:path';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { buildApp, type AppConfig } from '../../src/web/app.js';
import { OffsetClock } from '../../src/core/clock.js';
import { composeServices, type ServiceConfig, type Services } from '../../src/composition-root.js';
import { migrate, openPostgres, openSqlite, type Storage } from '../../src/storage/database.js';
import { postgresUrlFor, testDatabaseUrl } from './database.js';
import { defer, makeTempDir, removeTempDir, type Scope } from './cleanup.js';

export const ADMIN_EMAIL = 'admin@test.local';
export const ADMIN_PASSWORD = 'admin-password-123';
/** Low scrypt cost keeps tests fast; production uses 16384. */
export const TEST_SCRYPT_COST = 1024;

export type TestConfig = AppConfig & ServiceConfig;

export const testConfig: TestConfig = {
  scryptCost: TEST_SCRYPT_COST,
  logLevel: 'silent',
  accessTokenTtlSeconds: 3600,
  refreshTokenTtlSeconds: 15 * 86400,
  throttleLimit: 0,
  throttleWindowSeconds: 10,
  loginFailureLimit: 10,
  loginFailureWindowSeconds: 300,
  logRequests: false,
};

export interface TestApp {
  app: FastifyInstance;
  container: Services;
  /** The one clock of the app under test: tests move it instead of sleeping. */
  clock: OffsetClock;
  storage: Storage;
  /** The data directory: made (and removed on close) by createTestApp unless the caller passed one. */
  dir: string;
  /** Authorization header value of the full administrator (Basic). */
  admin: string;
  /** A bearer Authorization header for a new user holding exactly these roles. */
  userWithRoles(roles: string[], opts?: { fullAdministrator?: boolean }): Promise<{ auth: string; email: string; password: string; id: number }>;
  /** Closes the app and its storage; removes the directory (and its PostgreSQL database) if this app made it. */
  close(): Promise<void>;
}

let userCounter = 0;

export function basic(email: string, password: string): string {
  return `Basic ${Buffer.from(`${email}:${password}`).toString('base64')}`;
}

export async function passwordGrant(app: FastifyInstance, email: string, password: string, clientId?: string) {
  const res = await app.inject({
    method: 'POST',
    url: '/api/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(clientId ? { client_id: clientId } : {}) },
    payload: new URLSearchParams({ grant_type: 'password', username: email, password }).toString(),
  });
  return { status: res.statusCode, body: res.json() as Record<string, any> };
}

export interface TestAppOptions {
  /** Open this existing data directory (a restart); the caller made it and removes it. */
  dir?: string;
  config?: Partial<TestConfig>;
  /** The app's logger (e.g. one that captures lines); default: Fastify's at config.logLevel. */
  logger?: FastifyBaseLogger;
}

/**
 * The app for one test: `test('…', async (ctx) => { const t = await testApp(ctx); … })`. It is closed, and its
 * directory removed, when the test ends, pass or fail; several apps in one test close in reverse order.
 */
export async function testApp(scope: Scope, options: TestAppOptions = {}): Promise<TestApp> {
  const t = await createTestApp(options);
  defer(scope, () => t.close());
  return t;
}

/** An app the caller closes itself (describe-level `before`/`after`, or a restart in the middle of a test). */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? makeTempDir('calbridge-test-');
  const removeOwnDir = () => (ownDir ? removeTempDir(dir) : undefined);
  const clock = new OffsetClock();
  const config = { ...testConfig, ...options.config };
  let storage: Storage | undefined;
  let app: FastifyInstance | undefined;
  let container: Services;
  try {
    storage = testDatabaseUrl
      ? openPostgres({ url: await postgresUrlFor(dir), poolSize: 5 })
      : openSqlite({ file: path.join(dir, 'calbridge.db') });
    await migrate(storage);
    container = composeServices(storage, config, clock);
    if ((await container.users.count()) === 0) {
      await container.userService.create(
        { Email: ADMIN_EMAIL, Password: ADMIN_PASSWORD, FullAdministrator: true },
        { userId: 0, email: 'test' },
      );
    }
    app = await buildApp(config, container, options.logger ? { logger: options.logger } : {});
    await app.ready();
  } catch (e) {
    // A start that fails half-way leaves nothing open and no directory behind.
    await app?.close().catch(() => {});
    await storage?.close().catch(() => {});
    await removeOwnDir();
    throw e;
  }
  const opened = { app, storage };
  let closing: Promise<void> | undefined;
  return {
    app,
    container,
    clock,
    storage,
    dir,
    admin: basic(ADMIN_EMAIL, ADMIN_PASSWORD),
    async userWithRoles(roles, opts = {}) {
      const email = `user${++userCounter}-${process.pid}@test.local`;
      const password = `password-${userCounter}-xyz`;
      const user = await container.userService.create(
        { Email: email, Password: password, Roles: roles, FullAdministrator: opts.fullAdministrator ?? false },
        { userId: 0, email: 'test' },
      );
      const grant = await passwordGrant(opened.app, email, password);
      if (grant.status !== 200) throw new Error(`token for ${email} failed: ${JSON.stringify(grant.body)}`);
      return { auth: `Bearer ${grant.body.access_token}`, email, password, id: user.Id };
    },
    close() {
      closing ??= (async () => {
        try {
          await opened.app.close();
        } finally {
          try {
            await opened.storage.close();
          } finally {
            await removeOwnDir();
          }
        }
      })();
      return closing;
    },
  };
}
