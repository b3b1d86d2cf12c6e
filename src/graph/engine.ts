/**
 * Starts the Graph side of calbridge: picks the Graph endpoints (Microsoft with credentials configured, otherwise the
 * project's emulator, started in-process), checks the token-encryption key, and registers the subscription manager
 * and the calendar sync on the job queue. The renewal sweep is a self-rescheduling job, so it survives restarts too.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Container } from '../container.js';
import type { JobQueue } from '../jobs/job-queue.js';
import { CalendarSync, CountingSink, type EventSink } from './calendar-sync.js';
import { ConnectionService } from './connection-service.js';
import { GraphClient, type GraphEndpoints, type RetryPolicy } from './graph-client.js';
import { GraphJobs } from './job-names.js';
import { SecretBox, SecretBoxError } from './secret-box.js';
import { SubscriptionManager } from './subscription-manager.js';

interface Logger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface GraphEngine {
  mode: 'microsoft' | 'emulator';
  endpoints: GraphEndpoints;
  graph: GraphClient;
  manager: SubscriptionManager;
  sync: CalendarSync;
  connections: ConnectionService;
  sink: EventSink;
  /** In emulator mode: the emulator (its URL and control object, for demos and tests). */
  emulator?: { url: string; control: unknown; close(): Promise<void> };
  close(): Promise<void>;
}

export interface EngineOptions {
  config: Pick<Config, 'graph' | 'tokenEncryptionKey' | 'dataDir' | 'publicUrl' | 'graphEmulatorPort'>;
  container: Container;
  queue: JobQueue;
  clock: Clock;
  log: Logger;
  /** Tests pass a running emulator's endpoints instead of having one started here. */
  endpoints?: GraphEndpoints;
  retry?: Partial<RetryPolicy>;
  sweepEveryMs?: number;
  horizonPastDays?: number;
  horizonFutureDays?: number;
  sink?: EventSink;
}

const KEY_CHECK = 'token_encryption_check';
const SWEEP_KEY = 'graph.sweep';

export async function startGraphEngine(o: EngineOptions): Promise<GraphEngine> {
  const { container, queue, clock, log } = o;
  let emulator: GraphEngine['emulator'];
  let endpoints = o.endpoints ?? (o.config.graph ? { ...o.config.graph } : undefined);
  if (!endpoints) {
    const started = await startEmbeddedEmulator(o.config.graphEmulatorPort, log);
    emulator = started.emulator;
    endpoints = started.endpoints;
  }
  const secrets = await checkedSecretBox(o, log);
  const graph = new GraphClient(endpoints, log, { retry: o.retry });
  const manager = new SubscriptionManager({
    graph, calendars: container.calendars, connections: container.connections, queue, clock, secrets, publicUrl: o.config.publicUrl, log,
  });
  const sink = o.sink ?? new CountingSink();
  const sync = new CalendarSync({
    graph, manager, calendars: container.calendars, connections: container.connections, clock, sink,
    horizonPastDays: o.horizonPastDays ?? 1, horizonFutureDays: o.horizonFutureDays ?? 180,
  });
  const connections = new ConnectionService(container.connections, container.coworkers, manager, queue, clock, true);
  container.calendarService.observe(connections);
  manager.register(queue);
  sync.register(queue);

  // Safety net beside the scheduled renewals: every few minutes, renew what is due and re-read stale calendars.
  const sweepEvery = o.sweepEveryMs ?? 5 * 60_000;
  queue.register(GraphJobs.sweep, async () => {
    const now = clock.now();
    for (const id of await container.connections.dueForRenewal(new Date(now).toISOString(), 500)) {
      await manager.enqueue(GraphJobs.renew, id);
    }
    for (const id of await container.connections.staleSyncs(new Date(now - 3600_000).toISOString(), 500)) {
      await manager.enqueue(GraphJobs.sync, id);
    }
    await queue.enqueue({ type: GraphJobs.sweep, dedupeKey: SWEEP_KEY, runAt: now + sweepEvery });
  });
  await queue.enqueue({ type: GraphJobs.sweep, dedupeKey: SWEEP_KEY });

  log.info(emulator
    ? `Microsoft Graph: no credentials configured, so the Graph emulator runs in-process at ${emulator.url} (webhooks to ${o.config.publicUrl}/graph/...)`
    : `Microsoft Graph: ${endpoints.graphBaseUrl} (tenant ${endpoints.tenantId}; webhooks to ${o.config.publicUrl}/graph/...)`);

  return {
    mode: emulator ? 'emulator' : 'microsoft',
    endpoints, graph, manager, sync, connections, sink, emulator,
    async close() {
      await emulator?.close();
    },
  };
}

async function startEmbeddedEmulator(port: number, log: Logger) {
  // Imported only in this mode: production with credentials never loads the emulator.
  const { startGraphEmulator, trustEmulatorCertificate } = await import('../../emulator/index.js');
  trustEmulatorCertificate();
  const emu = await startGraphEmulator({ port, host: '127.0.0.1' });
  const seed = emu.control.seed();
  log.info({ mailboxes: seed.users.map((u) => u.userPrincipalName) }, 'Graph emulator mailboxes (coworkers with these e-mails get live subscriptions)');
  const endpoints: GraphEndpoints = {
    tenantId: seed.tenant.id,
    clientId: seed.app.clientId,
    clientSecret: seed.app.clientSecret,
    authorityHost: emu.url,
    graphBaseUrl: emu.url,
  };
  return { endpoints, emulator: { url: emu.url, control: emu.control, close: () => emu.close() } };
}

/**
 * The key that seals member tokens. With Microsoft credentials it must be configured; in emulator mode one is
 * generated under DATA_DIR on first start. A key that cannot open what an earlier key sealed stops the start.
 */
async function checkedSecretBox(o: EngineOptions, log: Logger): Promise<SecretBox> {
  let keyText = o.config.tokenEncryptionKey;
  if (!keyText) {
    const file = path.join(o.config.dataDir, 'token-encryption.key');
    if (!fs.existsSync(file)) {
      fs.mkdirSync(o.config.dataDir, { recursive: true });
      fs.writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600 });
      log.info({ file }, 'generated a token-encryption key (set TOKEN_ENCRYPTION_KEY to manage it yourself)');
    }
    keyText = fs.readFileSync(file, 'utf8');
  }
  const box = new SecretBox(keyText);
  const stored = await o.container.connections.ensureSetting(KEY_CHECK, box.seal('calbridge'));
  try {
    box.open(stored);
  } catch (err) {
    if (err instanceof SecretBoxError) {
      throw new SecretBoxError('TOKEN_ENCRYPTION_KEY is not the key this database was set up with: member tokens could not be read. Use the original key.');
    }
    throw err;
  }
  return box;
}
