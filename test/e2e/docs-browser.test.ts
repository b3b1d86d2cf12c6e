/**
 * The OpenAPI document and the interactive docs page, as a person sees them: headless Debian Chromium loads /docs,
 * renders the operations, and the document lists every CoworkerMsOfficeCalendar operation with its schemas.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { chromium } from 'playwright-core';
import { startServer } from './server-process.js';
import { tempDir } from '../helpers/cleanup.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

test('GET /api/openapi.json describes every operation from the validating schemas, without authentication', async (ctx) => {
  const server = await startServer({ DATA_DIR: tempDir(ctx, 'calbridge-docs-') });
  try {
    const res = await fetch(`${server.url}/api/openapi.json`);
    assert.equal(res.status, 200);
    const doc = (await res.json()) as any;
    const p = doc.paths['/api/spaces/coworkermsofficecalendars'];
    assert.ok(p.get && p.post && p.put, 'list, create and update on the collection');
    assert.ok(doc.paths['/api/spaces/coworkermsofficecalendars/{id}'].get);
    assert.ok(doc.paths['/api/spaces/coworkermsofficecalendars/{id}'].delete);
    assert.ok(doc.paths['/api/token'].post);
    const body = p.post.requestBody.content['application/json'].schema;
    assert.deepEqual([...body.required].sort(), ['CalendarId', 'Name', 'ResourceId', 'SubscriptionExpireDate', 'SubscriptionId']);
    assert.equal(body.properties.Name.maxLength, 200, 'the documented limit is the validated one');
    assert.ok(p.get.responses['200'].content['application/json'].schema.properties.Records);
    assert.ok(doc.paths['/api/spaces/coworkers'] && doc.paths['/api/spaces/resources'] && doc.paths['/api/sys/users']);
  } finally {
    await server.stop();
  }
});

test('the /docs page renders the API in a real browser', { skip: !fs.existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM} (apt-get install chromium)` }, async (ctx) => {
  const server = await startServer({ DATA_DIR: tempDir(ctx, 'calbridge-docs-') });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/docs`);
    await page.waitForSelector('.opblock-summary-path', { timeout: 20_000 });
    const paths = await page.$$eval('.opblock-summary-path', (els) => els.map((e) => e.textContent?.trim()));
    assert.ok(paths.includes('/api/spaces/coworkermsofficecalendars'), `rendered paths: ${paths.join(', ')}`);
    assert.ok(paths.includes('/api/token'));
    const title = await page.textContent('.title');
    assert.match(title ?? '', /calbridge/);
    if (process.env.DOCS_SCREENSHOT) await page.screenshot({ path: process.env.DOCS_SCREENSHOT, fullPage: false });
  } finally {
    await browser.close();
    await server.stop();
  }
});
