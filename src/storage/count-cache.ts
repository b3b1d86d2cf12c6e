/**
 * List totals, remembered per data version. Counting thousands of matches costs milliseconds even through an index,
 * while the same list queries repeat. Every write moves the version on (after it commits), so a total is only ever
 * reused while no record has changed since it was counted:
 * - SQLite: one process owns the file, so the version is a counter in memory;
 * - PostgreSQL: many processes write, so the version is a database sequence, bumped by `nextval` after each write
 *   and read (`last_value`) before each count: on its own, or inside the list page's statement (DataVersion.inline).
 * A count taken while a write lands is stored under the old version and never read again.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { preparedQuery } from './prepared.js';

export interface DataVersion {
  current(): Promise<number>;
  bump(): Promise<void>;
  /**
   * An SQL expression that reads the version inside another statement (PostgreSQL: the sequence), so a list page can
   * bring the version along with its rows instead of asking first. Absent where reading it costs nothing (SQLite).
   */
  readonly inline?: RawBuilder<number | string>;
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
  // Named prepared statements: one of them runs with every list and every write.
  private readonly read;
  private readonly next;
  readonly inline = sql<number | string>`(SELECT last_value FROM calbridge_data_version)`;
  constructor(db: Kysely<any>) {
    this.read = preparedQuery(db, () => db.selectNoFrom(this.inline.as('v')), 0);
    this.next = preparedQuery(db, () => db.selectNoFrom(sql<number | string>`nextval('calbridge_data_version')`.as('v')), 0);
  }
  async current() {
    return Number((await this.read())[0]!.v);
  }
  async bump() {
    await this.next();
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
    return this.totalAt(await this.version.current(), key, count);
  }

  /**
   * The same, at a version the caller read itself (DataVersion.inline). Sound because the version is read before the
   * count: every write whose bump the version includes committed before it was read.
   */
  async totalAt(version: number, key: string, count: () => Promise<number>): Promise<number> {
    const versioned = `${version}\u0000${key}`;
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
