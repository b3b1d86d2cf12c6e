/**
 * The service's notion of now. Production reads the system clock; tests move an offset so that calbridge and the
 * Graph emulator advance together (renewals, expiry, scheduled jobs).
 */
export interface Clock {
  now(): number;
}

export class OffsetClock implements Clock {
  private offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

export const systemClock: Clock = { now: () => Date.now() };
