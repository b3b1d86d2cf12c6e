/**
 * List totals, remembered until the next write. Counting thousands of matches costs milliseconds even through an
 * index, while the same list queries repeat; any write through this process clears the cache (one process owns a
 * SQLite file). Keyed by the count's SQL and parameters, so two different filters never share an entry.
 */
export class CountCache {
  private entries = new Map<string, number>();
  private generation = 0;
  constructor(private readonly maxEntries = 5000) {}

  get(key: string): number | undefined {
    return this.entries.get(key);
  }

  /** A token to pass to set(): a count computed while a write committed is not stored. */
  begin(): number {
    return this.generation;
  }

  set(key: string, total: number, startedAt: number): void {
    if (startedAt !== this.generation) return;
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, total);
  }

  /** Called after every write to any table a count may read. */
  invalidate(): void {
    this.generation++;
    if (this.entries.size) this.entries.clear();
  }
}
