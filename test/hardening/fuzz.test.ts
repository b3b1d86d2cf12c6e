/**
 * Issue "No 5xx from bad input", the fuzz part: requests generated from the OpenAPI document (every route and method,
 * made hostile: wrong types, huge numbers, unicode and NUL, deep nesting, long strings, odd query parameters, bad
 * dates and content types, truncated bodies, odd path ids, no or bad credentials), plus the webhooks, the token
 * endpoint and unknown routes, against a seeded app. Never a 5xx; every refusal under /api in its documented shape;
 * a refused request changes no data. A fixed seed, so a failure here is a failure every time; longer campaigns with
 * other seeds: `npm run fuzz -- --requests 20000 [--seed S] [--db sqlite|postgres]`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatReport, runCampaign } from './fuzz.js';

const SEED = 20_261_125;
const REQUESTS = 1200;

test(`fuzzed requests (${REQUESTS}, seed ${SEED}) never answer 5xx, refuse in the documented shape and change nothing when refused`, async () => {
  const report = await runCampaign({ requests: REQUESTS, seed: SEED, epochSize: REQUESTS, minimize: true, shrinkBudget: 60 });
  assert.equal(report.sent, REQUESTS);
  assert.equal(report.findings.length, 0, `\n${formatReport(report)}\n`);
});
