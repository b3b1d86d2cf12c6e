/** Rules for Coworker records: a unique e-mail, and no delete while calendar records or users reference it. */
import { AppError } from '../../core/errors.js';
import type { Executor } from '../../storage/unit-of-work.js';
import { RecordService, describeHolders, type RecordServiceDeps } from '../records/record-service.js';
import type { CoworkerRepository } from './coworker-repository.js';
import { ENTITY, coworkerEntity, type Coworker, type CoworkerValues } from './coworker-schema.js';

export class CoworkerService extends RecordService<Coworker, CoworkerValues> {
  constructor(private readonly coworkers: CoworkerRepository, deps: RecordServiceDeps) {
    super(ENTITY, coworkers, deps);
  }

  protected async normalize(body: Record<string, unknown>, existingId: number | undefined, trx: Executor): Promise<CoworkerValues> {
    const values = coworkerEntity.parseBody({ ...body, Email: body.Email });
    values.Email = body.Email as string; // stored as sent (CONTRACT: values are not trimmed)
    const owner = await this.coworkers.findIdByEmail(values.Email, trx);
    if (owner !== undefined && owner !== existingId) throw AppError.field('Email', 'is already used by another coworker', values.Email);
    return values;
  }

  protected toColumns(v: CoworkerValues) {
    return coworkerEntity.toColumns(v);
  }

  protected override async referencedBy(id: number, trx: Executor): Promise<string[]> {
    const { calendars, users, bookings } = await this.coworkers.holders(id, trx);
    return [
      ...(calendars.length ? [describeHolders('CoworkerMsOfficeCalendar', calendars)] : []),
      ...(users.length ? [describeHolders('User', users)] : []),
      ...(bookings.length ? [describeHolders('Booking', bookings)] : []),
    ];
  }
}
