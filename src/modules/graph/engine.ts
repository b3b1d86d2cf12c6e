/**
 * The Graph side of calbridge: checks the token-encryption key, and registers the subscription manager and the
 * calendar sync on the job queue. The renewal sweep is a self-rescheduling job, so it survives restarts too. It gets
 * everything it needs from the composition root (which also picks Microsoft or the embedded emulator).
 */
import type { Clock } from '../../core/clock.js';
import { SecretBox, SecretBoxError } from '../../core/secret-box.js';
import type { JobQueue } from '../../jobs/job-queue.js';
import type { CoworkerMsOfficeCalendarRepository } from '../calendars/repository.js';
import { CalendarSync, type EventSink } from './calendar-sync.js';
import type { ConnectionRepository } from './connection-repository.js';
import type { ConnectionService } from './connection-service.js';
import { GraphClient, type GraphEndpoints, type RetryPolicy } from './graph-client.js';
import { GraphJobs } from './job-names.js';
import { SubscriptionManager } from './subscription-manager.js';

interface Logger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface GraphEngine {
  endpoints: GraphEndpoints;
  graph: GraphClient;
  manager: SubscriptionManager;
  sync: CalendarSync;
  sink: EventSink;
  /** Seals member tokens at rest (TOKEN_ENCRYPTION_KEY). */
  secrets: SecretBox;
  /** A member signed in: redeem the code and subscribe with their token (see SubscriptionManager.connectDelegated). */
  connectDelegated(recordId: number, code: string, redirectUri: string, codeVerifier?: string, options?: { sameMailbox?: boolean }): Promise<string>;
}

export interface EngineOptions {
  endpoints: GraphEndpoints;
  /** The token-encryption key (base64 or hex), already chosen by the composition root. */
  tokenEncryptionKey: string;
  publicUrl: string;
  calendars: CoworkerMsOfficeCalendarRepository;
  connections: ConnectionRepository;
  connectionService: ConnectionService;
  queue: JobQueue;
  clock: Clock;
  log: Logger;
  retry?: Partial<RetryPolicy>;
  sweepEveryMs?: number;
  /** How often each subscription is checked at Graph and its calendar read whole (default 6 h). */
  reconcileEveryMs?: number;
  horizonPastDays?: number;
  horizonFutureDays?: number;
  /** Where each delta round's changes go (the bookings). */
  sink: EventSink;
}

const KEY_CHECK = 'token_encryption_check';
const SWEEP_KEY = 'graph.sweep';

export async function startGraphEngine(o: EngineOptions): Promise<GraphEngine> {
  const { queue, clock, log, connections, calendars, endpoints } = o;
  const secrets = await checkedSecretBox(o.tokenEncryptionKey, connections);
  const graph = new GraphClient(endpoints, log, { retry: o.retry });
  const manager = new SubscriptionManager({
    graph, connectionService: o.connectionService, calendars, connections, queue, clock, secrets, publicUrl: o.publicUrl, log,
  });
  const sink = o.sink;
  const sync = new CalendarSync({
    graph, manager, calendars, connections, clock, sink,
    horizonPastDays: o.horizonPastDays ?? 1, horizonFutureDays: o.horizonFutureDays ?? 180,
  });
  manager.register(queue);
  sync.register(queue);

  // Safety net beside the scheduled renewals: every few minutes, give records without a connection theirs (made
  // while no engine ran), renew what is due and re-read stale calendars.
  const sweepEvery = o.sweepEveryMs ?? 5 * 60_000;
  const reconcileEvery = o.reconcileEveryMs ?? 6 * 3600_000;
  queue.register(GraphJobs.sweep, async () => {
    const now = clock.now();
    const repaired = await o.connectionService.repairMissing();
    if (repaired) log.info({ repaired }, 'gave records without a Graph connection their connection');
    for (const id of await connections.dueForRenewal(new Date(now).toISOString(), 500)) {
      await manager.enqueue(GraphJobs.renew, id);
    }
    for (const id of await connections.staleSyncs(new Date(now - 3600_000).toISOString(), 500)) {
      await manager.enqueue(GraphJobs.sync, id);
    }
    for (const id of await connections.dueForReconciliation(new Date(now - reconcileEvery).toISOString(), 500)) {
      await manager.enqueue(GraphJobs.reconcile, id);
    }
    await queue.enqueue({ type: GraphJobs.sweep, dedupeKey: SWEEP_KEY, runAt: now + sweepEvery });
  });
  // At start too: records made by API-only processes (SYNC_ENGINE=off) are connected without waiting for a sweep.
  await o.connectionService.repairMissing();
  await queue.enqueue({ type: GraphJobs.sweep, dedupeKey: SWEEP_KEY });

  log.info(`Microsoft Graph: ${endpoints.graphBaseUrl} (tenant ${endpoints.tenantId}; webhooks to ${o.publicUrl}/graph/...)`);
  return {
    endpoints, graph, manager, sync, sink, secrets,
    connectDelegated: (recordId, code, redirectUri, codeVerifier, options) => manager.connectDelegated(recordId, code, redirectUri, codeVerifier, options),
  };
}

/** A key that cannot open what an earlier key sealed stops the start. */
async function checkedSecretBox(keyText: string, connections: ConnectionRepository): Promise<SecretBox> {
  const box = new SecretBox(keyText);
  const stored = await connections.ensureSetting(KEY_CHECK, box.seal('calbridge'));
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
