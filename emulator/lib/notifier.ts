/**
 * Outbound HTTP to the application: the validation handshake and change/lifecycle notification POSTs, batched per
 * notification URL, retried with back-off on non-2xx or timeout, with drop/duplicate faults and a delivery log.
 */
import { rootCertificates } from 'node:tls';
import { Agent, request } from 'undici';
import type { EmulatorClock } from './clock.js';
import type { AnyNotification, NotificationCollection } from './graph-types.js';
import { guid } from './ids.js';
import type { EmulatorSettings } from './settings.js';

export interface DeliveryRecord {
  id: number;
  kind: 'validation' | 'notification';
  url: string;
  attempt: number;
  /** HTTP status, or null when no answer came (timeout, connection refused, dropped by a fault). */
  status: number | null;
  ok: boolean;
  /** 'timeout', a connection error text, 'dropped (fault)', a handshake mismatch, … */
  error: string | null;
  /** Emulator time of the attempt (ISO). */
  at: string;
  durationMs: number;
  subscriptionIds: string[];
  changeTypes: string[];
  lifecycleEvents: string[];
  itemCount: number;
  body: NotificationCollection | null;
  validationToken?: string;
  responseBody: string | null;
  /** True when this was the last attempt and it failed. */
  gaveUp: boolean;
  dropped: boolean;
}

export interface DeliveryFilter {
  kind?: 'validation' | 'notification';
  subscriptionId?: string;
  url?: string;
  ok?: boolean;
  lifecycleEvent?: string;
  sinceId?: number;
}

export interface NotificationFaultSpec {
  action: 'drop' | 'duplicate';
  /** How many notification items it applies to (default 1). */
  count?: number;
  /** Only items of this subscription. */
  subscriptionId?: string;
  /** Only change items ('change'), only lifecycle items ('lifecycle'), or both (default 'change'). */
  kinds?: 'change' | 'lifecycle' | 'any';
}

interface NotificationFault extends Required<Omit<NotificationFaultSpec, 'subscriptionId'>> {
  id: number;
  subscriptionId?: string;
}

interface Queued {
  item: AnyNotification;
}

export interface NotifierHooks {
  /** Is the subscription still alive (items of dead subscriptions are not sent, retries included)? */
  isAlive(subscriptionId: string): boolean;
  /** Called when change deliveries for these subscriptions were given up. */
  onGaveUp(subscriptionIds: string[]): void;
}

export class Notifier {
  private seq = 0;
  private faultSeq = 0;
  readonly deliveries: DeliveryRecord[] = [];
  private readonly queues = new Map<string, Queued[]>();
  private readonly flushTimers = new Map<string, NodeJS.Timeout>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private inflight = 0;
  private idleWaiters: (() => void)[] = [];
  private deliveryWaiters: { pred: (d: DeliveryRecord) => boolean; resolve: (d: DeliveryRecord) => void }[] = [];
  faults: NotificationFault[] = [];
  private closed = false;
  private readonly agent: Agent;

  constructor(
    private readonly settings: EmulatorSettings,
    private readonly clock: EmulatorClock,
    caCertificate: string,
    private readonly hooks: NotifierHooks,
  ) {
    this.agent = new Agent({ connect: { ca: [...rootCertificates, caCertificate] }, keepAliveTimeout: 1_000 });
  }

  /* ---------- validation handshake ---------- */

  static makeValidationToken(): string {
    // Opaque, with spaces and characters that must be URL-encoded; the app has to echo the decoded text verbatim.
    return `Validation: Testing client application reachability for subscription Request-Id: ${guid()} +&=%/?#"é`;
  }

  /** POSTs ?validationToken=… with an empty text/plain body; ok only for 200 + text/plain + the decoded token verbatim. */
  async validate(url: string, subscriptionIds: string[] = []): Promise<{ ok: boolean; status: number | null; error: string | null; timedOut: boolean }> {
    const token = Notifier.makeValidationToken();
    const target = `${url}${url.includes('?') ? '&' : '?'}validationToken=${encodeURIComponent(token)}`;
    const started = Date.now();
    const at = this.clock.iso();
    let status: number | null = null;
    let error: string | null = null;
    let responseBody: string | null = null;
    let timedOut = false;
    try {
      const res = await this.post(target, '', { 'content-type': 'text/plain; charset=utf-8' }, this.settings.validationTimeoutMs);
      status = res.status;
      responseBody = res.body;
      const ct = res.contentType.toLowerCase();
      if (status !== 200) error = `HTTP status code is '${status}'`;
      else if (!ct.startsWith('text/plain')) error = `Content-Type is '${res.contentType || '(none)'}', expected text/plain`;
      else if (res.body !== token) error = 'the response body is not the decoded validation token';
    } catch (e) {
      timedOut = isTimeout(e);
      error = timedOut ? 'timeout' : errorText(e);
    }
    this.record({
      kind: 'validation',
      url,
      attempt: 1,
      status,
      ok: error === null,
      error,
      at,
      durationMs: Date.now() - started,
      subscriptionIds,
      changeTypes: [],
      lifecycleEvents: [],
      itemCount: 0,
      body: null,
      validationToken: token,
      responseBody,
      gaveUp: false,
      dropped: false,
    });
    return { ok: error === null, status, error, timedOut };
  }

  /* ---------- notifications ---------- */

  addFault(spec: NotificationFaultSpec): NotificationFault {
    const f: NotificationFault = { id: ++this.faultSeq, action: spec.action, count: spec.count ?? 1, kinds: spec.kinds ?? 'change', subscriptionId: spec.subscriptionId };
    this.faults.push(f);
    return f;
  }

  private takeFault(item: AnyNotification): NotificationFault | null {
    const kind = item.lifecycleEvent ? 'lifecycle' : 'change';
    for (const f of this.faults) {
      if (f.count <= 0) continue;
      if (f.kinds !== 'any' && f.kinds !== kind) continue;
      if (f.subscriptionId && f.subscriptionId !== item.subscriptionId) continue;
      f.count -= 1;
      return f;
    }
    return null;
  }

  /** Queues an item for its URL; items for one URL within the batch window go out in one POST. */
  enqueue(url: string, item: AnyNotification): void {
    if (this.closed) return;
    const fault = this.takeFault(item);
    if (fault?.action === 'drop') {
      this.record({
        kind: 'notification',
        url,
        attempt: 0,
        status: null,
        ok: false,
        error: 'dropped (fault)',
        at: this.clock.iso(),
        durationMs: 0,
        subscriptionIds: [item.subscriptionId],
        changeTypes: item.changeType ? [item.changeType] : [],
        lifecycleEvents: item.lifecycleEvent ? [item.lifecycleEvent] : [],
        itemCount: 1,
        body: { value: [item] },
        responseBody: null,
        gaveUp: false,
        dropped: true,
      });
      this.checkIdle();
      return;
    }
    const q = this.queues.get(url) ?? [];
    q.push({ item });
    if (fault?.action === 'duplicate') q.push({ item: { ...item } });
    this.queues.set(url, q);
    if (!this.flushTimers.has(url)) {
      const t = setTimeout(() => {
        this.flushTimers.delete(url);
        this.flush(url);
      }, this.settings.notificationBatchDelayMs);
      this.flushTimers.set(url, t);
    }
  }

  private flush(url: string): void {
    const q = this.queues.get(url);
    if (!q || q.length === 0) return;
    const batch = q.splice(0, this.settings.notificationMaxBatchSize);
    if (q.length === 0) this.queues.delete(url);
    else {
      const t = setTimeout(() => {
        this.flushTimers.delete(url);
        this.flush(url);
      }, 0);
      this.flushTimers.set(url, t);
    }
    void this.deliver(url, batch.map((b) => b.item), 1);
  }

  private async deliver(url: string, allItems: AnyNotification[], attempt: number): Promise<void> {
    if (this.closed) return;
    // Graph stops sending for a subscription once it is gone; lifecycle items (e.g. subscriptionRemoved) still go out.
    const items = allItems.filter((i) => i.lifecycleEvent || this.hooks.isAlive(i.subscriptionId));
    if (items.length === 0) return this.checkIdle();
    this.inflight += 1;
    const body: NotificationCollection = { value: items };
    const started = Date.now();
    const at = this.clock.iso();
    let status: number | null = null;
    let error: string | null = null;
    let responseBody: string | null = null;
    const timeout = attempt === 1 ? this.settings.notificationTimeoutMs : this.settings.notificationRetryTimeoutMs;
    try {
      const res = await this.post(url, JSON.stringify(body), { 'content-type': 'application/json; charset=utf-8' }, timeout);
      status = res.status;
      responseBody = res.body.slice(0, 2_000);
      if (status < 200 || status > 299) error = `HTTP ${status}`;
    } catch (e) {
      error = isTimeout(e) ? 'timeout' : errorText(e);
    }
    const ok = error === null;
    const canRetry = attempt <= this.settings.notificationRetryDelaysMs.length;
    this.record({
      kind: 'notification',
      url,
      attempt,
      status,
      ok,
      error,
      at,
      durationMs: Date.now() - started,
      subscriptionIds: [...new Set(items.map((i) => i.subscriptionId))],
      changeTypes: items.flatMap((i) => (i.changeType ? [i.changeType] : [])),
      lifecycleEvents: items.flatMap((i) => (i.lifecycleEvent ? [i.lifecycleEvent] : [])),
      itemCount: items.length,
      body,
      responseBody,
      gaveUp: !ok && !canRetry,
      dropped: false,
    });
    this.inflight -= 1;
    if (!ok && !this.closed) {
      if (canRetry) {
        const delay = this.settings.notificationRetryDelaysMs[attempt - 1]!;
        const t = setTimeout(() => {
          this.retryTimers.delete(t);
          void this.deliver(url, items, attempt + 1);
        }, delay);
        this.retryTimers.add(t);
      } else {
        const changed = [...new Set(items.filter((i) => !i.lifecycleEvent).map((i) => i.subscriptionId))];
        if (changed.length) this.hooks.onGaveUp(changed);
      }
    }
    this.checkIdle();
  }

  private async post(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<{ status: number; body: string; contentType: string }> {
    const res = await request(url, {
      method: 'POST',
      body,
      headers: { ...headers, 'client-request-id': guid(), 'user-agent': 'Microsoft-Graph-Emulator/1.0' },
      dispatcher: this.agent,
      signal: AbortSignal.timeout(timeoutMs),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const text = await res.body.text();
    const ct = res.headers['content-type'];
    return { status: res.statusCode, body: text, contentType: Array.isArray(ct) ? (ct[0] ?? '') : (ct ?? '') };
  }

  private record(d: Omit<DeliveryRecord, 'id'>): void {
    const rec: DeliveryRecord = { ...d, id: ++this.seq };
    this.deliveries.push(rec);
    if (this.deliveries.length > this.settings.deliveryLogLimit) this.deliveries.splice(0, this.deliveries.length - this.settings.deliveryLogLimit);
    for (const w of [...this.deliveryWaiters]) {
      if (w.pred(rec)) {
        this.deliveryWaiters = this.deliveryWaiters.filter((x) => x !== w);
        w.resolve(rec);
      }
    }
  }

  list(f: DeliveryFilter = {}): DeliveryRecord[] {
    return this.deliveries.filter(
      (d) =>
        (!f.kind || d.kind === f.kind) &&
        (!f.subscriptionId || d.subscriptionIds.includes(f.subscriptionId)) &&
        (!f.url || d.url === f.url) &&
        (f.ok === undefined || d.ok === f.ok) &&
        (!f.lifecycleEvent || d.lifecycleEvents.includes(f.lifecycleEvent)) &&
        (f.sinceId === undefined || d.id > f.sinceId),
    );
  }

  /** Resolves with the first delivery (past or future) matching the filter. */
  waitForDelivery(f: DeliveryFilter & { predicate?: (d: DeliveryRecord) => boolean }, timeoutMs = 5_000): Promise<DeliveryRecord> {
    const pred = (d: DeliveryRecord): boolean => this.list(f).includes(d) && (!f.predicate || f.predicate(d));
    const existing = this.deliveries.find(pred);
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve, reject) => {
      const waiter = {
        pred,
        resolve: (d: DeliveryRecord) => {
          clearTimeout(timer);
          resolve(d);
        },
      };
      const timer = setTimeout(() => {
        this.deliveryWaiters = this.deliveryWaiters.filter((x) => x !== waiter);
        reject(new Error(`No delivery matching ${JSON.stringify(f)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.deliveryWaiters.push(waiter);
    });
  }

  get pending(): { queued: number; inflight: number; retries: number } {
    let queued = 0;
    for (const q of this.queues.values()) queued += q.length;
    return { queued, inflight: this.inflight, retries: this.retryTimers.size };
  }

  isIdle(): boolean {
    const p = this.pending;
    return p.queued === 0 && p.inflight === 0 && p.retries === 0 && this.flushTimers.size === 0;
  }

  /** Resolves when nothing is queued, in flight or waiting for a retry. */
  waitForIdle(timeoutMs = 10_000): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== done);
        reject(new Error(`Notifications still pending after ${timeoutMs} ms: ${JSON.stringify(this.pending)}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.idleWaiters.push(done);
    });
  }

  private checkIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  clearLog(): void {
    this.deliveries.length = 0;
  }

  /** Drops queued items, pending retries and faults (the log stays unless cleared). */
  reset(): void {
    for (const t of this.flushTimers.values()) clearTimeout(t);
    for (const t of this.retryTimers) clearTimeout(t);
    this.flushTimers.clear();
    this.retryTimers.clear();
    this.queues.clear();
    this.faults = [];
    this.checkIdle();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.reset();
    await this.agent.close().catch(() => undefined);
  }
}

function isTimeout(e: unknown): boolean {
  const err = e as { name?: string; code?: string; cause?: { name?: string } };
  return err?.name === 'TimeoutError' || err?.name === 'AbortError' || err?.code === 'UND_ERR_HEADERS_TIMEOUT' || err?.code === 'UND_ERR_BODY_TIMEOUT' || err?.cause?.name === 'TimeoutError';
}

function errorText(e: unknown): string {
  const err = e as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  return err?.code ?? err?.cause?.code ?? err?.message ?? String(e);
}
