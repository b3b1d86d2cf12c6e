/** Fixed-window request counters per key: the API throttle (per client) and the failed-login limit. */
import { systemClock, type Clock } from '../../core/clock.js';

export class WindowCounter {
  private windows = new Map<string, { start: number; count: number }>();
  private lastSweep = 0;

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Counts one hit; returns seconds to wait when the key is over its limit, else 0. */
  hit(key: string, now = this.clock.now()): number {
    const w = this.current(key, now);
    w.count++;
    return w.count > this.limit ? this.retryAfter(w, now) : 0;
  }

  /** Seconds to wait when the key is already over its limit (counts nothing), else 0. */
  waitFor(key: string, now = this.clock.now()): number {
    const w = this.current(key, now);
    return w.count >= this.limit ? this.retryAfter(w, now) : 0;
  }

  reset(key: string): void {
    this.windows.delete(key);
  }

  private current(key: string, now: number) {
    if (now - this.lastSweep > this.windowMs) this.sweep(now);
    let w = this.windows.get(key);
    if (!w || now - w.start >= this.windowMs) {
      w = { start: now, count: 0 };
      this.windows.set(key, w);
    }
    return w;
  }

  private retryAfter(w: { start: number }, now: number): number {
    return Math.max(1, Math.ceil((w.start + this.windowMs - now) / 1000));
  }

  private sweep(now: number) {
    this.lastSweep = now;
    for (const [k, w] of this.windows) if (now - w.start >= this.windowMs) this.windows.delete(k);
  }
}
