/** Rules for Coworker records: a unique e-mail, and no delete while calendar records or users reference it. */
import { ApiError } from '../../http/errors.js';
import { RecordService, describeHolders } from '../record-service.js';
import { CoworkerRepository } from './repository.js';
import { ENTITY, type Coworker, type CoworkerValues } from './schema.js';

export class CoworkerService extends RecordService<Coworker, CoworkerValues> {
  constructor(private readonly coworkers: CoworkerRepository) {
    super(ENTITY, coworkers);
  }

  protected async normalize(body: Record<string, unknown>, existingId?: number): Promise<CoworkerValues> {
    const email = body.Email as string;
    const owner = await this.coworkers.findIdByEmail(email);
    if (owner !== undefined && owner !== existingId) throw ApiError.field('Email', 'is already used by another coworker', email);
    return { FullName: body.FullName as string, Email: email, SystemId: (body.SystemId as string | null | undefined) ?? null };
  }

  protected toColumns(v: CoworkerValues) {
    return { full_name: v.FullName, email: v.Email, system_id: v.SystemId };
  }

  protected override async referencedBy(id: number): Promise<string[]> {
    const { calendars, users } = await this.coworkers.holders(id);
    return [
      ...(calendars.length ? [describeHolders('CoworkerMsOfficeCalendar', calendars)] : []),
      ...(users.length ? [describeHolders('User', users)] : []),
    ];
  }
}
