/** The emulator's notion of "now". Expiry of tokens, subscriptions and delta tokens follows it. */
export interface ClockSource {
  now(): number;
}

export class EmulatorClock {
  private offsetMs = 0;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly source: ClockSource = { now: () => Date.now() }) {}

  now(): number {
    return this.source.now() + this.offsetMs;
  }

  nowDate(): Date {
    return new Date(this.now());
  }

  iso(): string {
    return this.nowDate().toISOString();
  }

  /** Moves emulator time forward (negative values move it back). */
  advance(ms: number): void {
    this.offsetMs += ms;
    for (const fn of this.listeners) fn();
  }

  /** Sets emulator time to an absolute instant. */
  set(epochMs: number): void {
    this.offsetMs = epochMs - this.source.now();
    for (const fn of this.listeners) fn();
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
