/**
 * The Nexudus CRUD routes of one entity, on each of its paths: list (and batch `?id=[..]`), get one, create,
 * update (PUT on the collection with Id in the body, or on /{id}), delete. Every entity is served by this one file;
 * entities differ only in schemas and services.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Entity } from '../../modules/records/entity.js';
import { requireAccess, type AccessDeps } from './access.js';
import { roleName } from '../../modules/users/roles.js';
import type { EntityReader, EntityService, Actor } from '../../modules/records/record-service.js';
import { listEnvelope, writeEnvelope } from './envelope.js';
import { AppError } from '../../core/errors.js';
import { MAX_INT, listQueryParser, parseBatchIds } from '../../core/list-query.js';
import { ListQuerySchema, errorResponses, listEnvelopeSchema, writeEnvelopeSchema } from './schemas.js';

export interface EntityRoutes {
  service: EntityService | EntityReader;
  /** Lower-case collection paths; the first is the canonical one shown in docs. */
  paths: string[];
  tag: string;
  /** The entity's declaration: its record, bodies and list spec. */
  schemas: Pick<Entity<any>, 'record' | 'createBody' | 'updateBody' | 'listSpec'>;
  /** Roles `{Entity}-List` etc.; false: full administrators only (users). */
  roles: boolean;
  /** The entity whose roles apply (cancelled bookings use Booking-List/-Read); default the service's. */
  roleEntity?: string;
  /** List, get and batch only (cancelled bookings). */
  readOnly?: boolean;
  /**
   * The field that names a record's member (CoworkerId; Id for coworkers themselves). A member login sees and
   * changes only records whose owner is its coworker: others answer 404, as if they did not exist. Without an owner
   * field, members see every record their roles allow (resources).
   */
  owner?: string;
}

export function actorOf(request: FastifyRequest): Actor {
  return { userId: request.principal.userId, email: request.principal.email };
}

/** Parses a path id; anything but a positive integer is a 400 on Id. */
export function pathId(raw: string): number {
  const id = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(id) || id < 1 || id > MAX_INT) throw AppError.field('Id', `must be a positive integer up to ${MAX_INT}`, raw);
  return id;
}

export function registerEntityRoutes(app: FastifyInstance, access: AccessDeps, def: EntityRoutes): void {
  const service = def.service as EntityService;
  const entity = service.entity;
  const owner = def.owner;
  /** The member a request is scoped to (null: an operator, or an entity without owners). */
  const memberOf = (request: FastifyRequest): number | null => (owner ? request.principal.memberOf : null);
  const owns = (member: number | null, record: unknown): boolean => member === null || (record as Record<string, unknown>)[owner!] === member;
  /** A member's write names itself as the owner: an omitted owner is filled in, another member's is refused. */
  const ownBody = (member: number | null, body: Record<string, unknown>): Record<string, unknown> => {
    if (member === null) return body;
    const given = body[owner!];
    if (given === undefined || given === null || given === '' || given === 0) return { ...body, [owner!]: member };
    if (Number(given) !== member) throw AppError.field(owner!, `must be your own coworker (${member}): a member login manages only its own records`, given);
    return body;
  };
  const notFound = () => AppError.notFound(`${entity} not found.`);
  /** Another member's record does not exist for a member: 404 before anything about the body is said. */
  const mustOwn = async (member: number | null, id: number): Promise<void> => {
    if (member === null) return;
    const record = await service.get(id);
    if (record && !owns(member, record)) throw notFound(); // a missing one: the service's own 404
  };
  const role = (action: 'List' | 'Read' | 'Create' | 'Edit' | 'Delete') => (def.roles ? roleName(def.roleEntity ?? entity, action) : null);
  const parser = listQueryParser(def.schemas.listSpec);
  const IdParams = Type.Object({ id: Type.String({ description: `The ${entity} Id.` }) });
  const listAccess = requireAccess(access, role('List'));
  const readAccess = requireAccess(access, role('Read'));

  for (const [i, path] of def.paths.entries()) {
    const hide = i > 0; // aliases work but are not repeated in the OpenAPI document
    const tags = [def.tag];

    app.get(path, {
      schema: {
        hide, tags, summary: `List or search ${entity} records, or get several by id`,
        description: `Filters: ${def.schemas.listSpec.filters.map((f) => (f.values ? `${f.param} (${f.values.join(' or ')})` : f.param)).join(', ')}. Ranges: ${def.schemas.listSpec.ranges
          .map((r) => `from_${entity}_${r}, to_${entity}_${r}`).join(', ')}. \`?id=[1,2,3]\` answers a bare array (role ${role('Read') ?? 'full administrator'}).`,
        querystring: ListQuerySchema,
        response: { 200: listEnvelopeSchema(def.schemas.record), ...errorResponses },
      },
      // Batch needs -Read, a list -List: decided from the query before the access check.
      onRequest: async (request, reply) => {
        let batch: unknown;
        try {
          batch = batchIdsOf(request.query as Record<string, unknown>);
        } catch {
          batch = true; // a malformed batch is still a batch: authenticate as one, answer 400 in the handler
        }
        await (batch ? readAccess : listAccess).call(app, request, reply);
      },
    }, async (request, reply) => {
      const query = request.query as Record<string, unknown>;
      const ids = batchIdsOf(query);
      // The batch form answers a bare array, outside the list envelope's response schema.
      const member = memberOf(request);
      if (ids) return reply.type('application/json; charset=utf-8').serializer(JSON.stringify).send((await service.getMany(ids)).filter((r) => owns(member, r)));
      const q = parser.parse(query);
      if (member !== null) q.conditions.push({ field: owner!, op: 'eq', value: member });
      const { records, total } = await service.list(q);
      return listEnvelope(records, q.page, q.size, q.orderBy, q.descending, total);
    });

    app.get(`${path}/:id`, {
      schema: { hide, tags, summary: `Get one ${entity} (the bare record)`, params: IdParams, response: { 200: def.schemas.record, ...errorResponses } },
      onRequest: readAccess,
    }, async (request) => {
      const record = await service.get(pathId((request.params as { id: string }).id));
      if (!record || !owns(memberOf(request), record)) throw notFound();
      return record;
    });

    if (def.readOnly) continue;

    app.post(path, {
      schema: { hide, tags, summary: `Create a ${entity}`, body: def.schemas.createBody, response: { 200: writeEnvelopeSchema(def.schemas.record), ...errorResponses } },
      onRequest: requireAccess(access, role('Create')),
    }, async (request) => {
      const body = ownBody(memberOf(request), request.body as Record<string, unknown>);
      const record = (await service.create(body, actorOf(request))) as { UpdatedOn: string };
      return writeEnvelope(`${entity} was successfully created.`, record, record.UpdatedOn, request.principal.email);
    });

    const update = async (request: FastifyRequest) => {
      const member = memberOf(request);
      const body = request.body as Record<string, unknown>;
      const fromPath = (request.params as { id?: string }).id;
      const bodyId = body.Id === undefined || body.Id === null || body.Id === '' ? undefined : body.Id;
      let id: number;
      if (fromPath !== undefined) {
        id = pathId(fromPath);
        if (bodyId !== undefined && Number(bodyId) !== id) throw AppError.field('Id', `does not match the Id in the path (${id})`, bodyId);
      } else {
        if (bodyId === undefined) throw AppError.field('Id', 'is a required field');
        id = pathId(String(bodyId).trim());
      }
      await mustOwn(member, id);
      const { UpdatedOn } = await service.update(id, ownBody(member, body), actorOf(request));
      return writeEnvelope(`${entity} was successfully updated.`, { Id: id }, UpdatedOn, request.principal.email);
    };
    const editAccess = requireAccess(access, role('Edit'));
    const updateSchema = { hide, tags, summary: `Update a ${entity} (full replacement; Id in the body)`, body: def.schemas.updateBody, response: { 200: writeEnvelopeSchema(IdOnly), ...errorResponses } };
    app.put(path, { schema: updateSchema, onRequest: editAccess }, update);
    app.put(`${path}/:id`, { schema: { ...updateSchema, hide: true, params: IdParams }, onRequest: editAccess }, update);

    app.delete(`${path}/:id`, {
      schema: { hide, tags, summary: `Delete a ${entity}`, params: IdParams, response: { 200: writeEnvelopeSchema(IdOnly), ...errorResponses } },
      onRequest: requireAccess(access, role('Delete')),
    }, async (request) => {
      const id = pathId((request.params as { id: string }).id);
      const member = memberOf(request);
      await mustOwn(member, id);
      const { UpdatedOn } = await service.remove(id, actorOf(request));
      return writeEnvelope(`${entity} was successfully deleted.`, { Id: id }, UpdatedOn, request.principal.email);
    });
  }
}

const IdOnly = Type.Object({ Id: Type.Integer() });

/** The batch form `?id=[1,2]` / `?id=1,2` (any case of "id"); a plain `id=5` is the list's Id filter. */
function batchIdsOf(query: Record<string, unknown>): number[] | undefined {
  for (const key in query) {
    if (key.length === 2 && key.toLowerCase() === 'id') {
      const raw = query[key];
      const value = Array.isArray(raw) ? raw.join(',') : raw;
      if (typeof value !== 'string' || value === '') return undefined;
      return parseBatchIds(value, key);
    }
  }
  return undefined;
}
