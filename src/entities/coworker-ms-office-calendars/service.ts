/** Rules for CoworkerMsOfficeCalendar records beyond CRUD: references to a resource and a coworker. */
import type { FieldError } from '../../http/errors.js';
import { parseIsoDate, toIso } from '../../http/dates.js';
import { RecordService } from '../record-service.js';
import { toInt, toOptionalId } from '../schema-parts.js';
import type { RecordRepository } from '../../storage/record-repository.js';
import { CoworkerMsOfficeCalendarRepository, valuesToColumns } from './repository.js';
import { ENTITY, type CoworkerMsOfficeCalendar, type CoworkerMsOfficeCalendarValues } from './schema.js';

export class CoworkerMsOfficeCalendarService extends RecordService<CoworkerMsOfficeCalendar, CoworkerMsOfficeCalendarValues> {
  constructor(
    readonly calendars: CoworkerMsOfficeCalendarRepository,
    private readonly resources: RecordRepository<any, unknown>,
    private readonly coworkers: RecordRepository<any, unknown>,
  ) {
    super(ENTITY, calendars);
  }

  protected normalize(body: Record<string, unknown>): CoworkerMsOfficeCalendarValues {
    return {
      ResourceId: toInt(body.ResourceId),
      CoworkerId: toOptionalId(body.CoworkerId),
      Name: body.Name as string,
      SubscriptionId: body.SubscriptionId as string,
      CalendarId: body.CalendarId as string,
      // The schema's format check already parsed it once; this cannot fail.
      SubscriptionExpireDate: toIso(parseIsoDate(body.SubscriptionExpireDate as string)!.ms),
      SystemId: (body.SystemId as string | null | undefined) ?? null,
    };
  }

  protected toColumns(values: CoworkerMsOfficeCalendarValues) {
    return valuesToColumns(values);
  }

  protected override async checkReferences(values: CoworkerMsOfficeCalendarValues): Promise<FieldError[]> {
    const errors: FieldError[] = [];
    if (!(await this.resources.exists(values.ResourceId))) {
      errors.push({ AttemptedValue: values.ResourceId, Message: `there is no Resource with Id ${values.ResourceId}`, PropertyName: 'ResourceId' });
    }
    if (values.CoworkerId !== null && !(await this.coworkers.exists(values.CoworkerId))) {
      errors.push({ AttemptedValue: values.CoworkerId, Message: `there is no Coworker with Id ${values.CoworkerId}`, PropertyName: 'CoworkerId' });
    }
    return errors;
  }
}
