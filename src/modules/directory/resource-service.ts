/** Rules for Resource records: no delete while a calendar record books it. */
import type { Executor } from '../../storage/unit-of-work.js';
import { RecordService, describeHolders, type RecordServiceDeps } from '../records/record-service.js';
import type { ResourceRepository } from './resource-repository.js';
import { ENTITY, resourceEntity, type Resource, type ResourceValues } from './resource-schema.js';

export class ResourceService extends RecordService<Resource, ResourceValues> {
  constructor(private readonly resources: ResourceRepository, deps: RecordServiceDeps) {
    super(ENTITY, resources, deps);
  }

  protected normalize(body: Record<string, unknown>): ResourceValues {
    return resourceEntity.parseBody(body);
  }

  protected toColumns(v: ResourceValues) {
    return resourceEntity.toColumns(v);
  }

  protected override async referencedBy(id: number, trx: Executor): Promise<string[]> {
    const [calendars, bookings] = await Promise.all([this.resources.calendarHolders(id, trx), this.resources.bookingHolders(id, trx)]);
    return [
      ...(calendars.length ? [describeHolders('CoworkerMsOfficeCalendar', calendars)] : []),
      ...(bookings.length ? [describeHolders('Booking', bookings)] : []),
    ];
  }
}
