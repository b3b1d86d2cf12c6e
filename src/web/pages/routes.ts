/**
 * The pages: `/` (what this is), `/login`, the member's `/connect` (connect, reconnect and disconnect an Office 365
 * calendar, see its bookings and conflicts) and the operator's `/admin` (connections, attention first, filters,
 * sorting, paging, renew / resync / disconnect, a connection's detail, bookings per resource). Server-rendered, no
 * script, no CDN. They call the same services as the API, with the same roles and the same member scoping.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../core/errors.js';
import { httpStatus } from '../nexudus/error-map.js';
import { toApiError } from '../nexudus/error-handler.js';
import { pathId } from '../nexudus/entity-routes.js';
import { MAX_INT, type Condition, type ListQuery } from '../../core/list-query.js';
import { authorize, type Principal } from '../../modules/users/authenticator.js';

/** Whether `who` holds `role` (a full administrator holds every role): for what a page shows or leaves out. */
function can(who: Principal, role: string): boolean {
  return who.fullAdministrator || who.roles.has(role);
}
import { roleName } from '../../modules/users/roles.js';
import { CONNECTION_STATES as STATES, type CoworkerMsOfficeCalendar } from '../../modules/calendars/schema.js';
import type { ConnectFlow, Member } from '../../modules/connect/connect-flow.js';
import type { Authenticator } from '../../modules/users/authenticator.js';
import type { TokenService } from '../../modules/users/token-service.js';
import type { CoworkerMsOfficeCalendarService } from '../../modules/calendars/service.js';
import { runCommand, type CalendarCommandRunner } from '../../modules/calendars/commands.js';
import type { BookingService } from '../../modules/bookings/service.js';
import type { BookingRepository } from '../../modules/bookings/repository.js';
import type { ResourceService } from '../../modules/directory/resource-service.js';
import type { ConnectionRepository } from '../../modules/graph/connection-repository.js';
import type { Clock } from '../../core/clock.js';
import type { OperationsService } from '../../modules/operations/service.js';
import { Html, STYLESHEET, html, layout, when } from './html.js';
import { installSessions } from './session.js';

/** What the pages use: the same services as the API (web/app.ts's WebServices has them all). */
export interface PageServices {
  authenticator: Authenticator;
  tokenService: TokenService;
  calendarService: CoworkerMsOfficeCalendarService;
  bookingService: BookingService;
  resourceService: ResourceService;
  bookings: BookingRepository;
  commandRunner: CalendarCommandRunner;
  connections: Pick<ConnectionRepository, 'recentNotifications'>;
  connect: { flow: ConnectFlow | undefined };
  clock: Clock;
  /** What /readyz reports: the dashboard shows what is not ok (Microsoft refusing the app's credentials, say). */
  operations: Pick<OperationsService, 'readiness'>;
}

export interface PageDeps {
  services: PageServices;
  publicUrl: string;
}

const CAL = 'CoworkerMsOfficeCalendar';
const STATE_TEXT: Record<string, string> = {
  active: 'Connected', renewing: 'Connecting…', reauth_required: 'Sign in again', credentials_missing: 'Not connected', failed: 'Failed',
};

/** The sync history's words for the engine's jobs. */
const HISTORY_KIND: Record<string, string> = {
  subscribe: 'make the subscription', renew: 'renew the subscription', sync: 'read changes', reconcile: 'check the subscription, read everything', lifecycle: 'lifecycle notification',
};
const HISTORY_STATE: Record<string, string> = { pending: 'waiting', running: 'running', done: 'done', dead: 'gave up' };

function query(conditions: Condition[], o: Partial<ListQuery> = {}): ListQuery {
  return { page: 1, size: 100, orderBy: 'Id', descending: false, conditions, ...o };
}

export async function pageRoutes(app: FastifyInstance, deps: PageDeps): Promise<void> {
  const s = deps.services;
  const sessions = await installSessions(app, { authenticator: s.authenticator, tokens: s.tokenService, secure: deps.publicUrl.startsWith('https:') });
  const connect = (): ConnectFlow | undefined => s.connect.flow;
  const nowIso = () => new Date(s.clock.now()).toISOString();
  const expiresIn = (iso: string | null | undefined) => timeLeft(iso, s.clock.now());

  // Pages send their own CSP: no scripts, styles from here, forms only here and to Microsoft's sign-in.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (String(reply.getHeader('content-type') ?? '').startsWith('text/html')) {
      const signIn = connect()?.signInOrigin ?? '';
      reply.header('content-security-policy', `default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' ${signIn}; frame-ancestors 'none'; base-uri 'none'`.replace(/ +;/g, ';'));
      reply.header('cache-control', 'no-store');
      // Browsers send "Origin: null" with a form post from a no-referrer page, which the cross-site check refuses.
      reply.header('referrer-policy', 'same-origin');
    }
    return payload;
  });

  // Every page reads each query or form field as one text: a field given twice (`?next=/a&next=/b`) arrives as an
  // array, and is refused here, once for every page, before any handler sees it.
  app.addHook('preValidation', async (request) => {
    for (const fields of [request.query, request.body]) {
      if (!fields || typeof fields !== 'object') continue;
      for (const [name, value] of Object.entries(fields)) if (Array.isArray(value)) throw AppError.field(name, 'was given more than once; give it once');
    }
  });

  app.setErrorHandler(async (err: Error & { statusCode?: number; code?: string }, request, reply) => {
    // Fastify's and the CSRF plugin's errors carry their 4xx; the rest is classified as the API does (a value the
    // database refuses is the client's 400) and mapped by the one error map.
    const framework = !(err instanceof AppError) && err.statusCode !== undefined && err.statusCode < 500;
    const known = framework ? undefined : toApiError(err as never, request.body);
    const status = known ? httpStatus(known) : err.statusCode!;
    if (status >= 500) request.log.error({ err }, 'page failed');
    const message = err.code?.startsWith('FST_CSRF') ? 'This form has expired or did not come from calbridge. Go back, reload the page and try again.'
      : status >= 500 ? 'Something went wrong on our side. Try again in a moment.' : (known ?? err).message;
    // Still signed in on an error page (with its sign-out button), unless the session itself is what failed.
    const who = status >= 500 ? undefined : await sessions.principal(request, reply).catch(() => undefined);
    return send(reply, 'Error', html`<h1>${status === 404 ? 'Not found' : status === 403 ? 'Not allowed' : 'Something is wrong'}</h1><p class="notice bad">${message}</p><p><a href="/connect">My calendar</a> · <a href="/">Home</a></p>`, who, status);
  });

  const send = (reply: FastifyReply, title: string, body: Html, who?: Principal, status = 200) =>
    reply.code(status).type('text/html; charset=utf-8').send(layout({ title, body, ...(who ? { signedIn: { email: who.email, csrf: csrfToken(reply), member: who.memberOf !== null } } : {}) }));

  /** The signed-in principal, or a redirect to the sign-in page (then undefined). */
  const signedIn = async (request: FastifyRequest, reply: FastifyReply): Promise<Principal | undefined> => {
    const who = await sessions.principal(request, reply);
    if (!who) void reply.redirect(`/login?next=${encodeURIComponent(request.url)}`, 303);
    return who;
  };
  // One token per page, however many forms it has.
  const tokens = new WeakMap<FastifyReply, string>();
  const csrfToken = (reply: FastifyReply) => tokens.get(reply) ?? tokens.set(reply, reply.generateCsrf()).get(reply)!;
  const csrfField = (reply: FastifyReply) => html`<input type="hidden" name="_csrf" value="${csrfToken(reply)}">`;
  const form = (request: FastifyRequest) => (request.body && typeof request.body === 'object' ? request.body : {}) as Record<string, string | undefined>;

  app.get('/assets/calbridge.css', { schema: { hide: true } }, async (_request, reply) => reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(STYLESHEET));

  // ---- home and sign-in ------------------------------------------------------------------------------------------

  app.get('/', { schema: { hide: true } }, async (request, reply) => {
    const who = await sessions.principal(request, reply);
    return send(reply, 'Home', html`<h1>calbridge</h1>
<section><p>calbridge connects members' Microsoft 365 calendars to the space's bookable rooms and desks. Invite a room to a meeting in Outlook and it is booked; a booking made here appears in your calendar. When a room is already taken, the meeting is marked in Outlook.</p>
<ul><li><a href="/connect">Connect your Office 365 calendar</a> (members)</li><li><a href="/admin">Dashboard</a> (space operators)</li><li><a href="/docs">API documentation</a> (Nexudus-compatible REST API)</li></ul></section>`, who);
  });

  app.get('/login', { schema: { hide: true } }, async (request, reply) => {
    const next = safeNext((request.query as { next?: string }).next);
    return loginPage(reply, next);
  });
  const loginPage = (reply: FastifyReply, next: string, error?: string, status = 200) => send(reply, 'Sign in', html`<h1>Sign in</h1>
${error ? html`<p class="notice bad" role="alert">${error}</p>` : ''}
<section><form method="post" action="/login">${csrfField(reply)}<input type="hidden" name="next" value="${next}">
<label for="email">E-mail</label><input id="email" name="email" type="email" autocomplete="username" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<p><button>Sign in</button></p></form><p class="muted">Members get their login from the space's staff.</p></section>`, undefined, status);

  app.post('/login', { schema: { hide: true }, preHandler: app.csrfProtection }, async (request, reply) => {
    const f = form(request);
    const next = safeNext(f.next);
    try {
      if (await sessions.signIn(reply, String(f.email ?? ''), String(f.password ?? ''), request.ip)) return reply.redirect(next, 303);
    } catch (err) {
      if (err instanceof AppError && err.kind === 'throttled') return loginPage(reply, next, 'Too many failed sign-ins. Wait a few minutes and try again.', 429);
      throw err;
    }
    return loginPage(reply, next, 'The e-mail or password is incorrect.', 401);
  });

  app.post('/logout', { schema: { hide: true }, preHandler: app.csrfProtection }, async (request, reply) => {
    await sessions.signOut(request, reply);
    return reply.redirect('/', 303);
  });

  // ---- the member: /connect --------------------------------------------------------------------------------------

  const memberOf = (who: Principal): Member | undefined => (who.memberOf === null ? undefined : { userId: who.userId, email: who.email, coworkerId: who.memberOf });

  app.get('/connect', { schema: { hide: true } }, async (request, reply) => {
    const who = await signedIn(request, reply);
    if (!who) return reply;
    const member = memberOf(who);
    if (!member) {
      return send(reply, 'Connect', html`<h1>Connect a calendar</h1><p class="notice">This page is for members: sign in with a member login (a user with a CoworkerId) to connect your own calendar. Operators see every connection on the <a href="/admin">dashboard</a>.</p>`, who);
    }
    const { records } = await s.calendarService.list(query([{ field: 'CoworkerId', op: 'eq', value: member.coworkerId }]));
    const flow = connect();
    const q = request.query as { connected?: string; reconnected?: string; disconnected?: string };
    const names = await resourceNames();
    const cards: Html[] = [];
    for (const r of records) cards.push(await memberCard(reply, r, names));
    return send(reply, 'My calendar', html`<h1>My calendar</h1>
${q.connected ? html`<p class="notice" role="status">Your calendar is connected. Invite a room to a meeting in Outlook and it will be booked.</p>` : ''}
${q.reconnected ? html`<p class="notice" role="status">You are signed in again: your calendar is back in sync.</p>` : ''}
${q.disconnected ? html`<p class="notice" role="status">The calendar was disconnected.</p>` : ''}
${cards.length ? cards : html`<section><p>No calendar is connected yet.</p></section>`}
${flow ? html`<form method="post" action="/connect/start">${csrfField(reply)}<button>Connect Office 365 calendar</button></form>`
    : html`<p class="notice bad">Connecting is not available on this server process (it does not run the sync engine). Try again later, or tell the space's staff.</p>`}`, who);
  });

  const resourceNames = async (): Promise<Map<number, string>> =>
    new Map((await s.resourceService.list(query([], { size: 1000, orderBy: 'Name' }))).records.map((r) => [r.Id, r.Name]));

  const memberCard = async (reply: FastifyReply, r: CoworkerMsOfficeCalendar, names: Map<number, string>): Promise<Html> => {
    const status = await s.commandRunner.status(r.Id);
    const state = status?.State ?? 'credentials_missing';
    const now = nowIso();
    const { records: upcoming } = await s.bookingService.list(query([
      { field: 'CoworkerMsOfficeCalendarId', op: 'eq', value: r.Id }, { field: 'ToTime', op: 'gte', value: now },
    ], { size: 20, orderBy: 'FromTime' }));
    const conflicts = await s.bookings.conflictsOfConnection(r.Id);
    return html`<section aria-labelledby="cal-${r.Id}"><h2 id="cal-${r.Id}">${r.Name} <span class="state ${state}">${STATE_TEXT[state] ?? state}</span></h2>
<p class="muted">${status?.Mailbox ?? ''} · books ${names.get(r.ResourceId) ?? `resource ${r.ResourceId}`}${status?.DedicatedBookingCalendar ? ' · dedicated booking calendar (every busy event books it)' : ''} · last sync ${when(status?.LastSync)}</p>
${state === 'reauth_required' ? html`<p class="notice bad">Microsoft no longer accepts your sign-in. Sign in again to keep your bookings in sync.</p><form method="post" action="/connect/start" class="inline">${csrfField(reply)}<input type="hidden" name="record" value="${r.Id}"><button>Reconnect</button></form>` : ''}
${state === 'failed' ? html`<p class="notice bad">${memberFailureText(status?.ActionBy ?? null)}</p>` : ''}
<h3>Upcoming bookings</h3>${upcoming.length ? html`<div class="scroll"><table class="cards upcoming"><thead><tr><th scope="col">Resource</th><th scope="col">From</th><th scope="col">To</th><th scope="col">What</th></tr></thead><tbody>${upcoming.map((b) => html`<tr><td>${b.ResourceName}</td><td>${when(b.FromTime)}</td><td>${when(b.ToTime)}</td><td>${b.Notes ?? ''}</td></tr>`)}</tbody></table></div>` : html`<p class="muted">None.</p>`}
${conflicts.length ? html`<h3>Not booked (the resource was taken)</h3><ul>${conflicts.map((c) => html`<li>${c.subject ?? 'Event'}: ${when(c.from_time)} – ${when(c.to_time)}</li>`)}</ul>` : ''}
<p><a class="button secondary" href="/connect/${r.Id}/disconnect">Disconnect…</a></p></section>`;
  };

  /** A signed-in member on a process that can connect (else a redirect to sign in, or 403). */
  const connecting = async (request: FastifyRequest, reply: FastifyReply) => {
    const who = await signedIn(request, reply);
    if (!who) return undefined;
    const member = memberOf(who);
    const flow = connect();
    if (!member || !flow) throw new AppError('forbidden', 'Only a member login can connect a calendar, on a process that runs the sync engine.');
    return { who, member, flow };
  };

  app.post('/connect/start', { schema: { hide: true }, preHandler: app.csrfProtection }, async (request, reply) => {
    const signed = await connecting(request, reply);
    if (!signed) return reply;
    const { who, member, flow } = signed;
    const recordText = form(request).record;
    const record = recordText ? await ownRecord(who, recordText) : undefined;
    return reply.redirect(await flow.start(member, `${request.protocol}://${request.host}`, record), 303);
  });

  app.get('/connect/callback', { schema: { hide: true } }, async (request, reply) => {
    const signed = await connecting(request, reply);
    if (!signed) return reply;
    const { who, member, flow } = signed;
    const result = await flow.callback(member, request.query as Record<string, string | undefined>);
    if (result.kind === 'reconnected') return reply.redirect('/connect?reconnected=1', 303);
    if (result.kind === 'error') {
      const e = result.error;
      return send(reply, e.title, html`<h1>${e.title}</h1><p class="notice bad" role="alert">${e.advice}</p>
<p class="muted">${e.by === 'operator' ? 'This needs the space staff or your Microsoft 365 administrator.' : 'You can fix this yourself.'}</p><p><a href="/connect">Back to my calendar</a></p>`, who, 400);
    }
    return choosePage(reply, who, result.attemptId, result.mailbox, result.calendars);
  });

  const choosePage = async (reply: FastifyReply, who: Principal, attemptId: number, mailbox: string, calendars: Array<{ id: string; name: string; isDefault: boolean }>, error?: string) => {
    const { records: resources } = await s.resourceService.list(query([], { size: 1000, orderBy: 'Name' }));
    return send(reply, 'Choose a calendar', html`<h1>Choose what to connect</h1>
${error ? html`<p class="notice bad" role="alert">${error}</p>` : ''}
<section><p>Signed in with Microsoft as <b>${mailbox}</b>.</p>
<form method="post" action="/connect/finish">${csrfField(reply)}<input type="hidden" name="attempt" value="${attemptId}">
<label for="calendar">Calendar</label><select id="calendar" name="calendar">${calendars.map((c) => html`<option value="${c.id}">${c.name}${c.isDefault ? ' (default)' : ''}</option>`)}</select>
<label for="resource">Resource</label><select id="resource" name="resource">${resources.map((r) => html`<option value="${r.Id}">${r.Name}</option>`)}</select>
<p class="muted">Meetings that invite a room book it whatever you choose here; this resource is the one a dedicated booking calendar books.</p>
<label><input type="checkbox" name="dedicated" value="1"> This is a dedicated booking calendar: every busy event in it books the resource</label>
<p><button>Connect</button> <a href="/connect">Cancel</a></p></form></section>`, who, error ? 400 : 200);
  };

  app.post('/connect/finish', { schema: { hide: true }, preHandler: app.csrfProtection }, async (request, reply) => {
    const signed = await connecting(request, reply);
    if (!signed) return reply;
    const { who, member, flow } = signed;
    const f = form(request);
    const attemptId = idParam(f.attempt) ?? 0;
    try {
      const resourceId = idParam(f.resource);
      if (!resourceId) throw AppError.field('Resource', 'choose one of the space\'s resources', f.resource ?? null);
      const record = await flow.finish(member, attemptId, { calendarId: String(f.calendar ?? ''), resourceId, dedicated: f.dedicated === '1' });
      return reply.redirect(`/connect?connected=${record.Id}`, 303);
    } catch (err) {
      if (!(err instanceof AppError) || err.kind !== 'validation') throw err;
      const { attempt, calendars } = await flow.calendarsOf(member, attemptId);
      return choosePage(reply, who, attemptId, attempt.mailbox ?? '', calendars, (err.fieldErrors ?? []).map((e) => `${e.PropertyName}: ${e.Message}`).join(' ') || err.message);
    }
  });

  const ownRecord = async (who: Principal, idText: string): Promise<CoworkerMsOfficeCalendar> => {
    const record = await s.calendarService.get(pathId(idText));
    if (!record || (who.memberOf !== null && record.CoworkerId !== who.memberOf)) throw AppError.notFound('CoworkerMsOfficeCalendar not found.');
    return record;
  };

  app.get('/connect/:id/disconnect', { schema: { hide: true } }, async (request, reply) => {
    const who = await signedIn(request, reply);
    if (!who) return reply;
    authorize(who, roleName(CAL, 'Delete'));
    const record = await ownRecord(who, (request.params as { id: string }).id);
    return send(reply, 'Disconnect', html`<h1>Disconnect ${record.Name}?</h1><section><p>calbridge stops reading this calendar. Bookings already made stay; new meetings will not book rooms until you connect again.</p>
<form method="post" action="/connect/${record.Id}/disconnect">${csrfField(reply)}<button class="danger">Disconnect</button> <a href="${who.memberOf === null ? `/admin/connections/${record.Id}` : '/connect'}">Keep it</a></form></section>`, who);
  });

  app.post('/connect/:id/disconnect', { schema: { hide: true }, preHandler: app.csrfProtection }, async (request, reply) => {
    const who = await signedIn(request, reply);
    if (!who) return reply;
    authorize(who, roleName(CAL, 'Delete'));
    const record = await ownRecord(who, (request.params as { id: string }).id);
    await runCommand('DISCONNECT', record.Id, { userId: who.userId, email: who.email }, { service: s.calendarService, runner: s.commandRunner });
    return reply.redirect(who.memberOf === null ? '/admin' : '/connect?disconnected=1', 303);
  });

  // ---- the operator: /admin ---------------------------------------------------------------------------------------

  const operator = async (request: FastifyRequest, reply: FastifyReply): Promise<Principal | undefined> => {
    const who = await signedIn(request, reply);
    if (!who) return undefined;
    if (who.memberOf !== null) throw new AppError('forbidden', 'The dashboard is for the space operators. Your own calendar is on the "My calendar" page.');
    authorize(who, roleName(CAL, 'List'));
    return who;
  };

  app.get('/admin', { schema: { hide: true } }, async (request, reply) => {
    const who = await operator(request, reply);
    if (!who) return reply;
    const q = request.query as Record<string, string | undefined>;
    const page = Math.max(1, Math.min(100_000, Number(q.page) || 1));
    const sort = ['Id', 'Name', 'CoworkerFullName', 'ResourceId', 'State', 'SubscriptionExpireDate'].includes(q.sort ?? '') ? q.sort! : 'Id';
    const desc = q.dir === 'desc';
    const conditions: Condition[] = [];
    if (q.state && (STATES as readonly string[]).includes(q.state)) conditions.push({ field: 'State', op: 'eq', value: q.state });
    const resourceFilter = idParam(q.resource);
    if (resourceFilter) conditions.push({ field: 'ResourceId', op: 'eq', value: resourceFilter });
    const memberFilter = q.member?.trim().slice(0, 200);
    if (memberFilter && /[\u0000-\u001f]/.test(memberFilter)) throw AppError.field('member', 'cannot contain control characters', null);
    if (memberFilter) conditions.push({ field: 'CoworkerFullName', op: 'contains', value: memberFilter });
    const { records, total } = await s.calendarService.list(query(conditions, { page, size: 25, orderBy: sort, descending: desc }));
    const { records: resources } = await s.resourceService.list(query([], { size: 1000, orderBy: 'Name' }));
    const seesBookings = can(who, roleName('Booking', 'List'));
    const attention = await needsAttention(seesBookings);
    const health = await s.operations.readiness();
    const unwell = Object.entries(health.checks).filter(([, v]) => v !== 'ok' && v !== 'running');
    const link = (o: Record<string, string | number | undefined>) => `/admin?${new URLSearchParams(Object.entries({ ...q, ...o }).filter(([, v]) => v !== undefined && v !== '') as Array<[string, string]>)}`;
    const head = (field: string, label: string) => html`<th scope="col"><a href="${link({ sort: field, dir: sort === field && !desc ? 'desc' : 'asc', page: 1 })}">${label}${sort === field ? (desc ? ' ▼' : ' ▲') : ''}</a></th>`;
    const names = new Map(resources.map((r) => [r.Id, r.Name]));
    const rows = await Promise.all(records.map((r) => row(reply, who, r, names, seesBookings)));
    const pages = Math.max(1, Math.ceil(total / 25));
    return send(reply, 'Dashboard', html`<h1>Connections</h1>
${unwell.length ? html`<p class="notice bad" role="alert">This calbridge process is not well (as <a href="/readyz">/readyz</a> says): ${unwell.map(([k, v]) => `${k}: ${v}`).join('; ')}.</p>` : ''}
<section class="${attention.items.length ? 'attention' : ''}"><h2>Needs attention (${attention.items.length})</h2>${attention.items.length
      ? html`<ul>${attention.items.map((a) => html`<li><a href="/admin/connections/${a.record.Id}">${a.record.CoworkerFullName ?? 'no member'} · ${a.record.Name}</a>: ${a.why}</li>`)}</ul>`
      : html`<p class="muted">Every connection is healthy.</p>`}${attention.more.length ? html`<p class="muted">And: ${attention.more.join('; ')}.</p>` : ''}</section>
<form method="get" action="/admin" class="row" aria-label="Filters">
<div><label for="f-state">State</label><select id="f-state" name="state"><option value="">any</option>${STATES.map((st) => html`<option value="${st}"${q.state === st ? new Html(' selected') : ''}>${st}</option>`)}</select></div>
<div><label for="f-resource">Resource</label><select id="f-resource" name="resource"><option value="">any</option>${resources.map((r) => html`<option value="${r.Id}"${resourceFilter === r.Id ? new Html(' selected') : ''}>${r.Name}</option>`)}</select></div>
<div><label for="f-member">Member</label><input id="f-member" name="member" type="text" value="${q.member ?? ''}"></div>
<div><button>Filter</button> <a href="/admin">Clear</a></div></form>
<p class="muted">${total} connection(s)${seesBookings ? html` · <a href="/admin/bookings">Bookings by resource</a>` : ''}</p>
<div class="scroll"><table class="cards connections"><thead><tr>${head('CoworkerFullName', 'Member')}${head('Name', 'Calendar')}${head('ResourceId', 'Resource')}${head('State', 'State')}${head('SubscriptionExpireDate', 'Subscription expires')}<th scope="col" class="optional">Last notification</th><th scope="col" class="optional">Last sync</th><th scope="col">Conflicts</th><th scope="col">Actions</th></tr></thead>
<tbody>${rows}</tbody></table></div>
<p>Page ${page} of ${pages} ${page > 1 ? html`<a href="${link({ page: page - 1 })}">Previous</a>` : ''} ${page < pages ? html`<a href="${link({ page: page + 1 })}">Next</a>` : ''}</p>`, who);
  });

  const row = async (reply: FastifyReply, who: Principal, r: CoworkerMsOfficeCalendar, names: Map<number, string>, seesBookings: boolean) => {
    const st = await s.commandRunner.status(r.Id);
    const conflicts = seesBookings ? (await s.bookings.conflictsOfConnection(r.Id)).length : '—';
    const state = st?.State ?? 'credentials_missing';
    return html`<tr><td>${r.CoworkerFullName ?? '—'}</td><td><a href="/admin/connections/${r.Id}">${r.Name}</a></td><td>${names.get(r.ResourceId) ?? r.ResourceId}</td>
<td><span class="state ${state}">${state}</span></td><td>${expiresIn(r.SubscriptionExpireDate)}</td><td class="optional">${when(st?.LastNotification)}</td><td class="optional">${when(st?.LastSync)}</td><td>${conflicts}</td>
<td>${actions(reply, who, r)}</td></tr>`;
  };

  /** Renew, Resync (-Edit) and Disconnect (-Delete), each named with its connection for screen readers. */
  const actions = (reply: FastifyReply, who: Principal, r: CoworkerMsOfficeCalendar) => {
    const whose = `${r.CoworkerFullName ?? 'no member'}: ${r.Name}`;
    return html`<div class="actions">${can(who, roleName(CAL, 'Edit')) ? (['renew', 'resync'] as const).map((c) => html`<form method="post" action="/admin/connections/${r.Id}/${c}" class="inline">${csrfField(reply)}<button class="secondary" aria-label="${c === 'renew' ? 'Renew' : 'Resync'} ${whose}">${c === 'renew' ? 'Renew' : 'Resync'}</button></form>`) : ''}${can(who, roleName(CAL, 'Delete')) ? html`<a class="button secondary" href="/connect/${r.Id}/disconnect" aria-label="Disconnect ${whose}">Disconnect…</a>` : ''}</div>`;
  };

  /** Connections an operator must look at: refused sign-ins, failures, expiring without renewal, open conflicts. */
  /** How many of each kind the list shows; beyond that it says how many more there are (the filters find them). */
  const ATTENTION_EACH = 50;
  const needsAttention = async (withConflicts: boolean): Promise<{ items: Array<{ record: CoworkerMsOfficeCalendar; why: string }>; more: string[] }> => {
    const out = new Map<number, { record: CoworkerMsOfficeCalendar; why: string[] }>();
    const more: string[] = [];
    const add = (record: CoworkerMsOfficeCalendar, why: string) => (out.get(record.Id) ?? out.set(record.Id, { record, why: [] }).get(record.Id)!).why.push(why);
    const each = async (what: string, conditions: Condition[], why: (r: CoworkerMsOfficeCalendar) => string) => {
      const { records, total } = await s.calendarService.list(query(conditions, { size: ATTENTION_EACH, orderBy: 'SubscriptionExpireDate' }));
      for (const r of records) add(r, why(r));
      if (total > records.length) more.push(`${total - records.length} more ${what}`);
    };
    await each('waiting for the member to sign in again', [{ field: 'State', op: 'eq', value: 'reauth_required' }], () => 'the member must sign in again');
    await each('failed', [{ field: 'State', op: 'eq', value: 'failed' }], () => 'failed');
    // A subscription is renewed a day before it expires: one still expiring within 24 h had no successful renewal,
    // whether it is active or stuck renewing (Graph refusing each attempt).
    const soon = new Date(s.clock.now() + 86_400_000).toISOString();
    for (const state of ['active', 'renewing'] as const) {
      await each(`${state} and expiring within 24 h`, [{ field: 'SubscriptionExpireDate', op: 'lt', value: soon }, { field: 'State', op: 'eq', value: state }], (r) => {
        const left = expiresIn(r.SubscriptionExpireDate);
        return left === 'expired' ? 'the subscription expired without a renewal' : `the subscription expires ${left} without a renewal`;
      });
    }
    if (withConflicts) {
      const { records: conflicts, total } = await s.bookings.listConflicts(query([], { size: 1000 }));
      const byConnection = new Map<number, number>();
      for (const c of conflicts) byConnection.set(c.CoworkerMsOfficeCalendarId, (byConnection.get(c.CoworkerMsOfficeCalendarId) ?? 0) + 1);
      for (const r of await s.calendarService.getMany([...byConnection.keys()])) add(r, `${byConnection.get(r.Id)} open conflict(s)`);
      if (total > conflicts.length) more.push(`${total - conflicts.length} more open conflicts (GET /api/spaces/bookingconflicts lists them all)`);
    }
    return { items: [...out.values()].map((a) => ({ record: a.record, why: a.why.join('; ') })), more };
  };

  app.post('/admin/connections/:id/:command', { schema: { hide: true }, preHandler: app.csrfProtection }, async (request, reply) => {
    const who = await operator(request, reply);
    if (!who) return reply;
    const { id, command } = request.params as { id: string; command: string };
    const record = await ownRecord(who, id);
    authorize(who, roleName(CAL, 'Edit'));
    const key = ({ renew: 'RENEW_SUBSCRIPTION', resync: 'RESYNC' } as const)[command as 'renew' | 'resync'];
    if (!key) throw AppError.notFound('No such command.');
    await runCommand(key, record.Id, { userId: who.userId, email: who.email }, { service: s.calendarService, runner: s.commandRunner });
    return reply.redirect(`/admin/connections/${record.Id}?done=${command}`, 303);
  });

  app.get('/admin/connections/:id', { schema: { hide: true } }, async (request, reply) => {
    const who = await operator(request, reply);
    if (!who) return reply;
    // The same roles as the API: the status is -Read's (GET .../status), bookings and conflicts Booking-List's.
    authorize(who, roleName(CAL, 'Read'));
    const record = await ownRecord(who, (request.params as { id: string }).id);
    const st = await s.commandRunner.status(record.Id);
    const [history, work] = await Promise.all([s.connections.recentNotifications(record.Id, 20), s.commandRunner.history(record.Id, 20)]);
    const seesBookings = can(who, roleName('Booking', 'List'));
    const { records: bookings } = seesBookings
      ? await s.bookingService.list(query([{ field: 'CoworkerMsOfficeCalendarId', op: 'eq', value: record.Id }], { size: 50, orderBy: 'FromTime', descending: true }))
      : { records: [] };
    const conflicts = seesBookings ? await s.bookings.conflictsOfConnection(record.Id) : [];
    const done = (request.query as { done?: string }).done;
    return send(reply, record.Name, html`<h1>${record.CoworkerFullName ?? 'No member'} · ${record.Name}</h1>
${done ? html`<p class="notice" role="status">${done === 'renew' ? 'Renewal queued.' : 'A full resync was queued.'}</p>` : ''}
<section><dl>
<dt>State</dt><dd><span class="state ${st?.State ?? ''}">${st?.State ?? 'no connection'}</span> ${st?.LastError ? html`<span class="muted">${st.LastError}</span>` : ''}</dd>
${st?.ActionBy ? html`<dt>Who must act</dt><dd>${st.ActionBy === 'operator' ? 'the space (an operator): fix the cause, then Renew' : 'the member: they sign in again on their page'}</dd>` : ''}
<dt>Mailbox</dt><dd>${st?.Mailbox ?? '—'} (${st?.AuthMode ?? '—'})</dd><dt>Resource</dt><dd>${(await resourceNames()).get(record.ResourceId) ?? record.ResourceId}${st?.DedicatedBookingCalendar ? ' · dedicated booking calendar' : ''}</dd>
<dt>Subscription</dt><dd>expires ${expiresIn(record.SubscriptionExpireDate)} · last renewal ${when(st?.LastRenewal)} · next ${when(st?.NextRenewal)}</dd>
<dt>Sync</dt><dd>last ${when(st?.LastSync)} · last full ${when(st?.LastFullSync)} · last notification ${when(st?.LastNotification)}</dd></dl>
${actions(reply, who, record)}</section>
<h2>Recent sync history</h2>${work.length ? html`<div class="scroll"><table class="cards history"><thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">Outcome</th><th scope="col">Tries</th><th scope="col">Error</th></tr></thead><tbody>
${work.map((w) => html`<tr><td>${when(w.At)}</td><td>${HISTORY_KIND[w.Kind] ?? w.Kind}</td><td>${HISTORY_STATE[w.State] ?? w.State}</td><td>${w.Attempts}</td><td>${w.Error ?? ''}</td></tr>`)}</tbody></table></div>` : html`<p class="muted">Nothing yet.</p>`}
<h2>Recent notifications</h2>${history.length ? html`<ul>${history.map((h) => html`<li>${when(h.received_at)}: ${h.kind} ${h.change_type ?? h.lifecycle_event ?? ''}</li>`)}</ul>` : html`<p class="muted">None yet.</p>`}
${seesBookings ? html`<h2>Open conflicts</h2>${conflicts.length ? html`<ul>${conflicts.map((c) => html`<li>${c.subject ?? 'Event'} ${when(c.from_time)} – ${when(c.to_time)} (blocked by booking ${c.blocking_booking_id ?? '?'})</li>`)}</ul>` : html`<p class="muted">None.</p>`}
<h2>Bookings (latest 50)</h2>${bookingTable(bookings)}` : html`<p class="muted">Bookings and conflicts need the role Booking-List.</p>`}`, who);
  });

  app.get('/admin/bookings', { schema: { hide: true } }, async (request, reply) => {
    const who = await operator(request, reply);
    if (!who) return reply;
    authorize(who, roleName('Booking', 'List'));
    const q = request.query as Record<string, string | undefined>;
    const { records: resources } = await s.resourceService.list(query([], { size: 1000, orderBy: 'Name' }));
    const resourceId = idParam(q.resource) ?? resources[0]?.Id ?? 0;
    const day = /^\d{4}-\d{2}-\d{2}$/.test(q.date ?? '') && !Number.isNaN(Date.parse(q.date!)) ? q.date! : nowIso().slice(0, 10);
    const week = q.view === 'week';
    const from = `${day}T00:00:00.000Z`;
    const span = (week ? 7 : 1) * 86_400_000;
    const to = new Date(Date.parse(from) + span).toISOString();
    const step = (n: number) => `/admin/bookings?${new URLSearchParams({ resource: String(resourceId), date: new Date(Date.parse(from) + n * span).toISOString().slice(0, 10), view: week ? 'week' : 'day' })}`;
    const { records: bookings } = resourceId ? await s.bookingService.list(query([
      { field: 'ResourceId', op: 'eq', value: resourceId }, { field: 'ToTime', op: 'gte', value: from }, { field: 'FromTime', op: 'lt', value: to },
    ], { size: 1000, orderBy: 'FromTime' })) : { records: [] };
    return send(reply, 'Bookings', html`<h1>Bookings by resource</h1>
<form method="get" action="/admin/bookings" class="row" aria-label="Which bookings">
<div><label for="b-resource">Resource</label><select id="b-resource" name="resource">${resources.map((r) => html`<option value="${r.Id}"${r.Id === resourceId ? new Html(' selected') : ''}>${r.Name}</option>`)}</select></div>
<div><label for="b-date">${week ? 'Week from' : 'Day'}</label><input id="b-date" name="date" type="date" value="${day}"></div>
<div><label for="b-view">View</label><select id="b-view" name="view"><option value="day">Day</option><option value="week"${week ? new Html(' selected') : ''}>Week</option></select></div>
<div><button>Show</button></div></form>
<p class="muted">${when(from)} – ${when(to)}: ${bookings.length} booking(s)</p>
<p><a href="${step(-1)}">← Previous ${week ? 'week' : 'day'}</a> · <a href="${step(1)}">Next ${week ? 'week' : 'day'} →</a></p>${bookingTable(bookings)}`, who);
  });
}

/**
 * What a member reads about a failed connection. Not LastError: that is written for the operator (calbridge's settings,
 * the app's id, what to run), and what fixes it is theirs; the dashboard shows it whole.
 */
function memberFailureText(actionBy: 'operator' | 'member' | null): string {
  return actionBy === 'operator'
    ? "The connection failed, and the space's staff must fix it: Microsoft refused calbridge's access to this calendar (your organisation's policy, a permission, or calbridge's own settings). They see the details on their dashboard and will fix it or contact you; nothing is needed from you now."
    : "The connection failed: Microsoft did not answer after several tries. The space's staff see it on their dashboard and can retry it.";
}

function bookingTable(bookings: Array<{ Id: number; ResourceName: string; CoworkerFullName: string | null; FromTime: string; ToTime: string; Source: string; Notes: string | null }>): Html {
  if (!bookings.length) return html`<p class="muted">No bookings.</p>`;
  return html`<div class="scroll"><table class="cards bookings"><thead><tr><th scope="col">From</th><th scope="col">To</th><th scope="col">Resource</th><th scope="col">Member</th><th scope="col">From where</th><th scope="col" class="optional">Notes</th></tr></thead><tbody>
${bookings.map((b) => html`<tr><td>${when(b.FromTime)}</td><td>${when(b.ToTime)}</td><td>${b.ResourceName}</td><td>${b.CoworkerFullName ?? '—'}</td><td>${b.Source === 'outlook' ? 'Outlook' : 'API'}</td><td class="optional">${b.Notes ?? ''}</td></tr>`)}</tbody></table></div>`;
}

/** "in 3 days", "in 5 h", "expired" (a subscription's expiry as an operator reads it). */
function timeLeft(iso: string | null | undefined, now: number): string {
  if (!iso) return '—';
  const ms = Date.parse(iso) - now;
  if (!Number.isFinite(ms)) return '—';
  if (ms < 0) return 'expired';
  const h = Math.floor(ms / 3_600_000);
  return h >= 48 ? `in ${Math.floor(h / 24)} days` : `in ${h} h`;
}

/** A record id from a page's query string, or undefined for anything else (the filter is then not applied). */
function idParam(v: string | undefined): number | undefined {
  const n = Number(v);
  return Number.isSafeInteger(n) && n > 0 && n <= MAX_INT ? n : undefined;
}

/** Only a path of this site (no scheme, no //host): an open redirect would send members anywhere. */
function safeNext(next: string | undefined): string {
  return next && /^\/(?!\/)[^\\]*$/.test(next) && !next.startsWith('/login') ? next : '/connect';
}
