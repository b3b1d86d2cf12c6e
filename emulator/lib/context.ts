import type { EmulatorClock } from './clock.js';
import type { DeltaService } from './delta.js';
import type { Directory } from './directory.js';
import type { EventStore } from './events.js';
import type { FaultInjector } from './faults.js';
import type { Notifier } from './notifier.js';
import type { RequestLog } from './request-log.js';
import type { EmulatorSettings } from './settings.js';
import type { SubscriptionService } from './subscriptions.js';
import type { MailboxThrottle } from './throttling.js';
import type { TokenService } from './tokens.js';

/** Everything one emulator instance holds (in memory). */
export interface EmulatorContext {
  settings: EmulatorSettings;
  clock: EmulatorClock;
  directory: Directory;
  events: EventStore;
  tokens: TokenService;
  subscriptions: SubscriptionService;
  notifier: Notifier;
  delta: DeltaService;
  faults: FaultInjector;
  requests: RequestLog;
  throttle: MailboxThrottle;
  /** PEM of the CA that signed the emulator's TLS certificate. */
  caCertificate: string;
}
