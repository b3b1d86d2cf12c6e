/**
 * The pages over HTTP, without a browser (test/e2e/pages.test.ts drives Chromium through the flows): headers, the
 * session cookie's attributes, CSRF, open redirects, and the dashboard's filters, paging and bookings view.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { ADMIN_EMAIL, ADMIN_PASSWORD, testApp, type TestApp } from '../helpers/app.js';
import { call } from '../helpers/api.js';
import { createCalendar, createCoworker, createResource } from '../helpers/factories.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** A browser's cookie jar, enough for these pages. */
class Browser {
  private readonly jar = new Map<string, string>();
  constructor(private readonly t: TestApp) {}
  async get(url: string): Promise<LightMyRequestResponse> {
    return this.keep(await this.t.app.inject({ method: 'GET', url, headers: { cookie: this.cookie() } }));
  }
  async post(url: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    return this.keep(await this.t.app.inject({ method: 'POST', url, headers: { ...FORM, cookie: this.cookie(), ...headers }, payload: new URLSearchParams(fields).toString() }));
  }
  /** A form body as written (fields may repeat). */
  async postRaw(url: string, body: string): Promise<LightMyRequestResponse> {
    return this.keep(await this.t.app.inject({ method: 'POST', url, headers: { ...FORM, cookie: this.cookie() }, payload: body }));
  }
  /** The CSRF token of the page's first form. */
  static csrf(page: LightMyRequestResponse): string {
    return /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
  }
  async signIn(email: string, password: string): Promise<LightMyRequestResponse> {
    const page = await this.get('/login');
    return this.post('/login', { _csrf: Browser.csrf(page), email, password, next: '/admin' });
  }
  private cookie(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  private keep(res: LightMyRequestResponse): LightMyRequestResponse {
    for (const c of res.cookies) c.value ? this.jar.set(c.name, c.value) : this.jar.delete(c.name);
    return res;
  }
}

test('pages send a script-free Content-Security-Policy and no-store; the stylesheet is served here', async (ctx) => {
  const t = await testApp(ctx);
  const home = await t.app.inject({ method: 'GET', url: '/' });
  assert.equal(home.statusCode, 200);
  assert.match(String(home.headers['content-type']), /^text\/html/);
  const csp = String(home.headers['content-security-policy']);
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /script-src|unsafe-inline/);
  assert.equal(home.headers['referrer-policy'], 'same-origin');
  assert.equal(home.headers['cache-control'], 'no-store');
  assert.equal(home.headers['x-content-type-options'], 'nosniff');
  assert.match(home.body, /href="\/connect"/);
  assert.match(home.body, /href="\/admin"/);
  assert.match(home.body, /href="\/docs"/);
  const css = await t.app.inject({ method: 'GET', url: '/assets/calbridge.css' });
  assert.match(String(css.headers['content-type']), /^text\/css/);
});

test('signing in needs the CSRF token; the session cookie is HttpOnly and SameSite=Lax (Secure behind https)', async (ctx) => {
  const t = await testApp(ctx);
  const b = new Browser(t);
  const signedOut = await b.get('/admin');
  assert.equal(signedOut.statusCode, 303);
  assert.equal(signedOut.headers.location, '/login?next=%2Fadmin');
  const page = await b.get('/login');
  const noToken = await b.post('/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
  assert.equal(noToken.statusCode, 403, 'no CSRF token');
  assert.equal(noToken.cookies.find((c) => c.name === 'calbridge_session'), undefined);
  const wrong = await b.post('/login', { _csrf: Browser.csrf(page), email: ADMIN_EMAIL, password: 'nope' });
  assert.equal(wrong.statusCode, 401);
  assert.match(wrong.body, /incorrect/);
  const ok = await b.signIn(ADMIN_EMAIL, ADMIN_PASSWORD);
  assert.equal(ok.statusCode, 303);
  assert.equal(ok.headers.location, '/admin');
  const session = ok.cookies.find((c) => c.name === 'calbridge_session')!;
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Lax');
  assert.equal(session.secure, undefined, 'plain http: not Secure');
  assert.equal((await b.get('/admin')).statusCode, 200);
  // Signing out ends it, and the tokens the cookies held stop working: a copy of them signs nobody in.
  const copied = `calbridge_session=${session.value}; calbridge_refresh=${ok.cookies.find((c) => c.name === 'calbridge_refresh')!.value}`;
  const out = await b.post('/logout', { _csrf: Browser.csrf(await b.get('/admin')) });
  assert.equal(out.statusCode, 303);
  assert.equal((await b.get('/admin')).statusCode, 303);
  assert.equal((await t.app.inject({ method: 'GET', url: '/admin', headers: { cookie: copied } })).statusCode, 303, 'the copied cookies are dead');
  assert.equal((await t.app.inject({ method: 'GET', url: '/api/spaces/coworkermsofficecalendars', headers: { authorization: `Bearer ${session.value}` } })).statusCode, 401, 'so is the access token in the API');

  const tls = await testApp(ctx, { config: { publicUrl: 'https://calbridge.example' } });
  const secure = await new Browser(tls).signIn(ADMIN_EMAIL, ADMIN_PASSWORD);
  assert.equal(secure.cookies.find((c) => c.name === 'calbridge_session')!.secure, true);
});

test('a post from another origin is refused before anything; a sign-in never redirects off the site', async (ctx) => {
  const t = await testApp(ctx);
  const b = new Browser(t);
  const page = await b.get('/login');
  const cross = await b.post('/login', { _csrf: Browser.csrf(page), email: ADMIN_EMAIL, password: ADMIN_PASSWORD }, { origin: 'https://evil.example' });
  assert.equal(cross.statusCode, 403);
  for (const next of ['//evil.example/x', 'https://evil.example', '/\\evil.example']) {
    const login = await b.get(`/login?next=${encodeURIComponent(next)}`);
    assert.match(login.body, /name="next" value="\/connect"/, next);
  }
});

test('the dashboard filters by state and pages through the list API; the bookings view shows a day or a week', async (ctx) => {
  const t = await testApp(ctx);
  const room = await createResource(t.app, t.admin, { Name: 'Baker' });
  const member = await createCoworker(t.app, t.admin, { FullName: 'Zelda Zed' });
  for (let i = 0; i < 27; i++) await createCalendar(t.app, t.admin, room.Id, i === 0 ? { CoworkerId: member.Id } : {});
  assert.equal((await call(t, 'POST', '/api/spaces/bookings', { ResourceId: room.Id, CoworkerId: member.Id, FromTime: '2030-05-08T09:00:00Z', ToTime: '2030-05-08T10:00:00Z', Notes: 'Standup' })).status, 200);
  const b = new Browser(t);
  await b.signIn(ADMIN_EMAIL, ADMIN_PASSWORD);
  const rows = (html: string) => (html.match(/<tr><td>/g) ?? []).length;
  const first = await b.get('/admin');
  assert.equal(rows(first.body), 25);
  assert.match(first.body, /Page 1 of 2/);
  assert.equal(rows((await b.get('/admin?page=2')).body), 2);
  // Without an engine every record waits with credentials_missing (the calendars have no mailbox seen yet).
  assert.equal(rows((await b.get('/admin?state=active')).body), 0);
  // Sorted by member, descending: Zelda first (records without a member last); ascending: Zelda not on the first page.
  const firstMember = (html: string) => /<tbody><tr><td>([^<]*)<\/td>/.exec(html)?.[1];
  assert.equal(firstMember((await b.get('/admin?sort=CoworkerFullName&dir=desc')).body), 'Zelda Zed');
  assert.notEqual(firstMember((await b.get('/admin?sort=CoworkerFullName&dir=asc')).body), 'Zelda Zed');
  const byMember = await b.get('/admin?member=zelda');
  assert.equal(rows(byMember.body), 1);
  assert.match(byMember.body, /Zelda Zed/);
  const week = await b.get(`/admin/bookings?resource=${room.Id}&date=2030-05-06&view=week`);
  assert.match(week.body, /Standup/);
  assert.match(week.body, /Zelda Zed/);
  assert.doesNotMatch((await b.get(`/admin/bookings?resource=${room.Id}&date=2030-05-06&view=day`)).body, /Standup/);
  const day = await b.get(`/admin/bookings?resource=${room.Id}&date=2030-05-08&view=day`);
  assert.match(day.body, /Standup/);
  assert.match(day.body, new RegExp(`href="/admin/bookings\\?resource=${room.Id}&amp;date=2030-05-07&amp;view=day">← Previous day`));
  assert.match(week.body, new RegExp(`href="/admin/bookings\\?resource=${room.Id}&amp;date=2030-05-13&amp;view=week">Next week`));
  // Bad input: a clear 4xx page or the defaults, never a 5xx.
  const bad: Array<[string, number]> = [
    ['/admin?page=abc&sort=x&dir=y&state=zzz&resource=-1', 200], ['/admin?member=%00', 400], ['/admin?page=99999999999&resource=99999999999', 200],
    [`/admin?member=${'x'.repeat(5000)}`, 200], ['/admin/connections/abc', 400], ['/admin/connections/99999999999999', 400], ['/admin/connections/2147483647', 404],
    ['/admin/bookings?date=2026-13-45&resource=99999999999&view=year', 200], ['/connect/99999999999999/disconnect', 400],
  ];
  for (const [url, status] of bad) assert.equal((await b.get(url)).statusCode, status, url);
});

test('a member login gets its own page, not the dashboard; without a sync engine the page says connecting is unavailable', async (ctx) => {
  const t = await testApp(ctx);
  const member = await createCoworker(t.app, t.admin);
  assert.equal((await call(t, 'POST', '/api/sys/users', { Email: 'm@members.test', FullName: 'M', Password: 'member passphrase', CoworkerId: member.Id })).status, 200);
  const b = new Browser(t);
  await b.signIn('m@members.test', 'member passphrase');
  assert.equal((await b.get('/admin')).statusCode, 403);
  const mine = await b.get('/connect');
  assert.equal(mine.statusCode, 200);
  assert.match(mine.body, /not available on this server process/);
  const start = await b.post('/connect/start', { _csrf: Browser.csrf(mine) });
  assert.equal(start.statusCode, 403);
});

test('a query or form field given twice is a clear 400 page on every page, never a 5xx', async (ctx) => {
  const t = await testApp(ctx);
  const b = new Browser(t);
  assert.equal((await b.signIn(ADMIN_EMAIL, ADMIN_PASSWORD)).statusCode, 303);
  const gets = ['/login?next=/a&next=/b', '/admin?member=a&member=b', '/admin?state=failed&state=active', '/admin/bookings?date=2030-01-01&date=2030-01-02',
    '/connect/callback?state=a&state=b', '/connect?connected=1&connected=2', '/admin/connections/1?done=renew&done=resync'];
  for (const url of gets) {
    const res = await b.get(url);
    assert.equal(res.statusCode, 400, url);
    assert.match(res.body, /was given more than once/, url);
    assert.match(String(res.headers['content-type']), /^text\/html/, url);
  }
  const csrf = encodeURIComponent(Browser.csrf(await b.get('/admin')));
  for (const [url, form] of <Array<[string, string]>>[['/login', `next=/a&next=/b&email=x%40y.z&password=p`], ['/connect/finish', 'attempt=1&resource=1&resource=2'], ['/logout', 'x=1&x=2']]) {
    const res = await b.postRaw(url, `_csrf=${csrf}&${form}`);
    assert.equal(res.statusCode, 400, url);
    assert.match(res.body, /was given more than once/, url);
  }
});

test('"Needs attention" lists refused sign-ins, failures, subscriptions expiring within 24 h (active or stuck renewing) and open conflicts', async (ctx) => {
  const t = await testApp(ctx);
  const room = await createResource(t.app, t.admin, { Name: 'Baker' });
  const now = t.clock.now();
  const iso = (ms: number) => new Date(now + ms).toISOString();
  const H = 3_600_000;
  const made: Record<string, number> = {};
  const cases: Array<[string, string, string]> = [
    ['Refused', 'reauth_required', iso(72 * H)], ['Broken', 'failed', iso(72 * H)], ['Stuck', 'renewing', iso(5.5 * H)],
    ['Lapsed', 'active', iso(-2 * H)], ['Healthy', 'active', iso(72 * H)], ['Soon', 'active', iso(30 * H)],
  ];
  for (const [name, state, expiry] of cases) {
    const record = await createCalendar(t.app, t.admin, room.Id, { Name: name, SubscriptionExpireDate: expiry });
    made[name] = record.Id;
    await t.storage.db.insertInto('graph_connections').values({
      calendar_record_id: record.Id, auth_mode: 'app', mailbox: `${name.toLowerCase()}@contoso.test`, refresh_token_sealed: null, state,
      subscription_id: null, subscription_resource: null, client_state: null, delta_link: null, last_notification_at: null, last_renewed_at: null,
      next_renewal_at: null, last_reauthorized_at: null, last_synced_at: null, last_error: null, action_by: null, updated_at: iso(0), dedicated: 0,
      last_full_sync_at: null, window_start: null, window_end: null,
    }).onConflict((oc) => oc.column('calendar_record_id').doUpdateSet({ state, mailbox: `${name.toLowerCase()}@contoso.test` })).execute();
  }
  await t.storage.db.insertInto('booking_conflicts').values({
    coworker_ms_office_calendar_id: made.Healthy!, event_key: 'AAMk-1', resource_id: room.Id, coworker_id: null, from_time: iso(48 * H), to_time: iso(49 * H),
    tentative: 0, subject: 'Review', blocking_booking_id: null, detected_on: iso(0), marked: 0,
  } as never).execute();
  const b = new Browser(t);
  await b.signIn(ADMIN_EMAIL, ADMIN_PASSWORD);
  const attention = /<h2>Needs attention \((\d+)\)<\/h2><ul>(.*?)<\/ul>/s.exec((await b.get('/admin')).body);
  assert.ok(attention, 'the attention list is shown');
  const line = (name: string) => new RegExp(`· ${name}</a>: ([^<]*)</li>`).exec(attention[2]!)?.[1];
  assert.equal(line('Refused'), 'the member must sign in again');
  assert.equal(line('Broken'), 'failed');
  assert.equal(line('Stuck'), 'the subscription expires in 5 h without a renewal');
  assert.equal(line('Lapsed'), 'the subscription expired without a renewal');
  assert.equal(line('Healthy'), '1 open conflict(s)');
  assert.equal(line('Soon'), undefined, 'a day and more left: the renewal is still to come');
  assert.equal(attention[1], '5');
  // The table sorts by state too (through the list API's orderBy=State).
  const states = (html: string) => [...html.matchAll(/<span class="state (\w+)">/g)].map((m) => m[1]);
  const ascending = states((await b.get('/admin?sort=State&dir=asc')).body);
  assert.deepEqual(ascending, [...ascending].sort());
  assert.deepEqual(states((await b.get('/admin?sort=State&dir=desc')).body), [...ascending].reverse());
});

test('the pages ask for the same roles as the API: the status needs -Read, bookings Booking-List, the disconnect page -Delete', async (ctx) => {
  const t = await testApp(ctx);
  const room = await createResource(t.app, t.admin, { Name: 'Baker' });
  const record = await createCalendar(t.app, t.admin, room.Id, { Name: 'Front desk' });
  const listOnly = { Email: 'list@space.test', FullName: 'Lister', Password: 'list password 1', Roles: ['CoworkerMsOfficeCalendar-List'] };
  const reader = { Email: 'read@space.test', FullName: 'Reader', Password: 'read password 1', Roles: ['CoworkerMsOfficeCalendar-List', 'CoworkerMsOfficeCalendar-Read'] };
  for (const u of [listOnly, reader]) assert.equal((await call(t, 'POST', '/api/sys/users', u)).status, 200);
  const lister = new Browser(t);
  await lister.signIn(listOnly.Email, listOnly.Password);
  const dashboard = await lister.get('/admin');
  assert.equal(dashboard.statusCode, 200);
  assert.doesNotMatch(dashboard.body, /Renew|Resync|Disconnect…|Bookings by resource/, 'no action the user may not take is offered');
  const refused = await lister.get(`/admin/connections/${record.Id}`);
  assert.equal(refused.statusCode, 403, 'the status is -Read\'s');
  assert.match(refused.body, /<span>list@space\.test<\/span> <button>Sign out/, 'the error page keeps the signed-in header');
  assert.equal((await lister.get(`/connect/${record.Id}/disconnect`)).statusCode, 403, 'the disconnect page is -Delete\'s');
  assert.equal((await lister.get('/admin/bookings')).statusCode, 403);
  const readerBrowser = new Browser(t);
  await readerBrowser.signIn(reader.Email, reader.Password);
  const detail = await readerBrowser.get(`/admin/connections/${record.Id}`);
  assert.equal(detail.statusCode, 200);
  assert.match(detail.body, /Bookings and conflicts need the role Booking-List/);
  assert.doesNotMatch(detail.body, /<h2>Bookings/);
});

test('an unknown address outside the API is an HTML 404 page for a browser; the API and other clients keep the envelope', async (ctx) => {
  const t = await testApp(ctx);
  const browser = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };
  const page = await t.app.inject({ method: 'GET', url: '/admin/connections/1/evil', headers: browser });
  assert.equal(page.statusCode, 404);
  assert.match(String(page.headers['content-type']), /^text\/html/);
  assert.match(page.body, /There is no page at this address/);
  const client = await t.app.inject({ method: 'GET', url: '/admin/connections/1/evil' });
  assert.equal(client.statusCode, 404);
  assert.equal(client.json().Status, 404);
  const api = await t.app.inject({ method: 'GET', url: '/api/spaces/nothing', headers: browser });
  assert.equal(api.statusCode, 404);
  assert.equal(api.json().Status, 404);
});
