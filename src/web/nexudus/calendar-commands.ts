/**
 * CoworkerMsOfficeCalendar commands (GET /commands, POST /runcommand) and GET /{id}/status. The work itself is the
 * sync engine's (CalendarCommandRunner); these routes check roles, ids and keys the Nexudus way.
 */
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { requireAccess, type AccessDeps } from './access.js';
import { authorize, type Principal } from '../../modules/users/authenticator.js';
import { roleName } from '../../modules/users/roles.js';
import { writeEnvelope } from './envelope.js';
import { AppError } from '../../core/errors.js';
import { MAX_INT } from '../../core/list-query.js';
import { errorResponses, writeEnvelopeSchema } from './schemas.js';
import { actorOf, pathId } from './entity-routes.js';
import { LenientInteger, RequiredString } from '../../modules/records/schema-parts.js';
import type { CoworkerMsOfficeCalendarService } from '../../modules/calendars/service.js';
import { COMMANDS, runCommand, type CalendarCommandRunner } from '../../modules/calendars/commands.js';
import { ENTITY } from '../../modules/calendars/schema.js';
import { BookingConflictSchema } from '../../modules/bookings/schema.js';
import { conflictRecord, type BookingRepository } from '../../modules/bookings/repository.js';

const CommandSchema = Type.Object({
  Key: Type.String(),
  Name: Type.String(),
  AppliesOnlyToMultipleEntities: Type.Boolean(),
  AppliesOnlyToOneEntity: Type.Boolean(),
  NeedsEntitiesToRun: Type.Boolean(),
  Order: Type.Integer(),
  RequiresParameters: Type.Array(Type.Object({ Name: Type.String(), Type: Type.String() })),
});

const RunCommandBody = Type.Object({
  Key: RequiredString(100, 'RENEW_SUBSCRIPTION, RESYNC, DISCONNECT, MARK_DEDICATED or UNMARK_DEDICATED.'),
  Ids: Type.Array(LenientInteger(), { maxItems: 1000, description: 'The records to run it on.' }),
  Parameters: Type.Optional(Type.Union([Type.Array(Type.Unknown()), Type.Null()])),
}, { required: ['Key', 'Ids'], additionalProperties: true });

const StatusSchema = Type.Object({
  Id: Type.Integer(),
  State: Type.String({ description: 'active, renewing, reauth_required, credentials_missing or failed' }),
  AuthMode: Type.String(),
  Mailbox: Type.Unsafe<string | null>({ type: ['string', 'null'] }),
  SubscriptionId: Type.String(),
  SubscriptionExpireDate: Type.String(),
  LastNotification: Type.Unsafe<string | null>({ type: ['string', 'null'] }),
  LastRenewal: Type.Unsafe<string | null>({ type: ['string', 'null'] }),
  NextRenewal: Type.Unsafe<string | null>({ type: ['string', 'null'] }),
  LastSync: Type.Unsafe<string | null>({ type: ['string', 'null'] }),
  LastError: Type.Unsafe<string | null>({ type: ['string', 'null'] }),
  ActionBy: Type.Unsafe<'operator' | 'member' | null>({
    type: ['string', 'null'], enum: ['operator', 'member', null],
    description: 'Who must act: operator (app registration, client secret, consent, tenant policy, the record), member (sign in again), or null (nothing to do, or calbridge retries)',
  }),
  DedicatedBookingCalendar: Type.Boolean(),
  LastFullSync: Type.Unsafe<string | null>({ type: ['string', 'null'] }),
  OpenConflicts: Type.Array(BookingConflictSchema),
});

export function registerCalendarCommandRoutes(app: FastifyInstance, access: AccessDeps, service: CoworkerMsOfficeCalendarService, runner: CalendarCommandRunner, bookings: BookingRepository): void {
  const base = '/api/spaces/coworkermsofficecalendars';
  const tags = ['CoworkerMsOfficeCalendars'];

  app.get(`${base}/commands`, {
    schema: {
      tags,
      summary: 'The commands CoworkerMsOfficeCalendar records support (?id= for one record: 404 when it does not exist)',
      querystring: Type.Object({ id: Type.Optional(Type.String()) }, { additionalProperties: true }),
      response: { 200: Type.Array(CommandSchema), ...errorResponses },
    },
    onRequest: requireAccess(access, roleName(ENTITY, 'List')),
  }, async (request) => {
    const { id } = request.query as { id?: string };
    if (id !== undefined && id !== '' && !ownedBy(request.principal, await service.get(pathId(id)))) throw AppError.notFound(`${ENTITY} not found.`);
    return COMMANDS.map((c) => ({
      Key: c.Key, Name: c.Name, AppliesOnlyToMultipleEntities: false, AppliesOnlyToOneEntity: false, NeedsEntitiesToRun: true, Order: c.Order, RequiresParameters: [],
    }));
  });

  // Which role a command needs depends on its Key (in the body); the caller must hold at least one of them to get in.
  const editOrDelete = requireAccess(access, undefined);
  app.post(`${base}/runcommand`, {
    schema: { tags, summary: 'Run a command on records (RENEW_SUBSCRIPTION, RESYNC need -Edit; DISCONNECT needs -Delete)', body: RunCommandBody, response: { 200: writeEnvelopeSchema(Type.Null()), ...errorResponses } },
    onRequest: async (request, reply) => {
      await editOrDelete.call(app, request, reply);
      const p = request.principal;
      if (!p.fullAdministrator && !p.roles.has(roleName(ENTITY, 'Edit')) && !p.roles.has(roleName(ENTITY, 'Delete'))) {
        authorize(p, roleName(ENTITY, 'Edit'));
      }
    },
  }, async (request) => {
    const body = request.body as { Key: string; Ids: Array<number | string> };
    const command = COMMANDS.find((c) => c.Key === body.Key.trim().toUpperCase());
    if (!command) throw AppError.field('Key', `is not a command of ${ENTITY}; use one of ${COMMANDS.map((c) => c.Key).join(', ')}`, body.Key);
    authorize(request.principal, roleName(ENTITY, command.action));
    const ids = [...new Set(body.Ids.map((i) => Number(String(i).trim())))];
    if (!ids.length) throw AppError.field('Ids', 'needs at least one record id', body.Ids);
    const found = new Set((await service.getMany(ids.filter((i) => i <= MAX_INT))).filter((r) => ownedBy(request.principal, r)).map((r) => r.Id));
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length) throw AppError.notFound(`${ENTITY} not found: ${missing.join(', ')}.`);
    const actor = actorOf(request);
    let updatedOn = '';
    for (const id of ids) updatedOn = await runCommand(command.Key, id, actor, { service, runner });
    return writeEnvelope('The command was run correctly.', null, updatedOn, request.principal.email);
  });

  app.get(`${base}/:id/status`, {
    schema: {
      tags,
      summary: "The record's Graph connection: state, last notification, last and next renewal, last sync, last error",
      params: Type.Object({ id: Type.String() }),
      response: { 200: StatusSchema, ...errorResponses },
    },
    onRequest: requireAccess(access, roleName(ENTITY, 'Read')),
  }, async (request) => {
    const id = pathId((request.params as { id: string }).id);
    const record = await service.get(id);
    if (!ownedBy(request.principal, record)) throw AppError.notFound(`${ENTITY} not found.`);
    const status = await runner.status(id);
    return {
      Id: id,
      SubscriptionId: record.SubscriptionId,
      SubscriptionExpireDate: record.SubscriptionExpireDate,
      ...(status ?? {
        State: 'credentials_missing', AuthMode: 'app' as const, Mailbox: null, LastNotification: null, LastRenewal: null,
        NextRenewal: null, LastSync: null, LastError: 'this record has no Graph connection yet', ActionBy: null, DedicatedBookingCalendar: false, LastFullSync: null,
      }),
      OpenConflicts: (await bookings.conflictsOfConnection(id)).map(conflictRecord),
    };
  });
}

/** A member login runs commands on, and reads the status of, its own records only (others do not exist for it). */
function ownedBy<R extends { CoworkerId: number | null }>(principal: Principal, record: R | undefined): record is R {
  return Boolean(record) && (principal.memberOf === null || record!.CoworkerId === principal.memberOf);
}
