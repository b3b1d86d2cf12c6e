/**
 * The pages as people use them, in headless Debian Chromium against the real app, queue, engine and Graph emulator:
 * a member connects a calendar through the emulator's sign-in and sees an Outlook meeting become a booking; an
 * operator finds a failed connection at the top of the dashboard and renews it; a member cannot see another member's
 * connection; a cross-site form post is refused. With PAGES_SCREENSHOTS=1, screenshots of the main screens go to docs/screenshots (shown in the README).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { graphEnv, type GraphEnv } from '../helpers/graph-env.js';
import { freePort, startServer } from './server-process.js';
import { tempDir } from '../helpers/cleanup.js';
import { ADELE, ALEX, ROOM, failedConnection, memberLogin, operatorLogin } from './members.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const skip = !fs.existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM} (apt-get install chromium)`;
const SHOTS = path.resolve('docs/screenshots');
const HOUR = 3600_000;

async function launch(ctx: { after(fn: () => Promise<void>): void }): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  ctx.after(() => browser.close());
  return browser;
}

async function signIn(page: Page, env: GraphEnv, who: { email: string; password: string }, next = '/connect'): Promise<void> {
  await page.goto(`${env.url}${next}`);
  assert.match(page.url(), /\/login\?next=/, 'signed-out visitors are sent to the sign-in page');
  await page.fill('#email', who.email);
  await page.fill('#password', who.password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.click('button:has-text("Sign in")')]);
}

/** At the page's current width nothing scrolls sideways: not the page, not a table's scroller (a phone's reader). */
async function fitsWidth(page: Page): Promise<void> {
  const wider = await page.evaluate(() => [document.documentElement, ...document.querySelectorAll('.scroll')]
    .filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => `${e.tagName.toLowerCase()}.${e.className}: ${e.scrollWidth} > ${e.clientWidth}`));
  assert.deepEqual(wider, [], `nothing scrolls sideways at ${page.viewportSize()?.width} px on ${page.url()}`);
}

async function shot(page: Page, name: string): Promise<void> {
  if (process.env.PAGES_SCREENSHOTS !== '1') return; // opt-in: `PAGES_SCREENSHOTS=1 npm test -- test/e2e/pages.test.ts`
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/** Reloads until `selector` has `text` (the page shows what the engine did meanwhile). */
async function untilShown(env: GraphEnv, page: Page, selector: string, text: RegExp): Promise<void> {
  await env.until(`"${text}" on ${page.url()}`, async () => {
    await page.reload();
    return text.test((await page.textContent(selector)) ?? '');
  });
}

test('a member connects a calendar through the sign-in and sees an Outlook meeting booked', { skip }, async (ctx) => {
  const env = await graphEnv(ctx, { captureLogs: true });
  ctx.after(() => { if (process.env.PAGES_LOGS) console.log(env.logs.filter((l) => /"level":50/.test(l)).join('\n')); });
  await env.request('POST', '/api/spaces/resources', { Name: 'Rainier', CalendarEmail: ROOM });
  const adele = await memberLogin(env, ADELE, 'Adele Vance');
  const browser = await launch(ctx);
  const page = await (await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1000, height: 700 } })).newPage();
  await page.goto(`${env.url}/`);
  assert.match(await page.textContent('main') ?? '', /Connect your Office 365 calendar/);
  await shot(page, 'home');
  await signIn(page, env, adele);
  await shot(page, 'connect-empty');
  await Promise.all([page.waitForURL(/oauth2\/v2\.0\/authorize/), page.click('button:has-text("Connect Office 365 calendar")')]);
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('code_challenge_method'), 'S256', 'PKCE');
  assert.match(url.searchParams.get('scope') ?? '', /Calendars\.ReadWrite/);
  assert.match(url.searchParams.get('scope') ?? '', /offline_access/);
  await shot(page, 'microsoft-sign-in');
  await Promise.all([page.waitForURL(/\/connect\/callback/), page.click(`button[data-upn="${ADELE}"]`)]);
  await shot(page, 'connect-choose');
  // A tampered choice (no such resource) gets the picker again with a 400 that says what to fix.
  await page.evaluate(() => { const o = document.createElement('option'); o.value = 'abc'; o.textContent = 'tampered'; document.querySelector('#resource')!.append(o); });
  await page.selectOption('#resource', 'abc');
  const [refused] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/connect/finish')), page.click('button:has-text("Connect")')]);
  assert.equal(refused.status(), 400);
  assert.match(await page.textContent('main') ?? '', /Resource: choose one of the space's resources/);
  await page.selectOption('#resource', { label: 'Rainier' });
  await Promise.all([page.waitForLoadState(), page.click('button:has-text("Connect")')]);
  assert.match(page.url(), /\/connect\?connected=/, (await page.textContent("main")) ?? "");
  await untilShown(env, page, 'main', /Connected/);

  // The member's calendar record exists, made by calbridge, on the member's own (delegated) sign-in.
  const records = (await env.request('GET', '/api/spaces/coworkermsofficecalendars')).body.Records;
  assert.equal(records.length, 1);
  assert.equal(records[0].CoworkerId, adele.coworkerId);
  const conn = await env.untilState(records[0].Id, 'active');
  assert.equal(conn.auth_mode, 'delegated');
  const attempts = await env.storage.db.selectFrom('connect_attempts').select(['status', 'token_cache_sealed']).execute();
  assert.deepEqual(attempts, [{ status: 'done', token_cache_sealed: null }], 'the finished attempt keeps no copy of the token cache');

  // The state cannot be replayed: the callback URL used once is refused.
  const now = Date.parse(env.emu.control.now());
  const from = Math.floor(now / 86_400_000) * 86_400_000 + 2 * 86_400_000 + 10 * HOUR;
  env.emu.control.createEvent(ADELE, {
    subject: 'Planning', start: { dateTime: new Date(from).toISOString().slice(0, 19), timeZone: 'UTC' }, end: { dateTime: new Date(from + HOUR).toISOString().slice(0, 19), timeZone: 'UTC' },
    attendees: [{ type: 'resource', emailAddress: { address: ROOM } }],
  } as never);
  await untilShown(env, page, 'main', /Planning/);
  assert.match(await page.textContent('main') ?? '', /Rainier/);
  await shot(page, 'connect-booked');
  await page.setViewportSize({ width: 375, height: 800 });
  await fitsWidth(page);
  await shot(page, 'connect-phone');
});

test('a replayed or foreign sign-in callback is refused with a page that says what to do', { skip }, async (ctx) => {
  const env = await graphEnv(ctx);
  const adele = await memberLogin(env, ADELE, 'Adele Vance');
  const browser = await launch(ctx);
  const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
  // By keyboard only: the e-mail field has the focus, Tab reaches the password, Enter signs in; Tab reaches the button.
  await page.goto(`${env.url}/connect`);
  // autofocus is applied after load; on a slow machine the first keys can arrive before it (a CI failure).
  await page.waitForFunction(() => document.activeElement?.id === 'email');
  await page.keyboard.type(adele.email);
  await page.keyboard.press('Tab');
  await page.keyboard.type(adele.password);
  await Promise.all([page.waitForURL(/\/connect$/), page.keyboard.press('Enter')]);
  let focused = '';
  for (let i = 0; i < 10 && !/Connect Office 365/.test(focused); i++) {
    await page.keyboard.press('Tab');
    focused = await page.evaluate(() => document.activeElement?.textContent ?? '');
  }
  assert.match(focused, /Connect Office 365 calendar/, 'the connect button is reachable by Tab');
  const res = await page.goto(`${env.url}/connect/callback?code=x&state=forged`);
  assert.equal(res?.status(), 400);
  assert.match(await page.textContent('main') ?? '', /no longer valid/);
  // Microsoft's "declined" comes back as an error on the redirect.
  await Promise.all([page.waitForURL(/oauth2\/v2\.0\/authorize/), page.goto(`${env.url}/connect`).then(() => page.click('button:has-text("Connect Office 365 calendar")'))]);
  await Promise.all([page.waitForURL(/\/connect\/callback/), page.click('#cancel')]);
  assert.match(await page.textContent('main') ?? '', /declined the permissions/);
  await shot(page, 'connect-error');
});

test('an operator sees a failed connection at the top of the dashboard, renews it and sees it healthy', { skip }, async (ctx) => {
  const env = await graphEnv(ctx);
  // Graph removes the subscription and refuses to make another (a tenant policy): the connection fails.
  const alex = await failedConnection(env);
  const browser = await launch(ctx);
  const page = await (await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1200, height: 800 } })).newPage();
  const operator = await operatorLogin(env);
  await signIn(page, env, operator, '/admin');
  const attention = await page.textContent('section.attention');
  assert.match(attention ?? '', /failed/, 'the failed connection is listed under "Needs attention"');
  await shot(page, 'admin-attention');
  env.emu.control.removeFault(alex.refusal.id);
  await page.click(`a[href="/admin/connections/${alex.recordId}"] >> nth=0`);
  await shot(page, 'admin-detail');
  await Promise.all([page.waitForURL(/done=renew/), page.click('button:has-text("Renew")')]);
  await env.untilState(alex.recordId, 'active');
  // Its sync history shows the refused subscription (gave up, with Graph's answer) and the one the renewal made.
  await untilShown(env, page, 'main', /make the subscription\s*done/);
  const history = await page.textContent('table.history') ?? '';
  assert.match(history, /make the subscription\s*gave up\s*1\s*Graph answered 403/);
  assert.match(history, /read changes\s*done/);
  await page.goto(`${env.url}/admin`);
  assert.match(await page.textContent('section') ?? '', /Every connection is healthy/);
  await page.goto(`${env.url}/admin?state=active`);
  assert.match(await page.textContent('tbody') ?? '', /active/);
  await shot(page, 'admin-healthy');
  // The bookings view of a room booked from Outlook (Alex's meeting) and through the API (for another coworker).
  const rainier = (await env.request('POST', '/api/spaces/resources', { Name: 'Rainier', CalendarEmail: ROOM })).body.Value.Id as number;
  const day = Math.floor(env.clock.now() / 86_400_000) * 86_400_000 + 86_400_000;
  const utc = (ms: number) => ({ dateTime: new Date(ms).toISOString().slice(0, 19), timeZone: 'UTC' });
  const alexUser = env.seed.users.find((u) => u.userPrincipalName === ALEX)!;
  env.emu.control.createEvent(alexUser.id, { subject: 'Design review', start: utc(day + 10 * 3600_000), end: utc(day + 11.5 * 3600_000), attendees: [{ type: 'resource', emailAddress: { address: ROOM } }] } as never);
  const guest = (await env.request('POST', '/api/spaces/coworkers', { FullName: 'Grace Guest', Email: 'grace@guest.test' })).body.Value.Id as number;
  assert.equal((await env.request('POST', '/api/spaces/bookings', { ResourceId: rainier, CoworkerId: guest, FromTime: new Date(day + 86_400_000 + 14 * 3600_000).toISOString(), ToTime: new Date(day + 86_400_000 + 16 * 3600_000).toISOString(), Notes: 'Workshop' })).status, 200);
  await env.until('the Outlook booking', async () => (await env.request('GET', `/api/spaces/bookings?Booking_Resource=${rainier}`)).body.TotalItems === 2 || undefined);
  await page.goto(`${env.url}/admin/bookings?view=week&resource=${rainier}`);
  const week = await page.textContent('main') ?? '';
  assert.match(week, /Design review/);
  assert.match(week, /Grace Guest/);
  await shot(page, 'admin-bookings');
  await page.setViewportSize({ width: 375, height: 800 });
  for (const path of ['/admin', `/admin/connections/${alex.recordId}`, '/admin/bookings?view=week']) {
    await page.goto(`${env.url}${path}`);
    await fitsWidth(page);
  }
  await page.goto(`${env.url}/admin`);
  await shot(page, 'admin-phone');
});

test("a member cannot see another member's connection, in the pages or the API", { skip }, async (ctx) => {
  const env = await graphEnv(ctx);
  const alex = await env.connectMailbox(ALEX); // Alex's record (made by an operator)
  const adele = await memberLogin(env, ADELE, 'Adele Vance');
  const basic = `Basic ${Buffer.from(`${adele.email}:${adele.password}`).toString('base64')}`;
  assert.equal((await env.request('GET', `/api/spaces/coworkermsofficecalendars/${alex.recordId}`, undefined, basic)).status, 404);
  assert.equal((await env.request('GET', '/api/spaces/coworkermsofficecalendars', undefined, basic)).body.Records.length, 0);
  assert.equal((await env.request('GET', `/api/spaces/coworkermsofficecalendars/${alex.recordId}/status`, undefined, basic)).status, 404);
  assert.equal((await env.request('POST', '/api/spaces/coworkermsofficecalendars/runcommand', { Key: 'RESYNC', Ids: [alex.recordId] }, basic)).status, 404);
  assert.equal((await env.request('DELETE', `/api/spaces/coworkermsofficecalendars/${alex.recordId}`, undefined, basic)).status, 404);
  const browser = await launch(ctx);
  const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
  await signIn(page, env, adele);
  assert.equal((await page.goto(`${env.url}/connect/${alex.recordId}/disconnect`))?.status(), 404);
  assert.equal((await page.goto(`${env.url}/admin`))?.status(), 403, 'the dashboard is for operators');
  assert.equal((await env.request('GET', `/api/spaces/coworkermsofficecalendars/${alex.recordId}`)).status, 200, "Alex's record is still there");
});

test('a form posted from another site is refused and changes nothing', { skip }, async (ctx) => {
  const env = await graphEnv(ctx);
  const alex = await env.connectMailbox(ALEX);
  const operator = { email: 'ops@space.test', password: 'operator password 1' };
  await env.request('POST', '/api/sys/users', { Email: operator.email, FullName: 'Ops', Password: operator.password, FullAdministrator: true });
  // An attacker's page on another origin with a form that would disconnect Alex's calendar.
  const evil = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(
    `<form method="post" action="${env.url}/connect/${alex.recordId}/disconnect"><button id="go">Win a prize</button></form>`));
  await new Promise<void>((r) => evil.listen(0, '127.0.0.2', r));
  ctx.after(() => new Promise<void>((r) => evil.close(() => r())));
  const browser = await launch(ctx);
  const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
  await signIn(page, env, operator, '/admin');
  await page.goto(`http://127.0.0.2:${(evil.address() as { port: number }).port}/`);
  const [response] = await Promise.all([page.waitForResponse((r) => r.url().includes('/disconnect')), page.click('#go')]);
  assert.equal(response.status(), 403);
  assert.equal((await env.request('GET', `/api/spaces/coworkermsofficecalendars/${alex.recordId}`)).status, 200, 'nothing was disconnected');
});

test("Microsoft's refusals end on pages that say what to do: no mailbox, a tenant policy that blocks subscriptions", { skip }, async (ctx) => {
  const env = await graphEnv(ctx);
  await env.request('POST', '/api/spaces/resources', { Name: 'Rainier', CalendarEmail: ROOM });
  const adele = await memberLogin(env, ADELE, 'Adele Vance');
  const c = env.emu.control;
  const browser = await launch(ctx);
  const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
  await signIn(page, env, adele);
  const connectOnce = async () => {
    await page.goto(`${env.url}/connect`);
    await Promise.all([page.waitForURL(/oauth2\/v2\.0\/authorize/), page.click('button:has-text("Connect Office 365 calendar")')]);
    await Promise.all([page.waitForURL(/\/connect\/callback/), page.click(`button[data-upn="${ADELE}"]`)]);
  };
  // Entra stops the sign-in after the account is picked: consent the organisation must give first, then a
  // conditional-access policy. Each page says what happened and who can fix it; nothing is created.
  const refusals: Array<[string, RegExp, RegExp]> = [
    ['AADSTS90094: Admin consent is required for the permissions requested by this application.', /Your organisation must approve calbridge first/, /needs the space staff or your Microsoft 365 administrator/],
    ['AADSTS53003: Access has been blocked by Conditional Access policies.', /Your organisation blocked the sign-in/, /needs the space staff or your Microsoft 365 administrator/],
    ['AADSTS50076: Due to a configuration change made by your administrator, you must use multi-factor authentication.', /Microsoft asks for more verification/, /You can fix this yourself/],
  ];
  for (const [description, title, who] of refusals) {
    c.failSignIns(env.seed.app.clientId, { error: description.includes('50076') ? 'interaction_required' : 'access_denied', description });
    await connectOnce();
    const text = await page.textContent('main') ?? '';
    assert.match(text, title, description);
    assert.match(text, who, description);
  }
  assert.equal((await env.request('GET', '/api/spaces/coworkermsofficecalendars')).body.Records.length, 0, 'nothing was created');
  // An account without an Exchange Online mailbox: Graph refuses its calendars.
  const noMailbox = c.addFault({ method: 'GET', path: '/me/calendars', status: 404, code: 'MailboxNotEnabledForRESTAPI', message: 'The mailbox is either inactive, soft-deleted, or is hosted on-premise.' });
  await connectOnce();
  assert.match(await page.textContent('main') ?? '', /has no Outlook mailbox/);
  assert.equal(c.listFaults().find((f) => f.id === noMailbox.id)!.hits, 1);
  assert.equal((await env.request('GET', '/api/spaces/coworkermsofficecalendars')).body.Records.length, 0, 'nothing was created');
  // A tenant policy that blocks subscriptions: the connection is made, then fails; the member's page says so.
  c.addFault({ method: 'POST', path: '/subscriptions', status: 403, code: 'ExtensionError', message: 'Operation is not allowed by a tenant policy.', times: 100 });
  await connectOnce();
  await Promise.all([page.waitForURL(/\/connect\?connected=/), page.click('button:has-text("Connect")')]);
  await untilShown(env, page, 'main', /The connection failed/);
  // The member reads who must act, in plain words; the operator's LastError (Graph's words, what to run) is not for them.
  assert.match(await page.textContent('main') ?? '', /the space's staff must fix it/);
  assert.doesNotMatch(await page.textContent('main') ?? '', /RENEW_SUBSCRIPTION|operator:/);
  const record = (await env.request('GET', '/api/spaces/coworkermsofficecalendars')).body.Records[0];
  assert.match((await env.request('GET', `/api/spaces/coworkermsofficecalendars/${record.Id}/status`)).body.LastError, /tenant policy/, "the operator's status keeps Graph's words");
});

test('on the embedded default, as the README walks it: a member on http://localhost connects and sees a meeting booked', { skip }, async (ctx) => {
  // A real `npm start` process: PUBLIC_URL left at its default (http://127.0.0.1:PORT) while the member browses
  // http://localhost:PORT, as the README's first line says. The sign-in must come back to the host of their session.
  const emulatorPort = await freePort();
  const server = await startServer({ DATA_DIR: tempDir(ctx, 'calbridge-pages-'), ADMIN_EMAIL: 'admin@calbridge.local', ADMIN_PASSWORD: 'operator passphrase', GRAPH_EMULATOR_PORT: String(emulatorPort) });
  ctx.after(() => server.stop().then(() => undefined));
  const api = async (path: string, body: unknown) => {
    const res = await fetch(`${server.url}/api${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from('admin@calbridge.local:operator passphrase').toString('base64')}` }, body: JSON.stringify(body) });
    assert.equal(res.status, 200, await res.clone().text());
    return ((await res.json()) as { Value: { Id: number } }).Value;
  };
  await api('/spaces/resources', { Name: 'Rainier', CalendarEmail: ROOM });
  const coworker = await api('/spaces/coworkers', { FullName: 'Adele Vance', Email: ADELE });
  await api('/sys/users', { Email: 'adele@example.com', FullName: 'Adele Vance', Password: 'a long passphrase', CoworkerId: coworker.Id });
  const local = server.url.replace('127.0.0.1', 'localhost');
  const browser = await launch(ctx);
  const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
  await page.goto(`${local}/connect`);
  await page.fill('#email', 'adele@example.com');
  await page.fill('#password', 'a long passphrase');
  await Promise.all([page.waitForURL(/\/connect$/), page.click('button:has-text("Sign in")')]);
  await Promise.all([page.waitForURL(/oauth2\/v2\.0\/authorize/), page.click('button:has-text("Connect Office 365 calendar")')]);
  await Promise.all([page.waitForURL(/\/connect\/callback/), page.click(`button[data-upn="${ADELE}"]`)]);
  assert.equal(new URL(page.url()).hostname, 'localhost', 'back on the host of the session');
  await Promise.all([page.waitForURL(/\/connect\?connected=/), page.click('button:has-text("Connect")')]);
  const day = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
  const made = await fetch(`http://127.0.0.1:${emulatorPort}/_control/users/${ADELE}/events`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ subject: 'Planning', start: { dateTime: `${day}T10:00:00`, timeZone: 'UTC' }, end: { dateTime: `${day}T11:00:00`, timeZone: 'UTC' }, attendees: [{ type: 'resource', emailAddress: { address: ROOM } }] }),
  });
  assert.ok(made.ok, `the control API answered ${made.status}`);
  const deadline = Date.now() + 20_000;
  for (;;) {
    await page.reload();
    const text = (await page.textContent('main')) ?? '';
    if (/Connected/.test(text) && /Planning/.test(text)) break;
    if (Date.now() > deadline) assert.fail(`the booking never showed: ${text}`);
  }
});

test('a member whose sign-in Microsoft revoked reconnects from their page, then disconnects after a confirmation', { skip }, async (ctx) => {
  const env = await graphEnv(ctx);
  await env.request('POST', '/api/spaces/resources', { Name: 'Rainier', CalendarEmail: ROOM });
  const adele = await memberLogin(env, ADELE, 'Adele Vance');
  const browser = await launch(ctx);
  const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
  await signIn(page, env, adele);
  const throughMicrosoft = async (button: string, account = ADELE) => {
    await Promise.all([page.waitForURL(/oauth2\/v2\.0\/authorize/), page.click(`button:has-text("${button}")`)]);
    await Promise.all([page.waitForURL(/\/connect/), page.click(`button[data-upn="${account}"]`)]);
  };
  await throughMicrosoft('Connect Office 365 calendar');
  await Promise.all([page.waitForURL(/\/connect\?connected=/), page.click('button:has-text("Connect")')]);
  const recordId = (await env.request('GET', '/api/spaces/coworkermsofficecalendars')).body.Records[0].Id as number;
  await env.untilState(recordId, 'active');
  // Microsoft revokes her sessions; the next renewal is refused and the connection waits for her.
  assert.ok(env.emu.control.revokeUser(ADELE) >= 1);
  assert.equal((await env.request('POST', '/api/spaces/coworkermsofficecalendars/runcommand', { Key: 'RENEW_SUBSCRIPTION', Ids: [recordId] })).status, 200);
  await env.untilState(recordId, 'reauth_required');
  await page.goto(`${env.url}/connect`);
  assert.match(await page.textContent('main') ?? '', /Sign in again to keep your bookings in sync/);
  // Another account picked by mistake is refused, and changes nothing: the connection still reads Adele's calendar.
  await throughMicrosoft('Reconnect', ALEX);
  assert.match(await page.textContent('main') ?? '', /You signed in as alexw@contoso\.onmicrosoft\.com, but this connection reads the calendar of adelev@contoso\.onmicrosoft\.com/);
  const untouched = await env.connection(recordId);
  assert.equal(untouched?.mailbox, ADELE);
  assert.equal(untouched?.state, 'reauth_required');
  await page.goto(`${env.url}/connect`);
  await throughMicrosoft('Reconnect');
  assert.match(page.url(), /reconnected=1/);
  await env.untilState(recordId, 'active');
  assert.equal((await env.request('GET', '/api/spaces/coworkermsofficecalendars')).body.Records.length, 1, 'the same record, not a second one');
  // Disconnect asks first; confirmed, the record and its subscription go.
  await page.goto(`${env.url}/connect`);
  await Promise.all([page.waitForURL(/\/disconnect$/), page.click('a:has-text("Disconnect")')]);
  assert.equal((await env.request('GET', `/api/spaces/coworkermsofficecalendars/${recordId}`)).status, 200, 'nothing happens before the confirmation');
  await Promise.all([page.waitForURL(/disconnected=1/), page.click('button:has-text("Disconnect")')]);
  assert.equal((await env.request('GET', `/api/spaces/coworkermsofficecalendars/${recordId}`)).status, 404);
  await env.until('the subscription deleted at Graph', async () => env.emu.control.listSubscriptions().every((s) => s.userId !== env.emu.control.user(ADELE).id));
});
