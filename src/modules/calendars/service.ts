/** Rules for CoworkerMsOfficeCalendar records beyond CRUD: references to a resource and a coworker, and who owns the subscription fields. */
import type { FieldError } from '../../core/errors.js';
import type { Executor } from '../../storage/unit-of-work.js';
import { RecordService, type RecordServiceDeps } from '../records/record-service.js';
import type { CoworkerRepository } from '../directory/coworker-repository.js';
import type { ResourceRepository } from '../directory/resource-repository.js';
import type { CoworkerMsOfficeCalendarRepository } from './repository.js';
import { ENTITY, calendarEntity, type CoworkerMsOfficeCalendar, type CoworkerMsOfficeCalendarValues } from './schema.js';

/**
 * Says whether the sync engine manages a record's subscription. Then SubscriptionId and SubscriptionExpireDate show
 * what Graph last said: a client's values for them are accepted (Nexudus clients echo them on PUT) but not stored.
 */
export type SubscriptionOwnership = (recordId: number, trx: Executor) => Promise<boolean>;

export class CoworkerMsOfficeCalendarService extends RecordService<CoworkerMsOfficeCalendar, CoworkerMsOfficeCalendarValues> {
  private subscriptionManaged: SubscriptionOwnership = async () => false;

  constructor(
    readonly calendars: CoworkerMsOfficeCalendarRepository,
    private readonly resources: ResourceRepository,
    private readonly coworkers: CoworkerRepository,
    deps: RecordServiceDeps,
  ) {
    super(ENTITY, calendars, deps);
  }

  /** Wired by the composition root: the Graph connections decide (calendars know nothing of Graph). */
  setSubscriptionOwnership(owned: SubscriptionOwnership): void {
    this.subscriptionManaged = owned;
  }

  protected normalize(body: Record<string, unknown>): CoworkerMsOfficeCalendarValues {
    return calendarEntity.parseBody(body);
  }

  protected async toColumns(values: CoworkerMsOfficeCalendarValues, existing?: CoworkerMsOfficeCalendar, trx?: Executor) {
    if (existing && trx && (await this.subscriptionManaged(existing.Id, trx))) {
      const { SubscriptionId: _id, SubscriptionExpireDate: _expiry, ...rest } = values;
      return calendarEntity.toColumns(rest);
    }
    return calendarEntity.toColumns(values);
  }

  protected override async checkReferences(values: CoworkerMsOfficeCalendarValues, trx: Executor): Promise<FieldError[]> {
    const errors: FieldError[] = [];
    if (!(await this.resources.exists(values.ResourceId, trx))) {
      errors.push({ AttemptedValue: values.ResourceId, Message: `there is no Resource with Id ${values.ResourceId}`, PropertyName: 'ResourceId' });
    }
    if (values.CoworkerId !== null && !(await this.coworkers.exists(values.CoworkerId, trx))) {
      errors.push({ AttemptedValue: values.CoworkerId, Message: `there is no Coworker with Id ${values.CoworkerId}`, PropertyName: 'CoworkerId' });
    }
    return errors;
  }
}
