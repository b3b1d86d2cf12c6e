/** Microsoft Graph v1.0: users, calendars, events (with recurrence), calendarView (+ delta) and subscriptions. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { EmulatorContext } from './context.js';
import type { CalendarRecord, UserRecord } from './directory.js';
import { GraphError } from './errors.js';
import { extendedPropertyKey, renderEvent, type Instance, type RenderOptions, type StoredEvent } from './events.js';
import type { GraphCalendar, GraphEvent, GraphUser } from './graph-types.js';
import { baseUrlOf } from './identity.js';
import { parseQueryInstant } from './time.js';
import type { Principal } from './tokens.js';

export interface PreferHeader {
  tz: string | null;
  immutableIds: boolean;
  maxPageSize: number | null;
  applied: string[];
}

/** Parses Prefer (one header with comma-separated values, or several headers). */
export function parsePrefer(header: string | string[] | undefined): PreferHeader {
  const out: PreferHeader = { tz: null, immutableIds: false, maxPageSize: null, applied: [] };
  const text = Array.isArray(header) ? header.join(',') : (header ?? '');
  const parts = text.match(/(?:[^,"]+|"[^"]*")+/g) ?? [];
  for (const raw of parts) {
    const part = raw.trim();
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim().toLowerCase();
    const value = part.slice(eq + 1).trim().replace(/^"|"$/g, '');
    if (key === 'outlook.timezone' && value) {
      out.tz = value;
      out.applied.push(`outlook.timezone="${value}"`);
    } else if (key === 'idtype' && value.toLowerCase() === 'immutableid') {
      out.immutableIds = true;
      out.applied.push('IdType="ImmutableId"');
    } else if (key === 'odata.maxpagesize') {
      const n = Number(value);
      if (Number.isInteger(n) && n > 0) {
        out.maxPageSize = n;
        out.applied.push(`odata.maxpagesize=${n}`);
      }
    }
  }
  return out;
}

const READ_PERMS = ['Calendars.Read', 'Calendars.ReadWrite', 'Calendars.ReadBasic', 'Calendars.Read.Shared', 'Calendars.ReadWrite.Shared'];
const WRITE_PERMS = ['Calendars.ReadWrite', 'Calendars.ReadWrite.Shared'];

function requirePermission(p: Principal, write: boolean): void {
  const granted = (p.kind === 'app' ? p.roles : p.scopes).map((s) => s.toLowerCase());
  const needed = (write ? WRITE_PERMS : READ_PERMS).map((s) => s.toLowerCase());
  if (!needed.some((n) => granted.includes(n))) {
    throw new GraphError(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.');
  }
}

function applySelect<T extends object>(obj: T, select: string | undefined): T {
  if (!select) return obj;
  const wanted = new Set(select.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    // $expand is not restricted by $select.
    if (k.startsWith('@odata.') || k === 'id' || k === 'singleValueExtendedProperties' || wanted.has(k.toLowerCase())) out[k] = v;
  }
  return out as T;
}

/**
 * The extended property ids asked for by `$expand=singleValueExtendedProperties($filter=id eq '…' [or id eq '…'])`,
 * as keys (extendedPropertyKey); undefined when not expanded. Other expansions are ignored.
 */
export function expandedProperties(expand: string | undefined): Set<string> | undefined {
  if (!expand) return undefined;
  const name = 'singlevalueextendedproperties';
  const at = expand.toLowerCase().indexOf(name);
  if (at < 0) return undefined;
  const bad = (why: string): GraphError => new GraphError(400, 'ErrorInvalidUrlQuery', `Invalid $expand of singleValueExtendedProperties: ${why}`);
  let i = at + name.length;
  while (expand[i] === ' ') i++;
  if (expand[i] !== '(') throw bad("it needs a $filter on the property id, e.g. ($filter=id eq 'String {guid} Name x').");
  // The options in parentheses, up to the closing one outside quoted strings ('' escapes a quote).
  let inner = '';
  let quoted = false;
  for (i++; i < expand.length; i++) {
    const ch = expand[i]!;
    if (ch === "'") quoted = !quoted;
    else if (ch === ')' && !quoted) break;
    inner += ch;
  }
  if (i >= expand.length) throw bad('unbalanced parentheses.');
  const filter = /^\s*\$filter\s*=\s*(.*)$/is.exec(inner)?.[1];
  if (filter === undefined) throw bad('it needs a $filter on the property id.');
  const keys = new Set<string>();
  const term = /^\s*id\s+eq\s+'((?:[^']|'')*)'\s*/i;
  let rest = filter;
  for (;;) {
    const m = term.exec(rest);
    if (!m) throw bad(`unsupported $filter '${filter}' (use id eq '…', joined with or).`);
    keys.add(extendedPropertyKey(m[1]!.replace(/''/g, "'")));
    rest = rest.slice(m[0].length);
    if (!rest.trim()) return keys;
    const or = /^or\s+/i.exec(rest);
    if (!or) throw bad(`unsupported $filter '${filter}' (use id eq '…', joined with or).`);
    rest = rest.slice(or[0].length);
  }
}

const unknownSegment = (seg: string): GraphError => new GraphError(400, 'BadRequest', `Resource not found for the segment '${seg}'.`);
const methodNotAllowed = (method: string): GraphError => new GraphError(405, 'Request_BadRequest', `Specified HTTP method '${method}' is not supported for this resource.`);
const itemNotFound = (): GraphError => new GraphError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.');

export function registerGraphRoutes(app: FastifyInstance, ctx: EmulatorContext): void {
  const { directory, events, subscriptions, tokens } = ctx;

  const userJson = (u: UserRecord, base: string): GraphUser => {
    const [given, ...rest] = u.displayName.split(' ');
    return {
      '@odata.context': `${base}/v1.0/$metadata#users/$entity`,
      businessPhones: [],
      displayName: u.displayName,
      givenName: given ?? null,
      jobTitle: null,
      mail: u.mail,
      mobilePhone: null,
      officeLocation: null,
      preferredLanguage: null,
      surname: rest.join(' ') || null,
      userPrincipalName: u.userPrincipalName,
      id: u.id,
    };
  };

  const calendarJson = (c: CalendarRecord): GraphCalendar => {
    const owner = directory.users.get(c.userId)!;
    return {
      id: c.id,
      name: c.name,
      color: 'auto',
      hexColor: '',
      isDefaultCalendar: c.isDefault,
      changeKey: c.changeKey,
      canShare: true,
      canViewPrivateItems: true,
      canEdit: true,
      allowedOnlineMeetingProviders: ['teamsForBusiness'],
      defaultOnlineMeetingProvider: 'teamsForBusiness',
      isRemovable: !c.isDefault,
      owner: { name: owner.displayName, address: owner.mail },
    };
  };

  const resolveOwner = (p: Principal, segs: string[]): { user: UserRecord; rest: string[]; prefix: string[] } => {
    const head = segs[0]!.toLowerCase();
    if (head === 'me') {
      if (p.kind !== 'user') throw new GraphError(400, 'BadRequest', '/me request is only valid with delegated authentication flow.');
      const user = directory.users.get(p.userId!);
      if (!user) throw new GraphError(404, 'ErrorInvalidUser', `The requested user '${p.userId}' is invalid.`);
      return { user, rest: segs.slice(1), prefix: segs.slice(0, 1) };
    }
    const key = segs[1];
    if (!key) throw new GraphError(400, 'BadRequest', 'A user id or userPrincipalName is required.');
    const user = directory.findUser(key, p.tenantId);
    if (!user) throw new GraphError(404, 'ErrorInvalidUser', `The requested user '${key}' is invalid.`);
    if (p.kind === 'user' && user.id !== p.userId) throw new GraphError(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.');
    return { user, rest: segs.slice(2), prefix: segs.slice(0, 2) };
  };

  const calendarOf = (user: UserRecord, id: string): CalendarRecord => {
    const cal = directory.calendars.get(id);
    if (!cal || cal.userId !== user.id) throw itemNotFound();
    return cal;
  };

  const itemInCalendar = (user: UserRecord, id: string, calendar: CalendarRecord | null): StoredEvent | Instance => {
    const found = events.find(user.id, id);
    const master = 'master' in found ? found.master : found;
    if (calendar && master.calendarId !== calendar.id) throw itemNotFound();
    return found;
  };

  const windowOf = (q: Record<string, string | undefined>): { start: number; end: number } => {
    const s = q.startDateTime ?? q.startdatetime;
    const e = q.endDateTime ?? q.enddatetime;
    if (!s || !e) {
      throw new GraphError(400, 'ErrorInvalidParameter', 'This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.');
    }
    return { start: parseQueryInstant(s, 'startDateTime'), end: parseQueryInstant(e, 'endDateTime') };
  };

  /** Paged list with $top/$skip (or Prefer: odata.maxpagesize) and a nextLink that keeps the other query options. */
  const pageOf = <T>(req: FastifyRequest, items: T[], prefer: PreferHeader, linkBase: string, context: string): { '@odata.context': string; '@odata.nextLink'?: string; value: T[] } => {
    const q = req.query as Record<string, string | undefined>;
    const top = q.$top !== undefined ? Number(q.$top) : null;
    if (top !== null && (!Number.isInteger(top) || top < 0)) throw new GraphError(400, 'BadRequest', `Invalid value '${q.$top}' for $top.`);
    const skip = q.$skip !== undefined ? Number(q.$skip) : 0;
    if (!Number.isInteger(skip) || skip < 0) throw new GraphError(400, 'BadRequest', `Invalid value '${q.$skip}' for $skip.`);
    const size = Math.min(top ?? prefer.maxPageSize ?? ctx.settings.listDefaultPageSize, 1000);
    const value = items.slice(skip, skip + size);
    const out: { '@odata.context': string; '@odata.nextLink'?: string; value: T[] } = { '@odata.context': context, value };
    if (skip + size < items.length) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(q)) if (v !== undefined && k !== '$skip' && k !== '$top') params.set(k, v);
      params.set('$top', String(size));
      params.set('$skip', String(skip + size));
      out['@odata.nextLink'] = `${linkBase}?${params.toString()}`;
    }
    return out;
  };

  /* ---------------- events of a calendar (or of the mailbox) ---------------- */

  const handleEvents = async (
    req: FastifyRequest,
    reply: FastifyReply,
    p: Principal,
    user: UserRecord,
    calendar: CalendarRecord | null,
    rest: string[],
    prefer: PreferHeader,
    linkBase: string,
  ): Promise<unknown> => {
    const method = req.method.toUpperCase();
    const q = req.query as Record<string, string | undefined>;
    const render: RenderOptions = { tz: prefer.tz, extendedProperties: expandedProperties(q.$expand) };
    const base = baseUrlOf(req);
    const kw = rest.map((s) => s.toLowerCase());
    const cal = calendar ?? directory.defaultCalendar(user.id);

    if (kw[0] === 'events' && rest.length === 1) {
      if (method === 'GET') {
        requirePermission(p, false);
        const list = events.listItems(cal.id).map((e) => applySelect(renderEvent(e, render), q.$select));
        return pageOf(req, list, prefer, linkBase, `${base}/v1.0/$metadata#users('${user.id}')/events`);
      }
      if (method === 'POST') {
        requirePermission(p, true);
        const body = objectBody(req);
        const created = events.create(cal, body as GraphEvent);
        return reply.code(201).send({ '@odata.context': `${base}/v1.0/$metadata#users('${user.id}')/events/$entity`, ...renderEvent(created, render) });
      }
      throw methodNotAllowed(method);
    }

    if (kw[0] === 'events' && rest.length >= 2) {
      const id = rest[1]!;
      if (rest.length === 2) {
        if (method === 'GET') {
          requirePermission(p, false);
          const item = itemInCalendar(user, id, calendar);
          return { '@odata.context': `${base}/v1.0/$metadata#users('${user.id}')/events/$entity`, ...applySelect(renderEvent(item, render), q.$select) };
        }
        if (method === 'PATCH') {
          requirePermission(p, true);
          itemInCalendar(user, id, calendar);
          const updated = events.update(user.id, id, objectBody(req) as GraphEvent);
          return { '@odata.context': `${base}/v1.0/$metadata#users('${user.id}')/events/$entity`, ...renderEvent(updated, render) };
        }
        if (method === 'DELETE') {
          requirePermission(p, true);
          itemInCalendar(user, id, calendar);
          events.delete(user.id, id);
          return reply.code(204).send();
        }
        throw methodNotAllowed(method);
      }
      const action = kw[2];
      if (rest.length === 3 && action === 'instances' && method === 'GET') {
        requirePermission(p, false);
        const item = itemInCalendar(user, id, calendar);
        if ('master' in item) throw new GraphError(400, 'ErrorInvalidRequest', 'The instances of an occurrence cannot be listed; use its series master.');
        const w = windowOf(q);
        const list = events.instancesOf(item, w.start, w.end).sort((a, b) => a.fields.start.epochMs - b.fields.start.epochMs);
        return pageOf(req, list.map((i) => applySelect(renderEvent(i, render), q.$select)), prefer, linkBase, `${base}/v1.0/$metadata#Collection(event)`);
      }
      if (rest.length === 3 && action === 'cancel' && method === 'POST') {
        requirePermission(p, true);
        const item = itemInCalendar(user, id, calendar);
        const master = 'master' in item ? item.master : item;
        if (!master.isOrganizer) throw new GraphError(400, 'ErrorAccessDenied', "Your request can't be completed. You need to be an organizer to cancel a meeting.");
        events.delete(user.id, id);
        return reply.code(202).send();
      }
      throw unknownSegment(rest[2] ?? '');
    }

    if (kw[0] === 'calendarview' && rest.length === 1) {
      if (method !== 'GET') throw methodNotAllowed(method);
      requirePermission(p, false);
      const w = windowOf(q);
      const list = events.instancesInWindow(cal.id, w.start, w.end).map((i) => applySelect(renderEvent(i, render), q.$select));
      return pageOf(req, list, prefer, linkBase, `${base}/v1.0/$metadata#users('${user.id}')/calendarView`);
    }

    if (kw[0] === 'calendarview' && kw[1] === 'delta' && rest.length === 2) {
      if (method !== 'GET') throw methodNotAllowed(method);
      requirePermission(p, false);
      for (const opt of ['$select', '$expand', '$filter', '$orderby', '$search']) {
        if (q[opt] !== undefined) throw new GraphError(400, 'ErrorInvalidUrlQuery', `The query parameter '${opt}' is not supported with delta on calendarView.`);
      }
      const dreq = { userId: user.id, calendarId: cal.id, linkBase, pageSize: prefer.maxPageSize, render: { tz: prefer.tz } };
      const deltatoken = q.$deltatoken ?? q.$deltaToken;
      const skiptoken = q.$skiptoken ?? q.$skipToken;
      if (deltatoken) return ctx.delta.fromDeltaToken(dreq, deltatoken);
      if (skiptoken) return ctx.delta.fromSkipToken(dreq, skiptoken, prefer.maxPageSize !== null);
      const w = windowOf(q);
      const rawQuery = req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '';
      return ctx.delta.initial(dreq, w.start, w.end, rawQuery);
    }
    throw unknownSegment(rest[0] ?? '');
  };

  /* ---------------- subscriptions ---------------- */

  const handleSubscriptions = async (req: FastifyRequest, reply: FastifyReply, p: Principal, segs: string[], prefer: PreferHeader): Promise<unknown> => {
    const method = req.method.toUpperCase();
    const base = baseUrlOf(req);
    if (segs.length === 1) {
      if (method === 'GET') {
        return { '@odata.context': `${base}/v1.0/$metadata#subscriptions`, value: subscriptions.list(p).map((s) => subscriptions.toGraph(s, base, { withClientState: false })) };
      }
      if (method === 'POST') {
        requirePermission(p, false);
        const sub = await subscriptions.create(p, objectBody(req), { immutableIds: prefer.immutableIds });
        return reply.code(201).send(subscriptions.toGraph(sub, base, { withClientState: true, context: 'entity' }));
      }
      throw methodNotAllowed(method);
    }
    const id = segs[1]!;
    if (segs.length === 2) {
      if (method === 'GET') return subscriptions.toGraph(subscriptions.get(p, id), base, { withClientState: false, context: 'entity' });
      if (method === 'PATCH') {
        const sub = await subscriptions.update(p, id, objectBody(req));
        return subscriptions.toGraph(sub, base, { withClientState: false, context: 'entity' });
      }
      if (method === 'DELETE') {
        subscriptions.delete(p, id);
        return reply.code(204).send();
      }
      throw methodNotAllowed(method);
    }
    if (segs.length === 3 && segs[2]!.toLowerCase() === 'reauthorize' && method === 'POST') {
      subscriptions.reauthorize(p, id);
      return reply.code(204).send();
    }
    throw unknownSegment(segs[2] ?? '');
  };

  /* ---------------- dispatcher ---------------- */

  app.route({
    method: ['GET', 'POST', 'PATCH', 'PUT', 'DELETE'],
    url: '/v1.0/*',
    handler: async (req, reply) => {
      subscriptions.sweep();
      const p = tokens.verifyBearer(req.headers.authorization);
      const prefer = parsePrefer(req.headers.prefer);
      if (prefer.applied.length) reply.header('preference-applied', prefer.applied.join(', '));
      const rawPath = req.url.split('?')[0]!.replace(/^\/v1\.0\/?/, '').replace(/\/+$/, '');
      const segs = rawPath.split('/').filter(Boolean).map((s) => {
        try {
          return decodeURIComponent(s);
        } catch {
          return s;
        }
      });
      const base = baseUrlOf(req);
      const linkBase = `${base}${req.url.split('?')[0]!.replace(/\/+$/, '')}`;
      const method = req.method.toUpperCase();
      const head = (segs[0] ?? '').toLowerCase();
      if (head === 'subscriptions') return handleSubscriptions(req, reply, p, segs, prefer);
      if (head === 'users' && segs.length === 1) {
        if (method !== 'GET') throw methodNotAllowed(method);
        if (p.kind !== 'app') throw new GraphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
        const list = directory.usersOf(p.tenantId).map((u) => {
          const { '@odata.context': _ctx, ...rest } = userJson(u, base);
          return rest;
        });
        return pageOf(req, list, prefer, linkBase, `${base}/v1.0/$metadata#users`);
      }
      if (head !== 'me' && head !== 'users') throw unknownSegment(segs[0] ?? '');
      const { user, rest } = resolveOwner(p, segs);
      const kw = rest.map((s) => s.toLowerCase());
      if (rest.length === 0) {
        if (method !== 'GET') throw methodNotAllowed(method);
        return userJson(user, base);
      }
      if (kw[0] === 'calendars') {
        if (rest.length === 1) {
          if (method === 'GET') {
            requirePermission(p, false);
            return pageOf(req, directory.calendarsOf(user.id).map(calendarJson), prefer, linkBase, `${base}/v1.0/$metadata#users('${user.id}')/calendars`);
          }
          if (method === 'POST') {
            requirePermission(p, true);
            const body = objectBody(req);
            if (typeof body.name !== 'string' || !body.name) throw new GraphError(400, 'ErrorInvalidRequest', "The property 'name' is required.");
            if (directory.calendarsOf(user.id).some((c) => c.name.toLowerCase() === String(body.name).toLowerCase())) {
              throw new GraphError(409, 'ErrorFolderExists', 'A folder with the specified name already exists.');
            }
            const cal = directory.createCalendar(user.id, body.name);
            return reply.code(201).send({ '@odata.context': `${base}/v1.0/$metadata#users('${user.id}')/calendars/$entity`, ...calendarJson(cal) });
          }
          throw methodNotAllowed(method);
        }
        const cal = calendarOf(user, rest[1]!);
        if (rest.length === 2) {
          if (method === 'GET') {
            requirePermission(p, false);
            return { '@odata.context': `${base}/v1.0/$metadata#users('${user.id}')/calendars/$entity`, ...calendarJson(cal) };
          }
          if (method === 'PATCH') {
            requirePermission(p, true);
            const body = objectBody(req);
            if (typeof body.name === 'string' && body.name) cal.name = body.name;
            return { '@odata.context': `${base}/v1.0/$metadata#users('${user.id}')/calendars/$entity`, ...calendarJson(cal) };
          }
          if (method === 'DELETE') {
            requirePermission(p, true);
            if (cal.isDefault) throw new GraphError(400, 'ErrorCannotDeleteObject', 'The default calendar cannot be deleted.');
            events.deleteCalendarItems(cal.id);
            directory.calendars.delete(cal.id);
            return reply.code(204).send();
          }
          throw methodNotAllowed(method);
        }
        return handleEvents(req, reply, p, user, cal, rest.slice(2), prefer, linkBase);
      }
      if (kw[0] === 'calendar') {
        const cal = directory.defaultCalendar(user.id);
        if (rest.length === 1) {
          if (method !== 'GET') throw methodNotAllowed(method);
          requirePermission(p, false);
          return { '@odata.context': `${base}/v1.0/$metadata#users('${user.id}')/calendar/$entity`, ...calendarJson(cal) };
        }
        return handleEvents(req, reply, p, user, cal, rest.slice(1), prefer, linkBase);
      }
      if (kw[0] === 'events' || kw[0] === 'calendarview') {
        // /events/{id} reaches any calendar of the mailbox; lists and creates use the default calendar.
        return handleEvents(req, reply, p, user, kw[0] === 'events' && rest.length >= 2 ? null : directory.defaultCalendar(user.id), rest, prefer, linkBase);
      }
      throw unknownSegment(rest[0] ?? '');
    },
  });
}

function objectBody(req: FastifyRequest): Record<string, unknown> {
  const b = req.body;
  if (b === undefined || b === null || b === '') return {};
  if (typeof b !== 'object' || Array.isArray(b)) throw new GraphError(400, 'BadRequest', 'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.');
  return b as Record<string, unknown>;
}
