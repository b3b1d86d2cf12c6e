/** GET /api/spaces/bookingconflicts: occurrences that wanted a resource another booking holds (role Booking-List). */
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { listQueryParser } from '../../core/list-query.js';
import { roleName } from '../../modules/users/roles.js';
import { BookingConflictSchema } from '../../modules/bookings/schema.js';
import { CONFLICT_COLUMNS, conflictListSpec } from '../../modules/bookings/conflict-list.js';
import type { BookingRepository } from '../../modules/bookings/repository.js';
import { requireAccess, type AccessDeps } from './access.js';
import { listEnvelope } from './envelope.js';
import { ListQuerySchema, errorResponses, listEnvelopeSchema } from './schemas.js';

const parser = listQueryParser(conflictListSpec);

export function registerBookingConflictRoutes(app: FastifyInstance, access: AccessDeps, bookings: BookingRepository): void {
  app.get('/api/spaces/bookingconflicts', {
    schema: {
      tags: ['Bookings'],
      summary: 'Open booking conflicts, ordered by start: filters BookingConflict_Resource, _Coworker, _CoworkerMsOfficeCalendar',
      description: `orderBy: any field (${Object.keys(CONFLICT_COLUMNS).join(', ')}; default FromTime); dir as every list.`,
      querystring: ListQuerySchema,
      response: { 200: listEnvelopeSchema(BookingConflictSchema), ...errorResponses },
    },
    onRequest: requireAccess(access, roleName('Booking', 'List')),
  }, async (request) => {
    const q = parser.parse(request.query as Record<string, unknown>);
    // A member login sees its own conflicts only.
    const member = request.principal.memberOf;
    if (member !== null) q.conditions.push({ field: 'CoworkerId', op: 'eq', value: member });
    const { records, total } = await bookings.listConflicts(q);
    return listEnvelope(records, q.page, q.size, q.orderBy, q.descending, total);
  });
}

export const ConflictListSchema = Type.Array(BookingConflictSchema);
