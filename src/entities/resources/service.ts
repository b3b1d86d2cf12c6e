/** Rules for Resource records: no delete while a calendar record books it. */
import { RecordService, describeHolders } from '../record-service.js';
import { ResourceRepository } from './repository.js';
import { ENTITY, type Resource, type ResourceValues } from './schema.js';

export class ResourceService extends RecordService<Resource, ResourceValues> {
  constructor(private readonly resources: ResourceRepository) {
    super(ENTITY, resources);
  }

  protected normalize(body: Record<string, unknown>): ResourceValues {
    const email = body.CalendarEmail as string | null | undefined;
    return { Name: body.Name as string, CalendarEmail: email ? email : null, SystemId: (body.SystemId as string | null | undefined) ?? null };
  }

  protected toColumns(v: ResourceValues) {
    return { name: v.Name, calendar_email: v.CalendarEmail, system_id: v.SystemId };
  }

  protected override async referencedBy(id: number): Promise<string[]> {
    const calendars = await this.resources.calendarHolders(id);
    return calendars.length ? [describeHolders('CoworkerMsOfficeCalendar', calendars)] : [];
  }
}
