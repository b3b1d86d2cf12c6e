/**
 * The member's and the operator's pages in Debian's Firefox ESR, as pages.test.ts does in Chromium: the pages promise
 * to work in both. playwright-core drives only its own patched Firefox build (downloaded from Playwright's servers,
 * which this project may not use) or, over WebDriver BiDi, a newer Firefox than Debian ships; puppeteer-core drives
 * Debian's firefox-esr over WebDriver BiDi, so it is used here and only here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { graphEnv, type GraphEnv } from '../helpers/graph-env.js';
import { ADELE, ROOM, failedConnection, memberLogin, operatorLogin } from './members.js';

const FIREFOX = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';
const skip = !fs.existsSync(FIREFOX) && `no Firefox at ${FIREFOX} (apt-get install firefox-esr)`;
const HOUR = 3600_000;

async function launch(ctx: { after(fn: () => Promise<void>): void }): Promise<Browser> {
  // The emulator's sign-in page is HTTPS with a self-signed certificate, as a member on the embedded default clicks through.
  const browser = await puppeteer.launch({ browser: 'firefox', executablePath: FIREFOX, headless: true, acceptInsecureCerts: true });
  ctx.after(() => browser.close());
  return browser;
}

/** Clicks what `selector` finds and waits for the page it leads to. */
async function follow(page: Page, selector: string): Promise<void> {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}

async function text(page: Page, selector = 'main'): Promise<string> {
  return page.$eval(selector, (e) => e.textContent ?? '');
}

async function signIn(page: Page, env: GraphEnv, who: { email: string; password: string }, next: string): Promise<void> {
  await page.goto(`${env.url}${next}`);
  assert.match(page.url(), /\/login\?next=/, 'signed-out visitors are sent to the sign-in page');
  await page.type('#email', who.email);
  await page.type('#password', who.password);
  await follow(page, 'main form button');
  assert.equal(new URL(page.url()).pathname, next, await text(page));
}

/** Reloads until the page's main part matches `pattern` (the page shows what the engine did meanwhile). */
async function untilShown(env: GraphEnv, page: Page, pattern: RegExp): Promise<void> {
  await env.until(`"${pattern}" on ${page.url()}`, async () => {
    await page.reload();
    return pattern.test(await text(page));
  });
}

test('in Firefox, a member connects a calendar, sees a meeting booked, and disconnects after a confirmation', { skip }, async (ctx) => {
  const env = await graphEnv(ctx);
  await env.request('POST', '/api/spaces/resources', { Name: 'Rainier', CalendarEmail: ROOM });
  const adele = await memberLogin(env, ADELE, 'Adele Vance');
  const browser = await launch(ctx);
  const page = await browser.newPage();
  await page.setViewport({ width: 390, height: 800 }); // a phone's width
  await signIn(page, env, adele, '/connect');
  assert.doesNotMatch(await text(page, 'nav'), /Dashboard/, 'a member is not offered the operators\' dashboard');
  await follow(page, 'form[action="/connect/start"] button');
  assert.match(page.url(), /oauth2\/v2\.0\/authorize/, "on Microsoft's (the emulator's) sign-in");
  await follow(page, `button[data-upn="${ADELE}"]`);
  assert.match(page.url(), /\/connect\/callback/);
  const resource = await page.$$eval('#resource option', (options) => options.find((o) => o.textContent?.includes('Rainier'))?.getAttribute('value'));
  assert.ok(resource, 'the resource is offered');
  await page.select('#resource', resource);
  await follow(page, 'main form button');
  assert.match(page.url(), /\/connect\?connected=/, await text(page));
  const records = (await env.request('GET', '/api/spaces/coworkermsofficecalendars')).body.Records;
  assert.equal(records.length, 1);
  assert.equal(records[0].CoworkerId, adele.coworkerId);
  await env.untilState(records[0].Id, 'active');

  const day = Math.floor(Date.parse(env.emu.control.now()) / 86_400_000) * 86_400_000 + 2 * 86_400_000;
  env.emu.control.createEvent(ADELE, {
    subject: 'Planning', start: { dateTime: new Date(day + 10 * HOUR).toISOString().slice(0, 19), timeZone: 'UTC' },
    end: { dateTime: new Date(day + 11 * HOUR).toISOString().slice(0, 19), timeZone: 'UTC' }, attendees: [{ type: 'resource', emailAddress: { address: ROOM } }],
  } as never);
  await untilShown(env, page, /Planning/);
  assert.match(await text(page), /Connected/);
  assert.match(await text(page), /Rainier/);
  // Readable at phone width: nothing is wider than the screen.
  // Readable at phone width: nothing sticks out sideways (the names of what does, if anything).
  const wider = await page.evaluate(() => [document.documentElement, ...document.querySelectorAll('.scroll')]
    .filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => `${e.tagName.toLowerCase()}.${e.className}: ${e.scrollWidth} > ${e.clientWidth}`));
  assert.deepEqual(wider, [], 'nothing scrolls sideways at 390 px');

  // Disconnect asks first (a page with a form carrying its CSRF token); confirmed, the record goes.
  await follow(page, 'a[href$="/disconnect"]');
  assert.equal((await env.request('GET', `/api/spaces/coworkermsofficecalendars/${records[0].Id}`)).status, 200, 'nothing happens before the confirmation');
  assert.ok(await page.$eval('main form input[name="_csrf"]', (e) => (e as HTMLInputElement).value.length > 0), 'the form carries a CSRF token');
  await follow(page, 'main form button');
  assert.match(page.url(), /disconnected=1/);
  assert.equal((await env.request('GET', `/api/spaces/coworkermsofficecalendars/${records[0].Id}`)).status, 404);
});

test('in Firefox, an operator sees a failed connection at the top of the dashboard and renews it', { skip }, async (ctx) => {
  const env = await graphEnv(ctx);
  const alex = await failedConnection(env);
  const operator = await operatorLogin(env);
  const browser = await launch(ctx);
  const page = await browser.newPage();
  await page.setViewport({ width: 1200, height: 800 });
  await signIn(page, env, operator, '/admin');
  assert.match(await text(page, 'nav'), /Dashboard/);
  assert.match(await text(page, 'section.attention'), /failed/, 'the failed connection is listed under "Needs attention"');
  env.emu.control.removeFault(alex.refusal.id);
  await follow(page, `a[href="/admin/connections/${alex.recordId}"]`);
  const renew = await page.$$('main form button');
  const labels = await Promise.all(renew.map((b) => b.evaluate((e) => e.textContent ?? '')));
  const at = labels.findIndex((l) => /Renew/.test(l));
  assert.ok(at >= 0, `a Renew button among ${labels.join(', ')}`);
  await Promise.all([page.waitForNavigation(), renew[at]!.click()]);
  assert.match(page.url(), /done=renew/);
  await env.untilState(alex.recordId, 'active');
  await page.goto(`${env.url}/admin`);
  assert.match(await text(page, 'section'), /Every connection is healthy/);
});
