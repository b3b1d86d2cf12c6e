/** SQL for bookings (active and cancelled) and their conflicts. */
import { sql } from 'kysely';
import type { Storage } from '../../storage/database.js';
import type { BookingConflictTable } from '../../storage/schema.js';
import type { Executor } from '../../storage/unit-of-work.js';
import type { ListQuery } from '../../core/list-query.js';
import { RecordRepository } from '../records/record-repository.js';
import { bookingEntity, cancelledBookingEntity, type Booking, type BookingConflict, type CancelledBooking } from './schema.js';
import { conflictOrder } from './conflict-list.js';

/** What the sync needs of an active booking. */
export interface BookingSlot {
  id: number;
  resource_id: number;
  coworker_id: number | null;
  from_time: string;
  to_time: string;
  tentative: number;
  office365_event_id: string | null;
  coworker_ms_office_calendar_id: number | null;
  event_key: string | null;
  source: string;
  notes: string | null;
  /** API bookings: the connection whose calendar holds the event calbridge wrote, and when it was last written at these times. */
  event_connection_id: number | null;
  event_written_at: string | null;
  /** The occurrence's iCalUId (Outlook bookings): every member's copy of one meeting has the same. */
  ical_uid: string | null;
}

const SLOT = ['id', 'resource_id', 'coworker_id', 'from_time', 'to_time', 'tentative', 'office365_event_id', 'coworker_ms_office_calendar_id', 'event_key', 'source', 'notes', 'event_connection_id', 'event_written_at', 'ical_uid'] as const;

/** A conflict row as stored (its columns are declared once, in storage/schema.ts). */
export type ConflictRow = Omit<BookingConflictTable, 'id' | 'ical_uid' | 'same_meeting'> & { id: number; ical_uid: string | null; same_meeting: number };
/** A conflict to save: iCalUId and same_meeting may be left out (an occurrence without one; a real collision). */
type NewConflict = Omit<ConflictRow, 'id' | 'marked' | 'ical_uid' | 'same_meeting'> & { ical_uid?: string | null; same_meeting?: number };

export class BookingRepository extends RecordRepository<typeof bookingEntity, Booking> {
  constructor(storage: Storage) {
    super(storage, bookingEntity);
  }

  /**
   * PostgreSQL, inside a write's transaction: holds the resource's row (FOR NO KEY UPDATE, which the foreign-key checks
   * of other tables' rows do not wait for) until the commit, so concurrent API writes of one resource's bookings queue
   * here and each sees the others' committed bookings, instead of meeting in the exclusion constraint, where overlapping
   * inserts in flight wait for each other and PostgreSQL aborts them as deadlocks. SQLite has one writer.
   */
  async lockResource(resourceId: number, trx: Executor): Promise<void> {
    if (this.storage.dialect === 'postgres') await trx.selectFrom('resources').select('id').where('id', '=', resourceId).forNoKeyUpdate().execute();
  }

  /** The first active booking of the resource that overlaps [from, to) (other than `exceptId`). */
  async overlapping(resourceId: number, fromIso: string, toIso: string, exceptId: number | null, db: Executor = this.db): Promise<BookingSlot | undefined> {
    let q = db.selectFrom('bookings').select(SLOT as never).where('resource_id', '=', resourceId).where(sql<boolean>`cancelled_on IS NULL`)
      .where('from_time', '<', toIso).where('to_time', '>', fromIso).orderBy('from_time').limit(1);
    if (exceptId !== null) q = q.where('id', '<>', exceptId);
    return (await q.executeTakeFirst()) as BookingSlot | undefined;
  }

  async slot(id: number, db: Executor = this.db): Promise<(BookingSlot & { cancelled_on: string | null }) | undefined> {
    return (await db.selectFrom('bookings').select([...SLOT, 'cancelled_on'] as never).where('id', '=', id).executeTakeFirst()) as never;
  }

  /** Active bookings a connection's calendar made (the keys a full round reconciles). */
  async activeOfConnection(connectionId: number, db: Executor = this.db): Promise<BookingSlot[]> {
    return (await db.selectFrom('bookings').select(SLOT as never).where('coworker_ms_office_calendar_id', '=', connectionId)
      .where(sql<boolean>`cancelled_on IS NULL`).execute()) as BookingSlot[];
  }

  /**
   * A calendar connected again (after a disconnect left its Outlook bookings without a connection): its coworker's
   * connection-less Outlook bookings of these events are this connection's again, so they are neither lost to later
   * changes nor taken for someone else's booking.
   */
  async adoptOrphans(connectionId: number, coworkerId: number | null, eventKeys: string[], db: Executor = this.db): Promise<void> {
    if (coworkerId === null || !eventKeys.length) return;
    await db.updateTable('bookings').set({ coworker_ms_office_calendar_id: connectionId })
      .where('coworker_ms_office_calendar_id', 'is', null).where('source', '=', 'outlook').where('coworker_id', '=', coworkerId)
      .where('event_key', 'in', eventKeys).where(sql<boolean>`cancelled_on IS NULL`).execute();
  }

  /**
   * Bookings whose Outlook write is still due for a member's calendar (the push found no connection that could write:
   * none yet, or one waiting for the member to sign in again): their coworker's API bookings and the connection's
   * own, active, or cancelled with an event to take back.
   */
  async pushDue(connectionId: number, coworkerId: number | null, db: Executor = this.db): Promise<number[]> {
    const rows = await db.selectFrom('bookings').select('id').where('event_written_at', 'is', null)
      .where((eb) => eb.or([eb('coworker_ms_office_calendar_id', '=', connectionId), ...(coworkerId === null ? [] : [eb.and([eb('source', '=', 'api'), eb('coworker_id', '=', coworkerId)])])]))
      .where((eb) => eb.or([eb('cancelled_on', 'is', null), eb('office365_event_id', 'is not', null)]))
      .orderBy('id').limit(1000).execute();
    return rows.map((r) => Number(r.id));
  }

  /** A cancelled booking's event was taken back (deleted, or the resource taken off it): nothing more is due. */
  async markCancelWritten(id: number, nowIso: string, db: Executor = this.db): Promise<void> {
    await db.updateTable('bookings').set({ event_written_at: nowIso }).where('id', '=', id).where(sql<boolean>`cancelled_on IS NOT NULL`).execute();
  }

  /** Active bookings that an Outlook event stands for (made from it, or written to it by calbridge). */
  async activeByEvent(eventIds: string[], db: Executor = this.db): Promise<BookingSlot[]> {
    if (!eventIds.length) return [];
    return (await db.selectFrom('bookings').select(SLOT as never).where('office365_event_id', 'in', eventIds)
      .where(sql<boolean>`cancelled_on IS NULL`).execute()) as BookingSlot[];
  }

  /** Active API bookings by UniqueId (the transactionId their events carry), keyed by it. */
  async activeApiByUniqueId(uniqueIds: string[], db: Executor = this.db): Promise<Map<string, BookingSlot>> {
    if (!uniqueIds.length) return new Map();
    const rows = await db.selectFrom('bookings').select([...SLOT, 'unique_id'] as never).where('unique_id', 'in', uniqueIds)
      .where('source', '=', 'api').where(sql<boolean>`cancelled_on IS NULL`).execute() as Array<BookingSlot & { unique_id: string }>;
    return new Map(rows.map(({ unique_id, ...slot }) => [String(unique_id), slot]));
  }

  async cancel(id: number, reason: string, nowIso: string, by: string, db: Executor = this.db): Promise<boolean> {
    const r = await db.updateTable('bookings').set({ cancelled_on: nowIso, cancellation_reason: reason, updated_on: nowIso, updated_by: by, is_new: 0 })
      .where('id', '=', id).where(sql<boolean>`cancelled_on IS NULL`).executeTakeFirst();
    await this.invalidateCounts(db);
    return Number(r.numUpdatedRows) === 1;
  }

  async setNotes(id: number, notes: string | null, nowIso: string, db: Executor = this.db): Promise<void> {
    await db.updateTable('bookings').set({ notes, updated_on: nowIso }).where('id', '=', id).execute();
    await this.invalidateCounts(db);
  }

  async move(id: number, values: { from_time: string; to_time: string; tentative: number; notes?: string | null }, nowIso: string, by: string, db: Executor = this.db): Promise<void> {
    await db.updateTable('bookings').set({ ...values, updated_on: nowIso, updated_by: by, is_new: 0 }).where('id', '=', id).execute();
    await this.invalidateCounts(db);
  }

  /** Active API bookings whose events calbridge wrote into a connection's calendar (a full round checks they are there). */
  async writtenInto(connectionId: number, db: Executor = this.db): Promise<BookingSlot[]> {
    return (await db.selectFrom('bookings').select(SLOT as never).where('event_connection_id', '=', connectionId)
      .where(sql<boolean>`cancelled_on IS NULL`).where('office365_event_id', 'is not', null).execute()) as BookingSlot[];
  }

  /** The booking's event is `eventId` in the calendar of connection `connectionId`. */
  async setEventId(id: number, eventId: string | null, connectionId: number, db: Executor = this.db): Promise<void> {
    await db.updateTable('bookings').set({ office365_event_id: eventId, event_connection_id: connectionId }).where('id', '=', id).execute();
  }

  /** The API changed the booking: its event is not where the booking says until the push has run. */
  async markPushDue(id: number, db: Executor = this.db): Promise<void> {
    await db.updateTable('bookings').set({ event_written_at: null }).where('id', '=', id).execute();
  }

  /** The push wrote the event at these times (unless the booking moved again meanwhile: then its own push follows). */
  async markEventWritten(id: number, fromIso: string, toIso: string, nowIso: string, db: Executor = this.db): Promise<void> {
    await db.updateTable('bookings').set({ event_written_at: nowIso }).where('id', '=', id).where('from_time', '=', fromIso).where('to_time', '=', toIso)
      .where(sql<boolean>`cancelled_on IS NULL`).execute();
  }

  // ---- conflicts --------------------------------------------------------------------------------------------------

  async conflict(connectionId: number, eventKey: string, resourceId: number, db: Executor = this.db): Promise<ConflictRow | undefined> {
    return db.selectFrom('booking_conflicts').selectAll().where('coworker_ms_office_calendar_id', '=', connectionId)
      .where('event_key', '=', eventKey).where('resource_id', '=', resourceId).executeTakeFirst();
  }

  async conflictById(id: number, db: Executor = this.db): Promise<ConflictRow | undefined> {
    return db.selectFrom('booking_conflicts').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** A connection's open conflicts; with `withSameMeeting`, also its copies waiting behind their meeting's booking. */
  async conflictsOfConnection(connectionId: number, db: Executor = this.db, withSameMeeting = false): Promise<ConflictRow[]> {
    let q = db.selectFrom('booking_conflicts').selectAll().where('coworker_ms_office_calendar_id', '=', connectionId);
    if (!withSameMeeting) q = q.where('same_meeting', '=', 0);
    return q.orderBy('from_time').execute();
  }

  /** An event's open conflicts (the ones marked in Outlook). */
  async conflictsOfEvent(connectionId: number, eventKey: string, db: Executor = this.db): Promise<ConflictRow[]> {
    return db.selectFrom('booking_conflicts').selectAll().where('coworker_ms_office_calendar_id', '=', connectionId).where('event_key', '=', eventKey)
      .where('same_meeting', '=', 0).execute();
  }

  /** Conflicts waiting for a resource, oldest first (the first in line gets it when it frees up). */
  async waitingFor(resourceId: number, db: Executor = this.db): Promise<ConflictRow[]> {
    return db.selectFrom('booking_conflicts').selectAll().where('resource_id', '=', resourceId).orderBy('detected_on').orderBy('id').execute();
  }

  async saveConflict(given: NewConflict, db: Executor = this.db): Promise<ConflictRow> {
    const row = { ...given, ical_uid: given.ical_uid ?? null, same_meeting: given.same_meeting ?? 0 };
    const existing = await this.conflict(row.coworker_ms_office_calendar_id, row.event_key, row.resource_id, db);
    if (existing) {
      // `marked` as of the update: a mark job may have marked it since it was read (on PostgreSQL the update waits for
      // that job's and sees it), and a conflict that just became its meeting's copy must then lose the mark.
      const updated = await db.updateTable('booking_conflicts').set({ from_time: row.from_time, to_time: row.to_time, tentative: row.tentative, subject: row.subject, blocking_booking_id: row.blocking_booking_id, coworker_id: row.coworker_id, ical_uid: row.ical_uid, same_meeting: row.same_meeting })
        .where('id', '=', existing.id).returning('marked').executeTakeFirst();
      return { ...existing, ...row, id: existing.id, detected_on: existing.detected_on, marked: updated?.marked ?? existing.marked };
    }
    const inserted = await db.insertInto('booking_conflicts').values({ ...row, marked: 0 }).returning('id').executeTakeFirstOrThrow();
    return { ...row, id: Number(inserted.id), marked: 0 };
  }

  /**
   * Deletes a conflict and answers whether its event was marked, as of the delete: a mark job may have marked it after
   * the caller read it (on PostgreSQL the delete waits for that job's update and sees it), and then the mark must go.
   */
  async deleteConflict(id: number, db: Executor = this.db): Promise<{ marked: boolean }> {
    const row = await db.deleteFrom('booking_conflicts').where('id', '=', id).returning('marked').executeTakeFirst();
    return { marked: Boolean(row?.marked) };
  }

  async setConflictMarked(id: number, marked: boolean, db: Executor = this.db): Promise<void> {
    await db.updateTable('booking_conflicts').set({ marked: marked ? 1 : 0 }).where('id', '=', id).execute();
  }

  /** /api/spaces/bookingconflicts: filters by resource, coworker and connection; ordered by start. */
  async listConflicts(query: ListQuery): Promise<{ records: BookingConflict[]; total: number }> {
    let q = this.db.selectFrom('booking_conflicts').where('same_meeting', '=', 0);
    const columns: Record<string, string> = { ResourceId: 'resource_id', CoworkerId: 'coworker_id', CoworkerMsOfficeCalendarId: 'coworker_ms_office_calendar_id', Id: 'id' };
    for (const c of query.conditions) {
      const column = columns[c.field];
      if (column && c.op === 'eq') q = q.where(column as never, '=', c.value as never);
    }
    const total = Number((await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const rows = await q.selectAll().orderBy(conflictOrder(query)).limit(query.size).offset((query.page - 1) * query.size).execute();
    return { records: rows.map(conflictRecord), total };
  }
}

export function conflictRecord(r: ConflictRow): BookingConflict {
  return {
    Id: Number(r.id), CoworkerMsOfficeCalendarId: r.coworker_ms_office_calendar_id, ResourceId: r.resource_id, CoworkerId: r.coworker_id,
    FromTime: r.from_time, ToTime: r.to_time, Subject: r.subject, Office365EventId: r.event_key, BlockingBookingId: r.blocking_booking_id,
    DetectedOn: r.detected_on, MarkedInOutlook: r.marked === 1,
  };
}

export class CancelledBookingRepository extends RecordRepository<typeof cancelledBookingEntity, CancelledBooking> {
  constructor(storage: Storage) {
    super(storage, cancelledBookingEntity);
  }
}
