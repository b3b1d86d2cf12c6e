/**
 * Bookings through the API: references, FromTime before ToTime, and no two active bookings of one resource overlap
 * (checked inside the write's transaction; PostgreSQL's exclusion constraint also stops a race between processes).
 * DELETE cancels (the booking moves to /api/spaces/cancelledbookings). Each write queues, in its transaction, the
 * job that writes it to the member's Outlook, and a freed slot queues the job that books conflicts waiting for it.
 */
import { AppError, type FieldError } from '../../core/errors.js';
import type { JobStore } from '../../jobs/job-store.js';
import { afterCommit, withTransaction, type Executor } from '../../storage/unit-of-work.js';
import { RecordService, type Actor, type RecordServiceDeps } from '../records/record-service.js';
import { coworkerReference, resourceReference } from '../directory/references.js';
import type { BookingRepository, BookingSlot } from './repository.js';
import { BOOKING, CANCELLATION, bookingEntity, type Booking, type BookingValues } from './schema.js';
import { BookingJobs, bookingDedupe } from './jobs.js';

export const ALREADY_BOOKED = 'The resource is already booked.';

export function alreadyBooked(resourceId: number, other: Pick<BookingSlot, 'id' | 'from_time' | 'to_time'>): AppError {
  return AppError.validation([{
    AttemptedValue: resourceId,
    Message: `${ALREADY_BOOKED} It collides with Booking ${other.id} (${other.from_time} to ${other.to_time}).`,
    PropertyName: 'ResourceId',
  }]);
}

export interface BookingServiceDeps extends RecordServiceDeps {
  jobs: JobStore;
  poke?: () => void;
}

export class BookingService extends RecordService<Booking, BookingValues> {
  private readonly jobs: JobStore;
  private readonly poke?: () => void;

  constructor(
    readonly bookings: BookingRepository,
    deps: BookingServiceDeps,
  ) {
    super(BOOKING, bookings, deps);
    this.jobs = deps.jobs;
    this.poke = deps.poke;
    this.observe({
      created: (record, trx) => this.queuePush(record.Id, trx),
      updated: async (before, after, trx) => {
        await this.queuePush(after.Id, trx);
        // The old slot may have been someone's wish.
        if (before.FromTime !== after.FromTime || before.ToTime !== after.ToTime || before.ResourceId !== after.ResourceId) await this.queueRebook(before.ResourceId, trx);
      },
    });
  }

  protected normalize(body: Record<string, unknown>): BookingValues {
    const values = bookingEntity.parseBody(body);
    if (Date.parse(values.ToTime) <= Date.parse(values.FromTime)) throw AppError.field('ToTime', 'must be after FromTime', body.ToTime);
    return values;
  }

  protected toColumns(values: BookingValues, existing?: Booking) {
    if (!existing) return { ...bookingEntity.toColumns(values), source: 'api' };
    // A PUT that echoes an older copy (no event id yet) must not cut the booking off from its Outlook event.
    const { Office365EventId, ...rest } = values;
    return bookingEntity.toColumns(Office365EventId === null ? rest : values);
  }

  /** The resource and the coworker must exist: checked inside the insert on create. */
  protected override referenceGuards(values: BookingValues) {
    return [resourceReference(values.ResourceId), ...coworkerReference(values.CoworkerId)];
  }

  protected override async checkReferences(values: BookingValues, trx: Executor, existingId?: number): Promise<FieldError[]> {
    // An update of a booking that does not exist, or is cancelled, is a 404: not a collision with another booking.
    if (existingId !== undefined) {
      const slot = await this.bookings.slot(existingId, trx);
      if (!slot || slot.cancelled_on) throw this.notFound();
      // An Outlook booking is its member's meeting inviting its room: the API may move or cancel it, but another
      // resource or member is a change of the meeting itself, made in Outlook (a new room invited books it there).
      if (slot.source === 'outlook') {
        const errors: FieldError[] = [];
        if (values.ResourceId !== slot.resource_id) errors.push({ PropertyName: 'ResourceId', Message: "cannot change on a booking made from Outlook: invite the other resource to the meeting in Outlook (or cancel this booking and make a new one)", AttemptedValue: values.ResourceId });
        if ((values.CoworkerId ?? null) !== slot.coworker_id) errors.push({ PropertyName: 'CoworkerId', Message: 'cannot change on a booking made from Outlook: it is the meeting of the member whose calendar it came from', AttemptedValue: values.CoworkerId ?? null });
        if (errors.length) return errors;
      }
    }
    await this.bookings.lockResource(values.ResourceId, trx);
    const other = await this.bookings.overlapping(values.ResourceId, values.FromTime, values.ToTime, existingId ?? null, trx);
    return other ? alreadyBooked(values.ResourceId, other).fieldErrors! : [];
  }

  override async create(body: Record<string, unknown>, actor: Actor, executor?: Executor): Promise<Booking> {
    return this.raceSafe(body, () => super.create(body, actor, executor));
  }

  override async update(id: number, body: Record<string, unknown>, actor: Actor, executor?: Executor) {
    return this.raceSafe(body, () => super.update(id, body, actor, executor), id);
  }

  /** DELETE cancels: the booking leaves the active list for /api/spaces/cancelledbookings. */
  override async remove(id: number, actor: Actor, executor?: Executor): Promise<{ UpdatedOn: string }> {
    return withTransaction(this.db, executor, async (trx) => {
      const slot = await this.bookings.slot(id, trx);
      if (!slot || slot.cancelled_on) throw this.notFound();
      const now = this.nowIso();
      await this.bookings.cancel(id, CANCELLATION.api, now, actor.email, trx);
      await this.queuePush(id, trx);
      await this.queueRebook(slot.resource_id, trx);
      return { UpdatedOn: now };
    });
  }

  /** PostgreSQL's exclusion constraint caught a booking another process made meanwhile: the same 400, naming it. */
  private async raceSafe<T>(body: Record<string, unknown>, write: () => Promise<T>, exceptId?: number): Promise<T> {
    try {
      return await write();
    } catch (err) {
      if ((err as { code?: string }).code !== '23P01') throw err;
      const values = bookingEntity.parseBody(body);
      const other = await this.bookings.overlapping(values.ResourceId, values.FromTime, values.ToTime, exceptId ?? null);
      throw other ? alreadyBooked(values.ResourceId, other) : AppError.field('ResourceId', ALREADY_BOOKED, values.ResourceId);
    }
  }

  private async queuePush(bookingId: number, trx: Executor): Promise<void> {
    await this.bookings.markPushDue(bookingId, trx);
    await this.jobs.enqueue({ type: BookingJobs.push, payload: { bookingId }, dedupeKey: bookingDedupe.push(bookingId) }, trx);
    if (this.poke) await afterCommit(trx, this.poke);
  }

  async queueRebook(resourceId: number, trx: Executor): Promise<void> {
    await this.jobs.enqueue({ type: BookingJobs.rebook, payload: { resourceId }, dedupeKey: bookingDedupe.rebook(resourceId) }, trx);
    if (this.poke) await afterCommit(trx, this.poke);
  }
}
