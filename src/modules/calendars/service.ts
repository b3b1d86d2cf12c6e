/** Rules for CoworkerMsOfficeCalendar records beyond CRUD: references to a resource and a coworker, and who owns the subscription fields. */
import type { Executor } from '../../storage/unit-of-work.js';
import { RecordService, type RecordServiceDeps } from '../records/record-service.js';
import type { CoworkerMsOfficeCalendarRepository } from './repository.js';
import { coworkerReference, resourceReference } from '../directory/references.js';
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

  /** The resource and the coworker must exist: checked inside the insert. */
  protected override referenceGuards(values: CoworkerMsOfficeCalendarValues) {
    return [resourceReference(values.ResourceId), ...coworkerReference(values.CoworkerId)];
  }

}
