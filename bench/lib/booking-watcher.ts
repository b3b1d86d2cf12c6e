/**
 * When does a change made in a member's calendar show in GET /api/spaces/bookings? The watcher keeps the changes the
 * benchmark made (event id → the FromTime its booking must show) and polls the bookings list for rows updated since a
 * cursor (`from_Booking_UpdatedOn`, ordered by UpdatedOn, pages of 1,000). A change is visible when a booking of its
 * event shows its FromTime; the time is taken when that answer arrived (so it is an upper bound, within one poll
 * interval plus the answer's own time). A later change of the same event that shows first also settles the earlier
 * ones (they were read together in one delta round: counted as "superseded"). Also kept: the booking's UpdatedOn minus
 * the change time (when calbridge wrote it, to the millisecond, same machine clock).
 *
 * The cursor trails the newest UpdatedOn seen by `marginMs`, so a transaction that commits after a later one (its
 * UpdatedOn is taken inside the transaction) is still seen.
 */
import type { BenchEnv } from './bookings-env.js';

export interface Change {
  seq: number;
  kind: 'create' | 'move';
  eventId: string;
  /** The FromTime the booking must show (ISO, UTC, milliseconds). */
  fromIso: string;
  /** performance.now() and Date.now() just before the change was made in the emulator. */
  t0: number;
  wall0: number;
  /** ms from the change until an API answer showed it. */
  visibleMs?: number;
  /** ms from the change until calbridge wrote the booking (its UpdatedOn). */
  writtenMs?: number;
  superseded?: boolean;
}

const MAX_PAGES = 50;

export class BookingWatcher {
  private readonly pending = new Map<string, Change[]>();
  private outstandingCount = 0;
  readonly settled: Change[] = [];
  private cursorMs: number;
  polls = 0;
  rowsRead = 0;
  readonly pollMs: number[] = [];

  constructor(private readonly env: BenchEnv, private readonly marginMs: number, startWall = Date.now()) {
    this.cursorMs = startWall - marginMs;
  }

  add(c: Change): void {
    const list = this.pending.get(c.eventId) ?? [];
    list.push(c);
    this.pending.set(c.eventId, list);
    this.outstandingCount++;
  }

  get outstanding(): number {
    return this.outstandingCount;
  }

  /** Changes not yet visible (for the report after the drain). */
  unresolved(): Change[] {
    return [...this.pending.values()].flat();
  }

  async poll(): Promise<void> {
    const since = new Date(this.cursorMs).toISOString();
    let newest = 0;
    const started = performance.now();
    for (let page = 1; page <= MAX_PAGES; page++) {
      const body = await this.env.get(`/api/spaces/bookings?from_Booking_UpdatedOn=${since}&orderBy=UpdatedOn&dir=asc&size=1000&page=${page}`);
      const arrived = performance.now();
      const records = body.Records as Array<{ Office365EventId: string | null; FromTime: string; UpdatedOn: string }>;
      this.rowsRead += records.length;
      for (const r of records) {
        const updated = Date.parse(r.UpdatedOn);
        if (updated > newest) newest = updated;
        if (r.Office365EventId) this.match(r.Office365EventId, r.FromTime, updated, arrived);
      }
      if (!body.HasNextPage) break;
    }
    this.polls++;
    this.pollMs.push(performance.now() - started);
    if (this.pollMs.length > 100_000) this.pollMs.splice(0, 50_000);
    if (newest) this.cursorMs = Math.max(this.cursorMs, newest - this.marginMs);
  }

  private match(eventId: string, fromTime: string, updated: number, arrived: number): void {
    const list = this.pending.get(eventId);
    if (!list) return;
    const from = new Date(fromTime).toISOString();
    let j = -1;
    for (let i = list.length - 1; i >= 0; i--) {
      if (list[i]!.fromIso === from) {
        j = i;
        break;
      }
    }
    if (j < 0) return;
    for (let i = 0; i <= j; i++) {
      const c = list[i]!;
      c.visibleMs = arrived - c.t0;
      c.writtenMs = updated - c.wall0;
      c.superseded = i < j;
      this.settled.push(c);
    }
    this.outstandingCount -= j + 1;
    if (j === list.length - 1) this.pending.delete(eventId);
    else list.splice(0, j + 1);
  }
}
