/**
 * List totals, remembered per data version. Counting thousands of matches costs milliseconds even through an index,
 * while the same list queries repeat. Every write moves the version on (after it commits), so a total is only ever
 * reused while no record has changed since it was counted:
 * - SQLite: one process owns the file, so the version is a counter in memory;
 * - PostgreSQL: many processes write, so the version is a database sequence, bumped by `nextval` after each write
 *   and read (`last_value`, one cheap round trip) before each count.
 * A count taken while a write lands is stored under the old version and never read again.
 */
import { sql, type Kysely } from 'kysely';

export interface DataVersion {
  current(): Promise<number>;
  bump(): Promise<void>;
}

export class MemoryDataVersion implements DataVersion {
  private value = 0;
  async current() {
    return this.value;
  }
  async bump() {
    this.value++;
  }
}

export class SequenceDataVersion implements DataVersion {
  constructor(private readonly db: Kysely<any>) {}
  async current() {
    const r = await sql<{ v: number | string }>`SELECT last_value AS v FROM calbridge_data_version`.execute(this.db);
    return Number(r.rows[0]!.v);
  }
  async bump() {
    await sql`SELECT nextval('calbridge_data_version')`.execute(this.db);
  }
}

export class CountCache {
  private entries = new Map<string, number>();
  constructor(
    readonly version: DataVersion,
    private readonly maxEntries = 5000,
  ) {}

  /** The total for `key` (a query's SQL and parameters), counting with `count` only when not known at this version. */
  async total(key: string, count: () => Promise<number>): Promise<number> {
    const versioned = `${await this.version.current()}\u0000${key}`;
    const known = this.entries.get(versioned);
    if (known !== undefined) return known;
    const total = await count();
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(versioned, total);
    return total;
  }

  /** Called after every committed write to a table a count may read. */
  async invalidate(): Promise<void> {
    await this.version.bump();
  }
}
