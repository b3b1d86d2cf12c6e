/**
 * Microsoft Graph emulator: the identity platform token endpoint + Graph v1.0 calendars/events/subscriptions with
 * real webhooks, in one process. See README.md.
 */
import { EmulatorClock, type ClockSource } from './lib/clock.js';
import type { EmulatorContext } from './lib/context.js';
import { EmulatorControl } from './lib/control.js';
import { DeltaService } from './lib/delta.js';
import { Directory } from './lib/directory.js';
import { EventStore } from './lib/events.js';
import { FaultInjector } from './lib/faults.js';
import { Notifier } from './lib/notifier.js';
import { RequestLog } from './lib/request-log.js';
import { buildServer, bundledTls, type TlsMaterial } from './lib/server.js';
import { DEFAULT_SETTINGS, type EmulatorSettings } from './lib/settings.js';
import { SubscriptionService } from './lib/subscriptions.js';
import { MailboxThrottle } from './lib/throttling.js';
import { TokenService } from './lib/tokens.js';

export { EmulatorControl } from './lib/control.js';
export type { ControlSubscription, SeedResult, ClockAdvance } from './lib/control.js';
export type { ClockSource } from './lib/clock.js';
export type { EmulatorSettings } from './lib/settings.js';
export type { FaultSpec, FaultRule } from './lib/faults.js';
export type { DeliveryRecord, DeliveryFilter, NotificationFaultSpec } from './lib/notifier.js';
export type { RequestRecord, RequestFilter } from './lib/request-log.js';
export type { ThrottleStats, MailboxThrottleStats } from './lib/throttling.js';
export type { AppRecord, TenantRecord, UserRecord, CalendarRecord } from './lib/directory.js';
export type * from './lib/graph-types.js';
export { trustEmulatorCertificate, EMULATOR_CA_PATH } from './lib/trust.js';

export interface GraphEmulatorOptions extends Partial<EmulatorSettings> {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  host?: string;
  /** Source of real time; the emulator's clock is this plus the offset moved by control.advanceClock(). */
  clock?: ClockSource;
  /** TLS key/cert; defaults to the bundled localhost certificate signed by emulator/tls/ca.pem. */
  tls?: TlsMaterial & { ca: string };
  /** Fastify request logging. */
  logger?: boolean;
}

export interface GraphEmulator {
  /** https://host:port — use it for the MSAL authority (`${url}/${tenantId}`) and the Graph base URL (`${url}/v1.0/`). */
  url: string;
  /** Same port over plain HTTP (control API, curl). */
  httpUrl: string;
  port: number;
  /** Host:port to put in MSAL's knownAuthorities and the Graph client's customHosts (hostname only there). */
  authorityHost: string;
  /** PEM of the CA to trust for `url`. */
  caCertificate: string;
  control: EmulatorControl;
  close(): Promise<void>;
}

export async function startGraphEmulator(options: GraphEmulatorOptions = {}): Promise<GraphEmulator> {
  const { port = 0, host = '127.0.0.1', clock: source, tls: tlsOpt, logger, ...overrides } = options;
  const settings: EmulatorSettings = { ...DEFAULT_SETTINGS, ...overrides, notificationRetryDelaysMs: [...(overrides.notificationRetryDelaysMs ?? DEFAULT_SETTINGS.notificationRetryDelaysMs)] };
  const tls = tlsOpt ?? bundledTls();
  const clock = new EmulatorClock(source);
  const directory = new Directory();
  const ctx = {
    settings,
    clock,
    directory,
    events: new EventStore(directory, () => clock.now()),
    tokens: new TokenService(settings, clock, directory),
    faults: new FaultInjector(),
    requests: new RequestLog(settings.requestLogLimit),
    throttle: new MailboxThrottle(settings, clock),
    caCertificate: tls.ca,
  } as EmulatorContext;
  ctx.subscriptions = new SubscriptionService(ctx);
  ctx.delta = new DeltaService(ctx);
  ctx.notifier = new Notifier(settings, clock, tls.ca, {
    isAlive: (id) => ctx.subscriptions.isAlive(id),
    onGaveUp: (ids) => {
      if (!settings.missedAfterGivingUp) return;
      for (const id of ids) {
        const sub = ctx.subscriptions.subscriptions.get(id);
        if (sub) ctx.subscriptions.sendLifecycle(sub, 'missed');
      }
    },
  });
  ctx.events.onChange((c) => ctx.subscriptions.onEventChange(c));
  const offClock = clock.onChange(() => ctx.subscriptions.sweep());
  const sweeper = setInterval(() => ctx.subscriptions.sweep(), settings.sweepIntervalMs);
  sweeper.unref();

  const control = new EmulatorControl(ctx);
  const { app, sockets } = buildServer(ctx, control, tls, { logger });
  await app.listen({ port, host });
  const addr = app.server.address();
  const actualPort = typeof addr === 'object' && addr ? addr.port : port;
  const hostForUrl = host.includes(':') ? `[${host}]` : host;
  let closed = false;
  return {
    url: `https://${hostForUrl}:${actualPort}`,
    httpUrl: `http://${hostForUrl}:${actualPort}`,
    port: actualPort,
    authorityHost: `${hostForUrl}:${actualPort}`,
    caCertificate: tls.ca,
    control,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(sweeper);
      offClock();
      await ctx.notifier.close();
      for (const s of sockets) s.destroy();
      await app.close();
    },
  };
}
