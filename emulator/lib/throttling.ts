/**
 * Outlook's service limits, evaluated per app id + mailbox: at most mailboxConcurrencyLimit requests in flight and
 * mailboxRequestLimit requests per mailboxRequestWindowMs (sliding, emulator clock). Over either → 429
 * ApplicationThrottled with Retry-After, as Graph answers. Throttled requests count towards the rate too (Graph:
 * "throttled requests still count"), so a client that retries at once stays throttled.
 */
import type { EmulatorClock } from './clock.js';
import type { EmulatorContext } from './context.js';
import type { UserRecord } from './directory.js';
import { GraphError } from './errors.js';
import type { EmulatorSettings } from './settings.js';
import type { Principal } from './tokens.js';

/** Counters of one app on one mailbox. */
export interface MailboxThrottleStats {
  appId: string;
  userId: string;
  userPrincipalName: string;
  /** Requests that reached the limiter (admitted or not). */
  requests: number;
  inFlight: number;
  /** Highest number of requests in flight at once. */
  maxConcurrency: number;
  throttledConcurrency: number;
  throttledRate: number;
}

export interface ThrottleStats {
  /** 429s sent for either limit. */
  throttled: number;
  throttledConcurrency: number;
  throttledRate: number;
  /** Highest concurrency seen on any mailbox. */
  maxConcurrency: number;
  mailboxes: MailboxThrottleStats[];
}

interface Bucket extends MailboxThrottleStats {
  /** Emulator times of the requests in the window, oldest first (from index `head`). */
  times: number[];
  head: number;
}

export class MailboxThrottle {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly settings: EmulatorSettings,
    private readonly clock: EmulatorClock,
  ) {}

  /** Admits a request of `appId` on a mailbox, or throws the 429. Call the returned function once it is answered. */
  admit(appId: string, userId: string, userPrincipalName: string): () => void {
    const key = `${appId}|${userId}`;
    let b = this.buckets.get(key);
    if (!b) {
      b = { appId, userId, userPrincipalName, requests: 0, inFlight: 0, maxConcurrency: 0, throttledConcurrency: 0, throttledRate: 0, times: [], head: 0 };
      this.buckets.set(key, b);
    }
    const s = this.settings;
    const now = this.clock.now();
    while (b.head < b.times.length && b.times[b.head]! <= now - s.mailboxRequestWindowMs) b.head++;
    if (b.head > 1024 && b.head * 2 > b.times.length) {
      b.times = b.times.slice(b.head);
      b.head = 0;
    }
    b.requests++;
    const inWindow = b.times.length - b.head;
    b.times.push(now);
    if (s.mailboxRequestLimit > 0 && inWindow >= s.mailboxRequestLimit) {
      b.throttledRate++;
      // Until the oldest request of the window leaves it.
      const oldest = b.times[b.head]!;
      const retryAfter = Math.max(1, Math.ceil((oldest + s.mailboxRequestWindowMs - now) / 1000));
      throw new GraphError(429, 'ApplicationThrottled', 'Application is over its RequestRate limit.', { 'retry-after': String(retryAfter) });
    }
    if (s.mailboxConcurrencyLimit > 0 && b.inFlight >= s.mailboxConcurrencyLimit) {
      b.throttledConcurrency++;
      throw new GraphError(429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.', { 'retry-after': String(s.mailboxConcurrencyRetryAfterSec) });
    }
    b.inFlight++;
    b.maxConcurrency = Math.max(b.maxConcurrency, b.inFlight);
    const bucket = b;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      bucket.inFlight--;
    };
  }

  stats(): ThrottleStats {
    const mailboxes = [...this.buckets.values()].map(({ times: _t, head: _h, ...m }) => m);
    const sum = (f: (m: MailboxThrottleStats) => number): number => mailboxes.reduce((n, m) => n + f(m), 0);
    return {
      throttled: sum((m) => m.throttledConcurrency + m.throttledRate),
      throttledConcurrency: sum((m) => m.throttledConcurrency),
      throttledRate: sum((m) => m.throttledRate),
      maxConcurrency: Math.max(0, ...mailboxes.map((m) => m.maxConcurrency)),
      mailboxes,
    };
  }

  /** Zeroes the counters and empties the rate windows; requests in flight stay counted until they are answered. */
  reset(): void {
    for (const [key, b] of this.buckets) {
      if (b.inFlight === 0) this.buckets.delete(key);
      else Object.assign(b, { requests: 0, maxConcurrency: b.inFlight, throttledConcurrency: 0, throttledRate: 0, times: [], head: 0 });
    }
  }
}

/**
 * The app and mailbox a Graph request is charged to: Outlook resources under /users/{id|upn}/… or /me/…. null for
 * anything else (/subscriptions belong to the app, /users/{id} is the directory) and for requests whose token or
 * mailbox is invalid (the handler answers those).
 */
export function chargedTo(ctx: EmulatorContext, url: string, authorization: string | undefined): { appId: string; user: UserRecord } | null {
  const m = /^\/v1\.0\/([^?]*)/.exec(url);
  if (!m) return null;
  const segs = m[1]!.split('/').filter(Boolean);
  const head = segs[0]?.toLowerCase();
  if (!((head === 'me' && segs.length >= 2) || (head === 'users' && segs.length >= 3))) return null;
  let p: Principal;
  try {
    p = ctx.tokens.verifyBearer(authorization);
  } catch {
    return null;
  }
  let user: UserRecord | undefined;
  if (head === 'me') user = p.userId ? ctx.directory.users.get(p.userId) : undefined;
  else {
    let key = segs[1]!;
    try {
      key = decodeURIComponent(key);
    } catch {
      /* as sent */
    }
    user = ctx.directory.findUser(key, p.tenantId);
  }
  return user ? { appId: p.appId, user } : null;
}
