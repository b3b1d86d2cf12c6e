/**
 * List totals, remembered per data version. Counting thousands of matches costs milliseconds even through an index,
 * while the same list queries repeat. A total is only ever reused while no record has changed since it was counted:
 * - SQLite: one process owns the file, so the version is a counter in memory, moved on after each write commits;
 * - PostgreSQL: many processes write, so the version is the statement's snapshot (`pg_current_snapshot()`: the
 *   transactions still running and the next id to come). Two statements see the same committed data when their
 *   snapshots are equal, and a write that commits changes every later snapshot, in every process, without having to
 *   say so: a write costs no statement of its own (a create is one round trip). Transactions that only read take no
 *   transaction id and change no snapshot, so reads alone keep totals cached. It is read before each count: on its
 *   own, or inside the list page's statement (DataVersion.inline).
 * A count taken while a write lands is stored under the older version, which no later statement has again. Counts
 * run outside transactions (RecordRepository.list takes no executor): a transaction that had written would see its own
 * rows, which the snapshot's text does not show.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { preparedQuery } from './prepared.js';

export type Version = number | string;

export interface DataVersion {
  current(): Promise<Version>;
  /** After a write committed (nothing to do where the version follows the data by itself). */
  bump(): Promise<void>;
  /**
   * An SQL expression that reads the version inside another statement (PostgreSQL: its snapshot), so a list page can
   * bring the version along with its rows instead of asking first. Absent where reading it costs nothing (SQLite).
   */
  readonly inline?: RawBuilder<Version>;
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

export class SnapshotDataVersion implements DataVersion {
  private readonly read;
  readonly inline = sql<string>`pg_current_snapshot()::text`;
  constructor(db: Kysely<any>) {
    // A named prepared statement: it runs before every count that is not read along with a page.
    this.read = preparedQuery(db, () => db.selectNoFrom(this.inline.as('v')), 0);
  }
  async current() {
    return String((await this.read())[0]!.v);
  }
  async bump() {}
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
  async totalAt(version: Version, key: string, count: () => Promise<number>): Promise<number> {
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
