/**
 * The one composition root: storage → repositories → services → the sync engine, wired once. The server, the command
 * line and the tests start from here; nothing else constructs services or looks them up.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Config, GraphAppConfig } from './config.js';
import { systemClock, type Clock } from './core/clock.js';
import type { Storage } from './storage/database.js';
import { JobStore } from './jobs/job-store.js';
import type { JobQueue } from './jobs/job-queue.js';
import { CoworkerRepository } from './modules/directory/coworker-repository.js';
import { CoworkerService } from './modules/directory/coworker-service.js';
import { ResourceRepository } from './modules/directory/resource-repository.js';
import { ResourceService } from './modules/directory/resource-service.js';
import { UserRepository } from './modules/users/repository.js';
import { UserService } from './modules/users/service.js';
import { TokenRepository } from './modules/users/token-repository.js';
import { TokenService } from './modules/users/token-service.js';
import { PasswordLogin } from './modules/users/password-login.js';
import { Authenticator } from './modules/users/authenticator.js';
import { WindowCounter } from './modules/users/throttle.js';
import { CoworkerMsOfficeCalendarRepository } from './modules/calendars/repository.js';
import { CoworkerMsOfficeCalendarService } from './modules/calendars/service.js';
import { ConnectionRepository } from './modules/graph/connection-repository.js';
import { ConnectionService } from './modules/graph/connection-service.js';
import { QueueCommandRunner } from './modules/graph/command-runner.js';
import { NotificationIntake } from './modules/graph/notification-intake.js';
import { startGraphEngine, type EngineOptions, type GraphEngine } from './modules/graph/engine.js';
import type { GraphEndpoints } from './modules/graph/graph-client.js';
import { OperationsService, type GraphHealth } from './modules/operations/service.js';
import { BookingRepository, CancelledBookingRepository } from './modules/bookings/repository.js';
import { BookingService } from './modules/bookings/service.js';
import { BookingSync } from './modules/bookings/booking-sync.js';
import { OutlookWriter } from './modules/bookings/outlook-writer.js';
import { RecordReader } from './modules/records/record-service.js';
import { CANCELLED_BOOKING } from './modules/bookings/schema.js';
import { ConnectAttemptRepository } from './modules/connect/attempt-repository.js';
import { ConnectFlow } from './modules/connect/connect-flow.js';

type Tunables = 'accessTokenTtlSeconds' | 'refreshTokenTtlSeconds' | 'throttleLimit' | 'throttleWindowSeconds' | 'loginFailureLimit' | 'loginFailureWindowSeconds' | 'loginFailureLimitPerIp' | 'maxConcurrentPasswordChecks' | 'syncDelayMs';
export type ServiceConfig = Pick<Config, 'scryptCost'> & Partial<Pick<Config, Tunables>>;

export function composeServices(storage: Storage, config: ServiceConfig, clock: Clock = systemClock) {
  const { db } = storage;
  const deps = { db, clock };
  let queue: JobQueue | null = null;
  let graphHealth: GraphHealth | null = null;
  const poke = () => queue?.poke();

  const jobs = new JobStore(db, storage.dialect, clock);
  const tokens = new TokenRepository(db, clock);
  const users = new UserRepository(storage);
  const coworkers = new CoworkerRepository(storage);
  const resources = new ResourceRepository(storage);
  const calendars = new CoworkerMsOfficeCalendarRepository(storage);
  const connections = new ConnectionRepository(db, clock, storage.dialect);
  const bookings = new BookingRepository(storage);

  const loginWindow = (config.loginFailureWindowSeconds ?? 300) * 1000;
  const login = new PasswordLogin(users, {
    perUser: new WindowCounter(config.loginFailureLimit ?? 10, loginWindow, clock),
    perAddress: new WindowCounter(config.loginFailureLimitPerIp ?? 100, loginWindow, clock),
    maxConcurrent: config.maxConcurrentPasswordChecks ?? 4,
  }, config.scryptCost);
  const calendarService = new CoworkerMsOfficeCalendarService(calendars, deps);
  const connectionService = new ConnectionService({ db, connections, calendars, coworkers, jobs, clock, poke });
  // Every record gets its Graph connection in its own transaction, whether or not this process runs the engine.
  calendarService.observe(connectionService);
  calendarService.setSubscriptionOwnership(connectionService.manages);
  const throttleLimit = config.throttleLimit ?? 1000;
  const bookingService = new BookingService(bookings, { ...deps, jobs, poke });

  return {
    storage, clock, jobs, tokens, users, coworkers, resources, calendars, connections, connectionService,
    userService: new UserService(users, tokens, config.scryptCost, deps),
    coworkerService: new CoworkerService(coworkers, deps),
    resourceService: new ResourceService(resources, deps),
    calendarService,
    bookings,
    bookingService,
    cancelledBookings: new RecordReader(CANCELLED_BOOKING, new CancelledBookingRepository(storage)),
    /** Delta rounds become bookings (the engine's event sink). */
    bookingSync: new BookingSync({ db, bookings, connections, calendars, resources, jobs, clock, poke }),
    authenticator: new Authenticator(tokens, users, login, clock),
    apiThrottle: throttleLimit > 0 ? new WindowCounter(throttleLimit, (config.throttleWindowSeconds ?? 10) * 1000, clock) : null,
    tokenService: new TokenService(tokens, login, clock, { accessSeconds: config.accessTokenTtlSeconds ?? 3600, refreshSeconds: config.refreshTokenTtlSeconds ?? 15 * 86400 }),
    commandRunner: new QueueCommandRunner(jobs, connections, poke),
    intake: new NotificationIntake({ db, connections, jobs, clock, syncDelayMs: config.syncDelayMs ?? 1000, poke }),
    operations: new OperationsService(storage, jobs, () => queue, () => graphHealth),
    /** The member's /connect flow: there once this process runs the sync engine (it needs Graph and the key). */
    connect: { flow: undefined as ConnectFlow | undefined },
    /** The process's job queue: woken after commits that add jobs, shown in /readyz. */
    attachQueue(q: JobQueue) {
      queue = q;
    },
    /** The process's Graph client, once the engine runs: /readyz shows the app credentials it saw refused. */
    attachGraph(g: GraphHealth) {
      graphHealth = g;
    },
  };
}

export type Services = ReturnType<typeof composeServices>;

interface Logger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface SyncEngineOptions extends Partial<Pick<EngineOptions, 'retry' | 'sweepEveryMs' | 'reconcileEveryMs' | 'horizonPastDays' | 'horizonFutureDays' | 'sink'>> {
  config: Pick<Config, 'graph' | 'tokenEncryptionKey' | 'dataDir' | 'publicUrl' | 'graphEmulatorPort'> & Partial<Pick<Config, 'spaceTimeZone'>>;
  services: Services;
  queue: JobQueue;
  log: Logger;
  /** Tests pass a running emulator's endpoints instead of having one started here. */
  endpoints?: GraphEndpoints;
}

export interface SyncEngine extends GraphEngine {
  mode: 'microsoft' | 'emulator';
  /** In emulator mode: the embedded emulator (its URL and control object, for demos and tests). */
  emulator?: { url: string; control: unknown; close(): Promise<void> };
  close(): Promise<void>;
}

/** Starts the sync engine: Microsoft with credentials configured, else the project's emulator, in-process. */
export async function startSyncEngine(o: SyncEngineOptions): Promise<SyncEngine> {
  let emulator: SyncEngine['emulator'];
  let endpoints = o.endpoints ?? (o.config.graph ? endpointsOf(o.config.graph) : undefined);
  if (!endpoints) {
    const started = await startEmbeddedEmulator(o.config.graphEmulatorPort, o.log);
    emulator = started.emulator;
    endpoints = started.endpoints;
    o.log.info(`Microsoft Graph: no credentials configured, so the Graph emulator runs in-process at ${emulator.url}`);
  }
  const { services } = o;
  try {
    const engine = await startGraphEngine({
      ...o, endpoints, tokenEncryptionKey: tokenEncryptionKey(o.config, o.log), publicUrl: o.config.publicUrl, sink: o.sink ?? services.bookingSync,
      calendars: services.calendars, connections: services.connections, connectionService: services.connectionService, clock: services.clock,
    });
    services.attachGraph(engine.graph);
    new OutlookWriter({
      graph: engine.graph, authFor: (conn) => engine.manager.authFor(conn), connections: services.connections, bookings: services.bookings,
      resources: services.resources, sync: services.bookingSync, clock: services.clock, timeZone: o.config.spaceTimeZone,
    }).register(o.queue);
    services.connect.flow = new ConnectFlow({
      db: services.storage.db, graph: engine.graph, secrets: engine.secrets, attempts: new ConnectAttemptRepository(services.storage.db),
      calendarService: services.calendarService, connectionService: services.connectionService, clock: services.clock, publicUrl: o.config.publicUrl,
      signInOrigin: new URL(endpoints.authorityHost).origin, fixedRedirect: !emulator,
      reconnect: (recordId, code, redirectUri, verifier) => engine.connectDelegated(recordId, code, redirectUri, verifier, { sameMailbox: true }),
    });
    return { ...engine, mode: emulator ? 'emulator' : 'microsoft', emulator, close: async () => emulator?.close() };
  } catch (err) {
    // The start fails: the process exits with the error, so the emulator's close is not awaited (open sockets would hold it).
    void emulator?.close().catch(() => {});
    throw err;
  }
}

function endpointsOf(g: GraphAppConfig): GraphEndpoints {
  return { tenantId: g.tenantId, clientId: g.clientId, clientSecret: g.clientSecret, authorityHost: g.authorityHost, graphBaseUrl: g.graphBaseUrl };
}

async function startEmbeddedEmulator(port: number, log: Logger) {
  // Imported only in this mode: production with credentials never loads the emulator.
  const { startGraphEmulator, trustEmulatorCertificate } = await import('../emulator/index.js');
  trustEmulatorCertificate();
  const emu = await startGraphEmulator({ port, host: '127.0.0.1' });
  const seed = emu.control.seed();
  // What a demo needs, without another README: where to create events, and which mailboxes and calendars exist.
  const mailboxes = seed.users.map((u) => ({ mailbox: u.userPrincipalName, calendarId: emu.control.defaultCalendar(u.id).id }));
  log.info({ control: `${emu.httpUrl}/_control`, mailboxes }, 'Graph emulator: control API and seeded mailboxes (a coworker with one of these e-mails and a calendar record on its calendarId gets a live subscription)');
  const endpoints: GraphEndpoints = {
    tenantId: seed.tenant.id, clientId: seed.app.clientId, clientSecret: seed.app.clientSecret, authorityHost: emu.url, graphBaseUrl: emu.url,
  };
  return { endpoints, emulator: { url: emu.url, control: emu.control as unknown, close: () => emu.close() } };
}

/** The key that seals member tokens: configured, or (emulator mode) generated under DATA_DIR on first start. */
function tokenEncryptionKey(config: SyncEngineOptions['config'], log: Logger): string {
  if (config.tokenEncryptionKey) return config.tokenEncryptionKey;
  const file = path.join(config.dataDir, 'token-encryption.key');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(config.dataDir, { recursive: true });
    fs.writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600 });
    log.info({ file }, 'generated a token-encryption key (set TOKEN_ENCRYPTION_KEY to manage it yourself)');
  }
  return fs.readFileSync(file, 'utf8');
}
